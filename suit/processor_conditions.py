"""Per-component conditions and directives of the processor (M37 §8.4.9-8.4.10, TD §5.6,
UM §5). Each handler runs for one selected component index; conditions fail through
`CommandContext.fail`, directives through `ProcessingFailed`.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from suit import digest as digests
from suit.errors import ManifestError
from suit.model import Command, Digest, EmbeddedCbor, Parameter, VersionComparison, VersionMatch
from suit.processor_model import (
    DIGEST_PENDING,
    MAX_DEPENDENCY_DEPTH,
    Authenticated,
    CommandContext,
    Decrypter,
    FetchRequest,
    Handler,
    Location,
    ProcessingFailed,
    authenticate,
)
from suit.report import ReportReason
from suit.verify import manifest_bstr

MAX_DEPENDENCY_SIZE: Final = 64 * 1024



# --- identity conditions (M37 §8.4.9.1, §8.4.8.3-8.4.8.5) -------------------------------

def _identifier(parameter: Parameter, fact: str) -> Handler:
    def check(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
        expected = it.param(index, parameter)
        actual = getattr(it.p.store, fact)()
        if expected is None or actual is None:
            it.fail(location, f"{parameter.spec_name} is not set (M37 §8.4.9)"
                    if expected is None else f"the device has no {fact.replace('_', '-')}")
        elif expected not in actual if isinstance(actual, frozenset) else expected != actual:
            # RFC 9019 §5.5: a device with several CPUs may answer with one class per CPU.
            it.fail(location, f"{parameter.spec_name} {_hex(expected)} is not this device's "
                              f"{_hex(actual)}")
    return check


def _hex(value: Any) -> str:
    if isinstance(value, frozenset):
        return " or ".join(sorted(part.hex() for part in value))
    return value.hex() if isinstance(value, bytes) else repr(value)


# --- image conditions (M37 §8.4.9.2; UM image-not-match; TD §5.2.2) ---------------------

def _image_digest(it: CommandContext, index: int, location: Location) -> tuple[Digest, Any]:
    """The digest the manifest states and what the component holds (or DIGEST_PENDING)."""
    stated = it.param(index, Parameter.IMAGE_DIGEST)
    if stated is None:
        it.fail(location, "image-digest is not set (M37 §8.4.9)")
    if index in it.p.dependency_indices:
        data = it.p.dependency_data.get(index)
        if data is None:
            return stated, None
        try:  # TD §5.2.2: a dependency's digest covers its bstr-wrapped manifest
            from suit.codec import decode_envelope
            body = manifest_bstr(decode_envelope(data).manifest)
            return stated, digests.compute(stated.algorithm, body)
        except ManifestError:
            return stated, digests.compute(stated.algorithm, data)
    component = it.component(index, location)
    size = it.param(index, Parameter.IMAGE_SIZE)
    return stated, it.p.store.image_digest(component, stated.algorithm, size)


def _image_match(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    stated, actual = _image_digest(it, index, location)
    if actual is DIGEST_PENDING:
        it.p.result.deferred.append(location)
    elif actual is None or not hmac.compare_digest(actual, stated.value):
        it.fail(location, f"image digest {_hex(actual) if actual else 'of an empty component'} "
                          f"is not the stated {stated.value.hex()}")
    elif index in it.p.dependency_indices:
        it.p.dependency_matched[index] = stated.value


def _image_not_match(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    stated, actual = _image_digest(it, index, location)
    if actual is DIGEST_PENDING:
        it.p.result.deferred.append(location)
    elif actual is not None and hmac.compare_digest(actual, stated.value):
        it.fail(location, "the component already holds the stated image")


def _component_slot(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    expected = it.param(index, Parameter.COMPONENT_SLOT)
    actual = it.p.store.component_slot(it.component(index, location))
    if expected is None or actual != expected:
        it.fail(location, f"component slot is {actual}, the manifest wants {expected}")


def _check_content(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    content = it.param(index, Parameter.CONTENT)
    if content is None:
        it.fail(location, "content is not set")
    actual = it.p.store.read(it.component(index, location), len(content))
    # M37 §8.4.9.6: compared in constant time, as content may be a secret.
    if actual is None or not hmac.compare_digest(actual, content):
        it.fail(location, "the component does not hold the stated content")


def _abort(it: CommandContext, _index: int, _arg: Any, location: Location) -> None:
    it.fail(location, "abort (M37 §8.4.9.7)")


# --- update-management conditions (UM §5) -----------------------------------------------

def _use_before(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    limit, now = it.param(index, Parameter.USE_BEFORE), it.p.store.facts().now
    if limit is None or now is None or now > limit:
        it.fail(location, f"use-before {limit} has passed or cannot be checked (now {now})")


def _minimum_battery(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    need, have = it.param(index, Parameter.MINIMUM_BATTERY), it.p.store.facts().battery_mwh
    if need is None or have is None or have < need:
        it.fail(location, f"battery {have} mWh is below the {need} mWh required")


def _update_authorized(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    priority = it.param(index, Parameter.UPDATE_PRIORITY)
    allowed = it.p.store.facts().authorized_priority
    if priority is None or allowed is None or priority > allowed:
        it.fail(location, f"update priority {priority} is not authorised (limit {allowed})")


def _version(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    match: VersionMatch | None = it.param(index, Parameter.VERSION)
    current = it.p.store.facts().versions.get(it.component(index, location))
    if match is None or current is None or not version_matches(match, current):
        it.fail(location, f"version {current} does not satisfy {match}")


def version_matches(match: VersionMatch, current: tuple[int, ...]) -> bool:
    """UM §4: compare element by element over the manifest's array, then apply the operator."""
    length = len(match.version)
    mine = tuple(current[:length]) + (0,) * max(0, length - len(current))
    ordering = (mine > match.version) - (mine < match.version)
    outcomes: dict[int, bool] = {VersionComparison.GREATER: ordering > 0,
                                 VersionComparison.GREATER_EQUAL: ordering >= 0,
                                 VersionComparison.EQUAL: ordering == 0,
                                 VersionComparison.LESSER_EQUAL: ordering <= 0,
                                 VersionComparison.LESSER: ordering < 0}
    return outcomes.get(match.comparison, False)  # an unknown operator never matches


