"""The embedded store: one DuckDB file holding the four tables of the data model.

Writes go through :meth:`Store.ingest_many`, which validates every row and commits all the
given tables or none of them; rows whose primary key is already stored are replaced, so
ingesting the same file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import polars as pl

from toyguide.data.readers import LINE, REPORT_LIMIT
from toyguide.data.schema import SCHEMA, TABLE_NAMES, Table, table
from toyguide.data.validate import Finding, check_frame, raise_if_any
from toyguide.errors import StoreError

__all__ = ["SCHEMA_VERSION", "IngestReport", "Store"]

SCHEMA_VERSION = 1
_STAGED = "_staged"


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion did to one table."""

    table: str
    source: str
    rows: int
    inserted: int
    replaced: int


class Store:
    """A toyguide store in one DuckDB file; use :meth:`open` and close it (or ``with``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self._con = con
        self.path = path

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open the store at ``path``, creating it (unless read-only) when it does not exist."""
        path = Path(path)
        if read_only and not path.exists():
            raise StoreError(f"{path}: no store there (create one with an ingest or import)")
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            locked = isinstance(exc, duckdb.IOException) and "lock is held" in str(exc).lower()
            message = _in_use(exc) if locked else f"cannot open as a toyguide store: {exc}"
            raise StoreError(f"{path}: {message}") from None
        store = cls(con, path)
        store._check_or_create(read_only)
        return store

    def _check_or_create(self, read_only: bool) -> None:
        names = {
            r[0] for r in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if "_meta" in names:
            version = self.meta("schema_version")
            if version != SCHEMA_VERSION:
                self.close()
                raise StoreError(
                    f"{self.path}: store schema version {version}, this toyguide reads "
                    f"{SCHEMA_VERSION}"
                )
            return
        if names:
            self.close()
            raise StoreError(f"{self.path}: a DuckDB file but not a toyguide store")
        if read_only:
            raise StoreError(f"{self.path}: empty file, not a toyguide store")
        self._create()

    def _create(self) -> None:
        con = self._con
        con.begin()
        for t in SCHEMA.values():
            cols = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in t.columns)
            con.execute(f"CREATE TABLE {t.name} ({cols})")
        con.execute("CREATE TABLE _meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute(
            "CREATE TABLE _ingest_log (ingested_at TIMESTAMP, source VARCHAR, tbl VARCHAR,"
            " n_rows BIGINT, inserted BIGINT, replaced BIGINT)"
        )
        con.execute("INSERT INTO _meta VALUES ('schema_version', ?)", [json.dumps(SCHEMA_VERSION)])
        con.commit()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def ingest(self, table_name: str, frame: pl.DataFrame, source: str) -> IngestReport:
        """Validate ``frame`` as rows of ``table_name`` and upsert them, all or nothing."""
        return self.ingest_many([(table_name, frame)], source)[0]

    def ingest_many(self, parts: list[tuple[str, pl.DataFrame]], source: str) -> list[IngestReport]:
        """Validate and upsert several tables in one transaction, in the order given.

        Foreign keys are checked against what is stored plus the parts before, so pass items
        and shoppers before events and sales. On any problem nothing is written.
        """
        tables = [(table(name), frame) for name, frame in parts]
        self._con.begin()
        try:
            reports = [self._ingest_one(t, frame, source) for t, frame in tables]
            self._con.commit()
        except duckdb.IOException as exc:  # disk full, file-size limit, I/O error
            self._rollback_quietly()
            raise StoreError(
                f"{self.path}: could not write the store while ingesting {source}: {exc}. "
                "Nothing of it was stored and what was stored before is unchanged; free space "
                "(or lift the limit) and run the same ingest again."
            ) from None
        except BaseException:
            self._rollback_quietly()
            raise
        return reports

    def _rollback_quietly(self) -> None:
        # A failed write may leave DuckDB with no transaction to roll back; the commit never
        # happened either way, and the caller's own error is the one worth reporting.
        with contextlib.suppress(duckdb.Error):
            self._con.rollback()

    def check(self, table_name: str, frame: pl.DataFrame, source: str) -> pl.DataFrame:
        """Validate ``frame`` as rows of ``table_name`` against what is stored (foreign keys
        included) and write nothing, so a read-only store can do it: the rows in the table's
        types, or ``DataValidationError`` naming each problem's row and field."""
        with self._staged(table(table_name), frame, source) as typed:
            return typed.drop(LINE)

    @contextlib.contextmanager
    def _staged(self, t: Table, frame: pl.DataFrame, source: str) -> Iterator[pl.DataFrame]:
        """The typed rows, checked and visible to SQL as ``_staged`` inside the block."""
        if LINE not in frame.columns:
            frame = frame.with_columns(
                pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(LINE)
            )
        typed, findings = check_frame(frame, t, source)
        self._con.register(_STAGED, typed.to_arrow())
        try:
            raise_if_any(findings + self._foreign_key_findings(t), source)
            yield typed
        finally:
            self._con.unregister(_STAGED)

    def _ingest_one(self, t: Table, frame: pl.DataFrame, source: str) -> IngestReport:
        with self._staged(t, frame, source) as typed:
            replaced = self._upsert(t)
        report = IngestReport(t.name, source, typed.height, typed.height - replaced, replaced)
        self._con.execute(
            "INSERT INTO _ingest_log VALUES (now(), ?, ?, ?, ?, ?)",
            [source, t.name, report.rows, report.inserted, report.replaced],
        )
        return report

    def _foreign_key_findings(self, t: Table) -> list[Finding]:
        findings = []
        for fk in t.foreign_keys:
            ref_key = SCHEMA[fk.table].key[0]
            missing = f"""SELECT s.{LINE}, s."{fk.column}" FROM {_STAGED} s
                WHERE s."{fk.column}" IS NOT NULL AND NOT EXISTS
                (SELECT 1 FROM {fk.table} r WHERE r."{ref_key}" = s."{fk.column}")"""
            count = self._con.execute(f"SELECT count(*) FROM ({missing})").fetchone()[0]
            if not count:
                continue
            head = self._con.execute(f"{missing} ORDER BY 1 LIMIT {REPORT_LIMIT}").fetchall()
            reasons = [
                (line, f"'{value}' is not a known {fk.table} {ref_key}") for line, value in head
            ]
            findings.append(Finding(fk.column, reasons, count))
        return findings

    def _upsert(self, t: Table) -> int:
        match = " AND ".join(f't."{k}" = s."{k}"' for k in t.key)
        replaced = self._con.execute(
            f"SELECT count(*) FROM {t.name} t JOIN {_STAGED} s ON {match}"
        ).fetchone()[0]
        if replaced:
            self._con.execute(f"DELETE FROM {t.name} t USING {_STAGED} s WHERE {match}")
        cols = ", ".join(f'"{c}"' for c in t.column_names)
        self._con.execute(f"INSERT INTO {t.name} ({cols}) SELECT {cols} FROM {_STAGED}")
        return int(replaced)

    def set_meta(self, key: str, value: Any) -> None:
        self._con.execute(
            "INSERT OR REPLACE INTO _meta VALUES (?, ?)", [key, json.dumps(value, default=str)]
        )

    # -- reading ---------------------------------------------------------------------------
    def meta(self, key: str) -> Any:
        row = self._con.execute("SELECT value FROM _meta WHERE key = ?", [key]).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except json.JSONDecodeError:
            return row[0]

    def counts(self) -> dict[str, int]:
        return {
            name: int(self._con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in TABLE_NAMES
        }

    def frame(self, table_name: str) -> pl.DataFrame:
        """A whole table as a Polars frame with the schema's dtypes."""
        t = table(table_name)
        return self._con.execute(f"SELECT * FROM {t.name}").pl().cast(t.polars_schema)

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run read-only SQL against the store (for analyses and tests)."""
        return self._con.execute(sql, params or []).pl()

    def ingest_log(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM _ingest_log ORDER BY ingested_at").to_dicts()
        return [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
            for r in rows
        ]

    def stats(self) -> dict[str, Any]:
        """Row counts plus label coverage and date ranges, for ``toyguide store stats``."""
        q = self._con.execute
        out: dict[str, Any] = dict(self.counts())
        out["labelled"] = {
            "shoppers_with_child_age": q(
                "SELECT count(*) FROM shoppers WHERE child_birth_date IS NOT NULL"
                " OR child_age_months IS NOT NULL"
            ).fetchone()[0],
            "shoppers_with_child_gender": q(
                "SELECT count(*) FROM shoppers WHERE child_gender IS NOT NULL"
            ).fetchone()[0],
            "items_with_age_range": q(
                "SELECT count(*) FROM items WHERE age_min_months IS NOT NULL"
            ).fetchone()[0],
            "items_with_gender_target": q(
                "SELECT count(*) FROM items WHERE gender_target IS NOT NULL"
            ).fetchone()[0],
            "items_with_functions": q(
                "SELECT count(*) FROM items WHERE len(functions) > 0"
            ).fetchone()[0],
        }
        out["event_kinds"] = dict(
            q("SELECT kind, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall()
        )
        ts = q("SELECT min(ts), max(ts) FROM events").fetchone()
        weeks = q("SELECT min(week), max(week) FROM sales").fetchone()
        out["events_range"] = [str(v) if v is not None else None for v in ts]
        out["sales_range"] = [str(v) if v is not None else None for v in weeks]
        out["sources"] = sorted({r[0] for r in q("SELECT source FROM _ingest_log").fetchall()})
        return out


def _in_use(exc: Exception) -> str:
    # DuckDB locks the file for the one process that may write it, and then refuses every
    # other process, readers included; the usual holder is a running ``toyguide serve``.
    return (
        "the store is in use by another process, and DuckDB lets only one process "
        "open a store while it can be written; stop that process (a running `toyguide serve` "
        "holds its store: send events to its POST /v1/events instead) and try again. "
        f"DuckDB says: {exc}"
    )
