"""One training run from a config and a store, and its evaluation: the library behind
``toyguide train`` and ``toyguide evaluate``.

A run folder holds everything needed to reproduce and to serve it: ``config.toml`` (the
resolved config), ``features.json`` (fitted id maps and encoders), ``data.json`` (the store's
fingerprint), ``log.jsonl``, ``checkpoints/`` (each epoch and the best, safetensors + JSON with
checksums) and ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import resource
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from toyguide.config import from_dict, load_toml, save_toml, to_dict
from toyguide.data.ingest import truth_dir_for
from toyguide.data.store import Store
from toyguide.data.synth.truth import TRUTH_FILES, read_truth
from toyguide.distributed import init_world
from toyguide.errors import CheckpointError, ConfigError
from toyguide.evaluation.analysis import AnalysisConfig, RelatednessCallback, label_matrices
from toyguide.evaluation.boosted_sales import attach_boosted_sales, refit_boosted_sales
from toyguide.evaluation.export import export_model_folder
from toyguide.evaluation.metrics import metric_of
from toyguide.evaluation.neighbours import attach_neighbours, refit_neighbours
from toyguide.evaluation.protocols import Evaluator, evaluate_model
from toyguide.evaluation.relatedness import RelatednessReport
from toyguide.evaluation.truth import recover_truth
from toyguide.features.data import FeatureConfig
from toyguide.grouping import (
    GroupingConfig,
    candidate_groups,
    group_config,
    group_folder,
    groups_of,
    serving_groups,
)
from toyguide.models.boosted_sales import BOOSTED_SALES_FILE, BoostedSales, BoostedSalesConfig
from toyguide.models.config import ModelConfig
from toyguide.models.mixers import MIXERS
from toyguide.models.mtl import MultiTaskModel
from toyguide.parts import (
    BEST,
    by_checkpoint,
    merge_part,
    part_task,
    part_tasks,
    served_checkpoints,
)
from toyguide.tasks import build_task_data, get_task, make_streams, tasks_of
from toyguide.training.checkpoint import latest_checkpoint, read_checkpoint, write_checkpoint
from toyguide.training.trainer import (
    MeanSelection,
    Selection,
    TrainConfig,
    Trainer,
    trailing,
)
from toyguide.weighting import build_weighting

__all__ = [
    "ALL_TASKS",
    "RunConfig",
    "SelectionConfig",
    "WeightingConfig",
    "config_for_store",
    "evaluate_run",
    "load_best",
    "recover_truth_for_run",
    "train_run",
]

ALL_TASKS = "all"  # selection.task: every task alike


@dataclass(frozen=True)
class WeightingConfig:
    """``per_target``: the strategy weighs each target of a task with several (attributes,
    profile) as its own loss unit ``task/target``, so that, say, a 15-label multi-label target
    is not drowned beside a 43-class one inside its task's sum; fixed weights may name a task
    (all its targets) or a unit."""

    name: str = "equal"
    options: dict[str, Any] = field(default_factory=dict)
    per_target: bool = False


@dataclass(frozen=True)
class SelectionConfig:
    """Validation metric for early stopping and the best checkpoint; empty = the first task's
    own selection metric (tasks.py); ``task = "all"``: every task's own selection metric, as
    the mean of their relative gains since the first epoch (favours no task). ``each``: every
    part of that selection - each task of ``"all"``, each target of a metric over all targets
    (``all/macro_f1``) - is also tested and served from its own best epoch, as its single-task
    run would be; the run trains until none of them improves any more. ``window``: the run's
    selection and each part are judged on the mean of their validation over the last
    ``window`` epochs (1: that epoch's alone; the log's ``selection`` and ``parts`` are those
    means), steadier where a target has few validation labels."""

    task: str = ""
    metric: str = ""
    each: bool = False
    window: int = 1

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ConfigError(f"selection.window must be >= 1, got {self.window}")


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0  # model init, dropout and the streams' shuffles and splits
    threads: int = 0  # torch threads; 0 = torch's default
    text_cache: str = ""  # sentence-embedding cache; empty = <store folder>/.toyguide-cache
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    boosted_sales: BoostedSalesConfig = field(default_factory=BoostedSalesConfig)

    def __post_init__(self) -> None:
        if self.features.seed not in (0, self.seed):
            raise ConfigError(
                f"features.seed ({self.features.seed}) differs from seed ({self.seed}); "
                "set only the top-level seed"
            )
        object.__setattr__(self, "features", dataclasses.replace(self.features, seed=self.seed))
        tasks_of(self.features.tasks)  # an unknown task name fails here, naming the known ones
        tasks_of(self.train.task_epochs)
        if self.grouping.groups:
            groups_of(self.grouping, self.features.tasks)
        if self.boosted_sales.enabled and "sales" not in self.features.tasks:
            raise ConfigError("boosted_sales.enabled needs the sales task in features.tasks")


def text_vectors_for(config: RunConfig, store_path: Path) -> Any:
    from toyguide.features.text import TextEmbedder

    cache = Path(config.text_cache) if config.text_cache else store_path.parent / ".toyguide-cache"
    return functools.partial(TextEmbedder().embed_cached, cache_dir=cache / "text")


def selection_of(config: RunConfig) -> Selection:
    if config.selection.task == ALL_TASKS:
        if config.selection.metric:
            raise ConfigError('selection.metric is each task\'s own with selection.task = "all"')
        parts = tuple(_own_selection(task, config.features) for task in config.features.tasks)
        return MeanSelection(ALL_TASKS, "mean_relative_gain", True, parts)
    task = config.selection.task or config.features.tasks[0]
    if task not in config.features.tasks:
        raise ConfigError(f"selection.task '{task}' is not switched on in features.tasks")
    metric = config.selection.metric or "/".join(get_task(task).selection(config.features))
    direction = metric_of(metric).higher_is_better
    if direction is None:
        raise ConfigError(f"selection.metric '{metric}' has no direction; pick its abs_ variant")
    return Selection(task, metric, direction)


def run_selection(config: RunConfig) -> Selection:
    """What picks the run's best epoch and stops it: ``selection_of`` over ``window`` epochs."""
    return trailing(selection_of(config), config.selection.window)


