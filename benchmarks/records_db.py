"""Factory records written per second by 8 stations at once (issue 18): PostgreSQL (a
throwaway server, as the tests start it) against the single station's SQLite file.

Each station is a process of its own appending attempts as a flash does: one connection and
one committed transaction per attempt (that is what keeps an attempt when a station dies).
The SQLite file is in WAL mode with short ``BEGIN IMMEDIATE`` transactions retried while
another station holds the lock (`storage.sqlite`); no spool is in front of either store
here, so any attempt not stored is a loss of the database itself.
A few seconds. `python -m benchmarks.records_db [--quick] [--dsn postgresql://...]`
(--quick: 50 attempts per station instead of 250; --dsn: an existing database instead of
a throwaway server).
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from contextlib import nullcontext
from multiprocessing.synchronize import Event
from pathlib import Path

from flasher.errors import RecordsError
from flasher.records import AttemptRecord, RecordsStore, open_records
from testsupport.postgres import PostgresMissing, throwaway_server

STATIONS = 8


def _station(target: str, name: str, count: int, go: Event) -> None:
    store = open_records(target if target.startswith("postgresql") else Path(target))
    go.wait()
    for i in range(count):
        try:
            store.append(AttemptRecord(time.time(), 0.1, f"port-{i}", f"{i:08x}", "app.suit",
                                       "ab" * 32, 7, "ok", None, 1024, 1, "op", name))
        except RecordsError as exc:
            print(f"{name}: stopped after {i} attempts: {exc}", file=sys.stderr)
            return


def rate(target: str, count: int) -> tuple[float, int]:
    """(attempts stored per second, all stations together; attempts stored). A station
    whose append fails stops there (the flash's spool would keep the rest)."""
    open_records(target if target.startswith("postgresql") else Path(target)).all()  # schema
    context = multiprocessing.get_context("fork")
    go = context.Event()
    stations = [context.Process(target=_station, args=(target, f"st-{n}", count, go))
                for n in range(STATIONS)]
    for station in stations:
        station.start()
    began = time.perf_counter()
    go.set()
    for station in stations:
        station.join()
    elapsed = time.perf_counter() - began
    stored: RecordsStore = open_records(target if target.startswith("postgresql") else Path(target))
    kept = len(stored.all())
    return kept / elapsed, kept


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    count = 50 if "--quick" in words else 250
    dsn = _option(words, "--dsn")
    def report(what: str, result: tuple[float, int]) -> None:
        lost = STATIONS * count - result[1]
        print(f"{what:<36} {result[0]:8.0f} attempts/s ({STATIONS} stations x {count}"
              f"{f'; {lost} NOT stored' if lost else ', all stored'})")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite file, 8 station processes", rate(str(Path(folder) / "r.sqlite"), count))
    try:
        server = nullcontext(None) if dsn else throwaway_server()
        with server as running:
            target = dsn or running.create_database()  # type: ignore[union-attr]
            report("PostgreSQL, 8 station processes", rate(target, count))
    except PostgresMissing as exc:
        print(f"PostgreSQL skipped: {exc}")


if __name__ == "__main__":
    main()
