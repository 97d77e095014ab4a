"""The window on a real X display (issue 12: `make run` aborted with "Could not load the
Qt platform plugin xcb" because the Makefile did not install libxcb-icccm4 and
libxcb-keysyms1; the other tests run offscreen and never load that plugin).

Xvfb is a real X server; QT_QPA_PLATFORM=xcb makes Qt load libqxcb.so and every library
it links, so a missing one fails here as it would on a desktop.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.firstrun.conftest import ROOT, clean_env, write_launcher
from tests.firstrun.shots import check_screenshot

MAKEFILE = ROOT / "Makefile"


def deb_packages() -> set[str]:
    """DEB_PACKAGES of the Makefile (with its continuation lines)."""
    text = MAKEFILE.read_text(encoding="utf-8")
    match = re.search(r"^DEB_PACKAGES :=((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert match
    return set(match.group(1).replace("\\\n", " ").split())


def test_makefile_installs_what_the_xcb_plugin_and_xvfb_run_need() -> None:
    needed = {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0", "libxcb-image0",
              "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0", "libxcb-xkb1",
              "libxkbcommon-x11-0", "libx11-xcb1", "xvfb", "xauth"}
    assert needed <= deb_packages()


def test_every_library_of_the_xcb_plugin_resolves() -> None:
    import PySide6
    qt = Path(PySide6.__file__).parent / "Qt"
    plugins = [qt / "plugins" / "platforms" / "libqxcb.so",
               *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    for plugin in plugins:
        ldd = subprocess.run(["ldd", str(plugin)], check=False, capture_output=True, text=True, timeout=30)
        missing = [line.strip() for line in ldd.stdout.splitlines() if "not found" in line]
        assert not missing, f"{plugin.name}: {missing} (add their Debian packages to DEB_PACKAGES)"


@pytest.mark.slow
def test_window_opens_on_an_x_server_with_the_xcb_platform(tmp_path: Path) -> None:
    assert shutil.which("xvfb-run"), "xvfb-run missing: `make test` installs package xvfb"
    suitwb = write_launcher(tmp_path / "bin" / "suitwb", "workbench.cli.main")
    shot = tmp_path / "window.png"
    env = clean_env(tmp_path / "home", QT_QPA_PLATFORM="xcb",
                    SUITWB_DATA_DIR=str(tmp_path / "data"))
    run = subprocess.run(["xvfb-run", "--auto-servernum", "--server-args=-screen 0 1600x1000x24",
                          str(suitwb), "gui", "--screenshot", str(shot)],
                         cwd=tmp_path, env=env, check=False, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Could not load the Qt platform plugin" not in run.stderr
    check_screenshot(shot)
