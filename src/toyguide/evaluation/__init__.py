"""Evaluation: metrics that declare their direction, protocols, task relatedness, Δm."""
