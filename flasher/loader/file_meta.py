"""Component metadata for file components (UM §4), decoded into what the loader applies.

The metadata is a CBOR map (SUIT-FACTS, UM component metadata): 1 default-permissions,
2 user-permissions and 3 group-permissions (maps actor -> bits), 5 file-type, 8 creator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NoReturn

import cbor2

from flasher.errors import RefusalReason, UpdateRefused

#: UM §4 suit-meta-file-type values.
REGULAR: Final = 1
DIRECTORY: Final = 2
SYMLINK: Final = 3


@dataclass(frozen=True)
class FileMeta:
    """The component metadata the loader applies (UM §4), decoded.

    Attributes:
        file_type: 1 regular, 2 directory, 3 symlink.
        mode: POSIX permission bits, or None (defaults: 0o644 files, 0o755 directories).
        owner: The uid to own the file (applied only when the loader runs as root).
        group: The gid to own the file (likewise).
    """

    file_type: int = REGULAR
    mode: int | None = None
    owner: int | None = None
    group: int | None = None


def parse_metadata(data: bytes | None) -> FileMeta:
    """Decode a component-metadata parameter; anything malformed is a refusal.

    UM §4 permissions are bits 0 = execute/traverse, 1 = write, 2 = read (the same order
    as POSIX); bits above them (sticky, attributes, ACL rights) have no POSIX mode bit and
    are ignored. The owner is the creator, else the one user the user-permissions name;
    the group is the one group the group-permissions name. Owner and group bits come from
    their entries, else from the default permissions, which are also the others' bits.
    """
    if data is None:
        return FileMeta()
    try:
        value = cbor2.loads(data)
        if not isinstance(value, dict):
            _bad_meta("not a map")
        return _meta_from_map(value)
    except (cbor2.CBORError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        _bad_meta(f"not CBOR ({exc})")


def _meta_from_map(value: dict[Any, Any]) -> FileMeta:
    default = _bits(value.get(1))
    users, groups = _actors(value.get(2, {})), _actors(value.get(3, {}))
    creator = value.get(8)
    owner = creator if creator is not None else _sole(users)
    group = _sole(groups)
    file_type = value.get(5, REGULAR)
    if file_type not in (REGULAR, DIRECTORY, SYMLINK):
        _bad_meta(f"file-type {file_type!r}")
    mode = None
    if default is not None or users or groups:
        other = default or 0
        mode = (users.get(owner, other) << 6) | (groups.get(group, other) << 3) | other
    return FileMeta(file_type, mode, _uid(owner), _uid(group))


def _bits(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        _bad_meta(f"permissions {value!r} are not a uint")
    return int(value) & 0o7


def _actors(value: Any) -> dict[Any, int]:
    if not isinstance(value, dict):
        _bad_meta("a permission map is not a map")
    return {actor: _bits(bits) or 0 for actor, bits in value.items()}


def _sole(actors: dict[Any, int]) -> Any:
    return next(iter(actors)) if len(actors) == 1 else None


#: uid_t / gid_t are 32 bits and (uid_t) -1 means "leave unchanged" to chown(2).
MAX_POSIX_ID: Final = 2**32 - 2


def _uid(actor: Any) -> int | None:
    # An actor is a UUID, bstr, tstr or int (UM §4); only an int is a POSIX id.
    if not isinstance(actor, int) or isinstance(actor, bool) or actor < 0:
        return None
    if actor > MAX_POSIX_ID:  # else fchown raises OverflowError in the middle of the install
        _bad_meta(f"owner or group {actor} is not a POSIX id (0 to {MAX_POSIX_ID})")
    return actor


def _bad_meta(problem: str) -> NoReturn:
    raise UpdateRefused(RefusalReason.PARAMETER_UNSUPPORTED,
                        f"component-metadata: {problem}")
