"""A synthetic toy shop with known ground truth: the embedded default for the demo, the tests
and the scale benchmarks (DESIGN.md §3).

Children age week by week; what their shoppers view and buy follows the child's age, gender
and interests, the shopper's price sensitivity, the toys' appeal, seasonal peaks (Christmas,
Singles' Day, Black Friday, Children's Day), promotions and new launches. The observable frames
hide some labels; the truth keeps them all, with the expected weekly demand per toy.

>>> shop = generate_shop(SynthConfig(n_shoppers=200, n_items=50, n_weeks=8, seed=1))
>>> sorted(shop.frames)
['events', 'items', 'sales', 'shoppers']
"""

from toyguide.data.synth.config import SCALES, SynthConfig
from toyguide.data.synth.shop import SynthShop, generate_shop
from toyguide.data.synth.truth import read_truth, synth_summary, write_truth

__all__ = [
    "SCALES",
    "SynthConfig",
    "SynthShop",
    "generate_shop",
    "read_truth",
    "synth_summary",
    "write_truth",
]
