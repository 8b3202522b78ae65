"""toyguide: an AI shopping guide for toy shops, built on multi-task learning."""

__version__ = "0.1.0"
__all__ = ["__version__"]
