"""Decode and encode SUIT envelopes and manifests (M37 §8, TD §5, UM §3).

`decode_envelope` is the one entry for untrusted envelope bytes: it enforces the size
limit and turns every defect into a `DecodeError` with a path. Encoding reuses the exact
bytes of untouched nodes and encodes everything else deterministically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from suit import cbor
from suit.checks import (
    expect_bytes,
    expect_int,
    expect_list,
    expect_map,
    expect_text,
    expect_uint,
    require,
)
from suit.commands import (
    decode_digest_value,
    decode_sequence,
    decode_wrapped_digest,
    digest_value,
    encode_sequence,
    encode_wrapped_digest,
)
from suit.cose import decode_authentication_block
from suit.errors import DecodeError, NestingTooDeep
from suit.model import (
    ENVELOPE_TAG,
    AuthenticationBlock,
    AuthenticationWrapper,
    Common,
    CommonKey,
    ComponentId,
    Dependency,
    DependencyKey,
    Digest,
    EmbeddedCbor,
    Envelope,
    EnvelopeKey,
    LanguageText,
    Manifest,
    ManifestKey,
    TextMap,
    attach_source,
    decoded_node,
)

DEFAULT_MAX_SIZE: Final = cbor.DEFAULT_MAX_SIZE
#: TD §5.2.2: an integrated dependency may integrate its own. Real chains are two or three
#: envelopes deep; the bound stops verification recursing, and re-hashing every level,
#: without end on a hostile chain. Same as the processor's dependency depth.
MAX_DEPENDENCY_DEPTH: Final = 4
#: M37 §8.3 lets several parties sign; real envelopes carry one to a few blocks (hybrid
#: signing: two). Each block costs a signature verification (an HSS-LMS one about 5 ms), so
#: without a bound a large hostile file of bogus blocks keeps a verifier busy for a minute.
MAX_AUTHENTICATION_BLOCKS: Final = 16


# --- component identifiers ----------------------------------------------------------------

def decode_component_id(value: Any, path: str) -> ComponentId:
    """SUIT_Component_Identifier ``[* bstr]`` -> tuple of bytes."""
    items = value if type(value) is list else expect_list(value, path)  # only read here
    for i, part in enumerate(items):
        if type(part) is not bytes:
            expect_bytes(part, f"{path}[{i}]")  # raises, naming the place
    return tuple(items)


# --- common -------------------------------------------------------------------------------

def _dependencies(value: Any, path: str) -> dict[int, Dependency]:
    out: dict[int, Dependency] = {}
    for key, item in expect_map(value, path).items():
        index = expect_uint(key, f"{path}/<index>")
        members = expect_map(item, f"{path}/{index}")
        prefix = members.pop(DependencyKey.DEPENDENCY_PREFIX, None)
        out[index] = Dependency(
            None if prefix is None else decode_component_id(prefix, f"{path}/{index}/dependency-prefix"),
            members)
    return out


def decode_common(data: Any, path: str = "manifest/common") -> Common:
    """``bstr .cbor SUIT_Common`` -> `Common`."""
    raw = data if type(data) is bytes else expect_bytes(data, path)
    members = expect_map(cbor.loads(raw, path=path), path)
    components = require(members, _COMPONENTS, path, "components")
    if type(components) is not list or not components:
        components = expect_list(components, f"{path}/components", min_len=1)
    deps = members.pop(_DEPENDENCIES, None)
    shared = members.pop(_SHARED_SEQUENCE, None)
    del members[_COMPONENTS]
    # Paths are built only for what is there (an f-string costs as much as a check).
    return decoded_node(Common, {
        "components": tuple([decode_component_id(c, f"{path}/components[{i}]")
                             for i, c in enumerate(components)]),
        "dependencies": {} if deps is None else _dependencies(deps, f"{path}/dependencies"),
        "shared_sequence": None if shared is None else decode_sequence(
            shared, f"{path}/shared-sequence"),
        "extensions": members}, raw)


_COMPONENTS: Final = int(CommonKey.COMPONENTS)
_DEPENDENCIES: Final = int(CommonKey.DEPENDENCIES)
_SHARED_SEQUENCE: Final = int(CommonKey.SHARED_SEQUENCE)


def encode_common(common: Common) -> bytes:
    """`Common` -> its bstr content."""
    if common.source is not None:
        return common.source
    members: dict[Any, Any] = dict(common.extensions)
    if common.dependencies:
        members[CommonKey.DEPENDENCIES] = {
            index: {**dep.extensions,
                    **({DependencyKey.DEPENDENCY_PREFIX: list(dep.prefix)} if dep.prefix is not None else {})}
            for index, dep in common.dependencies.items()}
    members[CommonKey.COMPONENTS] = [list(c) for c in common.components]
    if common.shared_sequence is not None:
        members[CommonKey.SHARED_SEQUENCE] = encode_sequence(common.shared_sequence)
    return cbor.dumps(members, path="manifest/common")


# --- text ---------------------------------------------------------------------------------

def _language(value: Any, path: str) -> LanguageText:
    fields: dict[int, str] = {}
    components: dict[ComponentId, dict[int, str]] = {}
    for key, item in expect_map(value, path).items():
        if isinstance(key, (tuple, list)):
            cid = decode_component_id(key, f"{path}/<component>")
            entries = expect_map(item, f"{path}/{cid!r}")
            components[cid] = {expect_int(k, f"{path}/<key>"): expect_text(v, f"{path}/{k}")
                               for k, v in entries.items()}
        else:
            fields[expect_int(key, f"{path}/<key>")] = expect_text(item, f"{path}/{key}")
    return LanguageText(fields, components)


def decode_text(data: Any, path: str = "manifest/text") -> TextMap:
    """``bstr .cbor SUIT_Text_Map`` -> `TextMap`."""
    raw = expect_bytes(data, path)
    languages = {expect_text(tag, f"{path}/<language>"): _language(item, f"{path}/{tag}")
                 for tag, item in expect_map(cbor.loads(raw, path=path), path).items()}
    return attach_source(TextMap(languages), raw)


def encode_text(text: TextMap) -> bytes:
    """`TextMap` -> its bstr content."""
    if text.source is not None:
        return text.source
    value = {tag: {**lang.fields, **{cid: dict(entries) for cid, entries in lang.components.items()}}
             for tag, lang in text.languages.items()}
    return cbor.dumps(value, path="manifest/text")


# --- manifest -----------------------------------------------------------------------------

_SEQUENCES: Final = {ManifestKey.VALIDATE: "validate", ManifestKey.LOAD: "load",
                     ManifestKey.INVOKE: "invoke", ManifestKey.UNINSTALL: "uninstall"}
_SEVERABLE_SEQUENCES: Final = {
    ManifestKey.DEPENDENCY_RESOLUTION: "dependency_resolution",
    ManifestKey.PAYLOAD_FETCH: "payload_fetch",
    ManifestKey.CANDIDATE_VERIFICATION: "candidate_verification",
    ManifestKey.INSTALL: "install"}
_MEMBER_NAMES: Final = {int(key): key.name.lower().replace("_", "-") for key in ManifestKey}


def member_name(key: int) -> str:
    """Path name of a manifest member: ``install``, ``text``, or the number."""
    return _MEMBER_NAMES.get(key) or str(key)


def _severable(value: Any, path: str, decode: Any) -> Any:
    # M37 §8.4.12: an array is a severed member's digest, a bstr the member itself.
    if isinstance(value, (list, tuple)):
        return decode_digest_value(value, path)
    return decode(value, path)


def _coswid(value: Any, path: str) -> EmbeddedCbor:
    raw = expect_bytes(value, path)
    cbor.loads(raw, path=path)
    return EmbeddedCbor(raw)


def _set_version(value: Any, path: str) -> tuple[int, ...]:
    raw = expect_bytes(value, path)
    items = expect_list(cbor.loads(raw, path=path), path, min_len=1)
    return tuple(expect_int(v, f"{path}[{i}]") for i, v in enumerate(items))


def decode_manifest(data: Any, path: str = "manifest") -> Manifest:
    """``bstr .cbor SUIT_Manifest`` -> `Manifest` remembering its bytes."""
    raw = data if type(data) is bytes else expect_bytes(data, path)
    members = expect_map(cbor.loads(raw, path=path), path)
    version = require(members, _MANIFEST_VERSION, path, "manifest-version")
    if type(version) is not int or version != 1:  # the paths only for an error
        version = expect_uint(version, f"{path}/manifest-version")
        if version != 1:
            raise DecodeError(f"{path}/manifest-version", f"unsupported manifest version {version}",
                              hint="Only SUIT manifest version 1 exists (M37 §8.4.1).")
    sequence = require(members, _SEQUENCE_NUMBER, path, "sequence-number")
    if type(sequence) is not int or not 0 <= sequence < _UINT_END:
        sequence = expect_uint(sequence, f"{path}/sequence-number")
    fields: dict[str, Any] = {
        "manifest_version": version,
        "sequence_number": sequence,
        "common": decode_common(require(members, _COMMON, path, "common"), f"{path}/common"),
    }
    del members[_MANIFEST_VERSION], members[_SEQUENCE_NUMBER], members[_COMMON]
    _decode_optional_members(members, fields, path)
    fields["extensions"] = members
    return decoded_node(Manifest, fields, raw)


_MANIFEST_VERSION: Final = int(ManifestKey.MANIFEST_VERSION)
_SEQUENCE_NUMBER: Final = int(ManifestKey.SEQUENCE_NUMBER)
_COMMON: Final = int(ManifestKey.COMMON)
_UINT_END: Final = 1 << 64  # CBOR integers lie in [-2^64, 2^64) (RFC 8949 §3.1)


def _decode_optional_members(members: dict[Any, Any], fields: dict[str, Any], path: str) -> None:
    """Move every known optional member from `members` into `fields`, typed.

    Members are decoded in the table's order, whatever the map's, so that of two malformed
    members the same one is always reported; a nil member is dropped, as if absent.
    """
    for key, (attr, decode) in _OPTIONAL_MEMBERS.items():
        if key in members and (value := members.pop(key)) is not None:
            fields[attr] = decode(value, f"{path}/{_MEMBER_NAMES[key]}")


def _severable_sequence(value: Any, path: str) -> Any:
    return _severable(value, path, decode_sequence)


def _severable_text(value: Any, path: str) -> Any:
    return _severable(value, path, decode_text)


def _severable_coswid(value: Any, path: str) -> Any:
    return _severable(value, path, _coswid)


# Optional manifest member (a plain int: int keys find it without Enum comparisons) ->
# (Manifest attribute, decoder of its value).
_OPTIONAL_MEMBERS: Final[dict[int, tuple[str, Callable[[Any, str], Any]]]] = {
    int(ManifestKey.REFERENCE_URI): ("reference_uri", expect_text),
    int(ManifestKey.MANIFEST_COMPONENT_ID): ("manifest_component_id", decode_component_id),
    int(ManifestKey.SET_VERSION): ("set_version", _set_version),
    **{int(key): (attr, decode_sequence) for key, attr in _SEQUENCES.items()},
    **{int(key): (attr, _severable_sequence) for key, attr in _SEVERABLE_SEQUENCES.items()},
    int(ManifestKey.TEXT): ("text", _severable_text),
    int(ManifestKey.COSWID): ("coswid", _severable_coswid),
}


def encode_severable(member: Any) -> bytes:
    """A severable member's content -> its bstr content (sequence, text or CoSWID)."""
    if isinstance(member, TextMap):
        return encode_text(member)
    if isinstance(member, EmbeddedCbor):
        return member.data
    return encode_sequence(member)


