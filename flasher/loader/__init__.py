"""The built-in serial recovery loader: the device side of the recovery protocol, run as a
virtual device over a simulated flash (RFC 9019 firmware consumer and bootloader)."""
