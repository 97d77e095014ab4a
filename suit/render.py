"""Renderings of an envelope: diagnostic notation annotated with the spec's names (like the
published `.diag` files, RFC 8610 Appendix G), a JSON summary, and a JSON tree."""

from __future__ import annotations

import json
from typing import Any

from suit import cbor
from suit.codec import decode_envelope, encode_envelope, member_name, severed_member_content
from suit.commands import command_name, parameter_name
from suit.cose import CoseHeader, CoseMessage, CoseSign, algorithm_name
from suit.digest import algorithm_name as digest_name
from suit.errors import ManifestError
from suit.model import (
    AuthenticationWrapper,
    Command,
    CommandItem,
    CommandSequence,
    Common,
    Digest,
    EmbeddedCbor,
    Envelope,
    Manifest,
    TextMap,
    VersionMatch,
)
from suit.payloads import manifest_sequences
from suit.unknown import unknown_members
from suit.verify import check_envelope

Lines = list[str]
INDENT = "  "


# --- plain values ---------------------------------------------------------------------

def value_diag(value: Any) -> str:
    """One CBOR value in diagnostic notation, on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        return _bstr_diag(bytes(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_diag(v) for v in value) + "]"
    if isinstance(value, dict) or hasattr(value, "items"):
        return "{" + ", ".join(f"{value_diag(k)}: {value_diag(v)}" for k, v in value.items()) + "}"
    if isinstance(value, cbor.CBORTag):
        return f"{value.tag}({value_diag(value.value)})"
    return str(value)


def _bstr_diag(data: bytes) -> str:
    # Printable identifiers read better as text, as the published .diag files show them
    # ('dependent.suit', 'cat 00 10'); anything else is hex. Both are bstr in EDN.
    if data and len(data) <= 64 and all(0x20 <= b < 0x7F and b not in b"'\\" for b in data):
        return f"'{data.decode('ascii')}'"
    return f"h'{data.hex()}'"


def _comment(name: str) -> str:
    return f"/ {name} /"


def _block(opening: str, body: list[Lines], closing: str) -> Lines:
    """Lines of a bracketed block whose members are separated by commas."""
    lines = [opening]
    for i, member in enumerate(body):
        tail = "," if i < len(body) - 1 else ""
        lines += [INDENT + line for line in member[:-1]] + [INDENT + member[-1] + tail]
    return lines + [closing]


def _keyed(name: str, key: Any, lines: Lines) -> Lines:
    return [f"{_comment(name)} {key}: {lines[0]}", *lines[1:]]


def _wrapped(lines: Lines) -> Lines:
    return [f"<< {lines[0]}", *lines[1:-1], f"{lines[-1]} >>"] if len(lines) > 1 else [f"<< {lines[0]} >>"]


# --- SUIT structures -------------------------------------------------------------------

def digest_diag(digest: Digest) -> Lines:
    return _block("[", [[f"{_comment('algorithm-id')} {digest.algorithm} {_comment(digest_name(digest.algorithm))}"],
                        [f"{_comment('digest-bytes')} {value_diag(digest.value)}"]], "]")


def _parameter(key: int, value: Any) -> Lines:
    name = f"parameter-{parameter_name(key)}"
    if isinstance(value, Digest):
        return _keyed(name, key, _wrapped(digest_diag(value)))
    if isinstance(value, VersionMatch):
        return [f"{_comment(name)} {key}: << [{value.comparison}, {value_diag(list(value.version))}] >>"]
    if isinstance(value, EmbeddedCbor):
        return [f"{_comment(name)} {key}: << {value_diag(cbor.loads(value.data))} >>"]
    return [f"{_comment(name)} {key}: {value_diag(value)}"]


def _parameters(params: dict[int, Any]) -> Lines:
    return _block("{", [_parameter(k, v) for k, v in params.items()], "}")


def _argument(item: CommandItem) -> Lines:
    arg = item.argument
    if isinstance(arg, CommandSequence):
        return _wrapped(sequence_diag(arg))
    if isinstance(arg, dict) and item.command in (19, 20):
        return _parameters(arg)
    if isinstance(arg, dict) and item.command == 34:
        return _block("{", [_keyed("component-index", k, _parameters(v)) for k, v in arg.items()], "}")
    if item.command == 15 and isinstance(arg, tuple):
        return _block("[", [["null"] if s is None else _wrapped(sequence_diag(s)) for s in arg], "]")
    return [value_diag(list(arg) if isinstance(arg, tuple) else arg)]


def sequence_diag(sequence: CommandSequence) -> Lines:
    members = []
    for item in sequence.commands:
        arg = _argument(item)
        name = _command_spec_name(item.command)
        members.append([f"{_comment(name)} {item.command}, {arg[0]}", *arg[1:]])
    return _block("[", members, "]")


def _command_spec_name(command: int) -> str:
    try:
        return Command(command).spec_name
    except ValueError:
        return command_name(command)


def _component_id(cid: tuple[bytes, ...]) -> str:
    return value_diag(list(cid))


def common_diag(common: Common) -> Lines:
    members: list[Lines] = []
    if common.dependencies:
        deps = [_keyed("component-index", i, _block("{", [[
            f"{_comment('dependency-prefix')} 1: {_component_id(d.prefix)}"]] if d.prefix else [], "}"))
            for i, d in common.dependencies.items()]
        members.append(_keyed("dependencies", 1, _block("{", deps, "}")))
    members.append(_keyed("components", 2, _block("[", [[_component_id(c)] for c in common.components], "]")))
    if common.shared_sequence is not None:
        members.append(_keyed("shared-sequence", 4, _wrapped(sequence_diag(common.shared_sequence))))
    members += [[f"{value_diag(k)}: {value_diag(v)}"] for k, v in common.extensions.items()]
    return _block("{", members, "}")


def text_diag(text: TextMap) -> Lines:
    languages = []
    for tag, lang in text.languages.items():
        entries = [[f"{k}: {value_diag(v)}"] for k, v in lang.fields.items()]
        entries += [[f"{_component_id(cid)}: {value_diag(fields)}"] for cid, fields in lang.components.items()]
        block = _block("{", entries, "}")
        languages.append([f"{value_diag(tag)}: {block[0]}", *block[1:]])
    return _block("{", languages, "}")


def _severable_diag(value: Any) -> Lines:
    if isinstance(value, Digest):
        return digest_diag(value)
    if isinstance(value, TextMap):
        return _wrapped(text_diag(value))
    if isinstance(value, EmbeddedCbor):
        return [f"<< {value_diag(cbor.loads(value.data))} >>"]
    return _wrapped(sequence_diag(value))


def manifest_diag(manifest: Manifest) -> Lines:
    m = manifest
    members = [[f"{_comment('manifest-version')} 1: {m.manifest_version}"],
               [f"{_comment('manifest-sequence-number')} 2: {m.sequence_number}"],
               _keyed("common", 3, _wrapped(common_diag(m.common)))]
    if m.reference_uri is not None:
        members.append([f"{_comment('reference-uri')} 4: {value_diag(m.reference_uri)}"])
    if m.manifest_component_id is not None:
        members.append([f"{_comment('manifest-component-id')} 5: {_component_id(m.manifest_component_id)}"])
    if m.set_version is not None:
        members.append([f"{_comment('set-version')} 6: << {value_diag(list(m.set_version))} >>"])
    for key, attr in ((7, "validate"), (8, "load"), (9, "invoke"), (14, "coswid"),
                      (15, "dependency_resolution"), (16, "payload_fetch"),
                      (18, "candidate_verification"), (20, "install"), (23, "text"), (24, "uninstall")):
        value = getattr(m, attr)
        if value is not None:
            members.append(_keyed(member_name(key), key, _severable_diag(value)))
    members += [[f"{value_diag(k)}: {value_diag(v)}"] for k, v in m.extensions.items()]
    return _block("{", members, "}")


def cose_diag(message: CoseMessage) -> Lines:
    def header(raw: bytes) -> Lines:
        decoded = cbor.loads(raw) if raw else {}
        return _wrapped(_block("{", [[_header_entry(k, v)] for k, v in decoded.items()], "}")) if raw else ["h''"]
    tag = {"CoseSign1": 18, "CoseSign": 98, "CoseMac0": 17, "CoseMac": 97, "CoseEncrypt": 96}[type(message).__name__]
    members = [_keyed_plain("protected", header(message.protected)),
               [f"{_comment('unprotected')} {value_diag(dict(message.unprotected))}"]]
    if isinstance(message, CoseSign):
        members.append([f"{_comment('payload')} {value_diag(message.payload)}"])
        members.append([f"{_comment('signatures')} " + value_diag(
            [[s.protected, dict(s.unprotected), s.signature] for s in message.signatures])])
    else:
        for attr in ("payload", "signature", "tag", "ciphertext"):
            if hasattr(message, attr):
                members.append([f"{_comment(attr)} {value_diag(getattr(message, attr))}"])
    lines = _block("[", members, "]")
    return [f"{tag}({lines[0]}", *lines[1:-1], f"{lines[-1]})"]


def _keyed_plain(name: str, lines: Lines) -> Lines:
    return [f"{_comment(name)} {lines[0]}", *lines[1:]]


def _header_entry(key: Any, value: Any) -> str:
    names = {CoseHeader.ALG: "alg", CoseHeader.KID: "kid", CoseHeader.IV: "IV"}
    name = names.get(key, str(key))
    note = f" {_comment(algorithm_name(value))}" if key == CoseHeader.ALG else ""
    return f"{_comment(name)} {key}: {value_diag(value)}{note}"


def authentication_diag(wrapper: AuthenticationWrapper) -> Lines:
    members = [_keyed_plain("digest:", _wrapped(digest_diag(wrapper.digest)))]
    members += [_keyed_plain("signature:", _wrapped(cose_diag(b.message))) for b in wrapper.blocks]
    return _block("[", members, "]")


def envelope_diag(envelope: Envelope) -> str:
    """The envelope in diagnostic notation with the spec's names as comments.

    Lossless: every byte is printed (embedded CBOR as ``<< ... >>``), so an EDN parser
    (RFC 8610 Appendix G) gives back the envelope's encoding.
    """
    return "\n".join(envelope_lines(envelope)) + "\n"


def envelope_lines(envelope: Envelope) -> Lines:
    """`envelope_diag` as lines, for an envelope embedded in another (TD §8.1.1)."""
    members = [_keyed("authentication-wrapper", 2, _wrapped(authentication_diag(envelope.authentication))),
               _keyed("manifest", 3, _wrapped(manifest_diag(envelope.manifest)))]
    for key, raw in envelope.severed.items():
        members.append(_keyed(member_name(key), key, _severed_lines(envelope, key, raw)))
    for uri, data in envelope.integrated.items():
        lines = _embedded(data)
        members.append([f"{value_diag(uri)}: {lines[0]}", *lines[1:]])
    members += [[f"{value_diag(k)}: {value_diag(v)}"] for k, v in envelope.extensions.items()]
    lines = _block("{", members, "}")
    if envelope.tagged:
        lines = [f"107({lines[0]}", *lines[1:-1], f"{lines[-1]})"]
    return lines


def _severed_lines(envelope: Envelope, key: int, raw: bytes) -> Lines:
    """A severed member by its spec structure; one that does not decode as draft-37's
    (an older draft's text map, say) as the plain CBOR it is, as inspect shows it."""
    try:
        return _severable_diag(severed_member_content(envelope, key))
    except ManifestError:
        return _embedded(raw)


def _embedded(data: bytes) -> Lines:
    """Bytes that may hold CBOR: an envelope (an integrated dependency) by its structure,
    other CBOR as ``<< value >>``, anything else as hex; each only when re-encoding gives
    the same bytes, so nothing is lost."""
    try:
        envelope = decode_envelope(data)
        if encode_envelope(envelope) == data:
            return _wrapped(envelope_lines(envelope))
    except ManifestError:
        pass
    try:
        if cbor.dumps(cbor.loads(data)) == data:
            return [f"<< {value_diag(cbor.loads(data))} >>"]
    except ManifestError:
        pass
    return [f"h'{data.hex()}'"]


# --- JSON ----------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    """A model value as JSON: bytes as hex, component ids as lists of hex."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, Digest):
        return {"alg": digest_name(value.algorithm), "hex": value.value.hex()}
    if isinstance(value, VersionMatch):
        return {"comparison": value.comparison, "version": list(value.version)}
    if isinstance(value, EmbeddedCbor):
        return {"cbor": value.data.hex()}
    if isinstance(value, CommandSequence):
        return sequence_json(value)
    if isinstance(value, cbor.CBORTag):
        return {"tag": value.tag, "value": _json_value(value.value)}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {_json_key(k): _json_value(v) for k, v in value.items()}
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, tuple):
        return json.dumps([_json_value(k) for k in key])
    return str(key)


