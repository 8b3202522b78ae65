"""Shared encoders: items (preference, attributes, sales), shoppers (preference, profile), sales."""

from toyguide.models.encoders.item import ItemDims, ItemEncoder, ItemTablesLike
from toyguide.models.encoders.sales import SalesDims, SalesEncoder
from toyguide.models.encoders.shopper import SequenceDims, ShopperEncoder, last_state

__all__ = [
    "ItemDims",
    "ItemEncoder",
    "ItemTablesLike",
    "SalesDims",
    "SalesEncoder",
    "SequenceDims",
    "ShopperEncoder",
    "last_state",
]
