"""The release project: what a release engineer describes once, and the builder turns into
a SUIT manifest (docs/project-format.md documents every member).

Plain mutable dataclasses: edits go through `workbench.project.commands` (do/undo/label),
which call `Project.notify` so that views adapting the project (the GUI's item models) can
refresh. Values stay in the project file's own notation (``h'00'`` byte strings,
``sha256:<hex>`` digests); `workbench.project.values` converts them when building.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

#: Severable manifest members a project may sever (M37 §8.4.12; TD; UM).
SEVERABLE_NAMES: Final = ("dependency-resolution", "payload-fetch", "candidate-verification",
                          "install", "text")
#: Command sequences an expert may give explicitly (they replace the generated ones).
SEQUENCE_NAMES: Final = ("shared", "dependency-resolution", "payload-fetch",
                         "candidate-verification", "install", "validate", "load", "invoke",
                         "uninstall")
#: Component text fields (M37 §8.4.4) by their project-file names.
COMPONENT_TEXT_FIELDS: Final = ("vendor-name", "model-name", "vendor-domain", "model-info",
                                "description", "version")
#: Default reporting policies per command (M37 Appendix B uses 15 for conditions and 2 for
#: fetch, copy and invoke; the trust-domains examples write with 15 and process with 0).
DEFAULT_REPORT: Final = {"condition": 15, "slot-condition": 5, "fetch": 2, "copy": 2,
                         "invoke": 2, "write": 15, "process-dependency": 0, "wait": 15}


@dataclass
class Image:
    """A payload image: a file (digest and size computed at build), or a stated digest."""

    file: str | None = None
    digest: str | None = None
    size: int | None = None


@dataclass
class Mcuboot:
    """The MCUboot image a component's raw binary becomes (docs/project-format.md,
    "MCUboot images"); the options are `imgtool sign`'s, with its defaults.

    Attributes:
        version: ``major.minor.revision+build``.
        header_size: Header bytes before the body (Zephyr uses 0x200).
        load_address: The RAM address (with `ram_load`) or the ROM-fixed address.
        ram_load: Set the RAM_LOAD flag (MCUboot copies the image to `load_address`).
        slot_size: The slot the image and its trailer must fit (0: not checked).
        align: Flash write alignment (1, 2, 4, 8, 16 or 32).
        erased_value: What erased flash reads as, 0 or 0xff.
        security_counter: A number, ``"auto"`` (from the version) or none.
        key: The key that signs the image (file path or ``pkcs11:`` URI); none: the
            image carries its SHA-256 TLV only. ``suitwb build --mcuboot-key`` overrides it.
    """

    version: str = "0.0.0"
    header_size: int = 0x20
    load_address: int | None = None
    ram_load: bool = False
    slot_size: int = 0
    align: int = 1
    erased_value: int = 0xFF
    security_counter: int | str | None = None
    key: str | None = None


@dataclass
class Slot:
    """One slot of an A/B component (M37 §8.4.8.9 component-slot, Appendix B example 3)."""

    image: Image
    uri: str | None = None


@dataclass
class Component:
    """A component the manifest updates (M37 §8.4.5.1).

    Attributes:
        name: The project's name for it (unique; used in references).
        id: The SUIT component identifier, in `values.parse_bytes` notation.
        image: The image it holds after the update, if it holds one.
        slots: A/B slots: the builder emits try-each over them.
        uri: Where the device fetches the image (a detached payload).
        integrated: Carry the image in the envelope (uri ``#<name>``).
        content: Small data written with directive-write instead of an image.
        staging: The component the image is fetched into first (payload-fetch), then
            copied from at install (Appendix B example 4).
        load_from: The component the image is copied from at load (into RAM).
        validate: Check the image at validate (secure boot); None: when it has an image.
        invoke: Boot it.
        invoke_args: parameter-invoke-args.
        version: A version condition ``{comparison, version}`` checked before install.
        text: Component text (vendor-name, model-name, vendor-domain, model-info,
            description, version).
        mcuboot: Make `image`'s file into an MCUboot image; the manifest then states
            that image's digest and size.
        metadata: For a file component: ``{file-type, mode, owner, group}``, sent as the
            component-metadata parameter (UM §4) with its fetch or write.
        encrypt: Encrypt the payload (draft-ietf-suit-firmware-encryption) with the
            project's profile: the image (fetched into `staging`, decrypted by the copy) or
            the content (decrypted by the write).
        recipients: Who can decrypt it: key files or ``pkcs11:`` URIs (device public keys
            for ECDH-ES, AES key-encryption keys), or tables ``{key = ..., kid = ...}``.
    """

    name: str
    id: list[str]
    display_name: str = ""
    image: Image | None = None
    slots: list[Slot] = field(default_factory=list)
    uri: str | None = None
    integrated: bool = False
    content: str | None = None
    staging: str | None = None
    load_from: str | None = None
    validate: bool | None = None
    invoke: bool = False
    invoke_args: str | None = None
    version: dict[str, Any] | None = None
    text: dict[str, str] = field(default_factory=dict)
    mcuboot: Mcuboot | None = None
    metadata: dict[str, Any] | None = None
    encrypt: bool = False
    recipients: list[str | dict[str, str]] = field(default_factory=list)

    @property
    def has_image(self) -> bool:
        """Whether an image digest describes what the component holds."""
        return self.image is not None or bool(self.slots)


@dataclass
class Dependency:
    """A dependency manifest (TD §5.2.2), bound by its manifest digest.

    Attributes:
        name: Its name; an integrated dependency sits under envelope key ``#<name>``.
        prefix: The dependency prefix (a component id), in `values` notation.
        envelope: A built envelope file to depend on.
        project: A project file to build first and depend on (same signers).
        digest: The manifest digest, when neither file is given.
        size: The envelope size, with `digest`.
        uri: Where the device fetches it, when not integrated.
        integrated: Carry it in the envelope.
        check_integrity: Emit condition-dependency-integrity before processing.
        process_in: The sequences that process it (directive-process-dependency).
    """

    name: str
    prefix: list[str]
    envelope: str | None = None
    project: str | None = None
    digest: str | None = None
    size: int | None = None
    uri: str | None = None
    integrated: bool = False
    check_integrity: bool = True
    process_in: list[str] = field(default_factory=lambda: ["install"])


@dataclass
class Device:
    """Which devices the release is for (M37 §8.4.8.3, RFC 9019 §3).

    Vendor and class ids are UUIDs; when not given they derive as UUID5(DNS, vendor
    domain) and UUID5(vendor id, model), as the spec's examples do.
    """

    vendor_domain: str | None = None
    model: str | None = None
    vendor_id: str | None = None
    class_id: str | None = None


@dataclass
class UpdatePolicy:
    """Update management (draft-ietf-suit-update-management §4–5), checked before install.

    Attributes:
        use_before: Seconds since the epoch after which the update is refused.
        minimum_battery: mWh the device must have.
        priority: update-priority (smaller is more urgent), with update-authorized.
        wait: Wait events (``time``, ``time-of-day``, ``day-of-week``, ``power``...).
    """

    use_before: int | None = None
    minimum_battery: int | None = None
    priority: int | None = None
    wait: dict[str, int] = field(default_factory=dict)


Listener = Callable[[str, Any], None]


@dataclass(eq=False)
class Project:
    """A release project (docs/project-format.md).

    Attributes:
        path: The project file; relative image paths start at its folder.
        sequence_number: A number, or ``"utc"``: SOURCE_DATE_EPOCH or the build's clock.
        severable: Members carried severed: a digest in the manifest, the member in
            the envelope (M37 §8.4.12).
        report: Reporting policy per command kind, over `DEFAULT_REPORT`.
        sequences: Explicit command sequences (expert), replacing generated ones.
        allow_outside_project: Let image and dependency paths reach outside the project
            folder (absolute, ``..`` or through a symbolic link). Off by default: such a
            file's bytes can land inside the signed envelope, so reaching out must be said
            in the project file, and `suitwb lint` reports every such path (PRJ002).
        profile: The MTI algorithm profile (draft-ietf-suit-mti §3) that selects the
            digest, the signing algorithm, the key distribution and the content encryption.
        listeners: Called as ``listener(event, subject)`` after each change.
    """

    name: str = "release"
    sequence_number: int | str = 0
    description: str = ""
    update_description: str = ""
    language: str = "en-US"
    reference_uri: str | None = None
    manifest_component_id: list[str] | None = None
    digest_algorithm: str = "sha256"
    profile: str | None = None
    device: Device = field(default_factory=Device)
    severable: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    components: list[Component] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    sequences: dict[str, list[Any]] = field(default_factory=dict)
    allow_outside_project: bool = False
    path: Path | None = None
    listeners: list[Listener] = field(default_factory=list, repr=False)

    @property
    def folder(self) -> Path:
        """Where relative paths start."""
        return self.path.parent if self.path is not None else Path.cwd()

    def component(self, name: str) -> Component:
        """The component called `name`.

        Raises:
            KeyError: no such component (callers turn it into their own error).
        """
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def component_index(self, name: str) -> int:
        """The SUIT component index of a component or dependency, by name."""
        names = [c.name for c in self.components] + [d.name for d in self.dependencies]
        return names.index(name)

    def notify(self, event: str, subject: Any = None) -> None:
        """Tell every listener what changed (``component-added``, ``changed``...)."""
        for listener in list(self.listeners):
            listener(event, subject)
