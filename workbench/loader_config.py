"""The device configuration file of `suitwb device serve --config FILE` (issue 15).

A Linux device runs the loader as a service (resources/systemd/suitwb-loader@.service), so
what the command line said for a test bench lives in a file in /etc: the device's identity,
the keys it trusts and signs with, where it keeps its state and installs files, and the
port. Read once at the boundary: every member is checked here and named by its TOML path
when it is wrong (``loader.toml: loader.baud``); options given on the command line
override the file member by member (`LoaderSettings.over`). Format: docs/linux-device.md,
"The configuration file".
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fileio.toml import read_toml_file
from flasher.loader.device import DEFAULT_BATTERY_MWH, ROOT_LAYOUTS
from flasher.loader.profiles import DEFAULT_PROFILE, PROFILES
from suit.errors import WorkbenchError
from suit.verify import VerificationPolicy
from workbench import flashing
from workbench.project import values
from workbench.project.errors import escaped

logger = logging.getLogger(__name__)

#: Largest configuration file read; real ones are a few hundred bytes.
MAX_CONFIG_FILE: Final = 64 * 1024
#: The fastest UART rate accepted (a USB gadget port ignores the rate altogether).
MAX_BAUD: Final = 10_000_000
#: The largest simulated flash accepted (the profile's part grown for large images).
MAX_FLASH_SIZE: Final = 1 << 32
_SIZE_UNITS: Final = {"K": 1024, "M": 1024 * 1024}
_DEVICE_KEYS: Final = frozenset({"vendor-id", "vendor-domain", "class-id", "model", "device-id",
                                 "trust-anchors", "device-key", "require",
                                 "decryption-keys"})
_LOADER_KEYS: Final = frozenset({"port", "baud", "state", "root", "root-layout", "profile",
                                 "flash-size", "battery-mwh", "verbose",
                                 "authorized-priority"})


class LoaderConfigError(WorkbenchError):
    """A device configuration file that cannot be read or says something invalid (exit 2).

    Attributes:
        where: The file and member, like ``loader.toml: loader.baud``.
        problem: What is wrong.
    """

    exit_status = 2
    default_hint = "See docs/linux-device.md, \"The configuration file\"."

    def __init__(self, where: str, problem: str, *, hint: str | None = None) -> None:
        where = escaped(where)  # a TOML key may hold a newline or an escape sequence
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class LoaderSettings:
    """What `device serve` is told, by its options or its configuration file.

    Every member is None when not given, so the command line can lie over the file
    (`over`) and the built-in defaults come last (`device_spec`).

    Attributes:
        vendor_id, class_id: The SUIT identity the device answers to (M37 §8.4.8.3-4).
        device_id: The device's own UUID (None: chosen at the first start and kept).
        trust_anchors: PEM public key files the device trusts.
        device_key: PEM private key file the device signs its SUIT reports with.
        decryption_keys: Key files or PKCS#11 URIs it decrypts payloads with (FE §6).
        port: The port path or pyserial URL to serve on.
        baud: Pace the line at this rate.
        state: The state directory.
        root: The directory file components are installed under.
        root_layout: ``direct`` or ``ab`` (docs/loader.md, "Installing files").
        authorized_priority: Updates with update-priority at most this are authorised.
        profile: The flash profile name.
        flash_size: Bytes of flash instead of the profile's own.
        battery_mwh: The simulated battery's charge; -1: no gauge.
        verbose: Log every message at debug level (else sessions, at info).
        signature_policy: ``all``: every trust anchor must verify an envelope (hybrid
            signing); ``any`` (the default): one must.
    """

    vendor_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    trust_anchors: tuple[Path, ...] | None = None
    device_key: Path | None = None
    decryption_keys: tuple[str, ...] | None = None
    port: str | None = None
    baud: int | None = None
    state: Path | None = None
    root: Path | None = None
    root_layout: str | None = None
    authorized_priority: int | None = None
    profile: str | None = None
    flash_size: int | None = None
    battery_mwh: int | None = None
    verbose: bool | None = None
    signature_policy: VerificationPolicy | None = None

    def over(self, below: LoaderSettings) -> LoaderSettings:
        """These settings where given, `below`'s elsewhere (command line over file)."""
        return LoaderSettings(**{
            f.name: getattr(below, f.name) if getattr(self, f.name) is None
            else getattr(self, f.name) for f in dataclasses.fields(self)})

    def device_spec(self) -> flashing.VirtualDeviceSpec:
        """The device to build, with the built-in defaults for what nobody said."""
        battery = DEFAULT_BATTERY_MWH if self.battery_mwh is None else self.battery_mwh
        return flashing.VirtualDeviceSpec(
            self.state or Path("device-state"), self.profile or DEFAULT_PROFILE,
            self.trust_anchors or (), self.vendor_id or flashing.EXAMPLE_VENDOR_ID,
            self.class_id or flashing.EXAMPLE_CLASS_ID, self.baud, self.flash_size,
            None if battery < 0 else battery, device_key=self.device_key,
            device_id=self.device_id, root=self.root,
            decryption_keys=self.decryption_keys or (),
            root_layout=self.root_layout or "direct",
            authorized_priority=self.authorized_priority,
            signature_policy=self.signature_policy or VerificationPolicy.ANY)


