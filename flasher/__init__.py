"""Pushing signed bundles to devices over serial lines: transports, framing, the recovery
protocol's host side, sessions and gang flashing. `flasher.loader` is the device side.
Depends on `suit` only."""