def manifest_value(manifest: Manifest) -> dict[Any, Any]:
    """`Manifest` -> the SUIT_Manifest map (members bstr-wrapped as the spec requires)."""
    members: dict[Any, Any] = dict(manifest.extensions)
    members[ManifestKey.MANIFEST_VERSION] = manifest.manifest_version
    members[ManifestKey.SEQUENCE_NUMBER] = manifest.sequence_number
    members[ManifestKey.COMMON] = encode_common(manifest.common)
    if manifest.reference_uri is not None:
        members[ManifestKey.REFERENCE_URI] = manifest.reference_uri
    if manifest.manifest_component_id is not None:
        members[ManifestKey.MANIFEST_COMPONENT_ID] = list(manifest.manifest_component_id)
    if manifest.set_version is not None:
        members[ManifestKey.SET_VERSION] = cbor.dumps(list(manifest.set_version))
    for key, attr in _SEQUENCES.items():
        if (seq := getattr(manifest, attr)) is not None:
            members[key] = encode_sequence(seq)
    for key, attr in {**_SEVERABLE_SEQUENCES, ManifestKey.TEXT: "text",
                      ManifestKey.COSWID: "coswid"}.items():
        value = getattr(manifest, attr)
        if isinstance(value, Digest):
            members[key] = digest_value(value)
        elif value is not None:
            members[key] = encode_severable(value)
    return members


