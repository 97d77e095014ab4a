"""Hypothesis strategies for SUIT models: envelopes built from every kind of member."""

from __future__ import annotations

from hypothesis import strategies as st

from suit import cbor
from suit.cose import CoseAlgorithm, CoseMac0, CoseSign1, encode_protected
from suit.model import (
    AuthenticationBlock,
    AuthenticationWrapper,
    Command,
    CommandItem,
    CommandSequence,
    Common,
    Dependency,
    Digest,
    EmbeddedCbor,
    Envelope,
    LanguageText,
    Manifest,
    Parameter,
    TextMap,
    VersionMatch,
)

small_bytes = st.binary(min_size=0, max_size=24)
component_ids = st.lists(st.binary(min_size=0, max_size=6), min_size=0, max_size=3).map(tuple)
digests = st.builds(Digest, st.sampled_from([-16, -43, -44]), st.binary(min_size=32, max_size=32))
uint = st.integers(min_value=0, max_value=2**64 - 1)
policy = st.integers(min_value=0, max_value=15)

PARAMETER_VALUES = {
    Parameter.VENDOR_ID: st.binary(min_size=16, max_size=16),
    Parameter.CLASS_ID: st.binary(min_size=16, max_size=16),
    Parameter.IMAGE_DIGEST: digests,
    Parameter.USE_BEFORE: uint,
    Parameter.COMPONENT_SLOT: st.integers(0, 3),
    Parameter.STRICT_ORDER: st.booleans(),
    Parameter.SOFT_FAILURE: st.booleans(),
    Parameter.IMAGE_SIZE: uint,
    Parameter.CONTENT: small_bytes,
    Parameter.ENCRYPTION_INFO: st.just(EmbeddedCbor(cbor.dumps([b"", {}, None, []]))),
    Parameter.URI: st.text(max_size=30),
    Parameter.SOURCE_COMPONENT: st.integers(0, 5),
    Parameter.INVOKE_ARGS: small_bytes,
    Parameter.DEVICE_ID: st.binary(min_size=16, max_size=16),
    Parameter.FETCH_ARGUMENTS: small_bytes,
    Parameter.MINIMUM_BATTERY: uint,
    Parameter.UPDATE_PRIORITY: st.integers(-1000, 1000),
    Parameter.VERSION: st.builds(VersionMatch, st.integers(1, 5),
                                 st.lists(st.integers(-3, 100), min_size=1, max_size=4).map(tuple)),
    Parameter.WAIT_INFO: st.just(EmbeddedCbor(cbor.dumps({5: 1700000000}))),
    Parameter.COMPONENT_METADATA: st.just(EmbeddedCbor(cbor.dumps({5: 1}))),
}


def parameter_maps() -> st.SearchStrategy[dict[int, object]]:
    return st.lists(st.sampled_from(sorted(PARAMETER_VALUES)), min_size=1, max_size=4, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: PARAMETER_VALUES[k] for k in keys}))


SIMPLE_COMMANDS = [c for c in Command if c not in (
    Command.SET_COMPONENT_INDEX, Command.SET_PARAMETERS, Command.OVERRIDE_PARAMETERS,
    Command.TRY_EACH, Command.RUN_SEQUENCE, Command.OVERRIDE_MULTIPLE, Command.COPY_PARAMS)]


def command_items(depth: int) -> st.SearchStrategy[CommandItem]:
    options = [
        st.builds(CommandItem, st.sampled_from(SIMPLE_COMMANDS), policy),
        st.builds(CommandItem, st.just(Command.SET_COMPONENT_INDEX),
                  st.one_of(st.integers(0, 4), st.just(True),
                            st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple))),
        st.builds(CommandItem, st.sampled_from([Command.SET_PARAMETERS, Command.OVERRIDE_PARAMETERS]),
                  parameter_maps()),
        st.builds(CommandItem, st.just(Command.OVERRIDE_MULTIPLE),
                  st.dictionaries(st.integers(0, 3), parameter_maps(), min_size=1, max_size=2)),
        st.builds(CommandItem, st.just(Command.COPY_PARAMS),
                  st.dictionaries(st.integers(0, 3), st.lists(st.integers(1, 30), min_size=1, max_size=3).map(tuple),
                                  min_size=1, max_size=2)),
        st.builds(CommandItem, st.integers(-300, -256), st.one_of(st.integers(), small_bytes, st.none())),
    ]
    if depth > 0:
        options.append(st.builds(CommandItem, st.just(Command.TRY_EACH),
                                 st.tuples(sequences(depth - 1), sequences(depth - 1),
                                           st.one_of(st.none(), sequences(depth - 1))).map(
                                     lambda t: tuple(x for x in t))))
        options.append(st.builds(CommandItem, st.just(Command.RUN_SEQUENCE), sequences(depth - 1)))
    return st.one_of(options)


