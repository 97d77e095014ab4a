"""Device profiles (issue 13): what an SMP device is to the station, checked member by member
with the TOML path in every error (exit status 2), anchors relative to the profile file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flasher.smp.operations import DeviceInfo
from workbench.device_profile import DeviceProfileError, NoProfileMatches, load_profile

VENDOR = "cfbff0d1-9375-5685-968c-48ce8b15ae17"
CLASS = "bd88c8f3-9d35-5f67-8592-d8b71ed3da3f"


def _write(folder: Path, body: str) -> Path:
    path = folder / "profile.toml"
    path.write_text(body)
    return path


def _entry(**changes: str) -> str:
    members = {"name": '"recovery"', "match": '{ mode = "serial recovery" }',
               "vendor-id": f'"{VENDOR}"', "class-id": f'"{CLASS}"',
               "trust-anchors": '["keys/pub.pem"]', "slot-size": "0x80000",
               "rollback": '"revision"'}
    members.update({k.replace("_", "-"): v for k, v in changes.items()})
    return "[[device]]\n" + "".join(f"{k} = {v}\n" for k, v in members.items() if v)


@pytest.fixture
def folder(tmp_path: Path, signing_key: tuple[Path, Path]) -> Path:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pub.pem").write_bytes(signing_key[1].read_bytes())
    return tmp_path


def _info(mode: str, os_info: str | None = None) -> DeviceInfo:
    return DeviceInfo("/dev/ttyACM0", mode, None, os_info, None, True, ())


def test_entries_match_in_order_and_anchors_are_relative_to_the_file(folder: Path) -> None:
    profile = load_profile(_write(folder, _entry() + _entry(name='"app"', match="{ os-info = "
                                                                  '"zephyr" }')))
    assert profile.kind_for(_info("serial recovery")).name == "recovery"
    assert profile.kind_for(_info("application", "Zephyr 4.4")).name == "app"
    assert str(profile.kinds[0].vendor_id) == VENDOR and profile.kinds[0].slot_size == 0x80000
    assert profile.kinds[0].trust_anchors[0].public_key is not None
    with pytest.raises(NoProfileMatches, match="no entry") as caught:
        profile.kind_for(_info("unknown"))
    assert caught.value.exit_status == 1


@pytest.mark.parametrize(("changes", "where"), [
    ({"class_id": '"not-a-uuid"'}, "device[0].class-id"),
    ({"vendor_id": ""}, "device[0].vendor-id"),
    ({"slot_size": "-1"}, "device[0].slot-size"),
    ({"slot_size": "true"}, "device[0].slot-size"),
    ({"rollback": '"security-counter"'}, "device[0].rollback"),
    ({"trust_anchors": '["keys/missing.pem"]'}, "device[0].trust-anchors[0]"),
    ({"trust_anchors": "[]"}, "device[0].trust-anchors"),
    ({"match": '{ board = "x" }'}, "device[0].match.board"),
    ({"colour": '"blue"'}, "device[0].colour"),
])
def test_an_invalid_member_is_named_by_its_toml_path(folder: Path, changes: dict[str, str],
                                                     where: str) -> None:
    with pytest.raises(DeviceProfileError) as caught:
        load_profile(_write(folder, _entry(**changes)))
    assert caught.value.where.endswith(where) and caught.value.exit_status == 2


@pytest.mark.parametrize("body", ["", "x = 1", "device = 3", "[[device]]\n" + "a = [" * 100,
                                  "\udcff"])
def test_not_a_profile_is_a_typed_error(folder: Path, body: str) -> None:
    path = folder / "profile.toml"
    path.write_bytes(body.encode("utf-8", "surrogateescape"))
    with pytest.raises(DeviceProfileError):
        load_profile(path)


def test_a_key_that_is_not_a_public_key(folder: Path) -> None:
    (folder / "keys" / "pub.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(DeviceProfileError, match="trust-anchors"):
        load_profile(_write(folder, _entry()))
