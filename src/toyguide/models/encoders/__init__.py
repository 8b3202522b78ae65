"""Shared encoders: items (preference, attributes, sales), shoppers (preference, profile), sales."""

from toyguide.models.encoders.item import ItemEncoder, ItemEncoderConfig, ItemTablesLike
from toyguide.models.encoders.sales import SalesEncoder, SalesEncoderConfig
from toyguide.models.encoders.shopper import ShopperEncoder, ShopperEncoderConfig, last_state

__all__ = [
    "ItemEncoder",
    "ItemEncoderConfig",
    "ItemTablesLike",
    "SalesEncoder",
    "SalesEncoderConfig",
    "ShopperEncoder",
    "ShopperEncoderConfig",
    "last_state",
]
