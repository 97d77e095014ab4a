"""Issue 16 acceptance: the HSS-LMS signer killed (SIGKILL, a real subprocess) at every
step of signing never uses a one-time index twice.

One two-level key lives through it all. For each step N of a plain signature, and for
each step N of a signature that must first renew the bottom tree (reserving an index of
the top tree too), a child process is killed at step N (SUITWB_TEST_KILL_AT), then a
second child signs to the end. A ledger holds every one-time signature ever computed
(the killed children's, this process's, all), written the moment each exists; no (tree,
leaf) may appear in it twice, and the state after all of it hands none of them out again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from signing import hsslms
from signing.files import write_atomic
from signing.hashlog import HashChainedLog
from signing.hsslms_state import Tree, encode_state
from suit.hsslms import verify_hss
from tests.signing import hsslms_crash_child
from tests.signing.hsslms_keys import small_key

ROOT = Path(__file__).resolve().parents[2]
PLAIN = ("loaded", "reserve: durable, not yet renamed", "reserve: written", "reserve: journaled",
         "signed")
RENEWAL = (*PLAIN[:4], "renewed", "renew: durable, not yet renamed", "renew: written",
           "renew: journaled", "signed")


def _child(key: Path, data: Path, ledger: Path, kill_at: int,
           out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUITWB_DATA_DIR": str(data), "LEDGER": str(ledger),
           hsslms.KILL_AT_ENV: str(kill_at)}
    return subprocess.run([sys.executable, "-m", "tests.signing.hsslms_crash_child", str(key),
                           f"release {kill_at}", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def _killed_step(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == -signal.SIGKILL, result.stderr
    found = re.search(r"killing the signer at step \d+ \((.+)\)", result.stderr)
    assert found, result.stderr
    return found.group(1)


def _bring_to(signer: hsslms.HssLmsSigner, key: Path, log: HashChainedLog, renewal: bool) -> None:
    """Make the next signature plain (sign once here if the bottom tree is used up) or one
    that must renew the bottom tree (skip its remaining leaves: skipping is always safe)."""
    state = hsslms.load(key)
    bottom = state.trees[-1]
    if (bottom.next_q >= bottom.capacity or bottom.signature is None) == renewal:
        return
    if not renewal:
        signer.sign(b"filler")
        return
    trees = (*state.trees[:-1], replace(bottom, next_q=bottom.capacity))
    skipped = replace(state, trees=trees).next_version()
    write_atomic(key, encode_state(skipped))
    hsslms.record(log, skipped, "test: skip the bottom tree's leaves")


@pytest.mark.slow  # about 15 s: 28 real processes, half of them killed
def test_killed_at_every_step_no_index_is_used_twice(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data, key, ledger = tmp_path / "data", tmp_path / "k.hss", tmp_path / "ledger"
    monkeypatch.setenv("LEDGER", str(ledger))
    monkeypatch.setattr(Tree, "sign", hsslms_crash_child._ledger_sign)  # this process's too
    state, log = small_key(key, data, levels=2)
    signer = hsslms.HssLmsSigner(key, log)
    for renewal, steps in ((False, PLAIN), (True, RENEWAL)):
        for n, expected in enumerate(steps, start=1):
            _bring_to(signer, key, log, renewal)
            assert _killed_step(_child(key, data, ledger, n, tmp_path / "none")) == expected
            done = _child(key, data, ledger, 0, tmp_path / "sig")
            assert done.returncode == 0, done.stderr
            assert verify_hss(state.public_key, b"release 0", (tmp_path / "sig").read_bytes())
    uses = Counter(tuple(line.split()[:2]) for line in ledger.read_text().splitlines())
    assert len(uses) > 20 and max(uses.values()) == 1, [u for u, n in uses.items() if n > 1]
    after = hsslms.load(key)
    hsslms.check(after, key, log)  # the state survived every kill as the journal's latest
    next_q = {t.identifier.hex(): t.next_q for t in after.trees}
    for identifier, q in uses:
        assert identifier not in next_q or int(q) < next_q[identifier]


def test_concurrent_signers_never_share_an_index(tmp_path: Path) -> None:
    """Six processes sign with one key at once: the lock beside the key file serialises
    the reservations, so each gets its own leaf."""
    data, key, ledger = tmp_path / "data", tmp_path / "k.hss", tmp_path / "ledger"
    state, _ = small_key(key, data)
    env = {**os.environ, "SUITWB_DATA_DIR": str(data), "LEDGER": str(ledger)}
    children = [subprocess.Popen([sys.executable, "-m", "tests.signing.hsslms_crash_child",
                                  str(key), f"release {n}", str(tmp_path / f"sig{n}")],
                                 cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
                for n in range(6)]
    for child in children:
        assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    leaves = [line.split()[1] for line in ledger.read_text().splitlines()]
    assert sorted(leaves, key=int) == [str(q) for q in range(6)]
    for n in range(6):
        assert verify_hss(state.public_key, f"release {n}".encode(), (tmp_path / f"sig{n}").read_bytes())
