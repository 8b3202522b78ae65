"""Training: the trainer loop, callbacks and checkpoints (safetensors + JSON, never pickle)."""
