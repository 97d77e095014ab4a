"""HSS-LMS signing with crash-safe state (RFC 8554, COSE -46 per RFC 8778; issue 16).

A one-time index used twice lets anybody forge signatures, so every signature follows
the same order (docs/signing.md, "Stateful HSS-LMS keys"):

1. lock the key file, load its state and check that it is the latest this machine knows
   (its serial and id match the last record of the key in the state journal, and it is
   bound to this machine and this path);
2. reserve: write the state with the indices about to be used marked as used, durably
   (`fileio.write_atomic`: write, fsync, rename, fsync the folder), then journal it;
3. only then compute the signature.

A crash anywhere leaves indices reserved but unused (lost, never reused). A state file
restored from a backup has a serial older than the journal's and is refused; a copy on
another path or machine is refused by its binding, and its signatures by the journal of
the machine it reaches, which has never seen it.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import logging
import os
import platform
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from fileio import FileAccessError
from signing.audit import default_data_dir
from signing.cose_key import thumbprint
from signing.errors import (
    AuditChainBroken,
    KeyExhausted,
    KeyFileError,
    KeyStateAltered,
    KeyStateCopied,
    KeyStateRestored,
    SigningError,
    StatefulKeyRefused,
    WrongKeyType,
)
from signing.files import read_key_file, write_atomic
from signing.hashlog import HashChainedLog, LogRecord, record_hash
from signing.hsslms_state import (
    Binding,
    KeyState,
    Tree,
    decode_state,
    encode_state,
    is_state,
    new_tree,
    u32,
)
from signing.signer import SignerIdentity
from suit.cose import SIGNATURE_ALGORITHMS, CoseAlgorithm, algorithm_name
from suit.hsslms import LmotsType, LmsType

logger = logging.getLogger(__name__)

JOURNAL_FILE: Final = "hss-lms-journal.sqlite3"
JOURNAL_FIELDS: Final = ("time_utc", "host", "key_path", "kid", "event", "serial", "state_id",
                         "remaining")
MAX_STATE_FILE: Final = 24 << 20
#: Test hook: SIGKILL this process at the N-th crash point it reaches (tests/signing).
KILL_AT_ENV: Final = "SUITWB_TEST_KILL_AT"
_STEPS: Final = itertools.count(1)


def crash_point(name: str) -> None:
    """A step of signing where the crash test kills the process (never in normal use)."""
    wanted = os.environ.get(KILL_AT_ENV)
    if not wanted:
        return
    step = next(_STEPS)
    if str(step) == wanted:
        logger.warning("test hook: killing the signer at step %d (%s)", step, name)
        os.kill(os.getpid(), signal.SIGKILL)


def host_id() -> str:
    """A digest of this machine's id (/etc/machine-id, else its name): states are bound to it."""
    try:
        raw = Path("/etc/machine-id").read_bytes().strip() or platform.node().encode()
    except OSError:
        raw = platform.node().encode()
    return hashlib.sha256(b"suitwb-host:" + raw).hexdigest()[:32]


def journal(data_dir: Path | None = None) -> HashChainedLog:
    """This machine's state journal: one hash-chained record per state written."""
    return HashChainedLog((data_dir or default_data_dir()) / JOURNAL_FILE, JOURNAL_FIELDS)


@dataclass(frozen=True)
class KeyStatus:
    """What `keys list` and the GUI show of a stateful key."""

    path: str
    kid: bytes
    levels: int
    remaining: int
    capacity: int
    problem: str = ""


# --- generation ---------------------------------------------------------------------------

def generate(path: Path, lms: LmsType, lmots: LmotsType, levels: int = 1,
             log: HashChainedLog | None = None) -> KeyState:
    """Generate a key of `levels` trees into the new file `path` and journal it.

    Raises:
        KeyFileError: `path` exists (a state is never overwritten) or bad parameters.
    """
    if not 1 <= levels <= 8:
        raise KeyFileError(str(path), f"{levels} levels (1 to 8)")
    if path.exists():
        raise KeyFileError(str(path), "exists; a stateful key is never overwritten")
    trees = [new_tree(lms, lmots)]
    for _ in range(1, levels):
        child = new_tree(lms, lmots)
        parent = trees[-1]  # in memory only: nothing was signed before the first write
        trees[-1] = replace(parent, next_q=parent.next_q + 1)
        trees.append(replace(child, signature=parent.sign(parent.next_q, child.public_key)))
    state = KeyState(tuple(trees), 0, os.urandom(16), Binding(host_id(), _real(path)))
    write_atomic(path, encode_state(state), mode=0o600)
    record(log or journal(), state, "generate")
    return state


def _real(path: Path) -> str:
    return os.path.realpath(path)


# --- loading and checking -----------------------------------------------------------------

def load(path: Path) -> KeyState:
    """Read a state file (no checks against the journal)."""
    return decode_state(read_key_file(path, MAX_STATE_FILE), str(path))