def parts_of(config: RunConfig) -> dict[str, Selection]:
    """With ``selection.each``: part name (a task, or ``task/target``) → its own selection;
    empty without it or when the selection has one part only (it is then the run's own)."""
    if not config.selection.each:
        return {}
    if config.train.refit_epochs:
        raise ConfigError(
            "selection.each and train.refit_epochs: a refit trains on from one epoch's weights; "
            "use one of them"
        )
    chosen = selection_of(config)
    bases = getattr(chosen, "parts", ()) or ((chosen.task, chosen.metric, chosen.higher_is_better),)
    parts = {}
    for task, metric, higher in bases:
        head, _, rest = metric.partition("/")
        targets = get_task(task).loss_targets(config.features) if head == "all" else ()
        if targets:
            parts |= {f"{task}/{t}": Selection(task, f"{t}/{rest}", higher) for t in targets}
        else:
            parts[task] = Selection(task, metric, higher)
    window = config.selection.window
    return {name: trailing(part, window) for name, part in parts.items()} if len(parts) > 1 else {}


def loss_units(config: RunConfig) -> tuple[list[str], list[str]]:
    """The names the weighting strategy weighs (a task, or ``task/target`` for each target of
    a task with several when ``weighting.per_target``) and the tasks split that way."""
    units, split = [], []
    for task in tasks_of(config.features.tasks):
        targets = task.loss_targets(config.features) if config.weighting.per_target else ()
        if len(targets) > 1:
            units += [f"{task.name}/{target}" for target in targets]
            split.append(task.name)
        else:
            units.append(task.name)
    return units, split


def _own_selection(task: str, features: FeatureConfig) -> tuple[str, str, bool]:
    metric = "/".join(get_task(task).selection(features))
    direction = metric_of(metric).higher_is_better
    if direction is None:
        raise ConfigError(f"task '{task}' selects on '{metric}', which has no direction")
    return task, metric, direction


