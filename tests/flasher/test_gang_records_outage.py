"""The shared records database goes away in the middle of a gang flash (issue 18): no
attempt is lost. They wait in the station's spool and arrive, once each, when the server
is back (with the next attempt's append or `records sync`)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from flasher.loader.device import DeviceConfig
from flasher.operations import Bundle, Progress
from flasher.records_pg import PgRecords
from flasher.records_spool import SpooledRecords
from tests.fixtures.postgres import PostgresServer
from tests.flasher.conftest import ServedDevice
from tests.flasher.test_gang import IMAGE, OPTIONS, URI
from testsupport.envelopes import app_update
from workbench.flashing import FlashJob, Station


def test_server_stopped_mid_gang_then_restarted(device_config: DeviceConfig, tmp_path: Path,
                                                postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database()
    PgRecords(dsn).all()  # the schema exists before the outage, as on a running line
    devices = [ServedDevice(replace(device_config, state_dir=tmp_path / f"d{i}")) for i in range(3)]
    for served in devices:
        served.start()
    bundle = Bundle.from_bytes(app_update(3, IMAGE, uri=URI).envelope(), {URI: IMAGE})
    records = SpooledRecords(PgRecords(dsn), tmp_path / "spool")
    stopped = threading.Lock()
    down = False

    def stop_server_once(_progress: Progress) -> None:
        nonlocal down
        with stopped:  # the first progress report of any port takes the server down
            if not down:
                postgres_server.stop()
                down = True

    job = FlashJob(bundle, [d.path for d in devices], Station("op", "line-2"), records, OPTIONS)
    try:
        outcomes = job.run(stop_server_once)
    finally:
        for served in devices:
            served.stop()
            served.pty.close()
        if not down:
            raise AssertionError("the flash never reported progress")
        spooled = len(records.pending())
        postgres_server.start()
    assert [o.result for o in outcomes] == ["ok", "ok", "ok"]
    assert spooled == 3  # every attempt kept while the server was down
    assert records.sync().delivered == 3
    rows = PgRecords(dsn).all()
    assert sorted(r.port for r in rows) == sorted(d.path for d in devices)
    assert {r.station for r in rows} == {"line-2"} and records.pending() == []
    assert records.sync().delivered == 0 and len(PgRecords(dsn).all()) == 3  # once each
