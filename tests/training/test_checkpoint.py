from __future__ import annotations

from pathlib import Path

import pytest
import torch

from toyguide.errors import CheckpointError
from toyguide.training.checkpoint import (
    flatten_state,
    latest_checkpoint,
    read_checkpoint,
    unflatten_state,
    write_checkpoint,
)

from ..faults import run_limited


def optimiser_state() -> dict:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optim": opt.state_dict(), "rng": torch.get_rng_state()}


def assert_same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b) and a.dtype == b.dtype
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_nested_state_round_trips_exactly() -> None:
    state = optimiser_state()
    skeleton, tensors = flatten_state(state)
    assert_same(unflatten_state(skeleton, tensors), state)


def test_checkpoint_folder_round_trip_and_latest(tmp_path: Path) -> None:
    state = optimiser_state()
    write_checkpoint(tmp_path, "epoch-0001", {"train": state}, {"epoch": 1})
    write_checkpoint(tmp_path, "epoch-0002", {"train": state}, {"epoch": 2})
    folder = latest_checkpoint(tmp_path)
    assert folder is not None and folder.name == "epoch-0002"
    parts, meta = read_checkpoint(folder)
    assert meta == {"epoch": 2}
    assert_same(parts["train"], state)


def test_tampered_and_truncated_checkpoints_are_refused(tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path, "c", {"train": optimiser_state()}, {})
    weights = folder / "train.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        read_checkpoint(folder)
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        read_checkpoint(folder)
    (folder / "checksums.json").unlink()
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        read_checkpoint(folder)


def test_unstorable_values_are_errors() -> None:
    with pytest.raises(CheckpointError, match="cannot store a object"):
        flatten_state({"x": object()})


BIG_WRITE = """
import torch
from pathlib import Path
from toyguide.training.checkpoint import write_checkpoint
big = {{"w": torch.ones(1_000_000)}}  # 4 MB, past the limit
write_checkpoint(Path({root!r}), {name!r}, {{"model": big}}, {{"epoch": 2}})
print("written")
"""


@pytest.mark.parametrize("name", ["epoch-0002", "best"])
def test_a_full_disk_mid_checkpoint_keeps_the_previous_one(tmp_path: Path, name: str) -> None:
    small = {"w": torch.arange(10.0)}
    write_checkpoint(tmp_path, "epoch-0001", {"model": small}, {"epoch": 1})
    write_checkpoint(tmp_path, "best", {"model": small}, {"epoch": 1}, latest=False)
    result = run_limited(BIG_WRITE.format(root=str(tmp_path), name=name), 1 << 20)
    assert "written" not in result.stdout
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("toyguide.errors.CheckpointError: could not write checkpoint")
    assert "File too large" in message
    assert ("is unchanged" in message) == (name == "best")  # only an existing folder is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LATEST", "best", "epoch-0001"]
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "epoch-0001"
    for folder in (latest, tmp_path / "best"):
        parts, meta = read_checkpoint(folder)
        assert meta == {"epoch": 1}
        assert_same(parts["model"], small)
