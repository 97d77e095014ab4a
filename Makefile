# SUIT Workbench: two commands do everything on a fresh Debian machine with Python 3.11.
#   make test     set up, then ruff, mypy, every test and the import-layer contracts
#   make run      set up, then start the workstation on its demo workspace
#   make install  set up, then put `suitwb` and `suit-workbench` launchers in ~/.local/bin
# Both are idempotent: the second run only checks stamps and starts at once.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages the tests and the window need: SoftHSM2 for real PKCS#11 tokens,
# the libraries Qt's offscreen/xcb platforms load, poppler-utils to render PDFs to PNG.
# The xcb list is what `ldd` shows PySide6's plugins/platforms/libqxcb.so, lib/libQt6XcbQpa
# and plugins/xcbglintegrations need beyond a base system (without libxcb-icccm4 and
# libxcb-keysyms1 `make run` dies with "Could not load the Qt platform plugin xcb").
# xvfb and xauth: xvfb-run, with which a test opens the window on the xcb platform.
# qemu-system-arm runs the real MCUboot/Zephyr firmware (MPS2 AN385) of the SMP tests;
# libc6-i386 and lib32gcc-s1 run its 32-bit native_sim builds (../shared/firmware/README.md).
# systemd: systemd-analyze verifies the loader's unit template (no init needed; a container works).
# postgresql: the tests start a throwaway PostgreSQL server (records and audit log, issue 18).
DEB_PACKAGES := qemu-system-arm libc6-i386 lib32gcc-s1 softhsm2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
                libfreetype6 libdbus-1-3 libglib2.0-0 poppler-utils \
                libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4 \
                libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 \
                libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 \
                libxcb-xfixes0 libxcb-xkb1 xvfb xauth systemd postgresql
SYS_STAMP := $(VENV)/.debian-packages

# Where `make install` puts the launchers (symbolic links into the venv's scripts).
BINDIR ?= $(HOME)/.local/bin
LAUNCHERS := suitwb suit-workbench

.PHONY: test run bench fuzz setup system-packages clean lint-imports install firmware pictures

setup: $(STAMP) $(SYS_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Installs only what is missing, and only as root (a developer's machine may manage its own).
$(SYS_STAMP): Makefile | $(VENV)/bin/python
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing Debian packages:$$missing (run as root to install)"; fi; \
	fi
	touch $@

lint-imports: setup
	$(VENV)/bin/lint-imports --no-cache

# Fast failures first: ruff (seconds), mypy (strict for suit, fileio, signing, flasher;
# configured in pyproject.toml), then the tests, then the import-layer contracts.
test: setup
	$(VENV)/bin/ruff check --no-cache .
	$(VENV)/bin/mypy
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider
	$(VENV)/bin/lint-imports --no-cache

# Regenerates the window pictures in docs/images (issue 17) from the demo flow at 1280x800.
pictures: setup
	SUITWB_UPDATE_PICTURES=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider \
	  tests/gui2/test_view_pictures.py

run: setup
	$(PY) -m gui --demo

# Links, not copies: the venv's scripts name the venv's python, so they run from anywhere.
install: setup
	@mkdir -p "$(BINDIR)"
	@for name in $(LAUNCHERS); do \
	  ln -sfn "$(abspath $(VENV))/bin/$$name" "$(BINDIR)/$$name"; \
	  echo "$(BINDIR)/$$name -> $(abspath $(VENV))/bin/$$name"; done
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; \
	  *) echo "note: $(BINDIR) is not on PATH; add it (export PATH=\"$(BINDIR):\$$PATH\")";; esac

# Structure-aware envelope fuzzing, 1,000,000 inputs (make test runs 20,000): prints inputs
# run, untyped exceptions, hangs over 1 s and peak RSS; findings go to fuzz-findings/.
fuzz: setup
	$(PY) -m tests.fuzzing --inputs 1000000 --save fuzz-findings

# Copies the real Zephyr/MCUboot firmware the SMP tests use (digest-checked) from a clone or
# bare mirror of github.com/intercreate/smpclient into SUITWB_FIRMWARE_DIR (default: the
# user's cache folder, ~/.cache/suitwb/firmware), never into this repository.
firmware: setup
	@test -n "$(FROM)" || { echo "usage: make firmware FROM=<clone or bare mirror of intercreate/smpclient>"; exit 2; }
	$(PY) -m testsupport.firmware --from "$(FROM)"

bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache
