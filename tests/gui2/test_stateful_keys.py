"""The key manager's stateful keys (issue 16): each HSS-LMS key this machine knows, with
its remaining signatures; a nearly used one is marked LOW, a restored one says why it is
refused."""

from __future__ import annotations

import shutil
from pathlib import Path

from gui.stateful_keys_view import HEADERS, StatefulKeysView
from gui.workers import JobRunner
from signing import hsslms
from tests.gui2.steps import TIMEOUT
from tests.signing.hsslms_keys import small_key


def test_stateful_keys_show_remaining_low_and_refused(qtbot, data_dir: Path,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    fresh, low, restored = (tmp_path / f"{n}.hss" for n in ("fresh", "low", "restored"))
    small_key(fresh, data_dir)
    small_key(low, data_dir)
    small_key(restored, data_dir)
    signer = hsslms.HssLmsSigner(low)
    for n in range(30):
        signer.sign(b"%d" % n)
    shutil.copy2(restored, tmp_path / "backup")
    hsslms.HssLmsSigner(restored).sign(b"spent")
    shutil.copy2(tmp_path / "backup", restored)

    view = StatefulKeysView(JobRunner())
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.listed, timeout=TIMEOUT):
        view.refresh_button.click()
    table = view.table
    assert [table.horizontalHeaderItem(c).text() for c in range(4)] == HEADERS
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 4)]
            for r in range(table.rowCount())}
    assert rows[str(fresh)][1:] == ["32 of 32", "ok"]
    assert rows[str(low)][1:] == ["2 of 32", "LOW: generate a successor"]
    assert rows[str(restored)][2].startswith("refused: state 0 is older than state 1")
    assert len(rows[str(fresh)][0]) == 16  # the kid, shortened
