"""issue 12: the simulated device's FlashStore is a ComponentStore, checked by mypy.

Before, `FlashStore.image_digest` returned `bytes | object | None`: the processor's
protocol asks for `bytes | DigestPending | None`, and mypy refused both places that hand a
FlashStore to the Processor (flasher/loader/updater.py, bootloader.py).
"""

from __future__ import annotations

from pathlib import Path

from flasher.loader.components import FlashStore
from suit.processor import DIGEST_PENDING, ComponentStore, DigestPending
from tests.fixtures.typecheck import mypy_errors

SNIPPET = '''
from flasher.loader.components import FlashStore
from suit.processor import ComponentStore

def as_store(store: FlashStore) -> ComponentStore:
    return store
'''


def test_flash_store_satisfies_component_store_for_mypy(tmp_path: Path) -> None:
    assert mypy_errors(SNIPPET, tmp_path) == []


def test_flash_store_is_a_component_store_at_run_time() -> None:
    # runtime_checkable: every member the processor calls is there (names only).
    assert issubclass(FlashStore, ComponentStore)


def test_the_pending_digest_has_a_type_a_store_can_name() -> None:
    assert isinstance(DIGEST_PENDING, DigestPending)
    assert repr(DIGEST_PENDING) == "DIGEST_PENDING"