def sequence_json(sequence: CommandSequence) -> list[dict[str, Any]]:
    """A sequence as a list of {command, name, argument}."""
    out = []
    for item in sequence.commands:
        arg = item.argument
        if isinstance(arg, dict) and item.command in (19, 20):
            arg = {parameter_name(k): _json_value(v) for k, v in arg.items()}
        out.append({"command": item.command, "name": _command_spec_name(item.command),
                    "argument": _json_value(arg)})
    return out


def inspect_summary(envelope: Envelope) -> dict[str, Any]:
    """The `suitwb inspect --format json` object (fields documented in README)."""
    report = check_envelope(envelope, [])
    m = envelope.manifest
    return {
        "tagged": envelope.tagged,
        "manifest_version": m.manifest_version,
        "sequence_number": m.sequence_number,
        "manifest_digest": _json_value(envelope.authentication.digest),
        "manifest_digest_ok": report.digest_ok,
        "components": [[part.hex() for part in cid] for cid in m.common.components],
        "authentication": [{"type": b.kind, "alg": algorithm_name(b.algorithm),
                            "kid": b.kid.hex() if isinstance(b.kid, bytes) else None}
                           for b in report.blocks],
        "severable": {name: {"present": r.present, "digest_ok": r.digest_ok}
                      for name, r in report.severable.items()},
        "integrated": sorted(envelope.integrated),
        "dependencies": [{"component_index": i,
                          "prefix": [p.hex() for p in d.prefix] if d.prefix else None}
                         for i, d in m.common.dependencies.items()],
        "reference_uri": m.reference_uri,
        "sequences": {name: sequence_json(seq) for name, seq in manifest_sequences(m, envelope)},
        # Members M37 does not define are shown, never dropped (legacy: an older draft's).
        "unknown": [{"where": u.where, "key": _json_value(u.key), "legacy": u.legacy,
                     "value": _json_value(u.value)} for u in unknown_members(envelope)],
        **_algorithms_json(envelope),
    }


