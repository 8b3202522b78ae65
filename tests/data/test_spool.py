"""The event spool: durable appends, exactly-once ingestion, bad lines named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from toyguide.data.spool import SpoolWriter, ingest_spool, spool_dir
from toyguide.data.store import Store

RAW = {"shopper_id": pl.String, "item_id": pl.String, "ts": pl.String, "kind": pl.String,
       "value": pl.Float64, "price_paid": pl.Float64}  # fmt: skip


@pytest.fixture
def shop(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "shop.duckdb") as s:
        s.ingest("items", pl.DataFrame({"item_id": ["T1", "T2"]}), "test")
        s.ingest("shoppers", pl.DataFrame({"shopper_id": ["S1", "S2"]}), "test")
        yield s


def checked(store: Store, *rows: tuple) -> pl.DataFrame:
    """Rows validated as the service validates a batch before spooling it."""
    frame = pl.DataFrame([dict(zip(RAW, r, strict=True)) for r in rows], schema=RAW)
    return store.check("events", frame, "api")


def events(store: Store) -> list[tuple]:
    return store.query(
        "SELECT shopper_id, item_id, ts::VARCHAR, kind FROM events ORDER BY ALL"
    ).rows()


def test_batches_of_two_writers_are_stored_once_and_the_spool_emptied(shop: Store) -> None:
    a, b = SpoolWriter(spool_dir(shop.path)), SpoolWriter(spool_dir(shop.path))
    a.append(checked(shop, ("S1", "T1", "2026-05-04T10:30:00Z", "view", None, None)))
    b.append(checked(shop, ("S2", "T2", "2026-05-04T11:00:00+01:00", "purchase", 1.0, 9.5)))
    a.append(checked(shop, ("S1", "T2", "2026-05-04T12:00:00", "click", None, None)))
    assert a.path != b.path and len(a.path.read_text().splitlines()) == 2
    report = ingest_spool(shop)
    assert (report.files, report.batches, report.rows, report.failed) == (2, 3, 3, [])
    assert events(shop) == [("S1", "T1", "2026-05-04 10:30:00", "view"),
                            ("S1", "T2", "2026-05-04 12:00:00", "click"),
                            ("S2", "T2", "2026-05-04 10:00:00", "purchase")]  # fmt: skip
    assert list(spool_dir(shop.path).iterdir()) == []
    again = ingest_spool(shop)
    assert (again.files, again.rows) == (0, 0) and len(events(shop)) == 3


def test_a_writer_whose_file_was_claimed_starts_a_new_one(shop: Store) -> None:
    writer = SpoolWriter(spool_dir(shop.path))
    writer.append(checked(shop, ("S1", "T1", "2026-05-04T10:30:00", "view", None, None)))
    assert ingest_spool(shop).rows == 1 and not writer.path.exists()
    writer.append(checked(shop, ("S2", "T1", "2026-05-04T10:31:00", "view", None, None)))
    assert writer.path.exists()
    assert ingest_spool(shop).rows == 1 and len(events(shop)) == 2


def test_an_event_sent_twice_is_stored_once(shop: Store) -> None:
    writer = SpoolWriter(spool_dir(shop.path))
    batch = checked(shop, ("S1", "T1", "2026-05-04T10:30:00Z", "purchase", 1.0, 5.0))
    writer.append(batch)
    writer.append(batch.with_columns(pl.lit(2.0).alias("value")))  # the client's retry, changed
    report = ingest_spool(shop)
    assert (report.batches, report.rows) == (2, 1)
    assert shop.query("SELECT value FROM events").item() == 2.0  # the later batch wins


def test_a_bad_line_is_named_and_nothing_of_its_file_is_stored(shop: Store) -> None:
    good, bad = SpoolWriter(spool_dir(shop.path)), SpoolWriter(spool_dir(shop.path))
    good.append(checked(shop, ("S1", "T1", "2026-05-04T10:30:00", "view", None, None)))
    bad.append(checked(shop, ("S2", "T1", "2026-05-04T10:30:00", "view", None, None)))
    poked = {"shopper_id": "S2", "item_id": "T2", "ts": "2026-05-04T10:31:00", "kind": "poke"}
    with bad.path.open("a") as f:  # an edited line: a kind the store does not allow
        f.write(json.dumps({"events": [poked]}) + "\n")
    report = ingest_spool(shop)
    assert report.files == 1 and events(shop) == [("S1", "T1", "2026-05-04 10:30:00", "view")]
    [failure] = report.failed
    assert ".claimed:2: field 'kind'" in failure and "poke" in failure, failure
    [left] = spool_dir(shop.path).glob("*.claimed")
    assert left.name.startswith(bad.path.stem)
    message = report.failure_message(spool_dir(shop.path))
    assert "fix or delete the line named" in message and "1 other file(s)" in message
    first = left.read_text().splitlines()[0]
    left.write_text(first + "\n{not json\n")
    [failure] = ingest_spool(shop).failed
    assert '.claimed:2: not a JSON object with an "events" list' in failure, failure
    left.write_text(first + "\n")  # fixed: the bad line removed
    assert ingest_spool(shop).rows == 1 and len(events(shop)) == 2


def test_an_unfinished_last_line_is_skipped_with_a_note(shop: Store) -> None:
    writer = SpoolWriter(spool_dir(shop.path))
    writer.append(checked(shop, ("S1", "T1", "2026-05-04T10:30:00", "view", None, None)))
    with writer.path.open("a") as f:
        f.write('{"events": [{"shopper_id": "S1"')  # a crash mid-write: never acknowledged
    report = ingest_spool(shop)
    assert report.rows == 1 and report.failed == []
    assert any("unfinished last line was skipped" in n for n in report.notes)


def test_a_file_committed_before_a_crash_is_not_ingested_again(shop: Store) -> None:
    writer = SpoolWriter(spool_dir(shop.path))
    writer.append(checked(shop, ("S1", "T1", "2026-05-04T10:30:00", "view", None, None)))
    folder = spool_dir(shop.path)
    kept = writer.path.read_bytes()
    assert ingest_spool(shop).rows == 1
    [logged] = [r["source"] for r in shop.ingest_log() if r["source"].endswith(".claimed")]
    (folder / Path(logged).name).write_bytes(kept)  # as if the delete after commit never ran
    report = ingest_spool(shop)
    assert (report.files, report.rows) == (1, 0) and "committed before" in report.notes[0]
    assert list(folder.iterdir()) == [] and len(events(shop)) == 1
    assert sum(r["source"].endswith(".claimed") for r in shop.ingest_log()) == 1