def load_loader_config(path: Path) -> LoaderSettings:
    """Read and check the configuration file at `path`.

    Relative paths in it are relative to its folder, so a file and its keys move together.

    Raises:
        LoaderConfigError: unreadable, not TOML, an unknown key, or a member invalid.
    """
    table = read_toml_file(path, MAX_CONFIG_FILE, LoaderConfigError)
    _known(table, frozenset({"device", "loader"}), f"{path}: ")
    device = _table(table, "device", f"{path}: ")
    loader = _table(table, "loader", f"{path}: ")
    _known(device, _DEVICE_KEYS, f"{path}: device.")
    _known(loader, _LOADER_KEYS, f"{path}: loader.")
    settings = _identity(device, f"{path}: device.", path.parent)
    return dataclasses.replace(settings, **_loader(loader, f"{path}: loader.", path.parent))


def _known(table: Mapping[str, Any], keys: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise LoaderConfigError(f"{prefix}{unknown[0]}", "unknown key",
                                hint="Known keys here: " + ", ".join(sorted(keys)) + ".")


def _table(table: Mapping[str, Any], key: str, prefix: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise LoaderConfigError(f"{prefix}{key}", f"expected a table [{key}]")
    return value


def _identity(device: Mapping[str, Any], prefix: str, folder: Path) -> LoaderSettings:
    vendor = _vendor(device, prefix)
    return LoaderSettings(
        vendor_id=vendor, class_id=_class(device, vendor, prefix),
        device_id=_optional(device, "device-id", prefix, _uuid),
        trust_anchors=_optional(device, "trust-anchors", prefix,
                                lambda v, w: _key_files(v, w, folder)),
        device_key=_optional(device, "device-key", prefix, lambda v, w: _key_file(v, w, folder)),
        signature_policy=_optional(device, "require", prefix, _policy),
        decryption_keys=_optional(device, "decryption-keys", prefix,
                                  lambda v, w: _decryption_keys(v, w, folder)))


def _loader(loader: Mapping[str, Any], prefix: str, folder: Path) -> dict[str, Any]:
    return {
        "port": _optional(loader, "port", prefix, _text),
        "baud": _optional(loader, "baud", prefix, lambda v, w: _integer(v, w, 1, MAX_BAUD)),
        "state": _optional(loader, "state", prefix, lambda v, w: _path(v, w, folder)),
        "root": _optional(loader, "root", prefix, lambda v, w: _path(v, w, folder)),
        "root_layout": _optional(loader, "root-layout", prefix, _root_layout),
        "authorized_priority": _optional(loader, "authorized-priority", prefix,
                                         lambda v, w: _integer(v, w, -(2**63), 2**63 - 1)),
        "profile": _optional(loader, "profile", prefix, _profile),
        "flash_size": _optional(loader, "flash-size", prefix, _size),
        "battery_mwh": _optional(loader, "battery-mwh", prefix,
                                 lambda v, w: _integer(v, w, -1, 10**9)),
        "verbose": _optional(loader, "verbose", prefix, _bool),
    }


def _optional(table: Mapping[str, Any], key: str, prefix: str,
              parse: Callable[[Any, str], Any]) -> Any:
    return parse(table[key], f"{prefix}{key}") if key in table else None


def _vendor(device: Mapping[str, Any], prefix: str) -> uuid.UUID | None:
    if "vendor-id" in device and "vendor-domain" in device:
        raise LoaderConfigError(f"{prefix}vendor-domain", "give vendor-id or vendor-domain, "
                                                          "not both")
    if "vendor-domain" in device:
        # M37 Appendix B: the vendor id is UUID5(DNS, domain), as the project file derives it.
        return values.vendor_uuid(_text(device["vendor-domain"], f"{prefix}vendor-domain"))
    parsed: uuid.UUID | None = _optional(device, "vendor-id", prefix, _uuid)
    return parsed


def _class(device: Mapping[str, Any], vendor: uuid.UUID | None,
           prefix: str) -> uuid.UUID | None:
    if "class-id" in device and "model" in device:
        raise LoaderConfigError(f"{prefix}model", "give class-id or model, not both")
    if "model" not in device:
        parsed: uuid.UUID | None = _optional(device, "class-id", prefix, _uuid)
        return parsed
    model = _text(device["model"], f"{prefix}model")
    if vendor is None:
        raise LoaderConfigError(f"{prefix}model", "a model needs the vendor "
                                                  "(vendor-domain or vendor-id)")
    return values.class_uuid(vendor, model)  # M37 Appendix B: UUID5(vendor id, model)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise LoaderConfigError(where, "expected a non-empty string")
    if any(not c.isprintable() for c in value):
        raise LoaderConfigError(where, "control characters are not allowed")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise LoaderConfigError(where, "expected true or false")
    return value


def _uuid(value: Any, where: str) -> uuid.UUID:
    text = _text(value, where)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise LoaderConfigError(where, f"not a UUID: {text!r}") from None


def _path(value: Any, where: str, folder: Path) -> Path:
    return folder / _text(value, where)


def _key_files(value: Any, where: str, folder: Path) -> tuple[Path, ...]:
    if not isinstance(value, list) or not value:
        raise LoaderConfigError(where, "expected a non-empty list of PEM file paths")
    return tuple(_key_file(item, f"{where}[{i}]", folder) for i, item in enumerate(value))


def _key_file(value: Any, where: str, folder: Path) -> Path:
    # Named here by its key: the device reads it at start, where only the path is known.
    path = _path(value, where, folder)
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long, a folder it may not enter: not a usable key
        raise LoaderConfigError(where, f"not an accessible file ({exc.strerror or exc})") from None
    if not found:
        raise LoaderConfigError(where, f"{path}: not an existing file",
                                hint="Key paths are relative to the configuration file's "
                                     "folder, or absolute.")
    return path


def _decryption_keys(value: Any, where: str, folder: Path) -> tuple[str, ...]:
    # PKCS#11 URIs as written; key files relative to this file's folder, like other keys.
    if not isinstance(value, list) or not value:
        raise LoaderConfigError(where, "expected a non-empty list of key files or pkcs11: URIs")
    return tuple(_text(item, f"{where}[{i}]") if str(item).startswith("pkcs11:")
                 else str(_key_file(item, f"{where}[{i}]", folder))
                 for i, item in enumerate(value))


def _integer(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LoaderConfigError(where, f"expected a whole number from {low} to {high}")
    return value


def _policy(value: Any, where: str) -> VerificationPolicy:
    return VerificationPolicy(_choice(value, where, [p.value for p in VerificationPolicy]))


def _root_layout(value: Any, where: str) -> str:
    return _choice(value, where, ROOT_LAYOUTS)


def _choice(value: Any, where: str, choices: Sequence[str]) -> str:
    text = _text(value, where)
    if text not in choices:
        raise LoaderConfigError(where, f"expected one of {', '.join(choices)}, not {text!r}")
    return text


def _profile(value: Any, where: str) -> str:
    name = _text(value, where)
    if name not in PROFILES:
        raise LoaderConfigError(where, f"unknown flash profile {name!r}",
                                hint="Profiles: " + ", ".join(sorted(PROFILES)) + ".")
    return name


def _size(value: Any, where: str) -> int:
    """``4194304``, ``"4096K"`` or ``"4M"`` -> bytes, as the ``--flash-size`` option."""
    # ASCII digits only, and few: str.isdigit() is true for "²" too, which int() refuses.
    digits = value[:-1] if isinstance(value, str) else ""
    if (digits.isascii() and digits.isdigit() and len(digits) <= 12
            and value[-1:].upper() in _SIZE_UNITS):
        value = int(digits) * _SIZE_UNITS[value[-1].upper()]
    return _integer(value, where, 1, MAX_FLASH_SIZE)
