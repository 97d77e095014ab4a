"""Anchoring the signing audit log in a PKCS#11 token (docs/signing.md, "Threat model").

A hash chain kept in files proves only that the files agree with each other: whoever can
write them can append a record with a correct hash, cut the tail off, or delete the whole
log and its head file. The anchor keeps the chain head (record count and last hash) as a
private CKO_DATA object in a token (PKCS#11 v2.40 §4.5). Private objects are read and
written only in a session logged in with the user PIN (§4.4, CKA_PRIVATE), so someone who
can rewrite the log's files but does not hold the PIN cannot move the head, and every
append, truncation, rewrite or deletion is seen when the log is compared with the token.

The log's anchor is named once (`suitwb audit init --anchor URI`) in a small file beside
the database; a verifier who does not trust that file names the anchor itself
(`suitwb audit verify --anchor URI`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Final

from pkcs11 import Attribute, ObjectClass

from fileio import FileAccessError
from signing.errors import AuditAnchorError
from signing.files import read_state_file, write_atomic
from signing.hashlog import ChainHead
from signing.keyref import Pkcs11Uri, parse_key_reference
from signing.pin import PinProvider
from signing.token import token_session, translated

logger = logging.getLogger(__name__)

CONFIG_FORMAT: Final = "suitwb-audit-anchor/1"
HEAD_FORMAT: Final = "suitwb-audit-head/1"
#: CKA_APPLICATION of the head objects, so token tools show what they are.
APPLICATION: Final = "suitwb signing audit log"


def parse_anchor_uri(text: str) -> Pkcs11Uri:
    """A PKCS#11 URI naming the head's data object (``object=``, ``type=data`` or none).

    Raises:
        AuditAnchorError: not a pkcs11: URI, no object label, another object type, or
            a pin-value (a PIN never goes into the anchor file).
    """
    ref = parse_key_reference(text)
    if not isinstance(ref, Pkcs11Uri):
        raise AuditAnchorError("the audit anchor must be a pkcs11: URI")
    if ref.object_label is None:
        raise AuditAnchorError("the audit anchor URI names no object (add object=LABEL)")
    if ref.object_type not in (None, "data"):
        raise AuditAnchorError("the audit anchor is a data object: use type=data or no type=")
    return ref


def config_path(log_path: Path) -> Path:
    """The file beside the database that names its anchor."""
    return log_path.with_name(log_path.name + ".anchor")


def read_config(log_path: Path) -> Pkcs11Uri | None:
    """The anchor configured for the log at `log_path`, or None when it has none."""
    path = config_path(log_path)
    try:
        data = read_state_file(path)
        if data is None:
            return None
        document = json.loads(data.decode("utf-8"))
    except (FileAccessError, ValueError, RecursionError) as exc:  # UnicodeDecodeError too
        raise AuditAnchorError(f"{path}: unreadable ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or document.get("format") != CONFIG_FORMAT or \
            not isinstance(document.get("uri"), str):
        raise AuditAnchorError(f"{path}: not a {CONFIG_FORMAT} file")
    return parse_anchor_uri(document["uri"])


def write_config(log_path: Path, uri: Pkcs11Uri) -> None:
    """Name `uri` (without any PIN) as the anchor of the log at `log_path`."""
    if uri.pin_value is not None:
        raise AuditAnchorError("the anchor URI is stored beside the log: give the PIN with "
                               "pin-source= or SUITWB_PIN, not pin-value=")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": CONFIG_FORMAT, "uri": uri.redacted()}
    write_atomic(config_path(log_path), json.dumps(document).encode() + b"\n")


class TokenAnchor:
    """The chain head kept as a private data object in the token `uri` names."""

    def __init__(self, uri: Pkcs11Uri, pins: PinProvider | None) -> None:
        self.uri = uri
        self._pins = pins

    @property
    def name(self) -> str:
        """The anchor's URI without any PIN."""
        return self.uri.redacted()

    def read(self) -> ChainHead:
        """The head the token holds.

        Raises:
            AuditAnchorError: the token has no such object, or it is not a head.
        """
        with token_session(self.uri, self._pins) as session:
            heads = self._heads(session)
        if not heads:
            raise AuditAnchorError(f"{self.name}: the token holds no audit head object",
                                   hint="Check the URI, or create the anchor with "
                                        "`suitwb audit init --anchor URI`.")
        return max(heads, key=lambda pair: pair[0].count)[0]

    def create(self, head: ChainHead) -> None:
        """Create the head object, refusing if the token already has one of that label."""
        with token_session(self.uri, self._pins, rw=True) as session:
            if self._objects(session):
                raise AuditAnchorError(f"{self.name}: the token already holds an object "
                                       "with this label",
                                       hint="Choose another object= label for this log.")
            self._create(session, head)
        logger.info("audit head object created on %s at record %d", self.name, head.count)

    def write(self, head: ChainHead) -> None:
        """Move the head to `head` (called before the log commits the record).

        SoftHSM2, like many tokens, keeps a data object's CKA_VALUE read-only, so the new
        head is a new object and the old ones are then destroyed; if that is interrupted,
        `read` takes the head with the highest count, which is the newer one.
        """
        with token_session(self.uri, self._pins, rw=True) as session:
            old = self._objects(session)
            if not old:
                raise AuditAnchorError(f"{self.name}: the token holds no audit head object; "
                                       "nothing was recorded")
            self._create(session, head)
            with translated("audit head update", self.name):
                for obj in old:
                    obj.destroy()

    def _create(self, session: Any, head: ChainHead) -> None:
        with translated("audit head creation", self.name):
            session.create_object({
                Attribute.CLASS: ObjectClass.DATA, Attribute.TOKEN: True,
                Attribute.PRIVATE: True, Attribute.MODIFIABLE: True,
                Attribute.LABEL: self.uri.object_label, Attribute.APPLICATION: APPLICATION,
                Attribute.VALUE: _encode_head(head)})

    def _objects(self, session: Any) -> list[Any]:
        with translated("audit head lookup", self.name):
            return list(session.get_objects({Attribute.CLASS: ObjectClass.DATA,
                                             Attribute.LABEL: self.uri.object_label}))

    def _heads(self, session: Any) -> list[tuple[ChainHead, Any]]:
        objects = self._objects(session)
        with translated("audit head read", self.name):
            return [(_decode_head(bytes(obj[Attribute.VALUE]), self.name), obj)
                    for obj in objects]


def _encode_head(head: ChainHead) -> bytes:
    return json.dumps({"format": HEAD_FORMAT, "count": head.count, "hash": head.hash},
                      sort_keys=True).encode("ascii")


def _decode_head(value: bytes, name: str) -> ChainHead:
    try:
        document = json.loads(value.decode("ascii"))
        if document.get("format") != HEAD_FORMAT:
            raise ValueError("format")
        return ChainHead(int(document["count"]), str(document["hash"]))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AuditAnchorError(f"{name}: the object is not an audit head") from exc
