"""Codec of command sequences and parameters (M37 §8.4.8–8.4.11, TD §5.6, UM §4–5).

One small decode and encode function per construct; every decoder takes the path it is
at so errors say where (``manifest/install[4]/override-parameters/image-digest``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from suit import cbor
from suit.checks import (
    expect_bool,
    expect_bytes,
    expect_int,
    expect_list,
    expect_map,
    expect_text,
    expect_uint,
)
from suit.errors import DecodeError, NestingTooDeep
from suit.model import (
    Command,
    CommandItem,
    CommandSequence,
    Digest,
    EmbeddedCbor,
    Parameter,
    VersionMatch,
    attach_source,
)

_UINT_END: Final = 1 << 64  # CBOR integers lie in [-2^64, 2^64) (RFC 8949 §3.1)
PEN_TAG: Final = 112  # M37 §8.4.8.3: vendor id as a CBOR PEN (relative OID)
#: Command sequences nest through try-each and run-sequence (M37 §8.4.10.2), each level
#: in its own bstr, so cbor2's depth limit restarts at every level. Published manifests
#: nest two or three levels; the bound keeps decoding, rendering and processing from
#: recursing without end on hostile bytes, and bounds the decoding work per input byte.
MAX_SEQUENCE_NESTING: Final = 8


# --- digests ----------------------------------------------------------------------------

def decode_digest_value(value: Any, path: str) -> Digest:
    """A decoded SUIT_Digest array -> `Digest`."""
    kind = type(value)
    if (kind is list or kind is tuple) and len(value) == 2:
        algorithm, digest = value
        if type(algorithm) is int and type(digest) is bytes and -_UINT_END <= algorithm < _UINT_END:
            return Digest(algorithm, digest)  # the usual digest, checked without paths
    parts = expect_list(value, path, min_len=2)
    algorithm, digest = parts[0], parts[1]
    if type(algorithm) is not int or not -_UINT_END <= algorithm < _UINT_END:
        algorithm = expect_int(algorithm, f"{path}/algorithm-id")
    if type(digest) is not bytes:
        digest = expect_bytes(digest, f"{path}/digest-bytes")
    return Digest(algorithm, digest, tuple(parts[2:]) if len(parts) > 2 else ())


def decode_wrapped_digest(data: Any, path: str) -> Digest:
    """A ``bstr .cbor SUIT_Digest`` -> `Digest` remembering its bytes."""
    raw = expect_bytes(data, path)
    return attach_source(decode_digest_value(cbor.loads(raw, path=path), path), raw)


def digest_value(digest: Digest) -> list[Any]:
    """`Digest` -> the SUIT_Digest array."""
    return [digest.algorithm, digest.value, *digest.extensions]


def encode_wrapped_digest(digest: Digest) -> bytes:
    """`Digest` -> the bytes of ``bstr .cbor SUIT_Digest`` (its source when untouched)."""
    return digest.source if digest.source is not None else cbor.dumps(digest_value(digest))


# --- parameters -------------------------------------------------------------------------

def _vendor_id(value: Any, path: str) -> Any:
    if isinstance(value, cbor.CBORTag) and value.tag == PEN_TAG:
        expect_bytes(value.value, path)
        return value
    return expect_bytes(value, path)


def _embedded(value: Any, path: str) -> EmbeddedCbor:
    raw = expect_bytes(value, path)
    cbor.loads(raw, path=path)  # must be well-formed CBOR, though we keep the bytes
    return EmbeddedCbor(raw)


def _version(value: Any, path: str) -> VersionMatch:
    raw = expect_bytes(value, path)
    parts = expect_list(cbor.loads(raw, path=path), path, min_len=2, max_len=2)
    numbers = expect_list(parts[1], f"{path}/version", min_len=1)
    match = VersionMatch(expect_int(parts[0], f"{path}/comparison"),
                         tuple(expect_int(n, f"{path}/version[{i}]") for i, n in enumerate(numbers)))
    return attach_source(match, raw)


def _custom(value: Any, path: str) -> Any:
    if isinstance(value, (int, bool, str, bytes)):
        return value
    raise DecodeError(path, "custom parameter must be int, bool, tstr or bstr")


_PARAMETER_DECODERS: Final[dict[int, Callable[[Any, str], Any]]] = {
    Parameter.VENDOR_ID: _vendor_id, Parameter.CLASS_ID: expect_bytes,
    Parameter.IMAGE_DIGEST: decode_wrapped_digest, Parameter.USE_BEFORE: expect_uint,
    Parameter.COMPONENT_SLOT: expect_uint, Parameter.STRICT_ORDER: expect_bool,
    Parameter.SOFT_FAILURE: expect_bool, Parameter.IMAGE_SIZE: expect_uint,
    Parameter.CONTENT: expect_bytes, Parameter.ENCRYPTION_INFO: _embedded,
    Parameter.URI: expect_text, Parameter.SOURCE_COMPONENT: expect_uint,
    Parameter.INVOKE_ARGS: expect_bytes, Parameter.DEVICE_ID: expect_bytes,
    Parameter.FETCH_ARGUMENTS: expect_bytes, Parameter.MINIMUM_BATTERY: expect_uint,
    Parameter.UPDATE_PRIORITY: expect_int, Parameter.VERSION: _version,
    Parameter.WAIT_INFO: _embedded, Parameter.COMPONENT_METADATA: _embedded,
}


#: Parameters whose decoder only checks the type, bstr or uint, as plain ints.
_BSTR_PARAMETERS: Final = frozenset(
    [int(key) for key, decoder in _PARAMETER_DECODERS.items() if decoder is expect_bytes]
    + [int(Parameter.VENDOR_ID)])  # a bstr vendor id is kept as is (a PEN tag is checked)
_UINT_PARAMETERS: Final = frozenset(
    int(key) for key, decoder in _PARAMETER_DECODERS.items() if decoder is expect_uint)
_PARAMETER_NAMES: Final = {p.value: p.name.lower().replace("_", "-") for p in Parameter}
_COMMAND_NAMES: Final = {c.value: c.name.lower().replace("_", "-") for c in Command}


def parameter_name(key: Any) -> str:
    """Short name of a parameter for paths: ``image-digest``, or the number."""
    return _PARAMETER_NAMES.get(key) or str(key)


def decode_parameters(value: Any, path: str) -> dict[int, Any]:
    """A SUIT_Parameters map -> {parameter id: typed value}; unknown ids kept as is."""
    result: dict[int, Any] = {}
    # A decoded map is only read here: no copy of the usual dict.
    for key, item in (value if type(value) is dict else expect_map(value, path)).items():
        if type(key) is int and (
                (key in _BSTR_PARAMETERS and type(item) is bytes)
                or (key in _UINT_PARAMETERS and type(item) is int and 0 <= item < _UINT_END)):
            result[key] = item  # a bstr or uint parameter of the right type: nothing to build
            continue
        if type(key) is not int or not -_UINT_END <= key < _UINT_END:
            key = expect_int(key, f"{path}/<key>")  # raises, naming the place
        sub = f"{path}/{parameter_name(key)}"
        decoder = _PARAMETER_DECODERS.get(key, _custom if key < 0 else None)
        result[key] = decoder(item, sub) if decoder else item
    return result


def encode_parameter(value: Any) -> Any:
    """A typed parameter value -> its CBOR value."""
    if isinstance(value, Digest):
        return encode_wrapped_digest(value)
    if isinstance(value, VersionMatch):
        if value.source is not None:
            return value.source
        return cbor.dumps([value.comparison, list(value.version)])
    if isinstance(value, EmbeddedCbor):
        return value.data
    return value


def parameters_value(params: dict[int, Any]) -> dict[int, Any]:
    """{parameter id: typed value} -> the SUIT_Parameters map."""
    return {key: encode_parameter(item) for key, item in params.items()}


# --- commands ---------------------------------------------------------------------------

def command_name(command: Any) -> str:
    """Short name of a command for paths: ``override-parameters``, or the number."""
    return _COMMAND_NAMES.get(command) or f"command-{command}"


def _component_index(value: Any, path: str) -> int | bool | tuple[int, ...]:
    if value is True:
        return True
    if isinstance(value, (list, tuple)):
        items = expect_list(value, path, min_len=1)
        return tuple(expect_uint(v, f"{path}[{i}]") for i, v in enumerate(items))
    return expect_uint(value, path)


def _try_each(value: Any, path: str, depth: int) -> tuple[CommandSequence | None, ...]:
    items = expect_list(value, path, min_len=1)
    out: list[CommandSequence | None] = []
    for i, item in enumerate(items):
        if item is None and i == len(items) - 1:
            out.append(None)  # M37 §8.4.10.2: a final nil is the empty alternative
        else:
            out.append(decode_sequence(item, f"{path}[{i}]", depth=depth + 1))
    return tuple(out)


def _override_multiple(value: Any, path: str) -> dict[int, dict[int, Any]]:
    return {expect_uint(k, f"{path}/<index>"): decode_parameters(v, f"{path}/{k}")
            for k, v in expect_map(value, path).items()}


def _copy_params(value: Any, path: str) -> dict[int, tuple[int, ...]]:
    out: dict[int, tuple[int, ...]] = {}
    for k, v in expect_map(value, path).items():
        ids = expect_list(v, f"{path}/{k}", min_len=1)
        out[expect_uint(k, f"{path}/<index>")] = tuple(
            expect_int(p, f"{path}/{k}[{i}]") for i, p in enumerate(ids))
    return out


_ARGUMENT_DECODERS: Final[dict[int, Callable[[Any, str], Any]]] = {
    Command.SET_COMPONENT_INDEX: _component_index,
    Command.SET_PARAMETERS: decode_parameters,
    Command.OVERRIDE_PARAMETERS: decode_parameters,
    Command.OVERRIDE_MULTIPLE: _override_multiple,
    Command.COPY_PARAMS: _copy_params,
}
#: The commands whose argument is a reporting policy (a uint), as plain ints.
_REPORTING_COMMANDS: Final = frozenset(
    int(c) for c in Command
    if c not in _ARGUMENT_DECODERS and c not in (Command.TRY_EACH, Command.RUN_SEQUENCE))


_TRY_EACH: Final = int(Command.TRY_EACH)
_RUN_SEQUENCE: Final = int(Command.RUN_SEQUENCE)


def _decode_argument(command: int, value: Any, path: str, depth: int) -> Any:
    if command == _TRY_EACH:
        return _try_each(value, path, depth)
    if command == _RUN_SEQUENCE:
        return decode_sequence(value, path, depth=depth + 1)
    decoder = _ARGUMENT_DECODERS.get(command)
    if decoder is not None:
        return decoder(value, path)
    if command in _COMMAND_NAMES:
        return expect_uint(value, f"{path}/reporting-policy")
    return value  # private-use (negative) or unknown command: kept as is


def decode_sequence_value(value: Any, path: str, *, depth: int = 0) -> CommandSequence:
    """A decoded command array ``[cmd, arg, cmd, arg, ...]`` -> `CommandSequence`.

    `depth` is how many sequences enclose this one (0 for a manifest member).
    """
    items = value if type(value) is list else expect_list(value, path)  # only read here
    if len(items) % 2:
        raise DecodeError(path, f"a command sequence needs command/argument pairs, "
                                f"found {len(items)} items")
    commands: list[CommandItem] = []
    for i in range(0, len(items), 2):
        command, argument = items[i], items[i + 1]
        if (type(command) is int and command in _REPORTING_COMMANDS
                and type(argument) is int and 0 <= argument < _UINT_END):
            # Most commands take a reporting policy (M37 §8.4.7): checked here without
            # a call or the paths that only an error would need.
            commands.append(CommandItem(command, argument))
        else:
            commands.append(_command_item(command, argument, i, path, depth))
    return CommandSequence(tuple(commands))


def _command_item(command: Any, argument: Any, i: int, path: str, depth: int) -> CommandItem:
    if type(command) is not int:  # bool too: it is no command
        expect_int(command, f"{path}[{i}]")  # raises, naming the place
    if not -_UINT_END <= command < _UINT_END:  # a bignum
        expect_int(command, f"{path}[{i}]")  # raises, naming the place
    sub = f"{path}[{i}]/{command_name(command)}"
    return CommandItem(command, _decode_argument(command, argument, sub, depth))


def decode_sequence(data: Any, path: str, *, depth: int = 0) -> CommandSequence:
    """A ``bstr .cbor SUIT_Command_Sequence`` -> `CommandSequence` remembering its bytes.

    Raises:
        DecodeError: also when sequences nest deeper than `MAX_SEQUENCE_NESTING`.
    """
    raw = data if type(data) is bytes else expect_bytes(data, path)
    if depth > MAX_SEQUENCE_NESTING:
        # Checked before decoding the bstr, so a nesting bomb costs one level's work.
        raise NestingTooDeep(path, "command sequences", MAX_SEQUENCE_NESTING)
    value = cbor.loads(raw, path=path)
    return attach_source(decode_sequence_value(value, path, depth=depth), raw)


def _encode_argument(item: CommandItem) -> Any:
    arg = item.argument
    if item.command in (Command.SET_PARAMETERS, Command.OVERRIDE_PARAMETERS):
        return parameters_value(arg)
    if item.command == Command.TRY_EACH:
        return [None if seq is None else encode_sequence(seq) for seq in arg]
    if item.command == Command.RUN_SEQUENCE:
        return encode_sequence(arg)
    if item.command == Command.OVERRIDE_MULTIPLE:
        return {index: parameters_value(params) for index, params in arg.items()}
    if item.command == Command.COPY_PARAMS:
        return {index: list(ids) for index, ids in arg.items()}
    if item.command == Command.SET_COMPONENT_INDEX and isinstance(arg, tuple):
        return list(arg)
    return arg


def sequence_value(sequence: CommandSequence) -> list[Any]:
    """`CommandSequence` -> the flat command array."""
    out: list[Any] = []
    for item in sequence.commands:
        out += [item.command, _encode_argument(item)]
    return out


def encode_sequence(sequence: CommandSequence) -> bytes:
    """`CommandSequence` -> its bstr content (its source when untouched)."""
    if sequence.source is not None:
        return sequence.source
    return cbor.dumps(sequence_value(sequence), path="sequence")
