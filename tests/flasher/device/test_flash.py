"""The simulated flash, its profiles and timer, and the two-copy state store."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from flasher.loader.flash import FlashAccessError, FlashTimer, PowerCut, PowerSwitch, SimulatedFlash
from flasher.loader.profiles import (
    DEFAULT_PROFILE,
    NRF52840,
    PROFILES,
    SLOW,
    UnknownProfile,
    get_profile,
)
from flasher.loader.state import (
    DeviceState,
    ImageRecord,
    Installation,
    StateCorrupt,
    StateStore,
)

LINE_115200 = 115200 / 10  # bytes per second on an 8N1 line


def test_default_profile_is_nrf52840_with_its_datasheet_figures() -> None:
    profile = get_profile(DEFAULT_PROFILE)
    assert profile is NRF52840
    assert (profile.sector_size, profile.write_unit) == (4096, 4)
    assert (profile.erase_time, profile.program_time) == (0.085, 41e-6)
    # 4096 / (0.085 + 1024 * 41 us) = about 32 KB/s: faster than a 115200-baud line.
    assert 31_000 < profile.sustained_write_rate < 33_000
    assert profile.sustained_write_rate > LINE_115200


def test_slow_profile_is_slower_than_the_line() -> None:
    assert SLOW.sustained_write_rate < LINE_115200 / 2
    assert set(PROFILES) >= {"nrf52840", "stm32f4", "slow"}


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(UnknownProfile) as caught:
        get_profile("esp32")
    assert "nrf52840" in caught.value.hint


def small_flash(tmp_path: Path, power: PowerSwitch | None = None) -> SimulatedFlash:
    profile = replace(NRF52840, size=4 * 4096)
    return SimulatedFlash(tmp_path / "flash.bin", profile, power or PowerSwitch())


def test_new_flash_is_erased_and_programming_only_clears_bits(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    assert flash.is_erased(0, 4 * 4096)
    flash.program(8, b"\x0f\xf0\xff\x00")
    flash.program(8, b"\xff\x0f\x0f\xff")  # NOR: old & new
    assert flash.read(8, 4) == b"\x0f\x00\x0f\x00"
    flash.erase_sector(0)
    assert flash.read(8, 4) == b"\xff" * 4
    assert (flash.erase_count, flash.program_count) == (1, 2)


def test_flash_refuses_unaligned_and_out_of_range(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    with pytest.raises(FlashAccessError):
        flash.program(2, b"\x00" * 4)
    with pytest.raises(FlashAccessError):
        flash.read(4 * 4096 - 2, 4)


def test_flash_contents_persist_across_reopen(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    flash.program(4096, b"abcd")
    flash.close()
    assert small_flash(tmp_path).read(4096, 4) == b"abcd"


def test_power_cut_tears_an_erase(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    flash.program(0, b"\x00" * 4096)
    flash.power.cut_at = len(flash.power.steps)
    with pytest.raises(PowerCut) as caught:
        flash.erase_sector(0)
    assert caught.value.step.kind == "erase"
    data = flash.read(0, 4096)
    assert data[:2048] == b"\xff" * 2048 and data[2048:] == b"\x00" * 2048


def test_power_cut_tears_a_program(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    flash.power.cut_at = 0
    with pytest.raises(PowerCut):
        flash.program(0, b"\x00" * 1024)
    assert flash.read(0, 1024) == b"\x00" * 512 + b"\xff" * 512
    assert [s.kind for s in flash.power.steps] == ["program"]


def test_timer_accounts_device_time_without_sleeping(tmp_path: Path) -> None:
    flash = small_flash(tmp_path)
    started = time.monotonic()
    for sector in range(4):
        flash.erase_sector(sector)
    assert flash.timer.device_seconds == pytest.approx(4 * 0.085)
    assert time.monotonic() - started < 0.2  # not realtime: nothing slept


def test_realtime_timer_blocks_only_beyond_the_buffer() -> None:
    profile = replace(NRF52840, erase_time=0.05, program_time=1e-6, buffer_size=4096)
    timer = FlashTimer(profile, realtime=True)
    allowed = profile.buffer_size / profile.sustained_write_rate
    timer.account(allowed / 2)
    started = time.monotonic()
    timer.wait_for_room()
    assert time.monotonic() - started < allowed / 4  # within the buffer: no wait
    timer.account(0.1)
    timer.wait_for_room()
    assert timer.backlog() <= allowed + 0.01  # waited until the buffer could hide the rest
    timer.drain()
    assert timer.backlog() == 0


# -- state ------------------------------------------------------------------------------

def sample_state() -> DeviceState:
    image = ImageRecord((b"\x00",), 1, 1234, b"\x11" * 32)
    return DeviceState(trust_anchors=(b"pem",), sequence_numbers={(b"\x00",): 7},
                       active=Installation(b"\x22" * 32, 7, (image,)),
                       envelopes={b"\x22" * 32: b"envelope"}, device_id=b"\x01" * 16)


def test_state_round_trips_and_alternates_copies(tmp_path: Path) -> None:
    store = StateStore(tmp_path, PowerSwitch())
    first = store.save(sample_state(), "test")
    second = store.save(replace(first, boot_count=3), "test")
    assert (first.generation, second.generation) == (1, 2)
    assert (tmp_path / "state.0").exists() and (tmp_path / "state.1").exists()
    loaded = StateStore(tmp_path, PowerSwitch()).load()
    assert loaded == second
    assert loaded.active is not None and loaded.active.images[0].size == 1234


def test_unreferenced_envelopes_are_dropped(tmp_path: Path) -> None:
    store = StateStore(tmp_path, PowerSwitch())
    saved = store.save(replace(sample_state(), envelopes={b"\x22" * 32: b"e", b"\x33" * 32: b"x"}),
                       "test")
    assert list(saved.envelopes) == [b"\x22" * 32]


def test_torn_save_leaves_the_previous_generation(tmp_path: Path) -> None:
    power = PowerSwitch()
    store = StateStore(tmp_path, power)
    first = store.save(sample_state(), "test")
    power.cut_at = len(power.steps)
    with pytest.raises(PowerCut):
        store.save(replace(first, boot_count=9), "sequence-number")
    assert power.steps[-1].kind == "sequence-number"
    assert StateStore(tmp_path, PowerSwitch()).load() == first


def test_both_copies_damaged_is_reported(tmp_path: Path) -> None:
    store = StateStore(tmp_path, PowerSwitch())
    store.save(store.save(sample_state(), "test"), "test")
    for name in ("state.0", "state.1"):
        data = bytearray((tmp_path / name).read_bytes())
        data[20] ^= 1
        (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(StateCorrupt):
        store.load()
