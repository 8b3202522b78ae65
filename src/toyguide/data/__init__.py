"""Data layer: schema, the embedded store, ingestion and validation, adapters, synthetic shop."""
