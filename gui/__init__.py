"""The PySide6 workstation: views, item-model adapters, worker threads and dialogs.
Nothing but presentation lives here; every operation is a `workbench` use case."""

from gui._refcount_guard import guard_singletons

guard_singletons()  # before any Qt call: see gui/_refcount_guard.py
