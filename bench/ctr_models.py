"""The multi-task CTR workload of ``bench/throughput.py``: a seeded synthetic data set and the
models trained on it (toyguide's mixers with field embeddings and towers, torch-rechub's MMOE
and PLE configured to the same sizes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class CTRSpec:
    """Shape of the workload (the issue's numbers are the defaults)."""

    n_train: int = 200_000
    n_test: int = 20_000
    cardinalities: tuple[int, ...] = (1000,) * 8 + (100,) * 8
    n_dense: int = 8
    tasks: tuple[str, ...] = ("click", "like", "buy")
    base_rates: tuple[float, ...] = (0.25, 0.10, 0.05)
    embed_dim: int = 16
    embed_init_std: float = 1e-4  # torch-rechub's default (RandomNormal(0, 1e-4)), both sides
    n_latent: int = 12  # latent factors per categorical value
    n_shared_latent: int = 6  # the first factors load on every task, the rest on one task each
    expert_dims: tuple[int, ...] = (256, 128)
    tower_dims: tuple[int, ...] = (64,)
    n_experts: int = 4
    batch_size: int = 1024
    lr: float = 1e-3
    dropout: float = 0.0
    # toyguide only: LayerNorm on the concatenated input (toyguide's item encoder does the same);
    # chosen on a validation split of the training rows, see bench/throughput.py's notes.
    input_norm: bool = True

    @property
    def d_in(self) -> int:
        """Width of the model input: every field's embedding then the dense features."""
        return len(self.cardinalities) * self.embed_dim + self.n_dense


# -- data --------------------------------------------------------------------------------------


def generate(spec: CTRSpec, seed: int) -> dict[str, np.ndarray]:
    """Seeded samples: ``sparse`` [N, F] int64 (per-field value ids), ``dense`` [N, n_dense]
    float32 and ``labels`` [N, T] float32 (0/1), N = n_train + n_test (train rows first).

    Every categorical value has latent factors; a sample's latent vector is the sum over its
    fields. Each task's logit loads on the shared factors (common weights plus a task-specific
    deviation), on its own factors, on products of factor pairs (four pairs common to all tasks,
    two its own: what an MLP has to learn) and on the dense features (common weights plus a
    deviation, and |x| of one feature of its own); the bias is set so the task's positive rate
    is its base rate. The logits of different tasks correlate about 0.57.
    """
    rng = np.random.default_rng(seed)
    n = spec.n_train + spec.n_test
    sparse = np.stack([_zipf_ids(rng, card, n) for card in spec.cardinalities], axis=1)
    factors = [rng.normal(0.0, 1.0, (card, spec.n_latent)) for card in spec.cardinalities]
    latent = sum(f[sparse[:, i]] for i, f in enumerate(factors))  # [N, K]
    latent = (latent - latent.mean(0)) / latent.std(0)
    dense = rng.normal(0.0, 1.0, (n, spec.n_dense))
    common_seed = int(rng.integers(2**31))  # what the tasks share is drawn from this
    labels = np.stack(
        [_task_labels(rng, spec, t, common_seed, latent, dense) for t in range(len(spec.tasks))],
        axis=1,
    )
    return {
        "sparse": sparse.astype(np.int64),
        "dense": dense.astype(np.float32),
        "labels": labels.astype(np.float32),
    }


def _zipf_ids(rng: np.random.Generator, cardinality: int, n: int) -> np.ndarray:
    """Value ids with a long-tailed popularity (a few values are common, most are rare)."""
    weights = 1.0 / np.arange(1, cardinality + 1) ** 1.05
    ids = rng.choice(cardinality, size=n, p=weights / weights.sum())
    return rng.permutation(cardinality)[ids]  # popular values are not the low ids


def _task_labels(
    rng: np.random.Generator,
    spec: CTRSpec,
    task: int,
    common_seed: int,
    latent: np.ndarray,
    dense: np.ndarray,
) -> np.ndarray:
    shared_k, n_tasks = spec.n_shared_latent, len(spec.tasks)
    own = np.array_split(np.arange(shared_k, spec.n_latent), n_tasks)[task]
    # What every task shares (the same draws for every task) plus each task's own deviation.
    common = np.random.default_rng(common_seed)
    shared_weights = common.normal(0.0, 1.0, shared_k)
    shared_pairs = common.choice(shared_k, (4, 2))
    dense_weights = common.normal(0.0, 0.5, dense.shape[1])
    linear = latent[:, :shared_k] @ (shared_weights + 0.5 * rng.normal(0.0, 1.0, shared_k))
    linear = linear + latent[:, own] @ rng.normal(0.0, 1.0, len(own))
    pairs = [*shared_pairs, *rng.choice(spec.n_latent, size=(2, 2))]
    interaction = sum(latent[:, i] * latent[:, j] for i, j in pairs)
    dense_part = dense @ (dense_weights + 0.25 * rng.normal(0.0, 1.0, dense.shape[1]))
    dense_part = dense_part + np.abs(dense[:, task])
    logit = _standard(linear) + 0.8 * _standard(interaction) + 0.5 * _standard(dense_part)
    logit = 1.2 * _standard(logit)
    bias = _bias_for_rate(logit, spec.base_rates[task])
    return rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-(logit + bias)))