def encode_manifest(manifest: Manifest) -> bytes:
    """`Manifest` -> the bstr content under envelope key 3 (its source when untouched)."""
    if manifest.source is not None:
        return manifest.source
    return cbor.dumps(manifest_value(manifest), path="manifest")


# --- authentication wrapper ---------------------------------------------------------------

def decode_authentication(data: Any, path: str = "authentication-wrapper") -> AuthenticationWrapper:
    """``bstr .cbor SUIT_Authentication`` -> `AuthenticationWrapper`."""
    raw = data if type(data) is bytes else expect_bytes(data, path)
    items = expect_list(cbor.loads(raw, path=path), path, min_len=1)
    if len(items) - 1 > MAX_AUTHENTICATION_BLOCKS:
        raise DecodeError(path, f"{len(items) - 1} authentication blocks; at most "
                          f"{MAX_AUTHENTICATION_BLOCKS} are accepted",
                          hint="Real envelopes carry one signature per signer; this input is "
                               "malformed or hostile.")
    digest = decode_wrapped_digest(items[0], f"{path}/digest")
    blocks = []
    for i in range(1, len(items)):
        sub = f"{path}/block[{i}]"
        block_raw = items[i]
        if type(block_raw) is not bytes:
            block_raw = expect_bytes(block_raw, sub)
        message = decode_authentication_block(cbor.loads(block_raw, path=sub), sub)
        blocks.append(AuthenticationBlock(message, block_raw))
    return decoded_node(AuthenticationWrapper, {"digest": digest, "blocks": tuple(blocks)}, raw)


