"""The application layer shared by the CLI and the GUI: release projects, use cases (build,
sign, flash, ceremony), settings and paths, and the `suitwb` command line."""
