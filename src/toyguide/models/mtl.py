"""The multi-task model: shared encoders → one shared mixer → one head per task (DESIGN §2).

Each task brings its own batch. The item encoder is shared by preference, attributes and sales;
the shopper encoder (which embeds its events with the item encoder) by preference and profile.
Every task's representation is brought to ``d_model`` and passed through the shared mixer with
that task's gate, then to its head. A single-task run is the same model with one task switched
on, which is what makes the MTL-vs-STL comparison fair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.encoders import (
    ItemEncoder,
    ItemEncoderConfig,
    SalesEncoder,
    SalesEncoderConfig,
    ShopperEncoder,
    ShopperEncoderConfig,
    last_state,
)
from toyguide.models.heads import build_head
from toyguide.models.heads.attributes import AttributesHeadConfig
from toyguide.models.heads.preference import PreferenceHeadConfig
from toyguide.models.heads.profile import ProfileHeadConfig
from toyguide.models.heads.sales import SalesHeadConfig
from toyguide.models.losses import sampled_softmax_cross_entropy
from toyguide.models.mixers import MixerConfig, build_mixer

__all__ = ["ModelConfig", "MultiTaskModel"]

_SHOPPER_TASKS = ("preference", "profile")
_ITEM_TASKS = ("preference", "attributes", "sales")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the whole model; sizes of the data come from ``TaskData.dims()``."""

    d_model: int = 64
    mixer: str = "mmoe"
    n_experts: int = 4
    n_task_experts: int = 1
    expert_hidden: tuple[int, ...] = (128,)
    mixer_layers: int = 1
    dropout: float = 0.1
    use_id: bool = True
    use_brand: bool = True
    use_categories: bool = True
    use_price: bool = True
    use_text: bool = True
    id_dropout: float = 0.1
    shopper_layers: int = 2
    shopper_heads: int = 2
    shopper_dropout: float = 0.2
    full_softmax_max_items: int = 200_000  # larger catalogues train with sampled softmax
    n_negatives: int = 2048


