"""The demo workspace: everything a new person needs to build, sign and flash at once,
with no hardware and no configuration (``make run``).

On first run, in ``<data dir>/demo-workspace`` (SUITWB_DATA_DIR overrides the data dir):

- a release project from the ``single-mcu`` template (RFC 9019 §5.1);
- a SoftHSM2 installation of its own (its own SOFTHSM2_CONF) with a token ``suit-demo``
  holding a P-256 signing key generated inside it, and the public key exported as PEM;
- ``NOTES.md``, which tells the person the demo token's PIN (it is a demo: the PIN is
  random per workspace and written down on purpose);
- a virtual device's state directory; `DemoDevice` serves that device on a new
  pseudo-terminal, trusting the demo key and answering to the project's vendor and class
  ids, until it is stopped.

Every step is idempotent: a second run finds what the first made and reuses it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from flasher.loader.serve import PseudoTerminal
from signing import management
from signing.keyref import Pkcs11Uri
from signing.pin import FixedPinProvider, PinProvider
from signing.token import SOFTHSM_MODULE
from suit.errors import WorkbenchError
from workbench import flashing
from workbench.files import read_bytes, write_atomic
from workbench.project.model import Project
from workbench.project.projectfile import load_project
from workbench.project.templates import PROJECT_FILE, create_project

DEMO_FOLDER: Final = "demo-workspace"
TEMPLATE: Final = "single-mcu"
TOKEN_LABEL: Final = "suit-demo"  # noqa: S105 - a token label, not its PIN
KEY_LABEL: Final = "suit-demo-key"
KEY_KIND: Final = "P-256"
SETTINGS_FILE: Final = "demo.json"
NOTES_FILE: Final = "NOTES.md"
SOFTHSM_ENV: Final = "SOFTHSM2_CONF"

#: progress(done, total, what), as the GUI's workers hand it in.
Progress = Callable[[int, int, str], None]


class DemoError(WorkbenchError):
    """The demo workspace cannot be set up.

    Attributes:
        step: What was being set up (``token``, ``key``...).
        problem: Why it failed.
    """

    def __init__(self, step: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"demo workspace: {step}: {problem}", hint=hint)
        self.step = step
        self.problem = problem


def demo_root() -> Path:
    """``<data dir>/demo-workspace``."""
    return flashing.data_dir() / DEMO_FOLDER


@dataclass(frozen=True)
class DemoConfig:
    """Where the demo lives and which token it uses.

    Attributes:
        root: The workspace folder.
        softhsm_conf: An existing SoftHSM2 configuration to use (its token `token_label`
            must exist and `token_pin` open it); None: the demo's own installation under
            `root`, created on first run and selected through SOFTHSM2_CONF.
        token_label: The token holding the demo key.
        token_pin: The PIN of an existing token (with `softhsm_conf`).
        module: The PKCS#11 module.
    """

    root: Path = field(default_factory=demo_root)
    softhsm_conf: Path | None = None
    token_label: str = TOKEN_LABEL
    token_pin: str | None = field(default=None, repr=False)
    module: str = SOFTHSM_MODULE


@dataclass(frozen=True)
class DemoWorkspace:
    """What `ensure_demo` made (or found).

    Attributes:
        key_uri: The demo signing key's PKCS#11 URI (no PIN in it).
        pin: The demo token's PIN (also in the notes file).
        public_key: The demo key's public half, PEM; the demo device trusts it.
        release_file: Where the sign panel writes the signed release by default.
    """

    root: Path
    project_file: Path
    notes_file: Path
    softhsm_conf: Path
    token_label: str
    key_uri: str
    pin: str = field(repr=False)
    public_key: Path = Path()
    device_state: Path = Path()
    release_file: Path = Path()

    def pins(self) -> PinProvider:
        """A provider answering with the demo PIN (the scripted demo flow)."""
        return FixedPinProvider(self.pin)

    def device_spec(self, state: Path | None = None) -> flashing.VirtualDeviceSpec:
        """A virtual device for the demo project's vendor and class ids, trusting the key."""
        device = load_project(self.project_file).device
        if device.vendor_id is None or device.class_id is None:
            raise DemoError("device", f"{self.project_file} names no vendor-id and class-id")
        return flashing.VirtualDeviceSpec(
            state_dir=state or self.device_state, profile="nrf52840",
            trust_anchors=[self.public_key], vendor_id=uuid.UUID(device.vendor_id),
            class_id=uuid.UUID(device.class_id))


def ensure_demo(config: DemoConfig | None = None) -> DemoWorkspace:
    """Create what is missing of the demo workspace and describe it.

    With the demo's own SoftHSM2 installation this sets SOFTHSM2_CONF for the process,
    so call it before anything loads the PKCS#11 module (SoftHSM2 reads it once).

    Raises:
        DemoError: SoftHSM2 is missing, or the token cannot be set up.
        ProjectError: the template cannot be copied.
        SigningError: the key cannot be generated or exported.
    """
    config = config or DemoConfig()
    root = config.root
    project_file = _project(root)
    conf, pin = _token(config)
    uri = Pkcs11Uri({"token": config.token_label, "object": KEY_LABEL}, module_path=config.module)
    public_key = _key(root, uri, pin)
    demo = DemoWorkspace(root, project_file, root / NOTES_FILE, conf, config.token_label,
                         uri.redacted(), pin, public_key, root / "device",
                         root / "release" / f"{TEMPLATE}-signed.suit")
    write_atomic(demo.notes_file, notes_text(demo).encode("utf-8"))
    return demo


