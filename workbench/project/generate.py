"""The high-level description -> command sequences (M37 §8.4.9–8.4.10, Appendix A/B).

The order the builder emits follows the manifest-spec examples, so projects describing
them reproduce the published manifests byte for byte:

- shared: per component, its vendor/class ids (first component) and image digest/size
  (try-each over slots for A/B), then the vendor and class conditions.
- dependency-resolution: fetch each dependency manifest and check it.
- payload-fetch: fetch staged images into their staging component.
- install: update-management conditions, dependencies, then each component (copy from
  staging, fetch from its slot's or its own URI, or write its content), each checked.
- validate: image-match per component; load: copy into RAM, then check; invoke: boot.

set-component-index is emitted only when the manifest has more than one index.
"""

from __future__ import annotations

from typing import Any

from suit import cbor
from suit.digest import digest_of
from suit.model import (
    Command,
    CommandItem,
    CommandSequence,
    EmbeddedCbor,
    Parameter,
    VersionMatch,
)
from workbench.project import values
from workbench.project.errors import ProjectFileError
from workbench.project.model import DEFAULT_REPORT, Component, Project
from workbench.project.resolve import Resolved, component_uri

#: UM §4: wait-info event keys by project-file name.
WAIT_EVENTS = {"authorization": 1, "power": 2, "network": 3, "time": 5, "time-of-day": 6,
               "day-of-week": 7, "time-of-day-utc": 8, "day-of-week-utc": 9}


class SequenceWriter:
    """Collects commands, selecting components only when the selection changes."""

    def __init__(self, multi: bool) -> None:
        self.items: list[CommandItem] = []
        self.multi = multi
        self.current: int | None = None

    def select(self, index: int) -> None:
        if self.multi and index != self.current:
            self.add(Command.SET_COMPONENT_INDEX, index)
        self.current = index

    def add(self, command: int, argument: Any) -> None:
        self.items.append(CommandItem(command, argument))

    def override(self, params: dict[int, Any]) -> None:
        if params:
            self.add(Command.OVERRIDE_PARAMETERS, params)

    def sequence(self) -> CommandSequence | None:
        return CommandSequence(tuple(self.items)) if self.items else None