def check(state: KeyState, path: Path, log: HashChainedLog) -> None:
    """Refuse a state that is not the latest this machine wrote for this file.

    Raises:
        KeyStateCopied: bound to another machine or path, or unknown to the journal.
        KeyStateRestored: older than (or a twin of) what the journal recorded.
        KeyStateAltered: the recorded serial and id, with other indices left.
        AuditChainBroken: the journal's record of the key was edited or is damaged.
    """
    name = str(path)
    if state.binding.host != host_id() or state.binding.path != _real(path):
        raise KeyStateCopied(name, "was generated as another file or on another machine")
    kid = thumbprint(state.public_key).hex()
    found = log.last_matching("kid", kid)
    if found is None:
        raise KeyStateCopied(name, "this machine's state journal has no record of the key")
    serial, remaining = _recorded(found)
    if state.serial < serial or (state.serial == serial
                                 and state.state_id.hex() != found.fields["state_id"]):
        raise KeyStateRestored(name, f"state {state.serial} is older than state {serial} "
                                     "that this machine recorded (restored from a backup?)")
    if state.serial == serial and state.remaining != remaining:
        # The very state the journal recorded, by serial and id, yet with other indices
        # left: a lowered q (a bit flip, an edit) would sign with a used one-time key.
        raise KeyStateAltered(name, f"state {state.serial} has {state.remaining} signatures "
                                    f"left, the journal recorded {remaining} when it was written")
    if state.serial > serial + 1:  # one write may precede its record (a crash between)
        raise KeyStateCopied(name, f"state {state.serial} is newer than any recorded ({serial})")


def _recorded(found: LogRecord) -> tuple[int, int]:
    """The serial and remaining count of a journal record, once the record is known to be
    as written: the journal is a file too, and an edited or damaged record must not decide
    what to sign."""
    if record_hash(found.seq, found.fields, found.prev_hash) != found.hash:
        raise AuditChainBroken(found.seq, "of the HSS-LMS state journal: its contents do not "
                                          "match its hash (edited)")
    numbers = []
    for name in ("serial", "remaining"):
        text = found.fields[name]
        if not (text.isascii() and text.isdigit() and len(text) <= 80):  # 2^(25 * 8) < 10^61
            raise AuditChainBroken(found.seq, f"of the HSS-LMS state journal: {name} "
                                              f"{text[:24]!r} is not a number")
        numbers.append(int(text))
    return numbers[0], numbers[1]


def status(path: Path, log: HashChainedLog | None = None) -> KeyStatus:
    """The remaining signatures of the key at `path`, and why it would be refused, if so."""
    state = load(path)
    problem = ""
    try:
        check(state, path, log or journal())
    except StatefulKeyRefused as exc:
        problem = exc.problem
    capacity = 1
    for tree in state.trees:
        capacity *= tree.capacity
    return KeyStatus(str(path), thumbprint(state.public_key), state.levels, state.remaining,
                     capacity, problem)


def known_keys(log: HashChainedLog | None = None) -> list[str]:
    """The key files this machine's journal names, latest path per key, in first-seen order."""
    log = log or journal()
    if not log.path.exists():  # looking must not create the journal
        return []
    paths: dict[str, str] = {}
    try:
        for record in log.records():
            paths[record.fields["kid"]] = record.fields["key_path"]
    except (FileAccessError, SigningError) as exc:
        logger.warning("cannot read the HSS-LMS state journal %s: %s", log.path, exc)
        return []
    return list(dict.fromkeys(paths.values()))


# --- reservation and signing -----------------------------------------------------------------

@dataclass(frozen=True)
class Reservation:
    """A state written with the indices it hands out marked used.

    Attributes:
        state: The state as written.
        renewed: The first renewed level (len(trees) when none): trees from there on are
            new and need their signatures from the level above.
        parent_q: For each renewed level, the index of the level above reserved to sign it.
        q: The bottom tree's index reserved for the message.
    """

    state: KeyState
    renewed: int
    parent_q: dict[int, int]
    q: int


def first_renewed(state: KeyState, name: str) -> int:
    """The first level whose tree must be replaced before signing: a pending tree and all
    below it, and an exhausted bottom (then its parent gives an index, and so on up).

    Raises:
        KeyExhausted: the top tree has no index left for what is needed.
    """
    trees = state.trees
    start = next((i for i in range(1, len(trees)) if trees[i].signature is None), len(trees))
    giver = start - 1
    while trees[giver].next_q >= trees[giver].capacity:
        if giver == 0:
            raise KeyExhausted(name, f"all {state.public_key.capacity} signatures are used")
        start, giver = giver, giver - 1
    return start


