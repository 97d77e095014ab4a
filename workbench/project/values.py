"""How the project file writes SUIT values, and back: byte strings, digests, UUIDs,
reporting policies and version matches.

Byte strings are written as text (UTF-8) or in CBOR diagnostic hex, ``h'00ff'``, so a
component id of ``["h'00'"]`` is ``[h'00']`` and ``["00"]`` is ``[h'3030']`` (the
trust-domains examples use text ids). Digests are ``"sha256:<hex>"``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from suit.model import ComponentId, Digest, DigestAlgorithm, ReportingPolicy, VersionComparison
from workbench.project.errors import ProjectFileError

#: Anything written h'...' is meant as hex, so it must be hex: ``h'zz'`` is an error, not
#: the five text bytes it would otherwise silently become.
_HEX_LIKE: Final = re.compile(r"^h'(.*)'$", re.DOTALL)
_HEX_DIGITS: Final = re.compile(r"^[0-9a-fA-F\s]*$")
#: CBOR major types 0 and 1 reach 2**64 - 1 and -2**64 (RFC 8949 §3.1); SUIT uints stop
#: at 2**64 - 1 (the decoder's `suit.checks.expect_uint`).
UINT64_MAX: Final = (1 << 64) - 1
CBOR_INT_MIN: Final = -(1 << 64)
DIGEST_NAMES: Final = {"sha256": DigestAlgorithm.SHA256, "sha384": DigestAlgorithm.SHA384,
                       "sha512": DigestAlgorithm.SHA512, "shake128": DigestAlgorithm.SHAKE128,
                       "shake256": DigestAlgorithm.SHAKE256}
POLICY_NAMES: Final = {"record-on-success": ReportingPolicy.SEND_RECORD_ON_SUCCESS,
                       "record-on-failure": ReportingPolicy.SEND_RECORD_ON_FAILURE,
                       "sysinfo-success": ReportingPolicy.SEND_SYSINFO_SUCCESS,
                       "sysinfo-failure": ReportingPolicy.SEND_SYSINFO_FAILURE}
COMPARISONS: Final = {">": VersionComparison.GREATER, ">=": VersionComparison.GREATER_EQUAL,
                      "==": VersionComparison.EQUAL, "<=": VersionComparison.LESSER_EQUAL,
                      "<": VersionComparison.LESSER}


def parse_bytes(text: Any, where: str) -> bytes:
    """``h'..'`` -> those bytes; any other string -> its UTF-8 bytes."""
    if not isinstance(text, str):
        raise ProjectFileError(where, f"expected a string, found {type(text).__name__}")
    match = _HEX_LIKE.match(text)
    if match is None:
        return text.encode("utf-8")
    if not _HEX_DIGITS.match(match.group(1)):
        raise ProjectFileError(where, f"not a valid h'..' hex string: {text!r}",
                               hint="Write bytes as h'00ff' (hex digits only), or text "
                               "without the h'...' around it.")
    try:
        return bytes.fromhex(match.group(1))
    except ValueError as exc:
        raise ProjectFileError(where, "odd number of hex digits") from exc


def check_uint64(value: Any, where: str) -> int:
    """`value` if it is an integer in 0..2**64-1, what SUIT's uint members hold."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProjectFileError(where, f"expected an integer, found {type(value).__name__}")
    if not 0 <= value <= UINT64_MAX:
        raise ProjectFileError(where, f"{value} is outside 0..{UINT64_MAX} (a 64-bit unsigned "
                               "integer)")
    return value


def check_cbor_int(value: int, where: str) -> int:
    """`value` if CBOR can carry it as a plain integer (no bignum, RFC 8949 §3.1)."""
    if not CBOR_INT_MIN <= value <= UINT64_MAX:
        raise ProjectFileError(where, f"{value} is outside the 64-bit CBOR integer range")
    return value


def format_bytes(data: bytes) -> str:
    """The inverse of `parse_bytes`: printable UTF-8 as text, anything else as ``h'..'``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"h'{data.hex()}'"
    if text.isprintable() and not _HEX_LIKE.match(text) and text:
        return text
    return f"h'{data.hex()}'"


def parse_component_id(parts: Any, where: str) -> ComponentId:
    """A list of `parse_bytes` strings -> a component identifier (M37 §8.4.5.1)."""
    if not isinstance(parts, list) or not parts:
        raise ProjectFileError(where, "a component id is a non-empty list of strings",
                               hint="Write it like [\"h'00'\"] or [\"fs\", \"/opt/app\"].")
    return tuple(parse_bytes(p, f"{where}[{i}]") for i, p in enumerate(parts))


def parse_digest(text: Any, where: str) -> Digest:
    """``"sha256:<hex>"`` -> `Digest`."""
    name, _, hexdigits = str(text).partition(":")
    if not isinstance(text, str) or name not in DIGEST_NAMES or not hexdigits.strip():
        raise ProjectFileError(where, f"expected \"sha256:<hex>\", found {text!r}")
    try:
        return Digest(DIGEST_NAMES[name], bytes.fromhex(hexdigits))
    except ValueError as exc:
        raise ProjectFileError(where, "the digest is not hex") from exc


def format_digest(digest: Digest) -> str:
    """`Digest` -> ``"sha256:<hex>"``."""
    names: dict[int, str] = {v: k for k, v in DIGEST_NAMES.items()}
    return f"{names.get(digest.algorithm, str(digest.algorithm))}:{digest.value.hex()}"


def parse_uuid(text: Any, where: str) -> bytes:
    """A UUID string -> its 16 bytes (M37 §8.4.8.3: vendor and class ids are UUIDs)."""
    try:
        return uuid.UUID(str(text)).bytes
    except ValueError as exc:
        raise ProjectFileError(where, f"not a UUID: {text!r}") from exc


def vendor_uuid(domain: str) -> uuid.UUID:
    """UUID5(DNS, domain), as M37 Appendix B derives the vendor id from ``arm.com``."""
    return uuid.uuid5(uuid.NAMESPACE_DNS, domain)


def class_uuid(vendor: uuid.UUID, model: str) -> uuid.UUID:
    """UUID5(vendor id, model name), as M37 Appendix B derives the class id."""
    return uuid.uuid5(vendor, model)


def derived_ids(domain: str, model: str | None) -> tuple[str, str | None]:
    """The vendor id and (with a model) class id a vendor domain and model name derive:
    the one home of the derivation `suitwb new` records and the GUI's "Derive" offers."""
    vendor = vendor_uuid(domain)
    return str(vendor), (str(class_uuid(vendor, model)) if model else None)


