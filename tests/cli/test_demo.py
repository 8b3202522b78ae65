"""``toyguide demo --dataset NAME --source DIR``: a public dataset imported, the tasks its data
supports trained, the serving folder written and the guide answering from it; bad sources
named clearly. The fixture is a 300-product slice of the Amazon UK catalogue in the adapter's
own source format (half of it from the full-column file, which alone has ages)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from toyguide.cli import app
from toyguide.cli import demo as demo_module
from toyguide.runs import RunConfig, load_run_config

shared_data = pytest.mark.shared_data

CORE, FULL = "toy_products_10k_core_columns.csv", "toy_products_863_full_columns.csv"
N_PRODUCTS = 300


@pytest.fixture(scope="module")
def uk_source(tmp_path_factory: pytest.TempPathFactory, shared_dataset) -> Path:
    """A small copy of the Amazon UK source folder: the first 150 products of the full-column
    file and 150 others of the core file, both files in their original columns."""
    source = shared_dataset("amazon-uk-toy-products")
    core = pl.read_csv(source / CORE, infer_schema_length=0)
    full = pl.read_csv(source / FULL, infer_schema_length=0)
    rich = full["product_id"].head(N_PRODUCTS // 2)
    plain = core.filter(~pl.col("uniq_id").is_in(full["product_id"].implode()))["uniq_id"]
    kept = pl.concat([rich, plain.head(N_PRODUCTS - len(rich))])
    out = tmp_path_factory.mktemp("amazon-uk-small")
    core.filter(pl.col("uniq_id").is_in(kept.implode())).write_csv(out / CORE)
    full.filter(pl.col("product_id").is_in(rich.implode())).write_csv(out / FULL)
    return out


def quick(config: RunConfig) -> RunConfig:
    """The shipped dataset config, trained briefly and smaller: the test checks the path, not
    the accuracy (the full run is measured, see the branch's notes)."""
    return dataclasses.replace(
        config,
        threads=1,
        features=dataclasses.replace(config.features, text_buckets=0),
        model=dataclasses.replace(config.model, d_model=32),
        train=dataclasses.replace(config.train, epochs=2, steps_per_epoch=5, patience=1),
    )


@shared_data
def test_dataset_demo_trains_what_the_catalogue_supports_and_the_guide_answers(
    uk_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = demo_module.dataset_config
    monkeypatch.setattr(demo_module, "dataset_config", lambda seed: quick(shipped(seed)))
    out = tmp_path / "demo"
    args = ["demo", "--dataset", "amazon-uk-products", "--source", str(uk_source)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert (out / "shop.duckdb").is_file() and (out / "run" / "model").is_dir()
    # a catalogue without shoppers, events or sales: attributes only, each absence explained
    config = load_run_config(out / "run" / "config.toml")
    assert config.features.tasks == ("attributes",)
    assert {"age_band", "functions"} <= set(config.features.attribute_targets)
    assert "gender_target" not in config.features.attribute_targets  # 1 label in the slice
    assert not config.model.use_id
    for task in ("preference", "sales", "profile"):
        assert f"left out {task}: the store has" in result.output

    from toyguide.guide.engine import NO_HISTORY_NOTE, Guide

    guide = Guide.load(out / "run", out / "shop.duckdb", semantic=False)
    try:
        answer, _ = guide.ask("a puzzle for a 6 year old")
    finally:
        guide.close()
    assert answer.picks and answer.picks[0].reasons[0] == "close to the request"
    assert NO_HISTORY_NOTE in answer.notes


def toyguide(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "toyguide", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_a_missing_source_folder_names_it_and_the_file_expected(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    out = tmp_path / "demo"
    result = toyguide("demo", "--dataset", "amazon-uk-products", "--source", missing,
                      "--out", out, "--no-serve")  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{missing}: no such folder" in result.stderr
    assert f"{missing / CORE}: file not found" in result.stderr
    assert not (out / "shop.duckdb").exists()  # nothing half-built left to serve


def test_a_wrong_source_folder_names_the_file_expected(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    result = toyguide("demo", "--dataset", "amazon-uk-products", "--source", tmp_path,
                      "--out", tmp_path / "demo", "--no-serve")  # fmt: skip
    assert result.returncode == 1
    assert f"{tmp_path / CORE}: file not found" in result.stderr


def test_an_unknown_dataset_lists_the_adapters(tmp_path: Path) -> None:
    result = toyguide("demo", "--dataset", "amazon-uk", "--source", tmp_path,
                      "--out", tmp_path / "demo", "--no-serve")  # fmt: skip
    assert result.returncode == 1
    assert "unknown dataset adapter 'amazon-uk'; known:" in result.stderr
    assert "amazon-uk-products" in result.stderr and "uci-online-retail" in result.stderr


def test_source_without_dataset_is_refused(tmp_path: Path) -> None:
    result = toyguide("demo", "--source", tmp_path, "--out", tmp_path / "demo", "--no-serve")
    assert result.returncode == 1 and "--dataset and --source go together" in result.stderr
