"""The `suitwb` command line. Each command group lives in its own module with a
`register(subparsers)` function; `main` wires them together."""
