"""Key references: a file path or an RFC 7512 PKCS#11 URI, parsed into plain values.

A reference names a key wherever the workbench needs one (CLI `--key`, settings, the audit
log). The PIN is never part of what we store or print: `redacted()` drops ``pin-value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote_to_bytes

from signing.errors import KeyReferenceError

SCHEME: Final = "pkcs11:"
# RFC 7512 §2.3: path attributes (';'-separated) and query attributes ('&'-separated).
_PATH_ATTRIBUTES: Final = frozenset({
    "token", "manufacturer", "serial", "model", "object", "type", "id",
    "library-manufacturer", "library-description", "library-version", "slot-id",
    "slot-description", "slot-manufacturer"})
_QUERY_ATTRIBUTES: Final = frozenset({"pin-source", "pin-value", "module-name", "module-path"})
_OBJECT_TYPES: Final = frozenset({"private", "public", "secret-key", "cert", "data"})
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters RFC 7512 §2.3 allows unescaped in a path or query attribute value.
_SAFE: Final = "-._~:[]@!$'()*+,="


@dataclass(frozen=True)
class FileKeyRef:
    """A key held in a file (PEM private key, PEM public key or COSE_Key)."""

    path: Path

    def redacted(self) -> str:
        """The reference as text; a path holds no secret."""
        return str(self.path)


@dataclass(frozen=True)
class Pkcs11Uri:
    """An RFC 7512 PKCS#11 URI.

    Attributes:
        attributes: Path attributes (token, object, type, serial...), percent-decoded
            as text except ``id``, which is kept in `key_id`.
        key_id: CKA_ID bytes (``id=%01%02``), or None.
        module_path: The PKCS#11 module to load (``module-path``), or None.
        pin_source: ``pin-source`` as written (``file:/path`` or a path), or None.
        pin_value: ``pin-value``; never printed, stored or put in messages.
    """

    attributes: dict[str, str] = field(default_factory=dict)
    key_id: bytes | None = None
    module_path: str | None = None
    module_name: str | None = None
    pin_source: str | None = None
    pin_value: str | None = field(default=None, repr=False)

    @property
    def token(self) -> str | None:
        """The token label (``token=``)."""
        return self.attributes.get("token")

    @property
    def object_label(self) -> str | None:
        """The key's CKA_LABEL (``object=``)."""
        return self.attributes.get("object")

    @property
    def object_type(self) -> str | None:
        """``private``, ``public``, ``secret-key``... (``type=``)."""
        return self.attributes.get("type")

    def redacted(self) -> str:
        """The URI without ``pin-value``: the form logs, the audit log and messages use."""
        return self._render(with_pin=False)

    def with_type(self, object_type: str) -> Pkcs11Uri:
        """A copy naming another object type (the public half of a private key...)."""
        return Pkcs11Uri({**self.attributes, "type": object_type}, self.key_id,
                         self.module_path, self.module_name, self.pin_source, self.pin_value)

    def _render(self, *, with_pin: bool) -> str:
        path = [f"{k}={quote(v, safe=_SAFE)}" for k, v in self.attributes.items()]
        if self.key_id is not None:
            path.append("id=" + "".join(f"%{b:02x}" for b in self.key_id))
        query = [(k, v) for k, v in (("module-name", self.module_name),
                                     ("module-path", self.module_path),
                                     ("pin-source", self.pin_source)) if v is not None]
        if with_pin and self.pin_value is not None:
            query.append(("pin-value", self.pin_value))
        text = SCHEME + ";".join(path)
        if query:
            text += "?" + "&".join(f"{k}={quote(v, safe=_SAFE + '/')}" for k, v in query)
        return text

    def __str__(self) -> str:
        return self.redacted()


KeyRef = FileKeyRef | Pkcs11Uri


def parse_key_reference(text: str) -> KeyRef:
    """Parse ``--key`` text: a PKCS#11 URI if it starts with ``pkcs11:``, else a path.

    Raises:
        KeyReferenceError: for a malformed URI. The message never repeats the URI's
            query, which may hold a PIN.
    """
    if not text:
        raise KeyReferenceError("empty key reference")
    if text[: len(SCHEME)].lower() == SCHEME:
        return parse_pkcs11_uri(text)
    if "\0" in text:  # no file has one; os calls would raise ValueError
        raise KeyReferenceError("a key path with a NUL character")
    try:
        return FileKeyRef(Path(text).expanduser())
    except RuntimeError:  # "~name/...": no such user, or no home folder known
        raise KeyReferenceError(f"{text.split('/', 1)[0]!r}: no such user's home "
                                "folder") from None


def parse_pkcs11_uri(text: str) -> Pkcs11Uri:
    """Parse an RFC 7512 URI (§2.3 grammar; unknown vendor attributes are refused)."""
    body = text[len(SCHEME):]
    path_part, _, query_part = body.partition("?")
    attributes: dict[str, str] = {}
    key_id: bytes | None = None
    for name, raw in _pairs(path_part, ";"):
        if name not in _PATH_ATTRIBUTES:
            raise KeyReferenceError(f"unknown path attribute {name!r}")
        if name in attributes or (name == "id" and key_id is not None):
            raise KeyReferenceError(f"attribute {name!r} given twice")  # RFC 7512 §2.3
        if name == "id":
            key_id = raw
        else:
            attributes[name] = _text(name, raw)
    if attributes.get("type", "private") not in _OBJECT_TYPES:
        raise KeyReferenceError(f"type must be one of {', '.join(sorted(_OBJECT_TYPES))}")
    query = _query(query_part)
    return Pkcs11Uri(attributes, key_id, query.get("module-path"), query.get("module-name"),
                     query.get("pin-source"), query.get("pin-value"))


def _query(part: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, raw in _pairs(part, "&"):
        if name not in _QUERY_ATTRIBUTES:
            raise KeyReferenceError(f"unknown query attribute {name!r}")
        if name in query:
            raise KeyReferenceError(f"attribute {name!r} given twice")
        query[name] = _text(name, raw)
    if "pin-source" in query and "pin-value" in query:
        raise KeyReferenceError("give pin-source or pin-value, not both")
    return query


def _pairs(part: str, separator: str) -> list[tuple[str, bytes]]:
    pairs = []
    for item in filter(None, part.split(separator)):
        name, equals, value = item.partition("=")
        if not equals or not name:
            # Name only the attribute: its value might be a PIN.
            raise KeyReferenceError(f"attribute {name or '?'!r} has no value")
        if _BAD_PERCENT.search(value):
            # RFC 3986 §2.1: '%' starts a pct-encoded octet. Taking "%zz" literally would
            # log in with a PIN nobody meant and spend one of the token's PIN attempts.
            raise KeyReferenceError(f"attribute {name.lower()!r} has a '%' not followed by "
                                    "two hex digits",
                                    hint="Write a literal '%' as %25 (RFC 7512 §2.3).")
        pairs.append((name.lower(), unquote_to_bytes(value)))
    return pairs


def _text(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyReferenceError(f"attribute {name!r} is not UTF-8") from exc
