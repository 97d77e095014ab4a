"""Where PINs and passphrases come from: the `PinProvider` seam (STYLE.md §4, §6).

Core code never prompts. A PIN arrives, in order of precedence, from ``pin-value`` in the
key URI, from ``pin-source`` (a file, RFC 7512 §2.3), from an environment variable (CI),
or from the `PinProvider` the caller passes: a dialog in the GUI, a prompt in the CLI.
A PIN is held only as long as an operation needs it and never put in a message or file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import fileio
from signing.errors import PinUnavailable

#: The environment variable CI uses for a token PIN or key passphrase.
PIN_ENV: Final = "SUITWB_PIN"
#: Largest pin-source file read. Any kind of file is accepted (a pipe from a secret store
#: works), and at most this + 1 bytes are read, so /dev/zero is refused, not read forever.
MAX_PIN_FILE: Final = 4096


@dataclass(frozen=True)
class PinRequest:
    """What a PIN is needed for, so a dialog or prompt can say so.

    Attributes:
        purpose: ``token PIN`` or ``key passphrase``.
        target: The token label or key file (never secret).
    """

    purpose: str
    target: str


class PinProvider(Protocol):
    """Supplies a PIN or passphrase on request, or raises `PinUnavailable` (cancelled)."""

    def get_pin(self, request: PinRequest) -> str:
        """Return the PIN for `request`."""
        ...


class NoPinProvider:
    """For non-interactive use: there is nobody to ask."""

    def get_pin(self, request: PinRequest) -> str:
        """Always raises `PinUnavailable`."""
        raise PinUnavailable(f"a {request.purpose} is needed for {request.target} "
                             "and none was given")


class FixedPinProvider:
    """A PIN known in advance (a GUI that asked once for a whole batch, tests)."""

    def __init__(self, pin: str) -> None:
        self._pin = pin

    def get_pin(self, request: PinRequest) -> str:
        """Return the fixed PIN."""
        return self._pin

    def __repr__(self) -> str:
        return "FixedPinProvider(<hidden>)"


def resolve_pin(request: PinRequest, provider: PinProvider | None, *,
                pin_value: str | None = None, pin_source: str | None = None,
                environ: Mapping[str, str] | None = None) -> str:
    """Find the PIN for `request` by the precedence in the module docstring.

    Raises:
        PinUnavailable: when no source gives one.
    """
    if pin_value is not None:
        return pin_value
    if pin_source is not None:
        return read_pin_source(pin_source)
    env = os.environ if environ is None else environ
    if env.get(PIN_ENV):
        return env[PIN_ENV]
    return (provider or NoPinProvider()).get_pin(request)


def read_pin_source(source: str) -> str:
    """Read a PIN from ``file:/path`` or a bare path: the first line, without its newline."""
    path = Path(source[len("file:"):] if source.startswith("file:") else source)
    if source.startswith("file://"):
        path = Path(source[len("file://"):])
    try:
        text = fileio.read_limited(path, MAX_PIN_FILE).decode("utf-8")
    except fileio.FileAccessError as exc:
        raise PinUnavailable(f"cannot read pin-source {path}: {exc.problem}") from None
    except UnicodeDecodeError:  # only the type: the message would quote the PIN's bytes
        raise PinUnavailable(f"cannot read pin-source {path}: not UTF-8 text") from None
    pin = text.splitlines()[0] if text else ""
    if not pin:
        raise PinUnavailable(f"pin-source {path} is empty")
    return pin