def config_for_store(config: RunConfig, store: Store) -> tuple[RunConfig, dict[str, str]]:
    """``config`` narrowed to what ``store`` holds: of its tasks (the candidates) those the
    data supports, each task's own settings fitted to the data (``Task.fit_to_store``), and
    the item id input only where a task sees items repeatedly. Returns the fitted config and,
    for each task left out, what the store lacks for it. Every choice reads the data, never a
    dataset's name, so a new dataset of the same shape gets the same treatment."""
    features = config.features
    left_out = {
        task.name: reason
        for task in tasks_of(features.tasks)
        if (reason := task.lacks(store, features)) is not None
    }
    kept = tuple(name for name in features.tasks if name not in left_out)
    if not kept:
        why = "; ".join(f"{name}: {reason}" for name, reason in left_out.items())
        raise ConfigError(f"{store.path} supports none of the tasks {list(features.tasks)} ({why})")
    features = dataclasses.replace(features, tasks=kept)
    for task in tasks_of(kept):
        features = task.fit_to_store(features, store, kept)
    # An id embedding learns from an item seen many times (events, weekly sales); with item
    # tasks alone each id would only memorise its one label, and held-out items keep noise.
    repeated = any(task.reads for task in tasks_of(kept))
    model = dataclasses.replace(config.model, use_id=config.model.use_id and repeated)
    boosted = config.boosted_sales
    if boosted.enabled and "sales" not in kept:  # nothing to boost on this store
        boosted = dataclasses.replace(boosted, enabled=False)
    fitted = dataclasses.replace(config, features=features, model=model, boosted_sales=boosted)
    return fitted, left_out


def store_fingerprint(store: Store) -> dict[str, Any]:
    """Row counts, ranges and sources of the store, and a hash of them, saved with each run."""
    stats = store.stats()
    digest = hashlib.sha256(json.dumps(stats, sort_keys=True, default=str).encode()).hexdigest()
    return {"store": str(store.path), "sha256": digest[:16], "stats": stats}


def build(config: RunConfig, store: Store, state: dict | None = None) -> tuple[Any, Any, Any]:
    """(task data, streams, model) for ``config`` over ``store``; ``state`` reuses fitted
    encoders (evaluation of a finished run) instead of fitting them again."""
    torch.manual_seed(config.seed)
    vectors = text_vectors_for(config, store.path)
    data = build_task_data(store, config.features, text_vectors=vectors, state=state)
    return data, make_streams(data), model_of(config, data)


def model_of(config: RunConfig, data: Any) -> MultiTaskModel:
    """A fresh model of ``config`` over ``data``'s catalogue (weights to be loaded or trained)."""
    return MultiTaskModel(config.model, data.dims(), tasks_of(config.features.tasks), data.items)


def evaluators_of(model: MultiTaskModel) -> dict[str, Evaluator]:
    """The evaluator of each task the model was built with."""
    return {task: model.part(task).evaluate for task in model.tasks}


