"""The multi-task model: shared encoders → one shared mixer → one head per task (DESIGN §2).

Each task brings its own batch. The item encoder is shared by every task that reads items; the
shopper encoder (which embeds its events with the item encoder) by every task that reads event
sequences. Every task's representation is brought to ``d_model`` and passed through the shared
mixer with that task's gate, then to its head. What is particular to a task — its head, its own
modules (the preference item tower, the sales encoder), how it represents a batch, its loss and
its eval outputs — comes from the task's plug-in (``toyguide.tasks``, duck-typed here as
:class:`TaskPart`), so this module names no task except in the inference methods the guide and
the evaluators call. A single-task run is the same model with one task switched on, which is
what makes the MTL-vs-STL comparison fair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from toyguide.errors import ConfigError
from toyguide.models.config import ModelConfig
from toyguide.models.encoders import ItemDims, ItemEncoder, SequenceDims, ShopperEncoder
from toyguide.models.losses import LossOutput
from toyguide.models.mixers import MixerConfig, build_mixer

__all__ = ["ModelConfig", "MultiTaskModel", "TaskPart"]


class TaskPart(Protocol):
    """What the model asks of a task plug-in (``toyguide.tasks.Task``)."""

    name: str
    encoders: frozenset[str]  # the shared encoders it reads: "item", "shopper"

    def build_head(self, dims: Mapping[str, int], config: ModelConfig) -> nn.Module: ...
    def own_modules(self, dims: Mapping[str, int], config: ModelConfig) -> dict[str, nn.Module]: ...
    def represent(self, model: MultiTaskModel, batch: dict[str, Tensor]) -> Tensor: ...
    def task_loss(self, model: MultiTaskModel, batch: dict[str, Tensor]) -> LossOutput: ...
    def target_losses(
        self, model: MultiTaskModel, batch: dict[str, Tensor]
    ) -> dict[str, LossOutput]: ...
    def predict(self, model: MultiTaskModel, batch: dict[str, Tensor]) -> Any: ...


class MultiTaskModel(nn.Module):
    def __init__(
        self,
        config: ModelConfig,
        dims: dict[str, int],
        tasks: Sequence[TaskPart],
        tables: Any,
    ) -> None:
        super().__init__()
        if not tasks:
            raise ConfigError("the model needs at least one task switched on")
        self.config, self.dims = config, dims
        self.parts = {task.name: task for task in tasks}
        self.tasks = tuple(self.parts)
        self.item_encoder = ItemEncoder(config, _item_dims(dims))
        self.item_encoder.set_tables(tables)
        self.shopper_encoder = (
            ShopperEncoder(config, SequenceDims(dims["max_len"], dims["n_kinds"],
                                                dims["gap_buckets"]))
            if any("shopper" in task.encoders for task in tasks)
            else None
        )  # fmt: skip
        self.mixer = build_mixer(config.mixer, self._mixer_config())
        self.heads = nn.ModuleDict({task.name: task.build_head(dims, config) for task in tasks})
        self._own: dict[str, list[str]] = {}
        for task in tasks:  # after the heads: the parameters' creation order sets their init
            self._own[task.name] = self._add_own_modules(task)
        self._catalogue: tuple[tuple, Tensor] | None = None
        self._memo: tuple[dict, Tensor, dict[str, Any]] | None = None
        # the item neighbours the preference scores add (features.neighbours.ItemNeighbours):
        # fitted from the store's events after training, not learned, so not in the state dict
        self.neighbours: Any | None = None
        # the boosted sales head (models/boosted_sales.py), fitted after training beside the
        # sales head it may blend with; LightGBM boosters, not in the state dict
        self.boosted_sales: Any | None = None

    def _mixer_config(self) -> MixerConfig:
        c = self.config
        return MixerConfig(
            d_in=c.d_model, d_out=c.d_model, tasks=self.tasks, n_experts=c.n_experts,
            n_task_experts=c.n_task_experts, expert_hidden=c.expert_hidden,
            n_layers=c.mixer_layers, dropout=c.dropout,
        )  # fmt: skip

    def _add_own_modules(self, task: TaskPart) -> list[str]:
        """The task's own modules become attributes of the model (``model.sales_encoder``), so
        the state dict names them as it always has."""
        names = []
        for name, module in task.own_modules(self.dims, self.config).items():
            if hasattr(self, name):
                raise ConfigError(f"task '{task.name}': the model already has a part '{name}'")
            self.add_module(name, module)
            names.append(name)
        return names

    def part(self, task: str) -> TaskPart:
        """The plug-in of a task this model was built with."""
        try:
            return self.parts[task]
        except KeyError:
            raise ConfigError(f"this model was trained without the '{task}' task") from None

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
        for name in self._own[task]:
            own += list(getattr(self, name).parameters())
        return own

    # -- training ----------------------------------------------------------------------------
    def represent(self, task: str, batch: dict[str, Tensor]) -> Tensor:
        """The task's input to the mixer: ``[B, D]`` (preference: ``[P, D]`` scored positions)."""
        return self.part(task).represent(self, batch)

    def task_loss(self, task: str, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        out = self.part(task).task_loss(self, batch)
        return out.loss, int(out.count)

    def target_losses(self, task: str, batch: dict[str, Tensor]) -> dict[str, tuple[Tensor, int]]:
        """Each target's ``(loss, labels used)`` of a task with several (per-target weighting)."""
        losses = self.part(task).target_losses(self, batch)
        return {target: (out.loss, int(out.count)) for target, out in losses.items()}

    @torch.no_grad()
    def predict(self, task: str, batch: dict[str, Tensor]) -> Any:
        """Eval-time outputs of a task's batch: preference scores ``[B, N+1]`` at the last
        position; attribute and profile logits per target; sales quantiles in units
        ``[B, H, 3]``; a plug-in task's whatever its evaluator reads."""
        return self.part(task).predict(self, batch)

    def encoded_catalogue(self) -> Tensor:
        """Every item through the item encoder ``[N+1, D]``, computed once per training step
        and shared by the tasks that read item vectors in that step (the sequence inputs, the
        softmax's outputs, the contrastive views): the catalogue pass is the step's largest
        piece of shared work. The cache holds while the item encoder's weights are the same
        tensors at the same versions (an optimiser step or any in-place change renews it) and
        only in training with gradients; evaluation computes it afresh."""
        if not (self.training and torch.is_grad_enabled()):
            return self.item_encoder.all_items()
        key = tuple(p._version for p in self.item_encoder.parameters())
        if self._catalogue is None or self._catalogue[0] != key:
            self._catalogue = (key, self.item_encoder.all_items())
        return self._catalogue[1]

    def sequence_states(self, batch: dict[str, Tensor], catalogue: Tensor | None = None) -> Tensor:
        """Shopper states ``[B, L, D]`` with each event's item read from the encoded catalogue
        (``catalogue``, or the step's :meth:`encoded_catalogue`), not encoded again per position.
        Tasks handed the same batch in a step (``TaskStream.rides``) share one pass."""
        items = self.encoded_catalogue() if catalogue is None else catalogue
        return self.step_memo(
            batch, items, "states", lambda: self.shopper_encoder(batch, lambda rows: items[rows])
        )

    def step_memo(
        self, batch: dict[str, Tensor], catalogue: Tensor, name: str, compute: Callable[[], Any]
    ) -> Any:
        """``compute()``, done once per training step for ``batch`` and the step's
        ``catalogue``: what tasks that ride one batch (``TaskStream.rides``) share, such as the
        shopper states and the host task's outputs. The next step's batch or catalogue (renewed
        by every optimiser step) starts afresh; outside training nothing is kept."""
        if not (self.training and torch.is_grad_enabled()):
            return compute()
        kept = self._memo
        if kept is None or kept[0] is not batch or kept[1] is not catalogue:
            # the batch and catalogue themselves are held, so their ids cannot be reused
            kept = self._memo = (batch, catalogue, {})
        if name not in kept[2]:
            kept[2][name] = compute()
        return kept[2][name]

    # -- inference: what the guide and the evaluators ask ------------------------------------
    def encode_items(self, items: Tensor) -> Tensor:
        """Catalogue rows ``[*]`` → shared item vectors ``[*, D]``."""
        return self.item_encoder(items)

    def encode_new_items(self, **features: Tensor) -> Tensor:
        """Toys outside the catalogue from their raw features (brand, categories, log_price,
        price_missing, text, tokens) → ``[M, D]``, as a toy whose id was dropped."""
        return self.item_encoder.encode_features(**features)

    @torch.no_grad()
    def item_vectors(self) -> Tensor:
        """The catalogue in the preference space ``[N+1, D]``: the index the guide retrieves
        candidates from (row 0 = padding)."""
        return self.part("preference").item_vectors(self)

    @torch.no_grad()
    def shopper_vector(self, batch: dict[str, Tensor]) -> Tensor:
        """A shopper's state after their latest event, in the preference space ``[B, D]``."""
        return self.part("preference").shopper_vector(self, batch)

    @torch.no_grad()
    def next_item_scores(self, state: Tensor, item_vectors: Tensor | None = None) -> Tensor:
        """Logits ``[B, N+1]`` of every item as the next one for shopper states ``[B, D]``;
        ``item_vectors`` (from :meth:`item_vectors`) saves recomputing the catalogue."""
        vectors = self.item_vectors() if item_vectors is None else item_vectors
        return self.heads["preference"](state, vectors)

    @torch.no_grad()
    def retrieval_vectors(self, item_vectors: Tensor | None = None) -> Tensor:
        """The catalogue as an inner-product index ``[N+1, D+1]``: with
        :meth:`retrieval_query`, the inner product is the next-item logit, bias and scale
        included, so exact search over it finds the items the full ranking puts first."""
        vectors = self.item_vectors() if item_vectors is None else item_vectors
        return self.heads["preference"].retrieval_vectors(vectors)

    @torch.no_grad()
    def retrieval_query(self, state: Tensor) -> Tensor:
        """Shopper states ``[B, D]`` → queries ``[B, D+1]`` for :meth:`retrieval_vectors`."""
        return self.heads["preference"].retrieval_query(state)

    @torch.no_grad()
    def attribute_outputs(
        self, item_vectors: Tensor, tokens: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Attribute logits per target for item vectors ``[B, D]`` (catalogue or new toys),
        with their hashed words ``[B, L]`` for a head that reads them (else ignored)."""
        return self.part("attributes").outputs(self, item_vectors, tokens)

    @torch.no_grad()
    def sales_forecast(
        self, item_vectors: Tensor, inputs: Mapping[str, Tensor]
    ) -> dict[str, Tensor]:
        """``quantiles`` [B, H, 3] (P10/P50/P90) and ``mean`` [B, H] (the expected units, the
        point forecast) in units, from item vectors and a sales batch's history, calendar,
        summary and scale (catalogue toys or new ones)."""
        return self.part("sales").forecast(self, item_vectors, inputs)

    @torch.no_grad()
    def sales_outputs(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """:meth:`sales_forecast` of a sales batch."""
        return self.sales_forecast(self.encode_items(batch["items"]), batch)

    @torch.no_grad()
    def profile_outputs(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Profile logits per target (age band, gender, interests) of shopper sequences."""
        return self.predict("profile", batch)


def _item_dims(dims: Mapping[str, int]) -> ItemDims:
    return ItemDims(
        n_items=dims["n_items"], n_brands=dims["n_brands"], n_categories=dims["n_categories"],
        text_dim=dims["text_dim"], n_token_buckets=dims.get("text_buckets", 0),
    )  # fmt: skip