def _device_identifier(it: CommandContext, index: int, arg: Any, location: Location) -> None:
    _identifier(Parameter.DEVICE_ID, "device_id")(it, index, arg, location)


# --- dependencies (TD §5.6.1, §5.6.3, §5.6.4) -------------------------------------------

def _dependency_integrity(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    stated = it.param(index, Parameter.IMAGE_DIGEST)
    data = it.p.dependency_data.get(index)
    if index not in it.p.dependency_indices or stated is None or data is None:
        it.fail(location, "no fetched dependency and digest at this index")
    try:
        dependency = authenticate(data, it.p.anchors)
    except ManifestError as exc:
        it.fail(location, f"the dependency is not authentic: {exc}")
    if not hmac.compare_digest(dependency.report.manifest_digest.value, stated.value):
        it.fail(location, "the dependency's manifest digest is not the stated one")
    it.p.dependency_verified[index] = dependency


def _is_dependency(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    if index not in it.p.dependency_indices:
        it.fail(location, f"index {index} is not a dependency")


def _process_dependency(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    dependency = it.p.dependency_verified.get(index) or _matched_dependency(it, index, location)
    if it.p.depth >= MAX_DEPENDENCY_DEPTH:
        raise ProcessingFailed(ReportReason.OPERATION_FAILED, "dependencies nest too deeply",
                               location)
    nested = it.p.run_dependency(dependency, it.section)
    it.p.result.dependencies.append(dependency.report.manifest_digest.value)
    it.p.result.deferred.extend(nested.deferred)


def _matched_dependency(it: CommandContext, index: int, location: Location) -> Authenticated:
    """A dependency whose digest an image-match established (as in TD Example 2, which has
    no dependency-integrity): it must still authenticate, and match that digest."""
    matched, data = it.p.dependency_matched.get(index), it.p.dependency_data.get(index)
    if matched is None or data is None:
        raise ProcessingFailed(ReportReason.OPERATION_FAILED, "process-dependency before the "
                               "dependency's integrity was checked (TD §5.6.4)", location)
    try:
        dependency = authenticate(data, it.p.anchors)
    except ManifestError as exc:
        raise ProcessingFailed(ReportReason.UNAUTHORISED,
                               f"the dependency is not authentic: {exc}", location) from exc
    if not hmac.compare_digest(dependency.report.manifest_digest.value, matched):
        raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                               "the dependency changed since it was checked", location)
    it.p.dependency_verified[index] = dependency
    return dependency


# --- directives with effects (M37 §8.4.10; TD §5.6.5; UM §5) ---------------------------

def _fetch(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    uri: str = it.require(index, Parameter.URI, location)
    size = it.param(index, Parameter.IMAGE_SIZE)
    integrated = it.p.envelope.integrated.get(uri) if uri.startswith("#") else None
    if uri.startswith("#") and integrated is None:
        raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                               f"integrated payload {uri!r} is not in the envelope (M37 §5.5)",
                               location)
    if index in it.p.dependency_indices:
        data = integrated if integrated is not None else it.p.store.fetch_dependency(
            uri, size or MAX_DEPENDENCY_SIZE)
        it.p.dependency_data[index] = data
        return
    request = FetchRequest(index, uri, size, it.param(index, Parameter.IMAGE_DIGEST),
                           it.param(index, Parameter.FETCH_ARGUMENTS), integrated,
                           _metadata(it, index))
    it.p.store.fetch(it.component(index, location), request)


def _metadata(it: CommandContext, index: int) -> bytes | None:
    # UM §4: component-metadata travels as bstr .cbor; the store decodes what it applies.
    value = it.param(index, Parameter.COMPONENT_METADATA)
    return value.data if isinstance(value, EmbeddedCbor) else None


def _write(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    content = it.require(index, Parameter.CONTENT, location)
    info = _encryption_info(it, index, location)
    if info is None:
        it.p.store.write(it.component(index, location), content, metadata=_metadata(it, index))
    else:  # FE §6: the content is ciphertext; the component gets the plaintext
        info[0].write_decrypted(it.component(index, location), content, info[1])


def _encryption_info(it: CommandContext, index: int,
                     location: Location) -> tuple[Decrypter, bytes] | None:
    """The decrypter and the encryption info in force for `index`, if any (FE §6)."""
    info = it.param(index, Parameter.ENCRYPTION_INFO)
    if info is None:
        return None
    if it.p.decrypter is None:  # the static check refuses this first (rule 10)
        raise ProcessingFailed(ReportReason.PARAMETER_UNSUPPORTED,
                               "this device does not decrypt payloads", location)
    return it.p.decrypter, info.data


def _source(it: CommandContext, index: int, location: Location) -> tuple[bytes, ...]:
    source = it.require(index, Parameter.SOURCE_COMPONENT, location)
    if source == index:  # M37 §6.7: a component may not be both source and destination
        raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                               "source and destination are the same component", location)
    return it.component(source, location)


def _copy(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    source = _source(it, index, location)
    info = _encryption_info(it, index, location)
    size = it.param(index, Parameter.IMAGE_SIZE)
    if info is None:
        it.p.store.copy(it.component(index, location), source, size)
    else:  # FE §6: the source holds ciphertext; the destination gets the plaintext
        info[0].copy_decrypted(it.component(index, location), source, size, info[1])


def _swap(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    it.p.store.swap(it.component(index, location), _source(it, index, location))


def _invoke(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    it.p.store.invoke(it.component(index, location), it.param(index, Parameter.INVOKE_ARGS))


def _unlink(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    it.p.store.unlink(it.component(index, location))


def _wait(it: CommandContext, index: int, _arg: Any, location: Location) -> None:
    info = it.require(index, Parameter.WAIT_INFO, location)
    if not it.p.store.wait(info.data):
        raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                               "the device cannot wait for these events", location)


PER_COMPONENT: Final[dict[Command, Handler]] = {
    Command.VENDOR_IDENTIFIER: _identifier(Parameter.VENDOR_ID, "vendor_id"),
    Command.CLASS_IDENTIFIER: _identifier(Parameter.CLASS_ID, "class_id"),
    Command.DEVICE_IDENTIFIER: _device_identifier,
    Command.IMAGE_MATCH: _image_match,
    Command.IMAGE_NOT_MATCH: _image_not_match,
    Command.COMPONENT_SLOT: _component_slot,
    Command.CHECK_CONTENT: _check_content,
    Command.ABORT: _abort,
    Command.USE_BEFORE: _use_before,
    Command.MINIMUM_BATTERY: _minimum_battery,
    Command.UPDATE_AUTHORIZED: _update_authorized,
    Command.VERSION: _version,
    Command.DEPENDENCY_INTEGRITY: _dependency_integrity,
    Command.IS_DEPENDENCY: _is_dependency,
    Command.PROCESS_DEPENDENCY: _process_dependency,
    Command.FETCH: _fetch,
    Command.WRITE: _write,
    Command.COPY: _copy,
    Command.SWAP: _swap,
    Command.INVOKE: _invoke,
    Command.UNLINK: _unlink,
    Command.WAIT: _wait,
}
