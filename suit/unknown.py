"""Members an envelope carries that draft-ietf-suit-manifest-37 does not define, and what
older drafts meant by their numbers.

The codec keeps unknown members (`extensions`) so that signatures stay valid; every view
(`inspect` text and JSON, diagnostic notation, `lint`) lists them from here so none is
silently dropped. A number that an older draft used for a member that still exists
under another number is *legacy numbering*: an envelope written for that draft, whose
install sequence (for example) a draft-37 processor never runs.

The history, from the CDDL and IANA tables of the drafts (suit-wg/manifest-spec):

- drafts -04 to -16: dependency-resolution 7 (to -14), payload-fetch 8, install 9,
  validate 10, load 11, run 12, text 13, coswid 14; severable members (envelope keys)
  dependency-resolution 7, payload-fetch 8, install 9, text 13, coswid 14.
- draft -17 renumbered (IANA table of -19 to -27): validate 7, load 8, run 9 (invoke
  from -19), payload-fetch 16, install 17, text 23.
- draft -28 moved install to 20 (IANA "Payload Installation"), as in -37 (M37 §11.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from suit.model import Envelope

#: Manifest keys that M37 does not define (M37 §11.2, TD §9, UM §7) but older drafts did.
LEGACY_MANIFEST_KEYS: Final = {
    10: "validate in drafts -04 to -16 (now 7)",
    11: "load in drafts -04 to -16 (now 8)",
    12: "run in drafts -04 to -16 (now invoke, 9)",
    13: "text in drafts -04 to -16 (now 23)",
    17: "install in drafts -17 to -27 (now 20)",
}

#: Envelope keys of severed members that older drafts used (M37 §11.1 has 16, 20, 23).
LEGACY_ENVELOPE_KEYS: Final = {
    7: "severed dependency-resolution in drafts -04 to -14 (now 15, TD)",
    8: "severed payload-fetch in drafts -04 to -16 (now 16)",
    9: "severed install in drafts -04 to -16 (now 20)",
    13: "severed text in drafts -04 to -16 (now 23)",
    17: "severed install in drafts -17 to -27 (now 20)",
}


@dataclass(frozen=True)
class UnknownMember:
    """One member no view knows by name.

    Attributes:
        where: ``envelope``, ``manifest`` or ``common``.
        key: Its map key.
        value: The decoded value, as kept by the codec.
        legacy: What an older draft meant by this key, when it meant something.
    """

    where: str
    key: Any
    value: Any
    legacy: str | None

    @property
    def path(self) -> str:
        """Where it is, like ``manifest/17``."""
        return f"{self.where}/{self.key!r}"


def unknown_members(envelope: Envelope) -> list[UnknownMember]:
    """Every member of the envelope, manifest and common that M37 does not define."""
    manifest = envelope.manifest
    found = [UnknownMember("envelope", k, v, _legacy(LEGACY_ENVELOPE_KEYS, k))
             for k, v in envelope.extensions.items()]
    found += [UnknownMember("manifest", k, v, _legacy(LEGACY_MANIFEST_KEYS, k))
              for k, v in manifest.extensions.items()]
    found += [UnknownMember("common", k, v, None) for k, v in manifest.common.extensions.items()]
    return found


def _legacy(table: dict[int, str], key: Any) -> str | None:
    if isinstance(key, bool) or not isinstance(key, int):
        return None
    return table.get(key)
