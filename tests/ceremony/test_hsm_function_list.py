"""issue 12: the crash mypy found in signing/ceremony/hsm.py.

A PKCS#11 module whose CK_FUNCTION_LIST leaves C_InitToken NULL made `_init_token` call
`CFUNCTYPE(...)(None)`, an untyped TypeError ("argument must be callable or integer
function address") instead of a TokenInitError; mypy reported it as an `int | None`
argument. The function list here is a real block of memory laid out as PKCS#11 lays it out.
"""

from __future__ import annotations

import ctypes

import pytest

from signing.ceremony import hsm
from signing.ceremony.errors import TokenInitError

SLOTS = 80  # CK_FUNCTION_LIST has 68 pointers after its version; room to spare


def _function_list() -> ctypes.Array[ctypes.c_void_p]:
    """Zeroed: the version (padded to a pointer on this platform) and NULL functions."""
    return (ctypes.c_void_p * SLOTS)()


def test_a_null_c_init_token_is_a_typed_refusal() -> None:
    table = _function_list()
    with pytest.raises(TokenInitError, match="no C_InitToken") as caught:
        hsm._init_token_function(ctypes.addressof(table))
    assert caught.value.hint


def test_the_function_in_c_init_tokens_place_is_the_one_called() -> None:
    calls: list[tuple[int, bytes, int, bytes]] = []
    prototype = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong, ctypes.c_char_p,
                                 ctypes.c_ulong, ctypes.c_char_p)

    def fake_init_token(slot: int, pin: bytes, length: int, label: bytes) -> int:
        calls.append((slot, pin, length, label))
        return 0x1B  # CKR_... anything: the caller sees the module's return value

    callback = prototype(fake_init_token)
    table = _function_list()
    pointer = ctypes.sizeof(ctypes.c_void_p)
    entry = ctypes.addressof(table) + hsm._HEADER_SIZE + hsm._INIT_TOKEN_INDEX * pointer
    ctypes.c_void_p.from_address(entry).value = ctypes.cast(callback, ctypes.c_void_p).value
    init_token = hsm._init_token_function(ctypes.addressof(table))
    assert init_token(3, b"1234", 4, b"label".ljust(32)) == 0x1B
    assert calls == [(3, b"1234", 4, b"label".ljust(32))]