def _project(root: Path) -> Path:
    project_file = root / TEMPLATE / PROJECT_FILE
    if not project_file.is_file():
        # The template as it is, minimum-battery condition included: the demo device's
        # simulated gauge answers it (DeviceConfig.battery_mwh).
        create_project(TEMPLATE, project_file.parent)
    return project_file


def _token(config: DemoConfig) -> tuple[Path, str]:
    if config.softhsm_conf is not None:
        if config.token_pin is None:
            raise DemoError("token", "an existing SoftHSM2 configuration needs the token's PIN")
        return config.softhsm_conf, config.token_pin
    folder = config.root / "softhsm"
    settings = config.root / SETTINGS_FILE
    conf = folder / "softhsm2.conf"
    pin = _load_settings(settings).get("pin") or f"{secrets.randbelow(10**8):08d}"
    tokens = folder / "tokens"
    if not tokens.is_dir() or not any(tokens.iterdir()):
        _init_token(conf, tokens, config.token_label, pin)
    write_atomic(settings, json.dumps({"token": config.token_label, "pin": pin}).encode())
    # SoftHSM2 finds its tokens through this variable, read once when the module loads.
    os.environ[SOFTHSM_ENV] = str(conf)
    return conf, pin


def _load_settings(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(read_bytes(path, limit=1 << 16))
    except ValueError as exc:
        raise DemoError("settings", f"{path} is not JSON", hint="Delete the file to start over.") from exc
    return loaded if isinstance(loaded, dict) else {}


def _init_token(conf: Path, tokens: Path, label: str, pin: str) -> None:
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise DemoError("token", "softhsm2-util is not installed",
                        hint="Install the Debian package softhsm2 (make setup does, as root).")
    tokens.mkdir(parents=True, exist_ok=True)
    write_atomic(conf, (f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n").encode())
    so_pin = secrets.token_hex(8)  # never needed again: the demo token is not re-initialised
    try:
        subprocess.run([tool, "--init-token", "--free", "--label", label, "--pin", pin,
                        "--so-pin", so_pin], check=True, capture_output=True, timeout=60,
                       env={**os.environ, SOFTHSM_ENV: str(conf)})
    except (subprocess.SubprocessError, OSError) as exc:
        raise DemoError("token", f"softhsm2-util could not create the token: {exc}") from exc


def _key(root: Path, uri: Pkcs11Uri, pin: str) -> Path:
    pins = FixedPinProvider(pin)
    module = uri.module_path or SOFTHSM_MODULE
    tokens = management.inventory(module, pins, token=uri.token, login=True)
    if len(tokens) > 1:
        raise DemoError("key", f"{len(tokens)} tokens are labelled {uri.token!r}",
                        hint="Delete the extra demo tokens with softhsm2-util --delete-token.")
    if not tokens:
        raise DemoError("key", f"no token {uri.token!r} in this SoftHSM2 installation",
                        hint="SoftHSM2 was loaded with another SOFTHSM2_CONF before the demo "
                             "was set up; start the workbench again.")
    [token] = tokens
    if not any(k.label == KEY_LABEL for k in token.keys):
        management.generate(uri, KEY_KIND, pins)
    public_key = root / "keys" / f"{KEY_LABEL}.pem"
    public_key.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(public_key, management.export_public(uri.with_type("public"), "pem", pins))
    return public_key


def notes_text(demo: DemoWorkspace) -> str:
    """The workspace's notes: what is here, the demo PIN, and the minute-long tour."""
    return f"""### SUIT Workbench demo workspace

**Demo token PIN: {demo.pin}** — type it when the PIN dialog asks (a demo PIN, written
down on purpose; never write a real one down).

Everything here was made on the first run and is only for trying the workbench out.

- Project: `{demo.project_file}` (template {TEMPLATE}, RFC 9019 §5.1)
- Signing key: `{demo.key_uri}`
  (SoftHSM2 token `{demo.token_label}`, configuration `{demo.softhsm_conf}`)
- Public key the demo device trusts: `{demo.public_key}`
- Virtual device state: `{demo.device_state}`

#### In a minute

1. Build ▸ Build envelope (Ctrl+B).
2. Sign tab: the demo key is already chosen; press Sign and type the PIN above.
3. Flash tab: select the virtual device, press Flash.
4. The device status panel shows the new sequence number and the active slot.
"""


def payloads_of(project: Project) -> list[tuple[str, Path]]:
    """(URI, image file) pairs the host serves for the project's detached payloads."""
    pairs = []
    for component in project.components:
        for slot in component.slots:
            if slot.uri and slot.image.file:
                pairs.append((slot.uri, project.folder / slot.image.file))
        if component.uri and component.image is not None and component.image.file:
            pairs.append((component.uri, project.folder / component.image.file))
    return pairs


class DemoDevice:
    """A virtual device served on a new pseudo-terminal by a thread of this process.

    Args:
        spec: The device (state, trust anchors, ids).
    """

    def __init__(self, spec: flashing.VirtualDeviceSpec) -> None:
        self.spec = spec
        self._stop = threading.Event()
        self._pty: PseudoTerminal | None = None
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str | None:
        """The pseudo-terminal the host opens, None when stopped."""
        return None if self._pty is None else self._pty.path

    def start(self) -> str:
        """Load (or provision) the device and serve it; returns the port path."""
        if self._pty is not None:
            return self._pty.path
        device = flashing.open_virtual_device(self.spec)
        self._stop.clear()
        self._pty = PseudoTerminal()
        self._thread = threading.Thread(
            target=flashing.serve_on_pty, args=(device, self._pty, self.spec.baud, self._stop),
            name=f"virtual device {self._pty.path}", daemon=True)
        self._thread.start()
        return self._pty.path

    def stop(self) -> None:
        """Stop serving and close the pseudo-terminal (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None