def train_run(config: RunConfig, store_path: Path, out: Path, resume: bool = False) -> dict:
    """Train ``config`` on the store and write the run folder; returns its metrics.json.

    Under torchrun (``toyguide train --nproc N``) every rank trains its shard and rank 0
    alone writes the folder; the other ranks return ``{}``. With ``[grouping]`` each group of
    tasks is a run of its own in ``out/groups/`` (:func:`train_groups`)."""
    if config.grouping.active:
        return train_groups(config, store_path, out, resume)
    here = init_world()
    if config.train.refit_epochs and here.size > 1:  # rank 0 alone goes on after the fit
        raise ConfigError("train.refit_epochs runs in one process; train without --nproc")
    if config.threads:
        torch.set_num_threads(max(1, config.threads // _local_world_size()))
    out.mkdir(parents=True, exist_ok=True)
    _check_names(config)
    if resume:
        _check_resumable(config, out)
    start = time.perf_counter()
    with Store.open(store_path, read_only=True) as store:
        fingerprint = store_fingerprint(store)
        if resume:
            _check_same_store(out, store_path, fingerprint)
        data, streams, model = build(config, store)
    if config.train.refit_epochs:
        _held_out_by_time(streams)  # refused before the training, not after it
    if not resume and here.is_main:  # a resumed run keeps the record it was started with
        save_toml(config, out / "config.toml")
        (out / "features.json").write_text(json.dumps(data.state()))
        (out / "data.json").write_text(json.dumps(fingerprint, indent=1, default=str))
    units, per_target = loss_units(config)
    strategy = build_weighting(config.weighting.name, units, **config.weighting.options)
    probe = RelatednessCallback(model, streams, config.analysis)
    evaluators = evaluators_of(model)
    trainer = Trainer(
        model, streams, strategy, lambda m, split: evaluate_model(m, streams, split, evaluators),
        run_selection(config), config.train, out, callbacks=[probe], per_target=per_target,
        parts=parts_of(config),
    )  # fmt: skip
    result = trainer.fit(resume=resume)
    if not here.is_main:
        return {}
    report = RelatednessReport(
        {**label_matrices(data), **probe.matrices()},
        meta={"probes": probe.probes, "resumed": resume},  # a resumed run probes its rest only
    )
    (out / "relatedness.json").write_text(report.to_json())
    served = served_checkpoints(result.part_best, result.best_epoch)
    test_start = time.perf_counter()
    best, own = out / "checkpoints" / BEST, _own_tasks(model, served)
    calibration, test, extra = _tested(config, model, data, streams, best, own)
    validation = _validation_at(result.history, result.best_epoch)
    part_models = {}
    for checkpoint, names in by_checkpoint(served).items():
        other = model_of(config, data)
        weights = out / "checkpoints" / checkpoint
        fitted, theirs, their_extra = _tested(config, other, data, streams, weights,
                                              part_tasks(names))  # fmt: skip
        calibration |= fitted
        extra = _merged(extra, their_extra)  # neighbours or boosters fitted to these weights
        epoch = result.part_best[names[0]]
        for part in names:
            test = merge_part(test, part, theirs)
            validation = merge_part(validation, part, _validation_at(result.history, epoch))
            part_models[part] = other
    metrics = {
        "test": test,
        **extra,
        **({"calibration": calibration} if calibration else {}),
        "test_seconds": round(time.perf_counter() - test_start, 2),
        "best_epoch": result.best_epoch,
        "best_validation": result.best_value,
        "validation": validation,
        **({"parts": _parts_record(result.part_best, served)} if served else {}),
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "seconds_per_epoch": [h["seconds"] for h in result.history],
        "validation_seconds": [h.get("validation_seconds") for h in result.history],
        "train_seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "data": fingerprint["sha256"],
    }
    if config.train.refit_epochs:
        metrics["refit"] = refit(config, model, streams, out)
    if config.train.refit_epochs and model.boosted_sales is not None:
        metrics["boosted_sales"]["refit"] = refit_boosted_sales(
            model, streams["sales"], config.boosted_sales, config.seed, config.threads or 1
        )
        model.boosted_sales.save(boosted_sales_path(out, "refit"))
    (out / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=1))
    ranker = part_models.get("preference", model)
    if ranker.neighbours is not None:  # serving may read every event the store holds
        choice = ranker.neighbours.choice()
        ranker.neighbours = refit_neighbours(data, "serving", choice, config.threads or 1)
    export_model_folder(model, data, config, out, json_safe(metrics), fingerprint, part_models)
    return metrics


def _own_tasks(model: MultiTaskModel, served: dict[str, str]) -> list[str]:
    """The tasks the run's best checkpoint is tested on: all but those a part checkpoint
    serves whole (a task part elsewhere; a target part still leaves its task's others)."""
    elsewhere = {p for p, c in served.items() if c != BEST and part_task(p)[1] is None}
    return [task for task in model.tasks if task not in elsewhere]


def _evaluated(model: MultiTaskModel, streams: dict, split: str, tasks: list[str]) -> dict:
    """``model``'s metrics on ``split`` of ``tasks`` only."""
    evaluators = {task: model.part(task).evaluate for task in tasks}
    return evaluate_model(model, {task: streams[task] for task in tasks}, split, evaluators)


def _parts_record(part_best: dict[str, int], served: dict[str, str]) -> dict[str, dict]:
    return {part: {"epoch": part_best[part], "checkpoint": c} for part, c in served.items()}


def _tested(
    config: RunConfig, model: MultiTaskModel, data: Any, streams: dict, checkpoint: Path,
    tasks: list[str],
) -> tuple[dict, dict, dict]:  # fmt: skip
    """``model`` with ``checkpoint``'s weights, calibrated (the checkpoint then carries what
    was fitted to it) and tested on ``tasks``: (calibration, test metrics, the
    item neighbours' record where preference is among them, the boosted sales head's where
    sales is)."""
    model, meta = _with_weights(model, checkpoint)
    calibration = calibrate_tasks(model, streams, tasks)
    if calibration:
        write_checkpoint(checkpoint.parent, checkpoint.name, {"model": model.state_dict()},
                         {**meta, "calibration": calibration}, latest=False)  # fmt: skip
    extra = {}
    if config.boosted_sales.enabled and "sales" in tasks:
        extra = _with_boosted_sales(config, model, streams)
        if model.boosted_sales is not None:
            model.boosted_sales.save(boosted_sales_path(checkpoint.parent.parent, checkpoint.name))
    test = _evaluated(model, streams, "test", tasks)
    if config.features.item_neighbours and "preference" in tasks:
        found = _with_neighbours(config, model, data, streams, test)
        test = found.pop("test")
        extra = _merged(extra, found)
    return calibration, test, extra


def _merged(extra: dict, more: dict) -> dict:
    """Two records of what was fitted beside a model; their ``served_validation`` joined."""
    served = {**extra.get("served_validation", {}), **more.get("served_validation", {})}
    return {**extra, **more, **({"served_validation": served} if served else {})}


def _with_boosted_sales(config: RunConfig, model: MultiTaskModel, streams: dict) -> dict:
    """Fit the boosted sales head beside the model's, its blend chosen on validation: the
    sales test then measures what is served, the neural head's own test kept beside it."""
    neural = _evaluated(model, streams, "test", ["sales"])
    record = attach_boosted_sales(model, streams["sales"], config.boosted_sales, config.seed,
                                  config.threads or 1)  # fmt: skip
    extra: dict[str, Any] = {"boosted_sales": record, "test_without_boosted": neural}
    if model.boosted_sales is not None:
        extra["served_validation"] = {"sales": record["validation"]}
    return extra


def _with_weights(model: MultiTaskModel, checkpoint: Path) -> tuple[MultiTaskModel, dict]:
    """``model`` with ``checkpoint``'s weights, in eval mode, and the checkpoint's meta."""
    parts, meta = read_checkpoint(checkpoint)
    model.load_state_dict(parts["model"])
    return model.eval(), meta


def refit(config: RunConfig, model: MultiTaskModel, streams: dict, out: Path) -> dict[str, Any]:
    """Train ``train.refit_epochs`` more epochs from the chosen (and calibrated) weights with
    the data the streams hold out by time in the training split, no selection; the weights
    go to ``checkpoints/refit`` and into the model folder. The test metrics stay those of the
    chosen epoch: the refit has seen the test weeks. Its log is in ``refit/``."""
    started = time.perf_counter()
    extended = _held_out_by_time(streams)
    for task in extended:
        streams[task].through_the_end()
    units, per_target = loss_units(config)
    strategy = build_weighting(config.weighting.name, units, **config.weighting.options)
    epochs = config.train.refit_epochs
    train = replace(config.train, epochs=epochs, patience=epochs + 1, max_minutes=0.0)
    trainer = Trainer(
        model, streams, strategy, lambda m, split: {}, selection_of(config), train,
        out / "refit", per_target=per_target,
    )  # fmt: skip
    result = trainer.fit()
    model.eval()
    meta = {"epochs": result.epochs_run, "tasks_through_the_end": extended}
    write_checkpoint(out / "checkpoints", "refit", {"model": model.state_dict()}, meta,
                     latest=False)  # fmt: skip
    return meta | {"seconds": round(time.perf_counter() - started, 2)}


def _held_out_by_time(streams: dict) -> list[str]:
    """The tasks a refit adds data to; a ConfigError when there are none."""
    tasks = [task for task, stream in streams.items() if stream.holds_out_by_time]
    if not tasks:
        raise ConfigError(
            "train.refit_epochs: no task of this run holds data out by time (sales does); "
            "a refit would only train longer"
        )
    return tasks


def calibrate_tasks(
    model: MultiTaskModel, streams: dict, tasks: list[str] | None = None
) -> dict[str, Any]:
    """Each task's (of ``tasks``, default all) :meth:`~toyguide.tasks.base.Task.calibrate`
    on the validation split, in eval mode; what the tasks fitted, by task."""
    model.eval()
    fitted = {}
    for task in model.tasks if tasks is None else tasks:
        got = model.part(task).calibrate(model, streams[task].eval_batches("validation"))
        if got is not None:
            fitted[task] = got
    return fitted


def _with_neighbours(
    config: RunConfig, model: MultiTaskModel, data: Any, streams: dict, test: dict
) -> dict:
    """Attach item neighbours (weight chosen on validation) and test again: the preference
    metrics with them become the test metrics, the model's own are kept beside them. The fused
    scores' validation metric (what the model folder serves) is kept as ``served_validation``:
    the grouping chooser compares groups by it."""
    started = time.perf_counter()
    features = config.features
    choice = attach_neighbours(model, data, streams["preference"], features.item_neighbours,
                               config.threads or 1, features.item_transitions)  # fmt: skip
    fused = evaluate_model(model, {"preference": streams["preference"]}, "test",
                           {"preference": model.part("preference").evaluate})  # fmt: skip
    choice["seconds"] = round(time.perf_counter() - started, 2)
    return {"test": {**test, **fused}, "neighbours": choice,
            "test_without_neighbours": {"preference": test["preference"]},
            "served_validation": {"preference": choice["validation"]}}  # fmt: skip


def train_groups(config: RunConfig, store_path: Path, out: Path, resume: bool = False) -> dict:
    """One run per group of tasks; ``out/metrics.json`` holds each task's test metrics from
    its group's run and what each group took. A resumed grouped run skips finished groups."""
    given = groups_of(config.grouping, config.features.tasks)  # the rest: choose's
    groups = candidate_groups(config.grouping, config.features.tasks, given)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        save_toml(config, out / "config.toml")
    runs = []
    for group in groups:
        folder = group_folder(out, group)
        done = folder / "metrics.json"
        if resume and done.exists():
            metrics = json.loads(done.read_text())
        else:
            started = resume and latest_checkpoint(folder / "checkpoints") is not None
            metrics = train_run(group_config(config, group), store_path, folder, started)
        if not metrics:  # a rank other than 0
            continue
        runs.append({"tasks": list(group), "run": str(folder.relative_to(out)),
                     "given": group in given, **metrics})  # fmt: skip
    if not runs:
        return {}
    served = _served_by(config, runs)
    merged = {
        "groups": [_group_record(r, served) for r in runs],
        "test": {task: served[task]["test"][task] for task in config.features.tasks},
        "train_seconds": round(sum(r["train_seconds"] for r in runs), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }
    (out / "metrics.json").write_text(json.dumps(json_safe(merged), indent=1))
    return merged


def _validation_at(history: list[dict], epoch: int | None) -> dict:
    """The validation metrics of ``epoch`` (the best), from the trainer's history."""
    return next((h["validation"] for h in history if h["epoch"] == epoch), {})


def _group_record(run: dict, served: dict[str, dict]) -> dict:
    """What a grouped run's metrics.json keeps of one group: whether the config gave or
    suggested it (or ``choose`` added it) and which tasks it serves."""
    record = {k: run[k] for k in ("tasks", "run", "given", "best_epoch", "epochs_run")}
    return record | {"serves": [t for t in run["tasks"] if served[t] is run]}


def _served_by(config: RunConfig, runs: list[dict]) -> dict[str, dict]:
    """Task → the group run that serves it (its own group, or with ``grouping.choose`` the
    best on validation of the groups that trained it)."""
    tasks = config.features.tasks
    selections = {t: _own_selection(t, config.features)[1:] for t in tasks}
    by_group = {tuple(r["tasks"]): r for r in runs}
    chosen = serving_groups(tasks, list(by_group.items()), selections)
    return {task: by_group[group] for task, group in chosen.items()}


def _local_world_size() -> int:
    """Processes on this machine (torchrun's LOCAL_WORLD_SIZE), which share its threads."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", 1))


def _check_names(config: RunConfig) -> None:
    """Unknown plug-in names fail before the (possibly long) data build."""
    MIXERS.get(config.model.mixer)
    build_weighting(config.weighting.name, loss_units(config)[0], **config.weighting.options)
    parts_of(config)  # and with it selection_of


def _check_resumable(config: RunConfig, out: Path) -> None:
    if latest_checkpoint(out / "checkpoints") is None:
        raise CheckpointError(f"{out / 'checkpoints'}: nothing to resume from")
    saved = out / "config.toml"
    if to_dict(load_toml(saved, RunConfig)) != to_dict(config):
        raise ConfigError(f"{saved} differs from the config given; resume needs the same config")


def _check_same_store(out: Path, store_path: Path, fingerprint: dict) -> None:
    saved = json.loads((out / "data.json").read_text())["sha256"]
    if saved != fingerprint["sha256"]:
        raise ConfigError(
            f"{store_path} is not the store this run was trained on (data {fingerprint['sha256']}"
            f" != {saved}); resume needs the same store"
        )


def load_best(
    run_dir: Path, store_path: Path, checkpoint: str = "best"
) -> tuple[Any, Any, Any, dict]:
    """A finished run's (task data, streams, model in eval mode, checkpoint meta) over the
    store, with the run's fitted encoders and its best checkpoint's weights (``"refit"``: the
    refitted weights the model folder serves, where ``train.refit_epochs`` made them)."""
    config = load_toml(run_dir / "config.toml", RunConfig)
    state = json.loads((run_dir / "features.json").read_text())
    with Store.open(store_path, read_only=True) as store:
        data, streams, model = build(config, store, state)
    model, meta = _with_weights(model, run_dir / "checkpoints" / checkpoint)
    model.boosted_sales = _boosted_sales_of(run_dir, checkpoint)
    return data, streams, model, meta


def boosted_sales_path(run_dir: Path, checkpoint: str) -> Path:
    """Where a run keeps the boosted sales head fitted to ``checkpoint``'s weights."""
    return run_dir / f"{Path(BOOSTED_SALES_FILE).stem}-{checkpoint}.json"


def _boosted_sales_of(run_dir: Path, checkpoint: str) -> BoostedSales | None:
    path = boosted_sales_path(run_dir, checkpoint)
    return BoostedSales.load(path) if path.is_file() else None


def evaluate_run(run_dir: Path, store_path: Path, split: str = "test") -> dict:
    """Re-evaluate a finished run's best checkpoint on ``split`` of the store (with the item
    neighbours its training chose, refitted on the events ``split`` may see)."""
    data, streams, model, meta = load_best(run_dir, store_path)
    done = run_dir / "metrics.json"  # absent while a run is still training
    record = json.loads(done.read_text()) if done.exists() else {}
    served = {part: v["checkpoint"] for part, v in record.get("parts", {}).items()}
    config = load_toml(run_dir / "config.toml", RunConfig)
    parts = by_checkpoint(served)  # selection.each's parts with weights of their own
    others = {c: _with_weights(model_of(config, data), run_dir / "checkpoints" / c)[0]
              for c in parts}  # fmt: skip
    chosen = record.get("neighbours")
    if chosen and "preference" in model.tasks:
        ranker = others.get(served.get("preference", BEST), model)
        ranker.neighbours = refit_neighbours(data, split, chosen)
    sales_from = served.get("sales", BEST)
    if sales_from != BEST:  # load_best attached the best checkpoint's head to ``model``
        others[sales_from].boosted_sales = _boosted_sales_of(run_dir, sales_from)
    metrics = _evaluated(model, streams, split, _own_tasks(model, served))
    for checkpoint, names in parts.items():
        theirs = _evaluated(others[checkpoint], streams, split, part_tasks(names))
        for part in names:
            metrics = merge_part(metrics, part, theirs)
    return {"split": split, "best_epoch": meta.get("epoch"), split: metrics}


def recover_truth_for_run(
    run_dir: str | Path, store_path: str | Path, truth_dir: str | Path | None = None
) -> dict[str, float]:
    """:func:`recover_truth` for a finished run's best checkpoint over the store it was trained
    on; ``truth_dir`` defaults to the folder ``build_synthetic_store`` wrote beside the store."""
    run_dir, store_path = Path(run_dir), Path(store_path)
    truth_dir = Path(truth_dir) if truth_dir is not None else truth_dir_for(store_path)
    absent = [n for n in TRUTH_FILES if not (truth_dir / f"{n}.parquet").is_file()]
    if absent:
        raise ConfigError(
            f"{truth_dir} lacks {', '.join(absent)}; the hidden truth exists only for a store "
            "built from the synthetic shop (toyguide data synth)"
        )
    data, streams, model, _ = load_best(run_dir, store_path)
    return recover_truth(model, data, streams, read_truth(truth_dir))


def json_safe(value: Any) -> Any:
    """Strict JSON: NaN and infinities (undefined metrics) become null."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def load_run_config(path: Path) -> RunConfig:
    return load_toml(path, RunConfig)


def run_config_from_dict(data: dict) -> RunConfig:
    return from_dict(RunConfig, data)
