"""The device configuration file of `suitwb device serve --config` (issue 15): every member
checked and named by its TOML path, relative paths beside the file, options over the file."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from suit.verify import VerificationPolicy
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import ROOT, device_serve, suitwb
from workbench.loader_config import LoaderConfigError, LoaderSettings, load_loader_config
from workbench.project.values import class_uuid, vendor_uuid

FULL = """
[device]
vendor-domain = "gateways.example.com"
model = "gw-7"
device-id = "12345678-1234-5678-1234-567812345678"
trust-anchors = ["keys/vendor.pem", "keys/ops.pem"]
device-key = "keys/device.pem"

[loader]
port = "/dev/ttyGS0"
baud = 115200
state = "/var/lib/suitwb-loader"
root = "firmware"
profile = "stm32f4"
flash-size = "4M"
battery-mwh = -1
verbose = true
"""


def write(tmp_path: Path, text: str) -> Path:
    """`text` as etc/loader.toml, beside etc/keys/{vendor,ops,device}.pem."""
    path = tmp_path / "etc" / "loader.toml"
    (path.parent / "keys").mkdir(parents=True, exist_ok=True)
    for name in ("vendor", "ops", "device"):
        (path.parent / "keys" / f"{name}.pem").write_bytes(SPEC_KEY_PUBLIC.read_bytes())
    path.write_text(text)
    return path


def test_every_member_is_read_and_relative_paths_are_beside_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    settings = load_loader_config(path)
    vendor = vendor_uuid("gateways.example.com")
    assert settings == LoaderSettings(
        vendor_id=vendor, class_id=class_uuid(vendor, "gw-7"),
        device_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        trust_anchors=(path.parent / "keys/vendor.pem", path.parent / "keys/ops.pem"),
        device_key=path.parent / "keys/device.pem", port="/dev/ttyGS0", baud=115200,
        state=Path("/var/lib/suitwb-loader"), root=path.parent / "firmware",
        profile="stm32f4", flash_size=4 * 1024 * 1024, battery_mwh=-1, verbose=True)
    spec = settings.device_spec()
    assert (spec.root, spec.battery_mwh, spec.device_id) == (
        path.parent / "firmware", None, settings.device_id)


def test_options_override_the_file_member_by_member(tmp_path: Path) -> None:
    from_file = load_loader_config(write(tmp_path, FULL))
    given = LoaderSettings(port="/dev/ttyAMA0", trust_anchors=(Path("a.pem"),), battery_mwh=0)
    merged = given.over(from_file)
    assert (merged.port, merged.trust_anchors, merged.battery_mwh) == (
        "/dev/ttyAMA0", (Path("a.pem"),), 0)
    assert (merged.baud, merged.root, merged.vendor_id) == (
        from_file.baud, from_file.root, from_file.vendor_id)


def test_an_empty_file_leaves_the_built_in_defaults(tmp_path: Path) -> None:
    spec = load_loader_config(write(tmp_path, "")).device_spec()
    assert (spec.state_dir, spec.profile, spec.root, spec.device_id) == (
        Path("device-state"), "nrf52840", None, None)


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("[loader]\nbaud = 0", "loader.baud", "whole number from 1"),
    ("[loader]\nbaud = true", "loader.baud", "whole number"),
    ("[loader]\nbaud = \"fast\"", "loader.baud", "whole number"),
    ("[loader]\nbattery-mwh = -2", "loader.battery-mwh", "from -1"),
    ("[loader]\nflash-size = \"4X\"", "loader.flash-size", "whole number"),
    ("[loader]\nflash-size = 0", "loader.flash-size", "whole number"),
    ("[loader]\nprofile = \"esp99\"", "loader.profile", "unknown flash profile"),
    ("[loader]\nport = \"\"", "loader.port", "non-empty string"),
    ("[loader]\nport = \"/dev/tty\\nGS0\"", "loader.port", "control characters"),
    ("[loader]\nstate = 3", "loader.state", "non-empty string"),
    ("[loader]\nverbose = 1", "loader.verbose", "true or false"),
    ("[loader]\npotr = \"/dev/ttyGS0\"", "loader.potr", "unknown key"),
    ("[loaders]\nport = \"x\"", "loaders", "unknown key"),
    ("loader = 3", "loader", "expected a table"),
    ("[device]\nvendor-id = \"acme\"", "device.vendor-id", "not a UUID"),
    ("[device]\nvendor-id = \"fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe\"\nvendor-domain = \"a.com\"",
     "device.vendor-domain", "not both"),
    ("[device]\nmodel = \"gw\"", "device.model", "needs the vendor"),
    ("[device]\nvendor-domain = \"a.com\"\nmodel = \"gw\"\nclass-id = "
     "\"1492af14-2569-5e48-bf42-9b2d51f2ab45\"", "device.model", "not both"),
    ("[device]\ndevice-id = 7", "device.device-id", "non-empty string"),
    ("[device]\ntrust-anchors = []", "device.trust-anchors", "non-empty list"),
    ("[device]\ntrust-anchors = \"k.pem\"", "device.trust-anchors", "non-empty list"),
    ("[device]\ntrust-anchors = [\"keys/vendor.pem\", 3]", "device.trust-anchors[1]",
     "non-empty string"),
    ("[device]\ntrust-anchors = [\"keys/vendor.pem\", \"keys/gone.pem\"]",
     "device.trust-anchors[1]", "not an existing file"),
    ("[device]\ndevice-key = \"keys\"", "device.device-key", "not an existing file"),
    ("[device]\ndevice-key = [\"k.pem\"]", "device.device-key", "non-empty string"),
])
def test_each_bad_member_is_named(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LoaderConfigError) as caught:
        load_loader_config(path)
    assert caught.value.where == f"{path}: {where}"
    assert problem in caught.value.problem
    assert "\n" not in str(caught.value)
    assert caught.value.exit_status == 2


@pytest.mark.parametrize("content", [b"[loader\n", b"\xff\xfe", b"x = " + b"[" * 200 + b"]" * 200])
def test_a_file_that_is_not_toml_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "loader.toml"
    path.write_bytes(content)
    with pytest.raises(LoaderConfigError) as caught:
        load_loader_config(path)
    assert caught.value.where == str(path)


def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.toml", tmp_path):
        with pytest.raises(LoaderConfigError):
            load_loader_config(path)


def test_serve_takes_its_identity_from_the_file_and_options_win(tmp_path: Path) -> None:
    config = write(tmp_path, '[device]\nvendor-domain = "gateways.example.com"\nmodel = "gw-7"\n'
                             'device-id = "12345678-1234-5678-1234-567812345678"\n'
                             'trust-anchors = ["keys/vendor.pem"]\n'
                             f'[loader]\nstate = "{tmp_path / "state"}"\nport = "/dev/absent"\n'
                             'verbose = true\n')
    other_class = "1492af14-2569-5e48-bf42-9b2d51f2ab45"
    # --pty over the file's port, --class-id over its model.
    with device_serve("--config", config, "--class-id", other_class, data_dir=tmp_path) as port:
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    assert status["vendor_id"] == str(vendor_uuid("gateways.example.com"))
    assert status["class_id"] == other_class
    assert status["device_id"] == "12345678123456781234567812345678"
    assert (tmp_path / "state").is_dir()
    [log] = tmp_path.glob("device-serve-*.log")
    assert "suitwb-device: DEBUG flasher.loader.server: STATUS" in log.read_text()


def test_serve_with_a_bad_file_or_no_line_exits_2_in_one_line(tmp_path: Path) -> None:
    config = write(tmp_path, "[loader]\nbaud = -5\n")
    bad = suitwb("device", "serve", "--config", config, data_dir=tmp_path, check=False)
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0] == (f"suitwb: error: {config}: loader.baud: expected a "
                                          "whole number from 1 to 10000000")
    assert "Traceback" not in bad.stderr
    nowhere = suitwb("device", "serve", "--config", write(tmp_path, ""), data_dir=tmp_path,
                     check=False)
    assert nowhere.returncode == 2 and "no line to serve on" in nowhere.stderr


def test_the_documented_example_file_is_valid(tmp_path: Path) -> None:
    # docs/linux-device.md's example, as written: the page cannot drift from the format.
    page = (ROOT / "docs" / "linux-device.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)```", page, re.DOTALL)
    settings = load_loader_config(write(tmp_path, example))
    assert (settings.port, settings.root) == ("/dev/ttyGS0", Path("/srv/suitwb"))
    assert settings.class_id == class_uuid(vendor_uuid("gateways.example.com"), "gw-7")


def test_require_all_in_the_file_sets_the_device_policy(tmp_path: Path) -> None:
    """`device.require` carries the hybrid-signing policy to the device; the option wins."""

    config = tmp_path / "loader.toml"
    config.write_text('[device]\nrequire = "all"\n')
    settings = load_loader_config(config)
    assert settings.device_spec().signature_policy is VerificationPolicy.ALL
    given = LoaderSettings(signature_policy=VerificationPolicy.ANY)
    assert given.over(settings).device_spec().signature_policy is VerificationPolicy.ANY
    assert LoaderSettings().device_spec().signature_policy is VerificationPolicy.ANY
    config.write_text('[device]\nrequire = "some"\n')
    with pytest.raises(LoaderConfigError, match=r"device\.require"):
        load_loader_config(config)