def sequences(depth: int = 1) -> st.SearchStrategy[CommandSequence]:
    return st.lists(command_items(depth), max_size=5).map(lambda items: CommandSequence(tuple(items)))


def commons() -> st.SearchStrategy[Common]:
    return st.builds(
        Common,
        components=st.lists(component_ids, min_size=1, max_size=3).map(tuple),
        dependencies=st.dictionaries(st.integers(0, 5), st.builds(Dependency, st.one_of(st.none(), component_ids)),
                                     max_size=2),
        shared_sequence=st.one_of(st.none(), sequences(1)),
        extensions=st.dictionaries(st.integers(-20, -1), st.integers(), max_size=1))


def text_maps() -> st.SearchStrategy[TextMap]:
    fields = st.dictionaries(st.integers(1, 8), st.text(max_size=20), max_size=3)
    language = st.builds(LanguageText, fields, st.dictionaries(component_ids, fields, max_size=2))
    return st.builds(TextMap, st.dictionaries(st.sampled_from(["en-US", "de", "fr-CA"]), language,
                                              min_size=1, max_size=2))


def severable(content: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), digests, content)


def manifests() -> st.SearchStrategy[Manifest]:
    seq = st.one_of(st.none(), sequences(1))
    return st.builds(
        Manifest, sequence_number=uint, common=commons(),
        reference_uri=st.one_of(st.none(), st.text(max_size=20)),
        manifest_component_id=st.one_of(st.none(), component_ids),
        set_version=st.one_of(st.none(), st.lists(st.integers(-3, 99), min_size=1, max_size=3).map(tuple)),
        validate=seq, load=seq, invoke=seq, uninstall=seq,
        dependency_resolution=severable(sequences(1)), payload_fetch=severable(sequences(1)),
        candidate_verification=severable(sequences(1)), install=severable(sequences(1)),
        text=severable(text_maps()),
        coswid=severable(st.just(EmbeddedCbor(cbor.dumps({0: "tag-id", 12: 0})))),
        extensions=st.dictionaries(st.integers(-20, -1), st.one_of(st.integers(), small_bytes), max_size=2))


def _sign1(alg: int, signature: bytes) -> AuthenticationBlock:
    message = CoseSign1(encode_protected({1: alg}), {}, None, signature)
    return AuthenticationBlock(message, message.encode())


def _mac0(tag: bytes) -> AuthenticationBlock:
    message = CoseMac0(encode_protected({1: int(CoseAlgorithm.HMAC_256_256)}), {}, None, tag)
    return AuthenticationBlock(message, message.encode())


blocks = st.one_of(
    st.builds(_sign1, st.sampled_from([-7, -9, -19, -35, -51]), st.binary(min_size=64, max_size=96)),
    st.builds(_mac0, st.binary(min_size=32, max_size=32)))


def envelopes() -> st.SearchStrategy[Envelope]:
    return st.builds(
        Envelope,
        authentication=st.builds(AuthenticationWrapper, digests, st.lists(blocks, max_size=2).map(tuple)),
        manifest=manifests(),
        severed=st.dictionaries(st.sampled_from([14, 15, 16, 18, 20, 23]), small_bytes, max_size=2),
        integrated=st.dictionaries(st.text(min_size=1, max_size=8).map(lambda s: "#" + s), small_bytes, max_size=2),
        extensions=st.dictionaries(st.integers(-10, -1), small_bytes, max_size=1),
        tagged=st.booleans())
