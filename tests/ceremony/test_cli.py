"""`suitwb ceremony` as a person uses it: real subprocesses on the session's SoftHSM2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.ceremony.conftest import EXAMPLES, unique_label, write_ceremony
from tests.flasher.cli import suitwb

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "ceremony"


@pytest.fixture(scope="module")
def ran(softhsm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`suitwb ceremony run --answers --pdf` of the root-key example; its output dir."""
    tmp = tmp_path_factory.mktemp("cli")
    label = unique_label("cli")
    ceremony = write_ceremony(tmp, "root-key.toml",
                              {'token_label = "suit-root-2026"': f'token_label = "{label}"'})
    result = suitwb("ceremony", "run", ceremony, "--answers", EXAMPLES / "root-key.answers.toml",
                    "--out", tmp / "out", "--pdf", tmp / "out" / "ceremony.pdf", data_dir=tmp)
    assert "ceremony completed" in result.stdout
    assert str(tmp / "out" / "shares" / "carol-custodian.share.json") in result.stdout
    return tmp / "out"


def test_verify_accepts_the_transcript_and_checks_the_anchor(ran: Path) -> None:
    ok = suitwb("ceremony", "verify", ran / "transcript.json", "--anchor",
                ran / "suit-root.cose_key", data_dir=ran)
    assert "OK: 'SUIT root key 2026'" in ok.stdout and "chain intact" in ok.stdout
    other = suitwb("ceremony", "verify", ran / "transcript.json", "--anchor",
                   EXAMPLES.parents[2] / "tests/vectors/manifest-spec/keys/example-es256-public.pem",
                   data_dir=ran, check=False)
    assert other.returncode == 1 and "another key than the trust anchor" in other.stderr


