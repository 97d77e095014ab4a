"""The PySide6 workstation: views, item-model adapters, worker threads and dialogs.
Nothing but presentation lives here; every operation is a `workbench` use case."""
