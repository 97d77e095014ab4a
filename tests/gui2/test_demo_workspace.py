"""The demo workspace on first run, in processes of its own (so the demo's own SoftHSM2
installation is the first the process loads): token, key, exported public key, notes with
the PIN, idempotence; and the acceptance `suit-workbench --screenshot PATH`, which shows the
demo with a signed release and a flashed device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flasher.records import FactoryRecords
from signing.audit import SigningAuditLog
from suit.keys import TrustAnchor
from suit.verify import verify_envelope

ROOT = Path(__file__).resolve().parents[2]
_DESCRIBE = """
import json, os
from workbench.demo import ensure_demo
demo = ensure_demo()
print(json.dumps({"pin": demo.pin, "key_uri": demo.key_uri, "public_key": str(demo.public_key),
                  "notes": str(demo.notes_file), "conf": str(demo.softhsm_conf),
                  "env": os.environ["SOFTHSM2_CONF"], "project": str(demo.project_file)}))
"""


def _run(args: list[str], data_dir: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUITWB_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("SOFTHSM2_CONF", None)  # a new user: no SoftHSM2 configured
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_first_run_creates_token_key_and_notes_and_a_second_run_reuses_them(data_dir: Path) -> None:
    first = _run(["-c", _DESCRIBE], data_dir)
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["env"] == made["conf"] and Path(made["conf"]).is_relative_to(data_dir)
    assert made["key_uri"].startswith("pkcs11:token=suit-demo;object=suit-demo-key")
    assert "pin" not in made["key_uri"]
    pem = Path(made["public_key"]).read_bytes()
    assert TrustAnchor.from_pem(pem).curve == "P-256"
    notes = Path(made["notes"]).read_text()
    assert f"Demo token PIN: {made['pin']}" in notes and len(made["pin"]) == 8
    # The template unchanged: its battery condition is answered by the device's gauge.
    assert "minimum-battery" in Path(made["project"]).read_text()
    listing = subprocess.run(["softhsm2-util", "--show-slots"], capture_output=True, text=True,
                             env={**os.environ, "SOFTHSM2_CONF": made["conf"]}, check=True)
    assert "suit-demo" in listing.stdout
    again = _run(["-c", _DESCRIBE], data_dir)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == made  # same PIN, same key, nothing new
    assert Path(made["public_key"]).read_bytes() == pem
    assert listing.stdout.count("suit-demo") == subprocess.run(
        ["softhsm2-util", "--show-slots"], capture_output=True, text=True, check=True,
        env={**os.environ, "SOFTHSM2_CONF": made["conf"]}).stdout.count("suit-demo")


def test_screenshot_shows_the_demo_signed_and_flashed(data_dir: Path, artifacts: Path) -> None:
    shot = artifacts / "demo-workspace.png"
    shot.unlink(missing_ok=True)
    run = _run(["-m", "gui", "--screenshot", str(shot)], data_dir)
    assert run.returncode == 0, run.stderr
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20000
    demo = data_dir / "demo-workspace"
    release = demo / "release" / "single-mcu-signed.suit"
    pem = (demo / "keys" / "suit-demo-key.pem").read_bytes()
    assert verify_envelope(release.read_bytes(), [TrustAnchor.from_pem(pem)]).ok
    [(_seq, signature)] = SigningAuditLog(data_dir / "signing-audit.sqlite3").entries()
    assert signature.output_path == str(release)
    [attempt] = FactoryRecords(data_dir / "factory-records.sqlite").all()
    assert (attempt.result, attempt.sequence_number) == ("ok", 1)
    assert (demo / "device" / "flash.bin").is_file()
    # Again on the same workspace: the device already runs release 1, so the scripted demo
    # releases 2 rather than showing a rollback refusal.
    again = _run(["-m", "gui", "--screenshot", str(shot)], data_dir)
    assert again.returncode == 0, again.stderr
    attempts = FactoryRecords(data_dir / "factory-records.sqlite").all()
    assert [(a.result, a.sequence_number) for a in attempts] == [("ok", 1), ("ok", 2)]
