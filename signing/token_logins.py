"""Sharing one PKCS#11 login among the sessions this process opens on a token.

PKCS#11 login state belongs to the application, not to a session (PKCS#11 v2.40 base
§5.6 / §11.6): every session on a token is logged in once one is, and C_Logout, which
python-pkcs11 calls when the logged-in session closes, logs all of them out. Two signers
on one token (author and operator keys in one HSM) would otherwise break each other. The
ledger hands out one session per user, logs in only for the first, and closes that one
last. It is the one per-process object in this package, because the state it mirrors is
per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final


@dataclass
class _Login:
    owner: Any  # the session that carried the PIN; closing it logs the token out
    sessions: int


class LoginLedger:
    """Which tokens this process is logged in to, and how many sessions rely on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logins: dict[tuple[int, bytes], _Login] = {}
        self._token_of: dict[int, tuple[int, bytes]] = {}

    def open(self, token: Any, pin: Callable[[], str], *, rw: bool) -> Any:
        """A session on `token`, logged in as the user: with `pin()` if this process is
        not logged in yet, else sharing the existing login (the PIN is not asked for).

        python-pkcs11 exceptions propagate; the caller translates them.
        """
        key = (int(token.slot.slot_id), bytes(token.serial))
        with self._lock:
            login = self._logins.get(key)
            if login is None:
                session = token.open(rw=rw, user_pin=pin())
                self._logins[key] = _Login(session, 1)
            else:
                session = token.open(rw=rw)
                login.sessions += 1
            self._token_of[id(session)] = key
            return session

    def close(self, session: Any) -> bool:
        """Close `session` (its login only when no other session relies on it).

        Returns False for a session this ledger did not open (the caller closes it).
        """
        with self._lock:
            key = self._token_of.pop(id(session), None)
            if key is None:
                return False
            login = self._logins[key]
            login.sessions -= 1
            try:
                if session is not login.owner:
                    session.close()  # opened without a PIN: closing it logs nothing out
            finally:
                if login.sessions == 0:
                    del self._logins[key]
                    login.owner.close()
            return True


#: The ledger of this process (see the module docstring for why there is one).
LEDGER: Final = LoginLedger()
