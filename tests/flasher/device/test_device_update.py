"""Updates on the virtual device: manifest first, streaming, resume, status, persistence."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, DeviceConfigError, VirtualDevice
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import APP
from suit.model import Command, Parameter
from tests.flasher.device.conftest import image_of, install, slot_bytes
from testsupport.envelopes import (
    CLASS_ID,
    TRUST_ANCHOR_COMPONENT_ID,
    VENDOR_ID,
    Build,
    app_update,
    new_key_pem,
    seq,
    staged_update,
)

Maker = Callable[..., VirtualDevice]


def test_a_blank_device_boots_nothing_and_reports_free_slots(make_device: Maker) -> None:
    device = make_device()
    assert device.last_boot.booted is None
    status = device.status()
    assert status.identity.vendor_id == VENDOR_ID and len(status.identity.device_id) == 16
    assert set(status.slots.values()) == {"free"}
    assert status.last_result is None


def test_update_installs_switches_slot_and_boots_the_new_image(make_device: Maker) -> None:
    device = make_device()
    first, second = image_of(20_000, 1), image_of(30_000, 2)
    install(device, app_update(1, first), first)
    assert device.last_boot.booted.sequence_number == 1
    assert slot_bytes(device, APP, 0)[:20_000] == first
    install(device, app_update(2, second), second)
    status = device.status()
    app = status.components[0]
    assert (app.sequence_number, app.size, app.active_slot) == (2, 30_000, 1)
    assert app.digest == hashlib.sha256(second).digest()
    assert status.slots["app/A"] == "fallback" and status.slots["app/B"] == "active"
    assert status.last_result.result == RefusalReason.OK
    assert device.last_boot.invoked == ((APP, b"go"),)


def test_begin_asks_for_the_payload_only_after_all_checks(make_device: Maker) -> None:
    device = make_device()
    image = image_of(10_000)
    requests = device.begin_update(app_update(1, image, uri="http://host/fw.bin").envelope())
    assert [(r.uri, r.size, r.received) for r in requests] == [("http://host/fw.bin", 10_000, 0)]
    assert device.status().slots["app/A"] == "receiving"


def test_integrated_payloads_need_no_payload_requests(make_device: Maker) -> None:
    device = make_device()
    image = image_of(5_000)
    assert device.begin_update(app_update(1, image, integrated=True).envelope()) == []
    result = device.finish_update()
    assert result.sequence_number == 1
    assert result.components[0].digest == hashlib.sha256(image).digest()


def test_state_and_images_persist_across_restarts(make_device: Maker) -> None:
    image = image_of(12_345)
    device = make_device()
    install(device, app_update(3, image), image)
    identity = device.identity()
    device.close()
    again = make_device()
    assert again.identity() == identity
    assert again.last_boot.booted.sequence_number == 3
    assert again.status().components[0].sequence_number == 3


def test_an_interrupted_transfer_resumes_from_the_last_complete_sector(make_device: Maker) -> None:
    image = image_of(50_000)
    build = app_update(1, image)
    device = make_device()
    device.begin_update(build.envelope())
    for offset in range(0, 20_000, 1000):
        device.write_payload(build_uri(build), offset, image[offset:offset + 1000])
    device.close()  # reset: the RAM buffer is lost, the progress saves are not
    device = make_device()
    [request] = device.begin_update(build.envelope())
    assert request.received == 16_384  # four whole 4 KiB sectors were saved
    for offset in range(request.received, request.size, 3000):
        device.write_payload(request.uri, offset, image[offset:offset + 3000])
    device.finish_update()
    assert device.last_boot.booted.sequence_number == 1
    assert slot_bytes(device, APP, 0)[:50_000] == image


def build_uri(build: Build) -> str:
    return build.install.commands[0].argument[Parameter.URI]


def test_out_of_order_and_oversized_writes_are_refused(make_device: Maker) -> None:
    device = make_device()
    image = image_of(8_000)
    [request] = device.begin_update(app_update(1, image).envelope())
    with pytest.raises(UpdateRefused) as caught:
        device.write_payload(request.uri, 100, b"x")
    assert caught.value.reason == RefusalReason.OPERATION_FAILED
    with pytest.raises(UpdateRefused) as caught:
        device.write_payload(request.uri, 0, b"x" * 8_001)
    assert caught.value.reason == RefusalReason.TOO_LARGE


def test_finish_before_all_bytes_or_without_begin_is_refused(make_device: Maker) -> None:
    device = make_device()
    with pytest.raises(UpdateRefused) as caught:
        device.finish_update()
    assert caught.value.reason == RefusalReason.NO_UPDATE_IN_PROGRESS
    [request] = device.begin_update(app_update(1, image_of(8_000)).envelope())
    device.write_payload(request.uri, 0, b"\x00" * 100)
    with pytest.raises(UpdateRefused, match=r"100 of 8000|0 of 8000"):
        device.finish_update()


def test_abort_forgets_the_update_and_keeps_the_running_image(make_device: Maker) -> None:
    device = make_device()
    first = image_of(6_000, 1)
    install(device, app_update(1, first), first)
    device.begin_update(app_update(2, image_of(6_000, 2)).envelope())
    device.abort_update()
    status = device.status()
    assert status.slots["app/B"] == "free" and status.components[0].sequence_number == 1
    assert status.last_result.detail == "aborted by the host"
    with pytest.raises(UpdateRefused):
        device.write_payload("http://example.com/app.bin", 0, b"x")


def test_config_checks_id_lengths(tmp_path) -> None:
    with pytest.raises(DeviceConfigError):
        DeviceConfig(state_dir=tmp_path, vendor_id=b"short", class_id=CLASS_ID)


def test_key_rotation_replaces_the_trust_anchor_store(make_device: Maker) -> None:
    device = make_device()
    running = image_of(4_000, 1)
    install(device, app_update(1, running), running)
    new_private, new_public = new_key_pem()
    rotate = Build(2, components=(TRUST_ANCHOR_COMPONENT_ID,),
                   install=seq((Command.OVERRIDE_PARAMETERS, {Parameter.CONTENT: new_public}),
                               (Command.WRITE, 15)))
    assert device.begin_update(rotate.envelope()) == []  # signed by the old (spec) key
    device.finish_update()
    assert device.state.trust_anchors == (new_public,)
    # The image installed under the old key still boots (its key is retired, not trusted).
    assert device.last_boot.booted.sequence_number == 1
    with pytest.raises(UpdateRefused) as caught:  # the old key no longer signs updates
        device.begin_update(app_update(3, image_of(4_000, 2)).envelope())
    assert caught.value.reason == RefusalReason.UNAUTHORISED
    device.close()
    device = make_device()  # restarted with the old key in its configuration
    assert device.state.trust_anchors == (new_public,)
    image = image_of(4_000, 3)
    install(device, app_update(3, image, key_pem=new_private), image)
    assert device.last_boot.booted.sequence_number == 3


def test_rotation_content_must_be_a_public_key(make_device: Maker) -> None:
    device = make_device()
    rotate = Build(1, components=(TRUST_ANCHOR_COMPONENT_ID,),
                   install=seq((Command.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"not a key"}),
                               (Command.WRITE, 15)))
    with pytest.raises(UpdateRefused, match="no PEM public key"):
        device.begin_update(rotate.envelope())
    assert len(device.state.trust_anchors) == 1


def test_a_power_cut_mid_update_leaves_a_resumable_update(make_device: Maker) -> None:
    image = image_of(9_000)
    build = app_update(1, image)
    device = make_device(PowerSwitch(cut_at=3))  # provision, begin, erase, then cut
    with pytest.raises(PowerCut):
        install(device, build, image)
    device.close()
    device = make_device()
    assert device.status().slots["app/A"] == "receiving"
    install(device, build, image)
    assert device.last_boot.booted.sequence_number == 1


def test_fetch_to_staging_then_copy_into_the_candidate_slot(make_device: Maker) -> None:
    device = make_device()
    first, second = image_of(7_000, 1), image_of(9_000, 2)
    install(device, app_update(1, first), first)
    install(device, staged_update(2, second), second)
    assert device.last_boot.booted.sequence_number == 2
    assert slot_bytes(device, APP, 1)[:9_000] == second
    assert device.status().slots["app/B"] == "active"


def test_two_images_switch_together(make_device: Maker) -> None:
    """Like M37 Example 5: one manifest, two A/B components, one slot switch."""
    from flasher.loader.layout import SECOND
    from testsupport.envelopes import image_params
    device = make_device()
    app, radio = image_of(6_000, 1), image_of(5_000, 2)

    def fetch(index: int, uri: str, image: bytes) -> list[tuple[int, object]]:
        return [(Command.SET_COMPONENT_INDEX, index),
                (Command.OVERRIDE_PARAMETERS, {Parameter.URI: uri, **image_params(image)}),
                (Command.FETCH, 2), (Command.IMAGE_MATCH, 15)]

    shared = seq((Command.SET_COMPONENT_INDEX, 0),
                 (Command.OVERRIDE_PARAMETERS, {Parameter.VENDOR_ID: VENDOR_ID,
                                                Parameter.CLASS_ID: CLASS_ID}),
                 (Command.VENDOR_IDENTIFIER, 15), (Command.CLASS_IDENTIFIER, 15))
    build = Build(1, components=(APP, SECOND), shared=shared,
                  install=seq(*fetch(0, "http://h/app", app), *fetch(1, "http://h/radio", radio)))
    requests = device.begin_update(build.envelope())
    assert [(r.uri, r.size) for r in requests] == [("http://h/app", 6_000), ("http://h/radio", 5_000)]
    for request, image in zip(requests, (app, radio), strict=True):
        device.write_payload(request.uri, 0, image)
    device.finish_update()
    booted = device.last_boot.booted
    assert {image.component_id for image in booted.images} == {APP, SECOND}
    status = device.status()
    assert status.slots["app/A"] == "active" and status.slots["second/A"] == "active"
    assert [c.sequence_number for c in status.components[:2]] == [1, 1]


def test_a_larger_part_of_the_same_profile_holds_a_1_mib_image(config: DeviceConfig) -> None:
    import dataclasses

    from flasher.loader.profiles import FlashSizeError, get_profile
    image = image_of(1024 * 1024)
    small = VirtualDevice(config)
    try:
        with pytest.raises(UpdateRefused) as caught:
            small.begin_update(app_update(1, image).envelope())
        assert caught.value.reason == RefusalReason.TOO_LARGE  # 256 KiB app slots
    finally:
        small.close()
    big_config = dataclasses.replace(config, state_dir=config.state_dir.parent / "big",
                                     flash_size=4 * 1024 * 1024)
    device = VirtualDevice(big_config)
    try:
        assert device.profile.size == 4 * 1024 * 1024
        assert device.profile.erase_time == get_profile(config.profile).erase_time
        install(device, app_update(1, image), image, chunk=16384)
        assert hashlib.sha256(slot_bytes(device, APP, device.status().components[0].active_slot)[:len(image)]).digest() \
            == hashlib.sha256(image).digest()
    finally:
        device.close()
    with pytest.raises(FlashSizeError, match="multiple of"):
        get_profile(config.profile, 1000)


def _battery_update(image: bytes, need: int) -> object:
    import dataclasses
    build = app_update(1, image)
    guarded = seq((Command.OVERRIDE_PARAMETERS, {Parameter.MINIMUM_BATTERY: need}),
                  (Command.MINIMUM_BATTERY, 15), *[(c.command, c.argument) for c in build.install.commands])
    return dataclasses.replace(build, install=guarded)


def test_minimum_battery_is_checked_against_the_simulated_gauge(config: DeviceConfig) -> None:
    import dataclasses
    image = image_of(8_000)
    for battery, accepted in ((4000, True), (100, False), (None, False)):
        device = VirtualDevice(dataclasses.replace(
            config, state_dir=config.state_dir.parent / f"battery-{battery}", battery_mwh=battery))
        try:
            if accepted:
                install(device, _battery_update(image, 500), image)
                assert device.status().components[0].sequence_number == 1
            else:
                with pytest.raises(UpdateRefused) as caught:
                    device.begin_update(_battery_update(image, 500).envelope())
                assert caught.value.reason == RefusalReason.CONDITION_FAILED
                assert "battery" in caught.value.detail
        finally:
            device.close()
