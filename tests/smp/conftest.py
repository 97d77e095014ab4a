"""The SMP tests' fixtures: real firmware (tests/fixtures/firmware.py)."""

from tests.fixtures.firmware import native_sim, qemu_recovery, shipped_image  # noqa: F401