class Generator:
    """Emits the sequences of one project with its resolved values."""

    def __init__(self, project: Project, resolved: Resolved) -> None:
        self.project = project
        self.resolved = resolved
        self.multi = len(project.components) + len(project.dependencies) > 1

    def policy(self, kind: str) -> int:
        value = self.project.report.get(kind, DEFAULT_REPORT[kind])
        return values.parse_policy(value, f"report.{kind}")

    def writer(self) -> SequenceWriter:
        return SequenceWriter(self.multi)

    def image_params(self, component: Component) -> dict[int, Any]:
        info = self.resolved.images.get(component.name)
        if info is None:
            return {}
        return {Parameter.IMAGE_DIGEST: info.digest, Parameter.IMAGE_SIZE: info.size}

    def check(self, w: SequenceWriter) -> None:
        w.add(Command.IMAGE_MATCH, self.policy("condition"))

    # --- shared ---------------------------------------------------------------------------

    def shared(self) -> CommandSequence | None:
        w, ids = self.writer(), self._device_params()
        for i, c in enumerate(self.project.components):
            params = dict(ids) if i == 0 else {}
            if not c.slots and not c.load_from:
                params.update(self.image_params(c))
            if params or c.slots:
                w.select(i)
                w.override(params)
            if c.slots:
                w.add(Command.TRY_EACH, self._slots(c, self._slot_image))
            if i == 0:
                for command, key in ((Command.VENDOR_IDENTIFIER, Parameter.VENDOR_ID),
                                     (Command.CLASS_IDENTIFIER, Parameter.CLASS_ID)):
                    if key in ids:
                        w.add(command, self.policy("condition"))
        return w.sequence()

    def _device_params(self) -> dict[int, Any]:
        params: dict[int, Any] = {}
        if self.resolved.vendor_id is not None:
            params[Parameter.VENDOR_ID] = self.resolved.vendor_id
        if self.resolved.class_id is not None:
            params[Parameter.CLASS_ID] = self.resolved.class_id
        return params

    def _slots(self, c: Component, tail: Any) -> tuple[CommandSequence, ...]:
        alternatives = []
        for k in range(len(c.slots)):
            w = SequenceWriter(False)
            w.override({Parameter.COMPONENT_SLOT: k})
            w.add(Command.COMPONENT_SLOT, self.policy("slot-condition"))
            w.override(tail(c, k))
            alternatives.append(CommandSequence(tuple(w.items)))
        return tuple(alternatives)

    def _slot_image(self, c: Component, k: int) -> dict[int, Any]:
        info = self.resolved.slots[c.name][k]
        return {Parameter.IMAGE_DIGEST: info.digest, Parameter.IMAGE_SIZE: info.size}

    def _slot_uri(self, c: Component, k: int) -> dict[int, Any]:
        uri = c.slots[k].uri
        return {Parameter.URI: uri} if uri else {}

    # --- the update procedure -------------------------------------------------------------

    def dependency_resolution(self) -> CommandSequence | None:
        w = self.writer()
        for dep in self.project.dependencies:
            info = self.resolved.dependencies[dep.name]
            uri = f"#{dep.name}" if dep.integrated else dep.uri
            if uri is None:
                continue
            w.select(self.project.component_index(dep.name))
            params: dict[int, Any] = {Parameter.IMAGE_DIGEST: info.digest}
            if info.size is not None:
                params[Parameter.IMAGE_SIZE] = info.size
            w.override({**params, Parameter.URI: uri})
            w.add(Command.FETCH, self.policy("fetch"))
            self.check(w)
        return w.sequence()

    def payload_fetch(self) -> CommandSequence | None:
        w = self.writer()
        for c in self.project.components:
            if c.staging is None:
                continue
            w.select(self.project.component_index(c.staging))
            params = self.image_params(c)
            params.pop(Parameter.IMAGE_SIZE, None)  # M37 example 4: checked after the copy
            payload = self.resolved.encrypted.get(c.name)
            if payload is not None:
                # The staging component holds ciphertext: check its digest before the copy
                # decrypts it (FE §6.2: an image digest of plaintext and/or ciphertext).
                # Its size too: a device checks capacity before the payload is sent (RFC
                # 9019 §3, manifest first), and the ciphertext's size is known here.
                params = {Parameter.IMAGE_DIGEST: payload.ciphertext_digest}
                if payload.ciphertext_size is not None:
                    params[Parameter.IMAGE_SIZE] = payload.ciphertext_size
            uri = component_uri(c)
            w.override({**params, **({Parameter.URI: uri} if uri else {})})
            w.add(Command.FETCH, self.policy("fetch"))
            self.check(w)
        return w.sequence()

    def install(self) -> CommandSequence | None:
        w = self.writer()
        self._update_management(w)
        self._versions(w)
        self._process_dependencies(w, "install")
        for i, c in enumerate(self.project.components):
            self._install_component(w, i, c)
        return w.sequence()

    def _install_component(self, w: SequenceWriter, i: int, c: Component) -> None:
        uri = component_uri(c)
        payload = self.resolved.encrypted.get(c.name)
        if c.staging is not None:
            w.select(i)
            # FE §4: copy with encryption-info decrypts the staged ciphertext.
            w.override({Parameter.SOURCE_COMPONENT: self.project.component_index(c.staging),
                        **self._encryption_info(c)})
            w.add(Command.COPY, self.policy("copy"))
            self.check(w)
        elif c.slots and any(s.uri for s in c.slots):
            w.select(i)
            w.add(Command.TRY_EACH, self._slots(c, self._slot_uri))
            w.add(Command.FETCH, self.policy("fetch"))
            self.check(w)
        elif uri is not None:
            w.select(i)
            w.override({Parameter.URI: uri, **_metadata(c)})
            w.add(Command.FETCH, self.policy("fetch"))
            self.check(w)
        elif c.content is not None and payload is not None and payload.ciphertext is not None:
            w.select(i)
            # FE "suit-manifest-aes-kw-content": write with content + encryption-info; the
            # plaintext's digest and size are stated and checked after it (FE §6.2).
            plaintext = values.parse_bytes(c.content, f"component {c.name}.content")
            w.override({Parameter.CONTENT: payload.ciphertext, **self._encryption_info(c),
                        Parameter.IMAGE_DIGEST: digest_of(plaintext, self._digest_alg()),
                        Parameter.IMAGE_SIZE: len(plaintext)})
            w.add(Command.WRITE, self.policy("write"))
            self.check(w)
        elif c.content is not None:
            w.select(i)
            w.override({Parameter.CONTENT: values.parse_bytes(c.content, f"component {c.name}.content"),
                        **_metadata(c)})
            w.add(Command.WRITE, self.policy("write"))

    def _encryption_info(self, c: Component) -> dict[int, Any]:
        payload = self.resolved.encrypted.get(c.name)
        return {} if payload is None else {Parameter.ENCRYPTION_INFO: EmbeddedCbor(payload.info)}

    def _digest_alg(self) -> int:
        return int(values.DIGEST_NAMES[self.project.digest_algorithm])

    def _update_management(self, w: SequenceWriter) -> None:
        """UM §5: the update's own conditions, on the first component, before anything."""
        update = self.project.update
        params: dict[int, Any] = {}
        conditions: list[tuple[int, str]] = []
        if update.use_before is not None:
            params[Parameter.USE_BEFORE] = update.use_before
            conditions.append((Command.USE_BEFORE, "condition"))
        if update.minimum_battery is not None:
            params[Parameter.MINIMUM_BATTERY] = update.minimum_battery
            conditions.append((Command.MINIMUM_BATTERY, "condition"))
        if update.priority is not None:
            params[Parameter.UPDATE_PRIORITY] = update.priority
            conditions.append((Command.UPDATE_AUTHORIZED, "condition"))
        if update.wait:
            params[Parameter.WAIT_INFO] = _wait_info(update.wait)
            conditions.append((Command.WAIT, "wait"))
        if params:
            w.select(0)
            w.override(params)
            for command, kind in conditions:
                w.add(command, self.policy(kind))

    def _versions(self, w: SequenceWriter) -> None:
        for i, c in enumerate(self.project.components):
            if c.version is not None:
                comparison, numbers = values.parse_version(c.version, f"component {c.name}.version")
                w.select(i)
                w.override({Parameter.VERSION: VersionMatch(comparison, numbers)})
                w.add(Command.VERSION, self.policy("condition"))

    def _process_dependencies(self, w: SequenceWriter, sequence: str) -> None:
        for dep in self.project.dependencies:
            if sequence not in dep.process_in:
                continue
            w.select(self.project.component_index(dep.name))
            digest: dict[int, Any] = {
                Parameter.IMAGE_DIGEST: self.resolved.dependencies[dep.name].digest}
            if sequence != "install":
                self._reload_dependency(w, dep.name, digest)
            elif dep.check_integrity:
                w.override(digest)
                w.add(Command.DEPENDENCY_INTEGRITY, self.policy("condition"))
            w.add(Command.PROCESS_DEPENDENCY, self.policy("process-dependency"))

    def _reload_dependency(self, w: SequenceWriter, name: str, digest: dict[int, Any]) -> None:
        """Validate and invoke run at boot, a procedure of their own (M37 §8.4.6): nothing
        the Update procedure fetched or checked carries over. TD §5.6.4 aborts a
        process-dependency whose dependency was not integrity-checked in this run, so
        the dependency is loaded again (from the envelope when integrated, TD §8.1.1)
        and checked: with dependency-integrity, or with image-match when the project
        turned that off (as TD Example 2 does at install)."""
        dep = next(d for d in self.project.dependencies if d.name == name)
        uri = f"#{dep.name}" if dep.integrated else dep.uri
        w.override({**digest, **({Parameter.URI: uri} if uri is not None else {})})
        if uri is not None:
            w.add(Command.FETCH, self.policy("fetch"))
        if dep.check_integrity:
            w.add(Command.DEPENDENCY_INTEGRITY, self.policy("condition"))
        else:
            self.check(w)

    # --- the invocation procedure ---------------------------------------------------------

    def validate(self) -> CommandSequence | None:
        w = self.writer()
        self._process_dependencies(w, "validate")
        for i, c in enumerate(self.project.components):
            if self.validates(c):
                w.select(i)
                self.check(w)
        return w.sequence()

    def validates(self, c: Component) -> bool:
        """Whether validate checks `c`: as set, else when it holds an image of its own."""
        if c.validate is not None:
            return c.validate
        return c.has_image and c.load_from is None

    def load(self) -> CommandSequence | None:
        w = self.writer()
        for i, c in enumerate(self.project.components):
            if c.load_from is None:
                continue
            w.select(i)
            w.override({**self.image_params(c),
                        Parameter.SOURCE_COMPONENT: self.project.component_index(c.load_from)})
            w.add(Command.COPY, self.policy("copy"))
            self.check(w)
        return w.sequence()

    def invoke(self) -> CommandSequence | None:
        w = self.writer()
        self._process_dependencies(w, "invoke")
        for i, c in enumerate(self.project.components):
            if not c.invoke:
                continue
            w.select(i)
            if c.invoke_args is not None:
                w.override({Parameter.INVOKE_ARGS: values.parse_bytes(
                    c.invoke_args, f"component {c.name}.invoke-args")})
            w.add(Command.INVOKE, self.policy("invoke"))
        return w.sequence()


def _metadata(c: Component) -> dict[int, Any]:
    """UM §4 component-metadata for a file component, beside its fetch or write."""
    if c.metadata is None:
        return {}
    table = values.parse_file_metadata(c.metadata, f"component {c.name}.metadata")
    return {Parameter.COMPONENT_METADATA: EmbeddedCbor(cbor.dumps(table))}


def _wait_info(wait: dict[str, int]) -> EmbeddedCbor:
    events = {}
    for name, value in wait.items():
        if name not in WAIT_EVENTS:
            raise ProjectFileError(f"update.wait.{name}", "unknown wait event",
                                   hint="Use " + ", ".join(WAIT_EVENTS) + ".")
        events[WAIT_EVENTS[name]] = value
    return EmbeddedCbor(cbor.dumps(events))
