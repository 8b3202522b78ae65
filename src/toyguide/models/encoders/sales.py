"""The sales encoder: an item's representation plus its recent weeks and the weeks ahead.

Combines the shared item vector (what the toy is) with its sales history (K weeks before the
origin), a summary of its longer past and the shop's trend, and the calendar of the H target
weeks (seasonal peaks, holidays). A toy with no history
(all-zero history) is forecast from its item vector and the calendar alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ModelConfig

__all__ = ["SalesDims", "SalesEncoder"]


@dataclass(frozen=True)
class SalesDims:
    """The sales windows' sizes (from ``TaskData.dims()``); widths are ModelConfig's."""

    history_weeks: int  # K
    horizon: int  # H
    n_history_features: int  # Fh
    n_calendar_features: int  # Fc
    n_summary_features: int  # Fs


class SalesEncoder(nn.Module):
    """MLP over flattened history + calendar, concatenated with the item vector → ``[B, D]``."""

    def __init__(self, config: ModelConfig, dims: SalesDims) -> None:
        super().__init__()
        self.config, self.dims = config, dims
        d, p = config.d_model, config.dropout
        n = dims
        n_in = (
            n.history_weeks * n.n_history_features
            + n.horizon * n.n_calendar_features
            + n.n_summary_features
        )
        self.context = nn.Sequential(nn.Linear(n_in, d), nn.GELU(), nn.Dropout(p), nn.Linear(d, d))
        # the item vector comes from the shared item encoder, also d_model wide
        self.project = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Dropout(p), nn.Linear(d, d))

    def forward(
        self, item_repr: Tensor, history: Tensor, calendar: Tensor, summary: Tensor
    ) -> Tensor:
        """``[B, D]``, ``[B, K, Fh]``, ``[B, H, Fc]``, ``[B, Fs]`` → ``[B, D]``."""
        self._check(history, calendar, summary)
        flat = torch.cat([history.flatten(1), calendar.flatten(1), summary], dim=-1)
        context = self.context(flat)  # [B, D]
        return self.project(torch.cat([item_repr, context], dim=-1))  # [B, D]

    def _check(self, history: Tensor, calendar: Tensor, summary: Tensor) -> None:
        # Flattening would accept any K*Fh of the right product; say which axis is wrong instead.
        c = self.dims
        checks = (
            ("history", history, {"K": c.history_weeks, "Fh": c.n_history_features}),
            ("calendar", calendar, {"H": c.horizon, "Fc": c.n_calendar_features}),
            ("summary", summary, {"Fs": c.n_summary_features}),
        )
        for name, tensor, axes in checks:
            if tuple(tensor.shape[1:]) != tuple(axes.values()):
                want = ", ".join(f"{axis}={n}" for axis, n in axes.items())
                raise ConfigError(
                    f"sales {name} has shape {list(tensor.shape)}; config expects [B, {want}]"
                )
