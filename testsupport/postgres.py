"""A throwaway PostgreSQL server for the tests and the benchmarks (issue 18).

Debian's postgresql (Makefile DEB_PACKAGES) is started from a temporary directory,
listening on 127.0.0.1 only on a free port with its unix socket in that directory, and
stopped at the session's end. initdb refuses to run as root, so as root the server runs as
``nobody`` (the directory is chowned to it; nothing is added to the system). Logins need a
password (scram-sha-256 over TCP), which the workbench gets the libpq way: PGPASSFILE is
set for the session, so the DSNs the tests use carry no password.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def _server_bin() -> Path:
    """Debian's newest installed server (15 on bookworm; any major version works)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = _server_bin()
USER = "suitwb"
# Distinctive, so the leak tests can search logs, records and messages for it.
PASSWORD = "Pg-Secret-9vQ2z"  # noqa: S105 - a throwaway test server's
HOWTO = ("PostgreSQL is not installed: `apt-get install postgresql` (make test does it "
         "as root), or run the tests as root")


@dataclass
class PostgresServer:
    """The session's server: where it listens and how to stop and start it."""

    directory: Path
    port: int
    run_as: list[str]

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def dsn(self, database: str = "postgres", *, password: bool = False) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(BIN / "pg_ctl"), "-D", str(self.data), *args],
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=100")
        self._ctl("start", "-w", "-l", str(self.directory / "server.log"), "-o", options)

    def stop(self) -> None:
        self._ctl("stop", "-w", "-m", "fast")

    def create_database(self) -> str:
        """A new empty database; its DSN (without the password)."""
        import psycopg
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _init(directory: Path, run_as: list[str]) -> None:
    pwfile = directory / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        shutil.chown(directory, "nobody", "nogroup")
        shutil.chown(pwfile, "nobody", "nogroup")
    subprocess.run([*run_as, str(BIN / "initdb"), "-D", str(directory / "data"), "-U", USER,
                    "--pwfile", str(pwfile), "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    pwfile.unlink()


class PostgresMissing(RuntimeError):
    """Debian's PostgreSQL 15 is not installed here."""


@contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A running server in a temporary directory, with PGPASSFILE naming its password for
    as long as it runs; stopped and removed afterwards.

    Raises:
        PostgresMissing: the server binaries are not installed (the message says how).
    """
    if not (BIN / "initdb").exists():
        raise PostgresMissing(HOWTO)
    root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="suitwb-pg-"))
    directory.chmod(0o755)
    server = PostgresServer(directory, _free_port(), ["runuser", "-u", "nobody", "--"] if root else [])
    passfile = Path(tempfile.mkdtemp(prefix="suitwb-pgpass-")) / "pgpass"
    previous = os.environ.get("PGPASSFILE")
    try:
        _init(directory, server.run_as)
        passfile.write_text(f"127.0.0.1:{server.port}:*:{USER}:{PASSWORD}\n")
        passfile.chmod(0o600)
        os.environ["PGPASSFILE"] = str(passfile)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        if previous is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = previous
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(passfile.parent, ignore_errors=True)