def encode_authentication(wrapper: AuthenticationWrapper) -> bytes:
    """`AuthenticationWrapper` -> its bstr content."""
    if wrapper.source is not None:
        return wrapper.source
    items = [encode_wrapped_digest(wrapper.digest), *(b.source for b in wrapper.blocks)]
    return cbor.dumps(items, path="authentication-wrapper")


# --- envelope -----------------------------------------------------------------------------

_ENVELOPE_SEVERABLE: Final = frozenset(int(k) for k in (
    EnvelopeKey.COSWID, EnvelopeKey.DEPENDENCY_RESOLUTION, EnvelopeKey.PAYLOAD_FETCH,
    EnvelopeKey.CANDIDATE_VERIFICATION, EnvelopeKey.INSTALL, EnvelopeKey.TEXT))


def decode_envelope(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                    dependency_depth: int = 0) -> Envelope:
    """Decode a SUIT envelope from untrusted bytes (tagged 107 or untagged).

    Decoding checks structure only; authenticity is `suit.verify`'s job.

    Args:
        data: The envelope bytes.
        max_size: Largest accepted input in bytes.
        dependency_depth: How many envelopes integrate this one (see `decode_dependency`).

    Raises:
        DecodeError: with the path and the problem, for any malformed input.
        NestingTooDeep: `dependency_depth` exceeds `MAX_DEPENDENCY_DEPTH`.
    """
    if dependency_depth > MAX_DEPENDENCY_DEPTH:
        raise NestingTooDeep("", "integrated dependencies", MAX_DEPENDENCY_DEPTH)
    value = cbor.loads(data, path="", max_size=max_size)
    tagged = isinstance(value, cbor.CBORTag)
    if tagged:
        if value.tag != ENVELOPE_TAG:
            raise DecodeError("", f"unexpected tag {value.tag}, expected 107 (SUIT_Envelope)")
        value = value.value
    members = expect_map(value, "envelope")
    if 0 in members:
        raise DecodeError("envelope", "key 0 is never valid (M37 §8.2: unset detection)")
    values = {
        "authentication": decode_authentication(
            require(members, EnvelopeKey.AUTHENTICATION_WRAPPER, "envelope", "authentication-wrapper")),
        "manifest": decode_manifest(require(members, EnvelopeKey.MANIFEST, "envelope", "manifest")),
        "tagged": tagged, "dependency_depth": dependency_depth, **_envelope_extras(members)}
    return decoded_node(Envelope, values, data)


