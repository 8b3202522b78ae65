"""The sales encoder: an item's representation plus its recent weeks and the weeks ahead.

Combines the shared item vector (what the toy is) with its sales history (K weeks before the
origin) and the calendar of the H target weeks (seasonal peaks, holidays). A toy with no history
(all-zero history) is forecast from its item vector and the calendar alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError

__all__ = ["SalesEncoder", "SalesEncoderConfig"]


@dataclass(frozen=True)
class SalesEncoderConfig:
    history_weeks: int  # K
    horizon: int  # H
    n_history_features: int  # Fh
    n_calendar_features: int  # Fc
    d_model: int = 64
    d_item: int | None = None  # width of the item vector; None = d_model
    dropout: float = 0.1


class SalesEncoder(nn.Module):
    """MLP over flattened history + calendar, concatenated with the item vector → ``[B, D]``."""

    def __init__(self, config: SalesEncoderConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config, config.d_model
        d_item = c.d_item if c.d_item is not None else d
        n_in = c.history_weeks * c.n_history_features + c.horizon * c.n_calendar_features
        self.context = nn.Sequential(
            nn.Linear(n_in, d), nn.GELU(), nn.Dropout(c.dropout), nn.Linear(d, d)
        )
        self.project = nn.Sequential(
            nn.Linear(d_item + d, d), nn.GELU(), nn.Dropout(c.dropout), nn.Linear(d, d)
        )

    def forward(self, item_repr: Tensor, history: Tensor, calendar: Tensor) -> Tensor:
        """``[B, D_item]``, ``[B, K, Fh]``, ``[B, H, Fc]`` → ``[B, D]``."""
        self._check(history, calendar)
        flat = torch.cat([history.flatten(1), calendar.flatten(1)], dim=-1)  # [B, K*Fh + H*Fc]
        context = self.context(flat)  # [B, D]
        return self.project(torch.cat([item_repr, context], dim=-1))  # [B, D]

    def _check(self, history: Tensor, calendar: Tensor) -> None:
        # Flattening would accept any K*Fh of the right product; say which axis is wrong instead.
        c = self.config
        checks = (
            ("history", history, {"K": c.history_weeks, "Fh": c.n_history_features}),
            ("calendar", calendar, {"H": c.horizon, "Fc": c.n_calendar_features}),
        )
        for name, tensor, axes in checks:
            if tuple(tensor.shape[1:]) != tuple(axes.values()):
                want = ", ".join(f"{axis}={n}" for axis, n in axes.items())
                raise ConfigError(
                    f"sales {name} has shape {list(tensor.shape)}; config expects [B, {want}]"
                )
