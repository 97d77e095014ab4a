"""The device file of `suitwb simulate` (docs/simulate.md): what a device is and holds.

Read once at the boundary: every member is checked here and named by its TOML path when
it is wrong (``component[1].digest``), so the simulation past this point trusts types.
Byte strings, digests and versions are written as in the project file
(workbench/project/values.py); trust anchors are PEM (or COSE_Key) files relative to the
device file.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fileio import MAX_KEY_FILE, read_limited
from fileio.errors import FileAccessError
from fileio.toml import loads_toml
from suit.cose import CoseAlgorithm
from suit.encryption import RecipientKey
from suit.errors import ManifestError, WorkbenchError
from suit.keys import TrustAnchor
from suit.model import ComponentId, Digest
from suit.processor import DeviceFacts
from workbench.device_keys import decryption_keys
from workbench.project import values
from workbench.project.errors import ProjectFileError

logger = logging.getLogger(__name__)

#: Largest device file read; real ones are a few hundred bytes.
MAX_DEVICE_FILE: Final = 1 << 20
_TOP: Final = frozenset({"device", "component", "trust-anchors", "algorithms",
                         "decryption-keys"})
_DEVICE: Final = frozenset({"vendor-id", "vendor-domain", "class-id", "model", "device-id",
                            "now", "battery-mwh", "authorized-priority", "boot"})
_COMPONENT: Final = frozenset({"id", "slot", "digest", "version", "sequence-number"})
#: Algorithm names accepted in ``algorithms``: COSE's and the project file's digest names.
ALGORITHM_NAMES: Final = {**{a.name.lower(): int(a) for a in CoseAlgorithm},
                          **{name: int(a) for name, a in values.DIGEST_NAMES.items()}}


class DeviceFileError(WorkbenchError):
    """A device file that cannot be read or says something invalid (exit status 2).

    Attributes:
        where: The file and the member, like ``dev.toml: component[1].digest``.
        problem: What is wrong with it.
    """

    default_hint = "Check the device file against docs/simulate.md."

    def __init__(self, where: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class DeviceComponent:
    """A component the device has, with what it holds now (None: not known)."""

    id: ComponentId
    slot: int | None = None
    digest: Digest | None = None
    version: tuple[int, ...] | None = None
    sequence_number: int | None = None


@dataclass(frozen=True)
class DeviceDescription:
    """A device as the simulation sees it.

    Attributes:
        vendor_id: The vendor UUID's bytes, or None (vendor-identifier then fails).
        class_ids: One class per CPU (RFC 9019 §5.5); empty: class-identifier fails.
        device_id: The device UUID's bytes, or None.
        components: What the device has; a manifest naming others is refused (rule 20).
        facts: Clock, battery and authorisation (UM §5), component versions included.
        anchors: The trust anchors it verifies with.
        algorithms: COSE algorithm ids it supports; None means all the core does.
        boot: Whether to run the Invocation procedure after the update.
        decryption_keys: The keys it decrypts payloads with (FE §6); empty: it does not
            decrypt, and a manifest with encryption info is refused (rule 10).
    """

    vendor_id: bytes | None
    class_ids: frozenset[bytes]
    device_id: bytes | None
    components: tuple[DeviceComponent, ...]
    facts: DeviceFacts
    anchors: tuple[TrustAnchor, ...]
    algorithms: frozenset[int] | None
    boot: bool
    decryption_keys: tuple[RecipientKey, ...] = ()


def load_device(path: Path) -> DeviceDescription:
    """Read and check a device file.

    Raises:
        DeviceFileError: unreadable, not TOML, or a member that is wrong (its TOML path).
    """
    try:
        text = read_limited(path, MAX_DEVICE_FILE).decode("utf-8")
        return parse_device(loads_toml(text, str(path)), path.parent)
    except UnicodeDecodeError:
        raise DeviceFileError(str(path), "not UTF-8 text") from None
    except ProjectFileError as exc:
        raise DeviceFileError(f"{path}: {exc.where}", exc.problem, hint=exc.hint) from None
    except FileAccessError as exc:
        raise DeviceFileError(exc.path, exc.problem, hint=exc.hint) from None


def parse_device(table: Mapping[str, Any], folder: Path) -> DeviceDescription:
    """A parsed TOML table -> `DeviceDescription`; anchor paths start at `folder`.

    Raises:
        ProjectFileError: the first wrong member, by its TOML path.
    """
    _known(table, _TOP, "")
    device = _table(table.get("device", {}), "device")
    _known(device, _DEVICE, "device.")
    components = tuple(_component(c, f"component[{i}]")
                       for i, c in enumerate(_list(table.get("component", []), "component")))
    vendor = _vendor(device)
    return DeviceDescription(
        vendor_id=vendor, class_ids=_classes(device, vendor),
        device_id=_optional(device, "device-id", values.parse_uuid, "device."),
        components=components, facts=_facts(device, components),
        anchors=_anchors(table.get("trust-anchors", []), folder),
        algorithms=_algorithms(table.get("algorithms")),
        boot=_bool(device.get("boot", False), "device.boot"),
        decryption_keys=_decryption_keys(table.get("decryption-keys", []), folder))


def _known(table: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:  # a misspelt member would otherwise be silently ignored
            raise ProjectFileError(f"{prefix}{key}", "unknown member",
                                   hint="Known here: " + ", ".join(sorted(allowed)) + ".")


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProjectFileError(where, f"expected a table, found {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProjectFileError(where, f"expected an array, found {type(value).__name__}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ProjectFileError(where, f"expected true or false, found {type(value).__name__}")
    return value


def _optional(table: Mapping[str, Any], key: str, parse: Any, prefix: str) -> Any:
    value = table.get(key)
    return None if value is None else parse(value, f"{prefix}{key}")


def _vendor(device: Mapping[str, Any]) -> bytes | None:
    # M37 Appendix B: the vendor id is UUID5(DNS, domain), as the project file derives it.
    if "vendor-domain" in device:
        domain = device["vendor-domain"]
        if not isinstance(domain, str) or not domain:
            raise ProjectFileError("device.vendor-domain", "expected a DNS domain name")
        return values.vendor_uuid(domain).bytes
    parsed: bytes | None = _optional(device, "vendor-id", values.parse_uuid, "device.")
    return parsed


def _classes(device: Mapping[str, Any], vendor: bytes | None) -> frozenset[bytes]:
    """``class-id`` UUIDs, or ``model`` names (UUID5(vendor, model), M37 Appendix B);
    either may be a list: one class per CPU (RFC 9019 §5.5)."""
    found: set[bytes] = set()
    for key in ("class-id", "model"):
        items = device.get(key, [])
        for i, item in enumerate(items if isinstance(items, list) else [items]):
            where = f"device.{key}" + (f"[{i}]" if isinstance(items, list) else "")
            found.add(_class(key, item, vendor, where))
    return frozenset(found)


def _class(key: str, item: Any, vendor: bytes | None, where: str) -> bytes:
    if key == "class-id":
        return values.parse_uuid(item, where)
    if not isinstance(item, str) or not item:
        raise ProjectFileError(where, "expected a model name")
    if vendor is None:
        raise ProjectFileError(where, "a model needs the vendor (vendor-domain or vendor-id)")
    return values.class_uuid(_uuid(vendor), item).bytes


def _uuid(data: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=data)


def _uint(value: Any, where: str) -> int:
    return values.check_uint64(value, where)


def _int(value: Any, where: str) -> int:
    # UM §4: update-priority is an integer, negative ones included.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProjectFileError(where, f"expected an integer, found {type(value).__name__}")
    return values.check_cbor_int(value, where)


def _component(value: Any, where: str) -> DeviceComponent:
    table = _table(value, where)
    _known(table, _COMPONENT, f"{where}.")
    if "id" not in table:
        raise ProjectFileError(f"{where}.id", "missing", hint="Write it like id = [\"h'00'\"].")
    return DeviceComponent(
        id=values.parse_component_id(table["id"], f"{where}.id"),
        slot=_optional(table, "slot", _uint, f"{where}."),
        digest=_optional(table, "digest", values.parse_digest, f"{where}."),
        version=_optional(table, "version", _version, f"{where}."),
        sequence_number=_optional(table, "sequence-number", _uint, f"{where}."))


def _version(value: Any, where: str) -> tuple[int, ...]:
    """``"1.2.0"`` or ``[1, 2, 0]`` (UM §4: an array of integers)."""
    return values.parse_version({"version": value}, where)[1]


def _facts(device: Mapping[str, Any], components: tuple[DeviceComponent, ...]) -> DeviceFacts:
    return DeviceFacts(
        now=_optional(device, "now", _seconds, "device."),
        battery_mwh=_optional(device, "battery-mwh", _uint, "device."),
        authorized_priority=_optional(device, "authorized-priority", _int, "device."),
        versions={c.id: c.version for c in components if c.version is not None})


def _seconds(value: Any, where: str) -> int:
    """Seconds since the epoch (UM §4 use-before), or a TOML date-time (UTC if no offset)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return _uint(int(value.timestamp()), where)
    return _uint(value, where)