def decode_dependency(envelope: Envelope, key: str) -> Envelope:
    """The integrated member `key` of `envelope` decoded as a dependency envelope (TD §5.2.2).

    The dependency is one level deeper than `envelope`, so a chain of envelopes each
    integrating the next ends in `NestingTooDeep` instead of unbounded recursion.

    Raises:
        DecodeError: the member is not an envelope.
        NestingTooDeep: the chain is deeper than `MAX_DEPENDENCY_DEPTH`; its path names
            the member.
    """
    depth = envelope.dependency_depth + 1
    if depth > MAX_DEPENDENCY_DEPTH:
        raise NestingTooDeep(f"envelope/{key}", "integrated dependencies", MAX_DEPENDENCY_DEPTH)
    return decode_envelope(envelope.integrated[key], dependency_depth=depth)


_WRAPPER_AND_MANIFEST: Final = (int(EnvelopeKey.AUTHENTICATION_WRAPPER), int(EnvelopeKey.MANIFEST))


def _envelope_extras(members: dict[Any, Any]) -> dict[str, Any]:
    severed: dict[int, bytes] = {}
    integrated: dict[str, bytes] = {}
    extensions: dict[Any, Any] = {}
    for key, item in members.items():
        if key in _WRAPPER_AND_MANIFEST:  # by equality, as `require` found them
            continue
        kind = type(key)
        if kind is str:
            integrated[key] = item if type(item) is bytes else expect_bytes(item, f"envelope/{key!r}")
        elif kind is not int and (isinstance(key, bool) or not isinstance(key, int)):
            raise DecodeError("envelope", f"member key {key!r} is neither int nor tstr")
        elif key in _ENVELOPE_SEVERABLE:
            # The path is built only for the error it names (M37 §8.4.12: a severed
            # member travels as a bstr).
            severed[key] = (item if type(item) is bytes
                            else expect_bytes(item, f"envelope/{member_name(key)}"))
        else:
            extensions[key] = item
    return {"severed": severed, "integrated": integrated, "extensions": extensions}


def envelope_value(envelope: Envelope) -> dict[Any, Any]:
    """`Envelope` -> the SUIT_Envelope map (untagged)."""
    members: dict[Any, Any] = dict(envelope.extensions)
    members[EnvelopeKey.AUTHENTICATION_WRAPPER] = encode_authentication(envelope.authentication)
    members[EnvelopeKey.MANIFEST] = encode_manifest(envelope.manifest)
    members.update(envelope.severed)
    members.update(envelope.integrated)
    return members


def encode_envelope(envelope: Envelope) -> bytes:
    """`Envelope` -> bytes: exactly the received bytes when untouched, else deterministic.

    M37 §8.1: deterministic encoding puts the authentication wrapper (key 2) before the
    manifest (key 3), as the spec requires.
    """
    if envelope.source is not None:
        return envelope.source
    value = envelope_value(envelope)
    return cbor.dumps(cbor.CBORTag(ENVELOPE_TAG, value) if envelope.tagged else value,
                      path="envelope")


def severed_member_content(envelope: Envelope, key: int) -> Any:
    """Decode a severable member carried in the envelope (a sequence, text or CoSWID)."""
    raw = envelope.severed[key]
    path = f"envelope/{member_name(key)}"
    if key == EnvelopeKey.TEXT:
        return decode_text(raw, path)
    if key == EnvelopeKey.COSWID:
        return _coswid(raw, path)
    return decode_sequence(raw, path)
