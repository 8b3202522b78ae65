"""Models: shared encoders, mixers, task heads and the multi-task model that composes them."""
