"""PKCS#11 plumbing: loading modules, finding tokens and keys, logging in, and translating
python-pkcs11's exceptions into the signing error tree at this edge (STYLE.md §3).

Sessions are opened per operation and closed afterwards; the PIN is passed to C_Login and
not kept.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import pkcs11
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11

from signing.errors import (
    KeyNotFound,
    MechanismUnsupported,
    ModuleNotFound,
    PinIncorrect,
    PinLocked,
    SigningError,
    TokenError,
    TokenNotFound,
    TokenRemoved,
)
from signing.keyref import Pkcs11Uri
from signing.pin import PinProvider, PinRequest, resolve_pin
from signing.token_logins import LEDGER

logger = logging.getLogger(__name__)

#: Where Debian and common HSM vendors install PKCS#11 modules.
MODULE_GLOBS: Final = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so",
                       "/usr/lib/*/pkcs11/*.so", "/usr/lib/pkcs11/*.so",
                       "/usr/local/lib/softhsm/libsofthsm2.so", "/usr/local/lib/pkcs11/*.so")
#: Environment variable naming the module when a URI gives no module-path.
MODULE_ENV: Final = "SUITWB_PKCS11_MODULE"
SOFTHSM_MODULE: Final = "/usr/lib/softhsm/libsofthsm2.so"
# Shims that wrap another module rather than present tokens (p11-kit's proxy, OpenSC's
# logging spy, which needs PKCS11SPY set and prints a banner when loaded).
_NOT_TOKENS: Final = ("p11-kit", "pkcs11-spy")

_REMOVED: Final = (p11.DeviceRemoved, p11.TokenNotPresent, p11.SessionHandleInvalid,
                   p11.SessionClosed, p11.DeviceError, p11.TokenNotRecognised,
                   # The objects vanished with the token (SoftHSM2 when its store is removed).
                   p11.ObjectHandleInvalid, p11.KeyHandleInvalid)
_OBJECT_CLASSES: Final = {"private": ObjectClass.PRIVATE_KEY, "public": ObjectClass.PUBLIC_KEY,
                          "secret-key": ObjectClass.SECRET_KEY}


def find_modules() -> list[str]:
    """PKCS#11 modules installed on this machine, plus the one SUITWB_PKCS11_MODULE names."""
    candidates = [p for pattern in MODULE_GLOBS for p in sorted(glob.glob(pattern))
                  if not Path(p).name.startswith(_NOT_TOKENS)]
    if os.environ.get(MODULE_ENV):
        candidates.insert(0, os.environ[MODULE_ENV])
    by_file: dict[str, str] = {}
    for path in candidates:  # one entry per module file, under its first-listed name
        by_file.setdefault(os.path.realpath(path), path)
    return list(by_file.values())


def module_path_for(uri: Pkcs11Uri) -> str:
    """The module a URI uses: module-path, else SUITWB_PKCS11_MODULE, else SoftHSM2."""
    return uri.module_path or os.environ.get(MODULE_ENV) or SOFTHSM_MODULE


def load_module(path: str) -> Any:
    """Load (once per process, python-pkcs11 caches it) and initialise a module.

    Raises:
        ModuleNotFound: the file is missing or is not a PKCS#11 module.
    """
    if not Path(path).is_file():
        raise ModuleNotFound(path, "no such file")
    try:
        return pkcs11.lib(path)
    except p11.PKCS11Error as exc:
        raise ModuleNotFound(path) from exc


def find_token(lib: Any, uri: Pkcs11Uri) -> Any:
    """The one token matching the URI's token, serial, manufacturer and model attributes."""
    wanted: dict[str, str] = {k: uri.attributes[k] for k in ("token", "serial", "manufacturer", "model")
              if k in uri.attributes}
    described = ", ".join(f"{k}={v}" for k, v in wanted.items()) or "any token"
    with translated("token lookup", described):
        tokens = [t for t in lib.get_tokens() if _token_matches(t, wanted)]
    if not tokens:
        raise TokenNotFound(described)
    if len(tokens) > 1:
        raise TokenNotFound(described, problem="several tokens match, name one with token=")
    return tokens[0]