def test_verify_refuses_a_tampered_transcript_with_status_1(ran: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "transcript.json"
    text = (ran / "transcript.json").read_text()
    tampered.write_text(text.replace("Bag TEB-0042 intact", "Bag TEB-0042 opened", 1))
    result = suitwb("ceremony", "verify", tampered, data_dir=tmp_path, check=False)
    assert result.returncode == 1
    assert "suitwb: error: transcript: entry" in result.stderr and "altered" in result.stderr
    assert "suitwb: hint:" in result.stderr


def test_unlock_with_one_share_fails_and_two_run_a_command_with_the_pin(ran: Path,
                                                                         tmp_path: Path) -> None:
    shares = sorted((ran / "shares").glob("*.json"))
    one = suitwb("ceremony", "unlock", "--share", shares[0], data_dir=tmp_path, check=False)
    assert one.returncode == 1 and "1 share(s) given, 2 needed" in one.stderr
    # The PIN reaches the command only through its environment (SUITWB_PIN).
    probe = "import os,sys; pin=os.environ['SUITWB_PIN']; sys.exit(0 if len(pin)==32 else 3)"
    two = suitwb("ceremony", "unlock", "--share", shares[1], "--share", shares[2], "--",
                 sys.executable, "-c", probe, data_dir=tmp_path, check=False)
    assert two.returncode == 0, two.stderr
    assert "unlocked pkcs11:" in two.stdout and "Dave Custodian, Erin Custodian" in two.stdout


def test_an_aborted_rehearsal_exits_1_and_its_transcript_says_why(softhsm, tmp_path: Path) -> None:
    label = unique_label("cli-abort")
    ceremony = write_ceremony(tmp_path, "root-key.toml",
                              {'token_label = "suit-root-2026"': f'token_label = "{label}"'})
    answers = tmp_path / "answers.toml"
    answers.write_text('[rehearsal]\nconfirm_all = true\nabort_at = "export-root"\n'
                       'abort_reason = "thumbprint mismatch"\n')
    run = suitwb("ceremony", "run", ceremony, "--answers", answers, "--out", tmp_path / "out",
                 data_dir=tmp_path, check=False)
    assert run.returncode == 1
    assert "ceremony aborted at step export-root: Walter Witness refused: thumbprint mismatch" \
        in run.stderr
    check = suitwb("ceremony", "verify", tmp_path / "out" / "transcript.json", "--json",
                   data_dir=tmp_path, check=False)
    assert check.returncode == 1
    report = json.loads(check.stdout)
    assert report["status"] == "aborted" and "thumbprint mismatch" in report["abort_reason"]


def test_refusing_at_the_terminal_aborts(softhsm, tmp_path: Path) -> None:
    label = unique_label("cli-tty")
    ceremony = write_ceremony(tmp_path, "root-key.toml",
                              {'token_label = "suit-root-2026"': f'token_label = "{label}"'})
    # Everyone confirms the opening; the witness refuses at the HSM check.
    run = subprocess.run([sys.executable, "-m", "workbench.cli.main", "ceremony", "run",
                          str(ceremony), "--out", str(tmp_path / "out")],
                         input="AA\n\nCC\nDC\nEC\nWW\nrefuse seal broken\n", text=True,
                         capture_output=True, timeout=60, cwd=ROOT)
    assert run.returncode == 1
    assert "== Step 2/7: record-hsm (record-hsm), confirmed by witnesses" in run.stdout
    assert "manufacturer: SoftHSM project" in run.stdout
    assert "Walter Witness refused: seal broken" in run.stderr
    assert run.stdout.count("Carol Custodian: type your initials") == 2  # empty line: asked again


def test_bad_ceremony_file_is_status_2_with_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[ceremony]\nname = 'x'\n")
    run = suitwb("ceremony", "run", bad, "--answers", bad, data_dir=tmp_path, check=False)
    assert run.returncode == 2
    assert "roles.administrator: missing" in run.stderr and "docs/ceremonies.md" in run.stderr


def test_the_pdf_is_produced_and_rendered_to_png(ran: Path) -> None:
    pdf = ran / "ceremony.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    # Table cells wrap lines, and Qt sets ligatures (ﬁ, ﬀ): compare normalised words.
    words = " ".join(unicodedata.normalize("NFKC", text).split())
    for needle in ("SUIT root key 2026", "Step 4: generate-root", "Attestation",
                   "Walter Witness", "Carol Custodian", "Signature:", "SoftHSM project",
                   "Appendix: the ceremony file"):
        assert needle in words, needle
    head = json.loads((ran / "transcript.json").read_text())["head"]
    assert head[:32] in words.replace(" ", "")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / "page")],
                   check=True, timeout=120)
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pages) >= 3
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 5000 for p in pages)
    shutil.copy(pdf, ARTIFACTS / "ceremony.pdf")


def test_pdf_command_prints_an_existing_transcript_without_a_display(ran: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "again.pdf"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    run = subprocess.run([sys.executable, "-m", "workbench.cli.main", "ceremony", "pdf",
                          str(ran / "transcript.json"), "-o", str(out)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes().startswith(b"%PDF-") and os.path.getsize(out) > 10_000


def test_verify_checks_the_outputs_against_the_recorded_digests(ran: Path,
                                                                tmp_path: Path) -> None:
    good = suitwb("ceremony", "verify", ran / "transcript.json", "--outputs", ran,
                  "--anchor", ran / "suit-root.cose_key", data_dir=tmp_path)
    assert "  ok       suit-root.pem" in good.stdout
    assert "  ok       shares/carol-custodian.share.json" in good.stdout
    copy = tmp_path / "copy"
    shutil.copytree(ran, copy)
    (copy / "suit-root.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nswapped\n")
    (copy / "trust-anchors.cbor").unlink()
    bad = suitwb("ceremony", "verify", copy / "transcript.json", "--outputs", copy, "--json",
                 "--anchor", copy / "suit-root.cose_key", data_dir=tmp_path, check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["authenticity"] == "anchored"
    outputs = json.loads(bad.stdout)["outputs"]
    assert outputs["suit-root.pem"] == "differs" and outputs["trust-anchors.cbor"] == "missing"
    assert outputs["suit-root.cose_key"] == "ok"
