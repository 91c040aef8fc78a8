"""The local store: every run's samples in one SQLite file under the project.

No server needed: ``make lab`` and ``make nightly`` keep each run here
(``reports/store/results.sqlite`` by default) whether or not InfluxDB is
configured, and remember which InfluxDB each run has reached, so a run
written while the server was down is sent later (``python -m lab.results
backfill``). Tables hold the result schema's rows (``lab.results.schema``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from lab.paths import STORE_DIR

from .schema import SAMPLE_COLUMNS, SCALAR_COLUMNS, RunInfo

DEFAULT_STORE = STORE_DIR / "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_ns INTEGER NOT NULL,
    board TEXT NOT NULL,
    board_kind TEXT NOT NULL,
    timing TEXT NOT NULL,
    icount_shift INTEGER,
    commit_id TEXT NOT NULL,
    source TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    measurement TEXT NOT NULL, key TEXT NOT NULL, scenario TEXT NOT NULL, test TEXT NOT NULL,
    vm TEXT NOT NULL, level TEXT NOT NULL, core INTEGER NOT NULL, seq INTEGER NOT NULL,
    value_ns REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples(run_id);
CREATE TABLE IF NOT EXISTS scalars (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    measurement TEXT NOT NULL, key TEXT NOT NULL, scenario TEXT NOT NULL, test TEXT NOT NULL,
    vm TEXT NOT NULL, level TEXT NOT NULL, core INTEGER NOT NULL, field TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS synced (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    destination TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    PRIMARY KEY (run_id, destination)
);
"""


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class ResultStore:
    def __init__(self, path: Path = DEFAULT_STORE) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path)
        try:
            with db:  # one transaction: all of a run or none of it
                yield db
        finally:
            db.close()

    def add_run(self, run: RunInfo, samples: pd.DataFrame, scalars: pd.DataFrame,
                summary: dict[str, Any]) -> None:
        with self._connect() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise StoreError(f"{self.path}: run {run.run_id} is stored already")
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, run.started_ns, run.board, run.board_kind, run.timing,
                 run.icount_shift, run.commit, run.source, json.dumps(summary, sort_keys=True)),
            )
            db.executemany(
                f"INSERT INTO samples VALUES (?, {', '.join('?' * len(SAMPLE_COLUMNS))})",
                ((run.run_id, *row) for row in
                 samples[SAMPLE_COLUMNS].astype({"core": int, "seq": int}).itertuples(index=False)),
            )
            db.executemany(
                f"INSERT INTO scalars VALUES (?, {', '.join('?' * len(SCALAR_COLUMNS))})",
                ((run.run_id, *row) for row in
                 scalars[SCALAR_COLUMNS].astype({"core": int}).itertuples(index=False)),
            )

    def runs(self, *, last: int | None = None, board: str | None = None,
             board_kind: str | None = None) -> pd.DataFrame:
        """Runs oldest first (the last ``last`` of them), without their summaries."""
        query = ("SELECT run_id, started_ns, board, board_kind, timing, icount_shift, "
                 "commit_id AS \"commit\", source FROM runs WHERE 1=1")
        params: list[object] = []
        if board:
            query += " AND board = ?"
            params.append(board)
        if board_kind:
            query += " AND board_kind = ?"
            params.append(board_kind)
        query += " ORDER BY started_ns DESC"
        if last:
            query += " LIMIT ?"
            params.append(last)
        with self._connect() as db:
            frame = pd.read_sql_query(query, db, params=params)
        return frame.iloc[::-1].reset_index(drop=True)

    def run_info(self, run_id: str) -> RunInfo:
        with self._connect() as db:
            row = db.execute(
                "SELECT run_id, started_ns, board, board_kind, timing, icount_shift, commit_id, "
                "source FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: no run {run_id}")
        return RunInfo(*row)

    def samples(self, run_id: str) -> pd.DataFrame:
        with self._connect() as db:
            return pd.read_sql_query(
                f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM samples WHERE run_id = ? "
                "ORDER BY rowid", db, params=(run_id,))

    def scalars(self, run_id: str) -> pd.DataFrame:
        with self._connect() as db:
            return pd.read_sql_query(
                f"SELECT {', '.join(SCALAR_COLUMNS)} FROM scalars WHERE run_id = ? "
                "ORDER BY rowid", db, params=(run_id,))

    def summary(self, run_id: str) -> dict[str, Any]:
        with self._connect() as db:
            row = db.execute("SELECT summary FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: no run {run_id}")
        return json.loads(row[0])

    def unsynced(self, destination: str) -> list[str]:
        """Runs not yet written to ``destination`` (an InfluxDB's URL and database), oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id FROM runs WHERE run_id NOT IN "
                "(SELECT run_id FROM synced WHERE destination = ?) ORDER BY started_ns",
                (destination,)).fetchall()
        return [row[0] for row in rows]

    def mark_synced(self, run_id: str, destination: str, at_ns: int) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO synced VALUES (?, ?, ?)", (run_id, destination, at_ns))