def _algorithms_json(envelope: Envelope) -> dict[str, Any]:
    """The MTI profile the algorithms fit, and every encryption info with its recipients."""
    from suit.algorithms_used import algorithms_used, encryption_infos
    from suit.profiles import matching_profiles
    infos = encryption_infos(envelope)
    used = algorithms_used(envelope, infos)
    return {
        "profiles": [p.name for p in matching_profiles(used)],
        "algorithms": {"digests": sorted(digest_name(a) for a in used.digests),
                       **{kind: sorted(algorithm_name(a) for a in getattr(used, kind))
                          for kind in ("auth", "key_exchange", "encryption")}},
        "encryption": [{"where": i.where, "alg": algorithm_name(i.algorithm) if i.algorithm else None,
                        "detached": i.detached, "problem": i.problem,
                        "recipients": [{"alg": algorithm_name(r.algorithm),
                                        "kid": r.kid.hex() if r.kid else None,
                                        "ephemeral_curve": r.ephemeral_curve} for r in i.recipients]}
                       for i in infos],
    }


def summary_text(envelope: Envelope) -> str:
    """A short human summary for `suitwb inspect` (text format)."""
    s = inspect_summary(envelope)
    lines = [f"SUIT envelope ({'tagged' if s['tagged'] else 'untagged'}), manifest version {s['manifest_version']}",
             f"sequence number  {s['sequence_number']}",
             f"manifest digest  {s['manifest_digest']['alg']} {s['manifest_digest']['hex']}"
             f" ({'matches' if s['manifest_digest_ok'] else 'MISMATCH'})"]
    for i, cid in enumerate(s["components"]):
        lines.append(f"component {i}      [{', '.join(cid)}]")
    for a in s["authentication"] or [{"type": "none", "alg": "-", "kid": None}]:
        lines.append(f"authentication   {a['type']} {a['alg']}" + (f" kid {a['kid']}" if a["kid"] else ""))
    for name, st in s["severable"].items():
        state = "absent" if not st["present"] else ("digest ok" if st["digest_ok"] else "DIGEST MISMATCH")
        lines.append(f"severed {name:<9}{state}")
    for key in s["integrated"]:
        lines.append(f"integrated       {key}")
    if s["reference_uri"]:
        lines.append(f"reference uri    {s['reference_uri']}")
    for name, seq in s["sequences"].items():
        lines.append(f"{name:<17}" + ", ".join(c["name"] for c in seq))
    for u in s["unknown"]:
        meaning = f": {u['legacy']}" if u["legacy"] else ""
        lines.append(f"unknown member   {u['where']} key {u['key']}{meaning}")
    lines.extend(_algorithm_lines(s))
    return "\n".join(lines) + "\n"


def _algorithm_lines(s: dict[str, Any]) -> list[str]:
    used = s["algorithms"]
    lines = [f"profile          {', '.join(s['profiles']) or 'none (algorithms outside any MTI profile)'}",
             "algorithms       " + "; ".join(f"{kind.replace('_', ' ')} {', '.join(names)}"
                                             for kind, names in used.items() if names)]
    for info in s["encryption"]:
        lines.append(f"encrypted        {info['where']}: {info['alg']}, "
                     f"{'detached' if info['detached'] else 'embedded'}")
        for r in info["recipients"]:
            lines.append(f"  recipient      {r['alg']}" + (f" {r['ephemeral_curve']}" if r["ephemeral_curve"] else "")
                         + (f" kid {r['kid']}" if r["kid"] else ""))
    return lines
