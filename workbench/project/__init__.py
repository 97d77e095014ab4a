"""Release projects: the project model and file, the manifest builder, templates, edit
commands and lint (issue 4; docs/project-format.md)."""
