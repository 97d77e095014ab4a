"""The ceremony's token: finding an uninitialised one, initialising it with PINs nobody
knows, recording its identity, generating keys in it and, on abort, destroying them.

python-pkcs11 0.10 has no C_InitToken, so it is called through ctypes on the same module
(dlopen returns the handle python-pkcs11 already initialised). The function is found via
C_GetFunctionList as any PKCS#11 module must offer it (v2.40 §5.2), not by symbol name.
Everything else goes through python-pkcs11 and `signing.token`, whose exceptions are
translated at that edge.
"""

from __future__ import annotations

import ctypes
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pkcs11 import Attribute, TokenFlag

from signing.ceremony.errors import TokenInitError
from signing.token import close_quietly, load_module, translated

#: Index of C_InitToken in CK_FUNCTION_LIST (after the CK_VERSION header): C_Initialize,
#: C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,
#: C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken (v2.40 §3.6).
_INIT_TOKEN_INDEX: Final = 9
#: CK_VERSION is two bytes; Windows packs cryptoki structures to 1 byte (v2.40 §2.1).
_HEADER_SIZE: Final = 2 if os.name == "nt" else ctypes.sizeof(ctypes.c_void_p)
#: Random PIN length in bytes (shown as hex: 32 characters, 128 bits).
PIN_BYTES: Final = 16


def random_pin() -> str:
    """A fresh random PIN: 128 bits as 32 hex characters (within SoftHSM's 4..255)."""
    return secrets.token_hex(PIN_BYTES)


@dataclass(frozen=True)
class HsmIdentity:
    """Who the HSM is, as recorded in the transcript (manufacturer, model, serial, firmware)."""

    module: str
    library: str
    library_version: str
    slot_id: int
    manufacturer: str
    model: str
    serial: str
    firmware: str
    hardware: str

    def as_record(self) -> dict[str, Any]:
        """The identity as transcript data."""
        return dict(self.__dict__)


def _version(value: Any) -> str:
    return ".".join(str(part) for part in value) if isinstance(value, tuple) else str(value)


def find_blank_token(module: str, serial: str | None) -> Any:
    """The first uninitialised token of `module` (or the one with `serial`).

    Raises:
        TokenInitError: none is uninitialised.
    """
    lib = load_module(module)
    with translated("slot listing", module):
        slots = lib.get_slots(token_present=True)
        tokens = [s.get_token() for s in slots]
    for token in tokens:
        blank = TokenFlag.TOKEN_INITIALIZED not in token.flags
        if blank and (serial is None or _serial(token) == serial):
            return token
    raise TokenInitError(f"no uninitialised token in {module}"
                         + (f" with serial {serial}" if serial else ""))


def _serial(token: Any) -> str:
    return bytes(token.serial).decode("ascii", "replace").strip()


def identity_of(module: str, token: Any) -> HsmIdentity:
    """The module's and token's identity (re-read after initialisation gives the serial)."""
    lib = load_module(module)
    slot = token.slot
    return HsmIdentity(module, f"{lib.manufacturer_id.strip()} {lib.library_description.strip()}",
                       _version(lib.library_version), int(slot.slot_id),
                       token.manufacturer_id.strip(), token.model.strip(), _serial(token),
                       _version(token.firmware_version), _version(token.hardware_version))


def initialise_token(module: str, token: Any, label: str, so_pin: str, user_pin: str) -> Any:
    """C_InitToken with `so_pin` and `label`, then C_InitPIN with `user_pin`; return the
    token object re-read from its slot."""
    slot_id = int(token.slot.slot_id)
    _init_token(module, slot_id, so_pin, label)
    fresh = _token_in_slot(module, slot_id)
    with translated("user PIN set-up", label):
        session = fresh.open(rw=True, so_pin=so_pin)
        try:
            session.init_pin(user_pin)
        finally:
            close_quietly(session)
    return fresh


def _init_token(module: str, slot_id: int, so_pin: str, label: str) -> None:
    load_module(module)  # python-pkcs11 calls C_Initialize once; we share that state
    library = ctypes.CDLL(module)
    function_list = ctypes.c_void_p()
    rv = library.C_GetFunctionList(ctypes.byref(function_list))
    if rv != 0 or not function_list.value:
        raise TokenInitError(f"C_GetFunctionList returned 0x{rv:x}")
    init_token = _init_token_function(function_list.value)
    pin = so_pin.encode("utf-8")
    padded = label.encode("utf-8").ljust(32, b" ")  # CK_UTF8CHAR[32], blank-padded
    rv = init_token(slot_id, pin, len(pin), padded)
    if rv != 0:
        raise TokenInitError(f"C_InitToken returned 0x{rv:x}")


_InitToken = Callable[[int, bytes, int, bytes], int]


def _init_token_function(function_list: int) -> _InitToken:
    """C_InitToken from a CK_FUNCTION_LIST at `function_list` (PKCS#11 3.0 §5.2: the
    version, then one pointer per function in the standard's order).

    Raises:
        TokenInitError: the module leaves C_InitToken NULL (a module that cannot
            initialise tokens); calling it would not even get as far as the C call.
    """
    address = ctypes.c_void_p.from_address(
        function_list + _HEADER_SIZE + _INIT_TOKEN_INDEX * ctypes.sizeof(ctypes.c_void_p))
    if address.value is None:
        raise TokenInitError("the PKCS#11 module has no C_InitToken",
                             hint="Use a module that can initialise tokens (SoftHSM2 can).")
    prototype = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong, ctypes.c_char_p,
                                 ctypes.c_ulong, ctypes.c_char_p)
    function: _InitToken = prototype(address.value)
    return function


def _token_in_slot(module: str, slot_id: int) -> Any:
    with translated("slot listing", module):
        for slot in load_module(module).get_slots(token_present=True):
            if int(slot.slot_id) == slot_id:
                return slot.get_token()
    raise TokenInitError(f"slot {slot_id} disappeared after initialisation")


def open_user_session(token: Any, user_pin: str) -> Any:
    """A read-write session logged in as the user."""
    with translated("login", token.label):
        return token.open(rw=True, user_pin=user_pin)


def destroy_keys(session: Any, key_ids: list[bytes]) -> int:
    """Destroy every object with one of `key_ids` (both halves of each pair); return how
    many were destroyed. Used when a ceremony aborts: no half-made key stays usable."""
    destroyed = 0
    for key_id in key_ids:
        with translated("key destruction", str(session.token.label)):
            for obj in list(session.get_objects({Attribute.ID: key_id})):
                obj.destroy()
                destroyed += 1
    return destroyed


def change_user_pin(session: Any, old_pin: str, new_pin: str) -> None:
    """C_SetPIN: the ceremony's commit point (see runner.py)."""
    with translated("user PIN change", str(session.token.label)):
        session.set_pin(old_pin, new_pin)
