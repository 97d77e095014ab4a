"""What a ceremony action sees of the run it belongs to (signing/ceremony/actions.py).

The runner calls the actions, so the actions naming `CeremonyRunner` closed an import
cycle (issue 12). They take a `StepContext` instead, which the runner satisfies
structurally; an import-linter contract in pyproject.toml keeps actions.py from importing
runner.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from signing.ceremony import hsm
from signing.ceremony.answers import Participants, StepPrompt
from signing.ceremony.model import Ceremony
from signing.keyref import Pkcs11Uri
from signing.signer import PublicKey


@dataclass
class CeremonyState:
    """What the ceremony has made so far (held by the runner; never written whole).

    Attributes:
        token: The token being initialised, once chosen.
        session: The logged-in session, once the token is initialised.
        temporary_pin: The user PIN during the ceremony (known only to this process).
        final_pin: The PIN the shares rebuild, set at the commit point.
        key_ids: Key label to CKA_ID, for keys generated so far.
        outputs: Name to file, for every output written so far.
        identity: The token's identity once read.
        public_keys: Key label to (public key, CKA_ID), for keys exported so far.
    """

    token: Any = None
    session: Any = None
    temporary_pin: str | None = field(default=None, repr=False)
    final_pin: str | None = field(default=None, repr=False)
    key_ids: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    identity: hsm.HsmIdentity | None = None
    public_keys: dict[str, tuple[PublicKey, bytes]] = field(default_factory=dict)


class StepContext(Protocol):
    """The run an action works in: the script, the outputs, the state, the transcript."""

    @property
    def ceremony(self) -> Ceremony: ...

    @property
    def participants(self) -> Participants: ...

    @property
    def out(self) -> Path: ...

    @property
    def state(self) -> CeremonyState: ...

    @property
    def instance(self) -> str: ...

    def record(self, kind: str, step: str, data: dict[str, Any]) -> None:
        """Append an entry to the transcript."""
        ...

    def prompt(self, facts: dict[str, Any] | None = None) -> StepPrompt:
        """The prompt for the current step, as the participants see it."""
        ...

    def signing_uri(self, label: str) -> Pkcs11Uri:
        """The PKCS#11 URI of the key `label` on the ceremony's token."""
        ...