def parse_policy(value: Any, where: str) -> int:
    """A reporting policy (M37 §8.4.7): 0..15, or a list of bit names."""
    if isinstance(value, bool):
        raise ProjectFileError(where, "a reporting policy is a number or a list of names")
    if isinstance(value, int):
        if not 0 <= value <= 15:
            raise ProjectFileError(where, f"reporting policy {value} is outside 0..15")
        return value
    if isinstance(value, list):
        bits = 0
        for i, name in enumerate(value):
            if name not in POLICY_NAMES:
                raise ProjectFileError(f"{where}[{i}]", f"unknown policy bit {name!r}",
                                       hint="Use " + ", ".join(POLICY_NAMES) + ".")
            bits |= POLICY_NAMES[name]
        return bits
    raise ProjectFileError(where, "a reporting policy is a number or a list of names")


FILE_TYPES: Final = {"regular": 1, "directory": 2, "symlink": 3}
_METADATA_KEYS: Final = frozenset({"file-type", "mode", "owner", "group"})


def parse_file_metadata(value: Any, where: str) -> dict[int, Any]:
    """``{file-type = "regular", mode = 0o755, owner = 0, group = 0}`` -> the UM §4
    component-metadata map: default-permissions (the others' bits), user- and
    group-permissions keyed by the owner and group ids, file-type, creator (the owner).

    UM permission bits 0 = execute/traverse, 1 = write, 2 = read are POSIX's rwx order,
    so each octal digit of `mode` is one permission value.
    """
    if not isinstance(value, dict):
        raise ProjectFileError(where, "expected {file-type = \"regular\", mode = 0o644}")
    unknown = sorted(set(value) - _METADATA_KEYS)
    if unknown:
        raise ProjectFileError(f"{where}.{unknown[0]}", "unknown member",
                               hint="Use file-type, mode, owner and group.")
    file_type = value.get("file-type", "regular")
    if not isinstance(file_type, str) or file_type not in FILE_TYPES:  # a list: unhashable
        raise ProjectFileError(f"{where}.file-type", f"unknown file type {_short(file_type)}",
                               hint="Use " + ", ".join(FILE_TYPES) + ".")
    out: dict[int, Any] = {5: FILE_TYPES[file_type]}
    ids = {name: _posix_id(value.get(name), f"{where}.{name}") for name in ("owner", "group")}
    if "mode" in value:
        mode = value["mode"]
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o777:
            raise ProjectFileError(f"{where}.mode", "expected permission bits like 0o644")
        out[1] = mode & 0o7
        for name, shift in (("owner", 6), ("group", 3)):
            if ids[name] is None and (mode >> shift) & 0o7 != mode & 0o7:
                raise ProjectFileError(f"{where}.{name}", f"mode {mode:#o} gives the {name} "
                                       "its own bits, but no id to give them to",
                                       hint=f"Add {name} = 0 (UM §4 keys permissions by id).")
        if ids["owner"] is not None:
            out[2] = {ids["owner"]: (mode >> 6) & 0o7}
        if ids["group"] is not None:
            out[3] = {ids["group"]: (mode >> 3) & 0o7}
    if ids["owner"] is not None:
        out[8] = ids["owner"]
    return out


def _short(value: Any) -> str:
    """`value` for a one-line message, however large the file made it."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _posix_id(value: Any, where: str) -> int | None:
    if value is None:
        return None
    # uid_t is 32 bits and (uid_t) -1 means "unchanged": the loader refuses it (file_meta).
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32 - 1:
        raise ProjectFileError(where, "expected a numeric user or group id")
    return value


def parse_version(value: Any, where: str) -> tuple[int, tuple[int, ...]]:
    """``{comparison = ">=", version = [1, 2, 0]}`` (or ``"1.2.0"``) -> UM §4 values."""
    if not isinstance(value, dict):
        raise ProjectFileError(where, "expected {comparison = \">=\", version = [1, 2, 0]}")
    comparison = value.get("comparison", ">=")
    if comparison not in COMPARISONS:
        raise ProjectFileError(f"{where}.comparison", f"unknown comparison {comparison!r}",
                               hint="Use one of " + " ".join(COMPARISONS) + ".")
    numbers = value.get("version")
    if isinstance(numbers, str):
        numbers = numbers.split(".")
    try:
        parts = tuple(int(n) for n in numbers)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ProjectFileError(f"{where}.version", "expected numbers like [1, 2, 0]") from exc
    if not parts:
        raise ProjectFileError(f"{where}.version", "a version has at least one number")
    for i, part in enumerate(parts):
        check_cbor_int(part, f"{where}.version[{i}]")
    return int(COMPARISONS[comparison]), parts