def _token_matches(token: Any, wanted: dict[str, str]) -> bool:
    actual = {"token": token.label, "serial": token.serial.decode("ascii", "replace"),
              "manufacturer": token.manufacturer_id, "model": token.model}
    return all(actual[k].strip() == v for k, v in wanted.items())


def open_session(token: Any, uri: Pkcs11Uri, pins: PinProvider | None, *,
                 login: bool = True, rw: bool = False) -> Any:
    """Open a session on `token`, logged in as the user when `login`.

    If this process is already logged in to the token, the session shares that login
    (`signing.token_logins`) and no PIN is asked for.
    """
    if not login:
        with translated("open session", token.label):
            return token.open(rw=rw)

    def pin() -> str:
        return resolve_pin(PinRequest("token PIN", token.label), pins,
                           pin_value=uri.pin_value, pin_source=uri.pin_source)
    try:
        return LEDGER.open(token, pin, rw=rw)
    except p11.UserAlreadyLoggedIn:  # logged in by code outside the ledger: share it
        with translated("open session", token.label):
            return token.open(rw=rw)
    except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
        # The token's answer only: the PIN itself never reaches a log (STYLE.md §15).
        logger.warning("login to token %r refused: %s", token.label, type(exc).__name__)
        raise PinIncorrect(f"token {token.label}") from exc
    except p11.PinLocked as exc:
        logger.error("login to token %r refused: the user PIN is locked", token.label)
        raise PinLocked(f"token {token.label}: the user PIN is locked") from exc
    except p11.PKCS11Error as exc:
        logger.warning("login to token %r failed: %s", token.label, type(exc).__name__)
        raise translate(exc, "login", token.label) from exc


@contextmanager
def token_session(uri: Pkcs11Uri, pins: PinProvider | None, *, login: bool = True,
                  rw: bool = False) -> Iterator[Any]:
    """Module, token and session for `uri`, closed on exit."""
    token = find_token(load_module(module_path_for(uri)), uri)
    session = open_session(token, uri, pins, login=login, rw=rw)
    try:
        yield session
    finally:
        close_quietly(session)


def close_quietly(session: Any) -> None:
    """Close a session (logging out only with the token's last session); a token already
    gone cannot be closed and needs no closing."""
    try:
        if not LEDGER.close(session):
            session.close()
    except p11.PKCS11Error:
        pass


def find_key(session: Any, uri: Pkcs11Uri, object_type: str) -> Any:
    """The one key of `object_type` (``private``, ``public``, ``secret-key``) matching the
    URI's object label and id.

    Raises:
        KeyNotFound: none or several match.
    """
    if uri.object_label is None and uri.key_id is None:
        raise KeyNotFound(uri.redacted(), "the URI names no key (give object= or id=)")
    attrs: dict[Attribute, Any] = {Attribute.CLASS: _OBJECT_CLASSES[object_type]}
    if uri.object_label is not None:
        attrs[Attribute.LABEL] = uri.object_label
    if uri.key_id is not None:
        attrs[Attribute.ID] = uri.key_id
    with translated("key lookup", uri.redacted()):
        keys = list(session.get_objects(attrs))
    if not keys:
        raise KeyNotFound(uri.with_type(object_type).redacted())
    if len(keys) > 1:
        raise KeyNotFound(uri.redacted(), "several keys match, add id= to the URI")
    return keys[0]


@contextmanager
def translated(operation: str, where: str) -> Iterator[None]:
    """Turn any python-pkcs11 exception raised inside into a `SigningError`."""
    try:
        yield
    except p11.PKCS11Error as exc:
        raise translate(exc, operation, where) from exc


def translate(exc: Exception, operation: str, where: str) -> SigningError:
    """The signing error for a python-pkcs11 exception (never containing a PIN)."""
    if isinstance(exc, _REMOVED) or "not initialized" in str(exc):
        return TokenRemoved(f"{where}: the token went away during {operation} "
                            f"({type(exc).__name__})")
    if isinstance(exc, (p11.MechanismInvalid, p11.MechanismParamInvalid,
                        p11.FunctionNotSupported)):
        return MechanismUnsupported(f"{operation} ({type(exc).__name__})", where)
    if isinstance(exc, p11.UserNotLoggedIn):
        return TokenError(operation, "not logged in (the token logged this session out)")
    return TokenError(operation, type(exc).__name__)