def _standard(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def _bias_for_rate(logit: np.ndarray, rate: float) -> float:
    """The bias b with mean(sigmoid(logit + b)) = rate (bisection; the mean is monotone in b)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(logit + mid)))) < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# -- toyguide ----------------------------------------------------------------------------------


class ToyguideCTR(nn.Module):
    """Field embeddings and dense features → a toyguide mixer → one tower per task.

    All fields' embedding tables are one table with per-field offsets, so a batch is one
    lookup; the mixer serves every task from one pass over the batch (``mix_all``); each
    tower is Linear → ReLU → Dropout per ``tower_dims`` width, then a linear logit.
    """

    def __init__(self, spec: CTRSpec, mixer_name: str, **mixer_fields: int) -> None:
        super().__init__()
        from toyguide.models.mixers import MixerConfig, build_mixer, mlp

        self.tasks = spec.tasks
        offsets = np.concatenate([[0], np.cumsum(spec.cardinalities)[:-1]])
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.int64))
        self.embedding = nn.Embedding(sum(spec.cardinalities), spec.embed_dim)
        nn.init.normal_(self.embedding.weight, 0.0, spec.embed_init_std)
        config = MixerConfig(
            d_in=spec.d_in, d_out=spec.expert_dims[-1], tasks=spec.tasks,
            expert_hidden=spec.expert_dims[:-1], dropout=spec.dropout, **mixer_fields,
        )  # fmt: skip
        self.mixer = build_mixer(mixer_name, config)
        self.norm = nn.LayerNorm(spec.d_in) if spec.input_norm else nn.Identity()
        self.towers = nn.ModuleList(
            mlp(spec.expert_dims[-1], spec.tower_dims, 1, spec.dropout) for _ in spec.tasks
        )

    def forward(self, sparse: Tensor, dense: Tensor) -> Tensor:
        """``sparse`` [B, F] value ids, ``dense`` [B, n_dense] → logits [B, T]."""
        fields = self.embedding(sparse + self.offsets).flatten(1)  # [B, F * E]
        x = self.norm(torch.cat([fields, dense], dim=1))  # [B, d_in]
        mixed = self.mixer.mix_all(x)
        towers = zip(self.tasks, self.towers, strict=True)
        return torch.cat([tower(mixed[t]) for t, tower in towers], dim=1)  # [B, T]


def toyguide_model(spec: CTRSpec, kind: str) -> ToyguideCTR:
    """``mmoe``: ``n_experts`` experts; ``ple``: one CGC level with one shared expert and one
    expert per task (as many experts, of the same size, as the MMoE)."""
    if kind == "mmoe":
        return ToyguideCTR(spec, "mmoe", n_experts=spec.n_experts)
    n_shared = spec.n_experts - len(spec.tasks)
    return ToyguideCTR(spec, "ple", n_experts=n_shared, n_task_experts=1, n_layers=1)


# -- torch-rechub ------------------------------------------------------------------------------


def rechub_features(spec: CTRSpec) -> list:
    """Fresh feature objects: torch-rechub caches each feature's embedding table on the object,
    so two models built from the same objects would share their tables."""
    from torch_rechub.basic.features import DenseFeature, SparseFeature
    from torch_rechub.basic.initializers import RandomNormal

    init = RandomNormal(0.0, spec.embed_init_std)
    sparse = [
        SparseFeature(f"c{i}", vocab_size=card, embed_dim=spec.embed_dim, initializer=init)
        for i, card in enumerate(spec.cardinalities)
    ]
    return sparse + [DenseFeature(f"d{i}") for i in range(spec.n_dense)]


def rechub_model(spec: CTRSpec, kind: str) -> nn.Module:
    """torch-rechub's MMOE / PLE at the sizes of :func:`toyguide_model`."""
    from torch_rechub.models.multi_task import MMOE, PLE

    expert = {"dims": list(spec.expert_dims), "dropout": spec.dropout, "activation": "relu"}
    towers = [{"dims": list(spec.tower_dims), "dropout": spec.dropout} for _ in spec.tasks]
    task_types = ["classification"] * len(spec.tasks)
    if kind == "mmoe":
        return MMOE(rechub_features(spec), task_types, spec.n_experts, expert, towers)
    n_shared = spec.n_experts - len(spec.tasks)
    return PLE(rechub_features(spec), task_types, 1, 1, n_shared, expert, towers)


def rechub_inputs(spec: CTRSpec, sparse: Tensor, dense: Tensor) -> dict[str, Tensor]:
    """A batch in torch-rechub's input format: one [B] tensor per feature (column views)."""
    x = {f"c{i}": sparse[:, i] for i in range(sparse.shape[1])}
    return x | {f"d{i}": dense[:, i] for i in range(dense.shape[1])}