def _anchors(value: Any, folder: Path) -> tuple[TrustAnchor, ...]:
    anchors = []
    for i, item in enumerate(_list(value, "trust-anchors")):
        where = f"trust-anchors[{i}]"
        if not isinstance(item, str) or not item:
            raise ProjectFileError(where, "expected a path to a PEM or COSE_Key file")
        path = folder / item
        try:
            data = read_limited(path, MAX_KEY_FILE, regular_only=True)
            anchors.append(TrustAnchor.load(data, item))
        except (FileAccessError, ManifestError) as exc:
            raise ProjectFileError(where, f"{item}: {getattr(exc, 'problem', exc)}") from exc
    return tuple(anchors)


def _decryption_keys(value: Any, folder: Path) -> tuple[RecipientKey, ...]:
    """Key files relative to the device file (PEM P-256 / X25519 private keys, AES-KW keys
    raw, hex or COSE_Key) or PKCS#11 URIs of a token's AES key, as `device serve
    --decryption-key` takes them (workbench/device_keys.py)."""
    keys = []
    for i, item in enumerate(_list(value, "decryption-keys")):
        where = f"decryption-keys[{i}]"
        if not isinstance(item, str) or not item:
            raise ProjectFileError(where, "expected a key file path or a pkcs11: URI")
        reference = item if item.startswith("pkcs11:") else str(folder / item)
        try:
            [key] = decryption_keys([reference])
        except FileAccessError as exc:
            raise ProjectFileError(where, f"{item}: {exc.problem}") from exc
        except WorkbenchError as exc:  # a file with no usable key, a malformed URI
            raise ProjectFileError(where, str(exc), hint=exc.hint) from exc
        keys.append(key)
    return tuple(keys)


def _algorithms(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    found = set()
    for i, item in enumerate(_list(value, "algorithms")):
        if isinstance(item, str) and item.lower() in ALGORITHM_NAMES:
            found.add(ALGORITHM_NAMES[item.lower()])
        elif isinstance(item, int) and not isinstance(item, bool):
            found.add(values.check_cbor_int(item, f"algorithms[{i}]"))
        else:
            raise ProjectFileError(f"algorithms[{i}]", f"unknown algorithm {item!r}",
                                   hint="Use COSE ids (-7) or names: "
                                   + ", ".join(sorted(ALGORITHM_NAMES)) + ".")
    return frozenset(found)