def reserve(state: KeyState, name: str) -> Reservation:
    """The next state: renewed trees (pending, unsigned) and every index to use marked."""
    start = first_renewed(state, name)
    trees, parent_q = list(state.trees), {}
    for level in range(start, len(trees)):
        parent = trees[level - 1]
        parent_q[level] = parent.next_q
        trees[level - 1] = replace(parent, next_q=parent.next_q + 1)
        trees[level] = new_tree(trees[level].lms, trees[level].lmots, signature=None)
    bottom = trees[-1]
    trees[-1] = replace(bottom, next_q=bottom.next_q + 1)
    return Reservation(replace(state, trees=tuple(trees)).next_version(), start, parent_q,
                       bottom.next_q)


def hss_signature(trees: tuple[Tree, ...], bottom: bytes) -> bytes:
    """RFC 8554 §6.2: Nspk, then each lower tree's signature and public key, then the
    bottom tree's signature of the message."""
    chain = b"".join(bytes(t.signature or b"") + t.public_key for t in trees[1:])
    return u32(len(trees) - 1) + chain + bottom


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the key file: two signers must not reserve the same
    index (the second waits for the first to have written its reservation)."""
    try:
        fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise KeyFileError(str(path), f"cannot lock: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class HssLmsSigner:
    """A `Signer` over an HSS-LMS state file; every `sign` reserves before it signs."""

    def __init__(self, path: Path, log: HashChainedLog | None = None) -> None:
        self._path, self._log = path, log or journal()
        # Under the lock: another signer's reservation between reading the state and reading
        # the journal would make this (older) state look restored from a backup.
        with locked(path):
            state = load(path)
            check(state, path, self._log)
        public = state.public_key
        self._identity = SignerIdentity(SIGNATURE_ALGORITHMS[CoseAlgorithm.HSS_LMS],
                                        thumbprint(public), str(path), public)

    @property
    def identity(self) -> SignerIdentity:
        """See `Signer.identity`."""
        return self._identity

    def sign(self, tbs: bytes) -> bytes:
        """See `Signer.sign`; raises a `StatefulKeyRefused` rather than risk an index."""
        with locked(self._path):
            state = load(self._path)
            check(state, self._path, self._log)
            crash_point("loaded")
            done = self._persist(reserve(state, str(self._path)), "reserve")
            state = self._sign_renewed(done)
            bottom = state.trees[-1].sign(done.q, tbs)
            crash_point("signed")
            self._identity = replace(self._identity, key_reference=state_reference(self._path, state))
            return hss_signature(state.trees, bottom)

    def _sign_renewed(self, done: Reservation) -> KeyState:
        """Sign each renewed tree with the index reserved for it, then keep the signatures."""
        trees = list(done.state.trees)
        if done.renewed == len(trees):
            return done.state
        for level in range(done.renewed, len(trees)):
            signature = trees[level - 1].sign(done.parent_q[level], trees[level].public_key)
            trees[level] = replace(trees[level], signature=signature)
        crash_point("renewed")
        state = replace(done.state, trees=tuple(trees)).next_version()
        self._persist(replace(done, state=state), "renew")
        return state

    def _persist(self, done: Reservation, event: str) -> Reservation:
        write_atomic(self._path, encode_state(done.state), mode=0o600,
                     before_publish=lambda: crash_point(f"{event}: durable, not yet renamed"))
        crash_point(f"{event}: written")
        record(self._log, done.state, event)
        crash_point(f"{event}: journaled")
        return done

    def close(self) -> None:
        """Nothing is held between signatures (the state is read under the lock each time)."""


def state_reference(path: Path, state: KeyState) -> str:
    """How the audit log names the key after a signature: its file and the state (serial
    and id, as the journal records them) the signature was made under."""
    return f"{path} (HSS-LMS state {state.serial} {state.state_id.hex()})"


def record(log: HashChainedLog, state: KeyState, event: str) -> None:
    """Journal that `state` was written (`event` says why)."""
    log.append({"time_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "host": state.binding.host, "key_path": state.binding.path,
                "kid": thumbprint(state.public_key).hex(), "event": event,
                "serial": str(state.serial), "state_id": state.state_id.hex(),
                "remaining": str(state.remaining)})


def is_hss_lms_file(path: Path) -> bool:
    """Whether `path` is an HSS-LMS state file (its first bytes name the format)."""
    try:
        with open(path, "rb") as file:
            return is_state(file.read(64))
    except OSError:
        return False  # the general key loader reports the file's problem


def open_hss_lms_signer(path: Path, algorithm: CoseAlgorithm | None = None) -> HssLmsSigner:
    """The signer for an HSS-LMS state file.

    Raises:
        WrongKeyType: `algorithm` is not HSS-LMS. StatefulKeyRefused: see `check`.
    """
    if algorithm not in (None, CoseAlgorithm.HSS_LMS):
        raise WrongKeyType(str(path), "HSS-LMS", algorithm_name(algorithm))
    return HssLmsSigner(path)