class MultiTaskModel(nn.Module):
    def __init__(
        self, config: ModelConfig, dims: dict[str, int], tasks: tuple[str, ...], tables: Any
    ) -> None:
        super().__init__()
        if not tasks:
            raise ConfigError("the model needs at least one task switched on")
        self.config, self.dims, self.tasks = config, dims, tuple(tasks)
        d = config.d_model
        self.item_encoder = ItemEncoder(self._item_config(dims))
        self.item_encoder.set_tables(tables)
        self.shopper_encoder = (
            ShopperEncoder(self._shopper_config(dims))
            if any(t in tasks for t in _SHOPPER_TASKS)
            else None
        )
        self.mixer = build_mixer(config.mixer, self._mixer_config())
        self.heads = nn.ModuleDict({t: self._head(t, dims) for t in tasks})
        self.item_tower = nn.Linear(d, d) if "preference" in tasks else None
        self.sales_encoder = SalesEncoder(self._sales_config(dims)) if "sales" in tasks else None

    # -- construction ------------------------------------------------------------------------
    def _item_config(self, dims: dict[str, int]) -> ItemEncoderConfig:
        c = self.config
        return ItemEncoderConfig(
            n_items=dims["n_items"], n_brands=dims["n_brands"],
            n_categories=dims["n_categories"], d_model=c.d_model, text_dim=dims["text_dim"],
            use_id=c.use_id, use_brand=c.use_brand, use_categories=c.use_categories,
            use_price=c.use_price, use_text=c.use_text, dropout=c.dropout,
            id_dropout=c.id_dropout,
            n_token_buckets=dims.get("text_buckets", 0),
        )  # fmt: skip

    def _shopper_config(self, dims: dict[str, int]) -> ShopperEncoderConfig:
        c = self.config
        return ShopperEncoderConfig(
            d_model=c.d_model, n_layers=c.shopper_layers, n_heads=c.shopper_heads,
            max_len=dims["max_len"], n_kinds=dims["n_kinds"], n_gap_buckets=dims["gap_buckets"],
            dropout=c.shopper_dropout,
        )  # fmt: skip

    def _sales_config(self, dims: dict[str, int]) -> SalesEncoderConfig:
        return SalesEncoderConfig(
            history_weeks=dims["history_weeks"], horizon=dims["horizon"],
            n_history_features=dims["history_features"],
            n_calendar_features=dims["calendar_features"], d_model=self.config.d_model,
            dropout=self.config.dropout,
        )  # fmt: skip

    def _mixer_config(self) -> MixerConfig:
        c = self.config
        return MixerConfig(
            d_in=c.d_model, d_out=c.d_model, tasks=self.tasks, n_experts=c.n_experts,
            n_task_experts=c.n_task_experts, expert_hidden=c.expert_hidden,
            n_layers=c.mixer_layers, dropout=c.dropout,
        )  # fmt: skip

    def _head(self, task: str, dims: dict[str, int]) -> nn.Module:
        d = self.config.d_model
        configs = {
            "preference": lambda: PreferenceHeadConfig(dim=d),
            "attributes": lambda: AttributesHeadConfig(
                dim=d,
                n_categories=dims["n_categories"],
                n_price_bands=dims.get("n_price_bands", 0),
                top_category=bool(dims.get("top_category", 0)),
            ),
            "sales": lambda: SalesHeadConfig(dim=d, horizon=dims["horizon"]),
            "profile": lambda: ProfileHeadConfig(dim=d),
        }
        if task not in configs:
            raise ConfigError(f"unknown task '{task}'; known: {', '.join(configs)}")
        return build_head(task, configs[task]())

    # -- parameters --------------------------------------------------------------------------
    def shared_parameters(self) -> list[nn.Parameter]:
        """What more than one task trains: the encoders used by several tasks and the mixer's
        shared part. With one task nothing is really shared; the list is the same for Δm."""
        shared = [*self.item_encoder.parameters(), *self.mixer.shared_parameters()]
        if self.shopper_encoder is not None:
            shared += list(self.shopper_encoder.parameters())
        return shared

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        own = [*self.heads[task].parameters(), *self.mixer.task_parameters(task)]
        if task == "preference" and self.item_tower is not None:
            own += list(self.item_tower.parameters())
        if task == "sales" and self.sales_encoder is not None:
            own += list(self.sales_encoder.parameters())
        return own

    # -- forward -----------------------------------------------------------------------------
    def represent(self, task: str, batch: dict[str, Tensor]) -> Tensor:
        """The task's input to the mixer: ``[B, D]`` (preference: ``[P, D]`` scored positions)."""
        if task == "preference":
            states = self.shopper_encoder(batch, self.item_encoder)  # [B, L, D]
            return states[batch["next_items"] > 0]  # [P, D]
        if task == "profile":
            states = self.shopper_encoder(batch, self.item_encoder)  # [B, L, D]
            return last_state(states, batch["seq_mask"])  # [B, D]
        item = self.item_encoder(batch["items"])  # [B, D]
        if task == "sales":
            return self.sales_encoder(item, batch["history"], batch["calendar"])  # [B, D]
        return item

    def task_loss(self, task: str, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        h = self.mixer(self.represent(task, batch), task)  # [B, D]
        if task == "preference":
            out = self._preference_loss(h, batch)
        else:
            out = self.heads[task].loss(self.heads[task](h), batch)
        return out.loss, int(out.count)

    def catalogue(self) -> Tensor:
        """Item embeddings in the preference head's space: ``[N+1, D]``."""
        return self.item_tower(self.item_encoder.all_items())

    def _preference_loss(self, h: Tensor, batch: dict[str, Tensor]) -> Any:
        targets = batch["next_items"][batch["next_items"] > 0]  # [P]
        head = self.heads["preference"]
        if self.dims["n_items"] <= self.config.full_softmax_max_items:
            return head.loss(head(h, self.catalogue()), {"next_items": targets})
        # Uniform proposal over real items; the logQ term keeps the estimate consistent.
        probs = torch.ones(self.dims["n_items"] + 1)
        probs[0] = 0.0
        probs = probs / probs.sum()
        logits = head.sampled_logits(h, self.catalogue(), targets, self.config.n_negatives, probs)
        return sampled_softmax_cross_entropy(logits, targets)

    @torch.no_grad()
    def predict(self, task: str, batch: dict[str, Tensor]) -> Any:
        """Eval-time outputs: preference scores ``[B, N+1]`` at the last position; attribute and
        profile logits per target; sales quantiles in units ``[B, H, 3]``."""
        if task == "preference":
            states = self.shopper_encoder(batch, self.item_encoder)  # [B, L, D]
            h = self.mixer(last_state(states, batch["seq_mask"]), task)  # [B, D]
            return self.heads[task](h, self.catalogue())  # [B, N+1]
        h = self.mixer(self.represent(task, batch), task)
        out = self.heads[task](h)
        if task == "sales":
            return self.heads[task].to_units(out, batch["scale"])  # [B, H, 3]
        return out
