"""What an author sees of a component's encryption before building (issue 17, issue 16):
the profile choices and a one-line account of the `suit-parameter-encryption-info` the
build will generate. Plain text for any front end; the GUI shows it read-only, since the
parameter's COSE_Encrypt is made afresh at each build (a new content key, FE §5) from
the component's `encrypt` and `recipients` and the project's `profile`."""

from __future__ import annotations

from suit.cose import algorithm_name
from suit.profiles import PROFILES, UnknownProfile, profile
from workbench.project.model import Component, Project


def profile_names() -> list[str]:
    """The six MTI author profiles (draft-ietf-suit-mti §3), in the registry's order."""
    return list(PROFILES)


def recipient_text(item: str | dict[str, str]) -> str:
    """One recipient as the author wrote it: ``key`` or ``key (kid dev-2)``."""
    if isinstance(item, str):
        return item
    key, kid = item.get("key", "?"), item.get("kid")
    return f"{key} (kid {kid})" if kid else key


def encryption_summary(project: Project, component: Component) -> str | None:
    """How the build will encrypt `component`, or None when it is not encrypted.

    Never raises: an unusable profile or no recipients is said in the text (the build and
    lint refuse those with their own errors)."""
    if not component.encrypt:
        return None
    recipients = ", ".join(recipient_text(r) for r in component.recipients) or "none yet"
    if project.profile is None:
        algorithms = "no profile chosen (the build needs one)"
    else:
        try:
            chosen = profile(project.profile)
        except UnknownProfile:
            algorithms = f"unknown profile {project.profile!r}"
        else:
            algorithms = (f"content {algorithm_name(chosen.encryption)}, key distribution "
                          f"{algorithm_name(chosen.key_exchange)} (profile {chosen.name})")
    return (f"Generated at build from encrypt and recipients: {algorithms}; "
            f"recipients: {recipients}")
