"""Helpers shared by the tests and the benchmarks: real envelopes signed with the published
key, the paths of the copied SUIT vectors, and a serial line simulator that corrupts bytes.

A package of its own so that `benchmarks/` need not import `tests/` (issue 12). It is not
part of the installed program (pyproject.toml packages only the five layers).
"""
