"""Several signers on one machine append to one SQLite audit log at once (issue 18): the
log stays one linear chain (reading the head and appending after it are one
``BEGIN IMMEDIATE`` transaction), every signature is recorded once, and
`suitwb audit verify` passes."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path

from signing.audit import AUDIT_FILE, SigningAuditLog, new_record
from tests.signing.cli import suitwb

SIGNERS = 6
SIGNATURES = 25


def _signer(path: Path, name: str, go: Event) -> None:
    log = SigningAuditLog(path)
    go.wait()
    for i in range(SIGNATURES):
        log.append(new_record(key_reference=f"pkcs11:token=release;object={name}", kid=b"\x01" * 4,
                              algorithm="ESP256", manifest_digest=bytes([i]) * 32,
                              sequence_number=i, output_path=f"/out/{name}-{i}.suit",
                              output=b"envelope %d" % i, operator=name))


def test_concurrent_signers_keep_one_linear_chain(tmp_path: Path) -> None:
    path = tmp_path / AUDIT_FILE
    context = multiprocessing.get_context("fork")
    go = context.Event()
    signers = [context.Process(target=_signer, args=(path, f"signer-{n}", go))
               for n in range(SIGNERS)]
    for signer in signers:
        signer.start()
    go.set()
    for signer in signers:
        signer.join(timeout=60)
    assert [s.exitcode for s in signers] == [0] * SIGNERS  # no signer failed to record
    log = SigningAuditLog(path)
    assert log.verify() == SIGNERS * SIGNATURES  # one chain, the head file agrees
    entries = log.entries()
    assert [seq for seq, _ in entries] == list(range(1, SIGNERS * SIGNATURES + 1))
    assert sorted(r.output_path for _, r in entries) == sorted(
        f"/out/signer-{n}-{i}.suit" for n in range(SIGNERS) for i in range(SIGNATURES))
    # Unanchored, so `audit verify` exits 1 ("self-consistent only"), but finds no break.
    verified = suitwb("audit", "verify", "--audit", path, data_dir=tmp_path, check=False)
    assert f"self-consistent only, not anchored ({SIGNERS * SIGNATURES} record(s))" in \
        verified.stdout
    assert verified.returncode == 1 and verified.stderr == ""
