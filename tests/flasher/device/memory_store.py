"""An in-memory ComponentStore for processor tests: records every effect it is asked for.

Not a mock of anything: it is a complete (if volatile) store, the simplest device the
processor can run against; the flash-backed one is tested separately.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from suit.processor import DeviceFacts, FetchRequest

ComponentId = tuple[bytes, ...]


@dataclass
class MemoryStore:
    """Components as byte strings, payloads served from a dict of URIs."""

    components: set[ComponentId]
    vendor: bytes | None = None
    klass: bytes | None = None
    device: bytes | None = None
    payloads: dict[str, bytes] = field(default_factory=dict)
    slots: dict[ComponentId, int] = field(default_factory=dict)
    images: dict[ComponentId, bytes] = field(default_factory=dict)
    log: list[tuple[Any, ...]] = field(default_factory=list)
    device_facts: DeviceFacts = field(default_factory=DeviceFacts)

    def supports(self, component_id: ComponentId) -> bool:
        return component_id in self.components

    def vendor_id(self) -> bytes | None:
        return self.vendor

    def class_id(self) -> bytes | None:
        return self.klass

    def device_id(self) -> bytes | None:
        return self.device

    def component_slot(self, component_id: ComponentId) -> int | None:
        return self.slots.get(component_id)

    def image_digest(self, component_id: ComponentId, algorithm: int, size: int | None) -> bytes | None:
        self.log.append(("digest", component_id, size))
        image = self.images.get(component_id)
        if image is None:
            return None
        return hashlib.sha256(image if size is None else image[:size]).digest()

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        image = self.images.get(component_id)
        return None if image is None else image[:size]

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        self.log.append(("fetch", component_id, request.uri))
        data = request.integrated if request.integrated is not None else self.payloads.get(request.uri, b"")
        self.images[component_id] = data

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        self.log.append(("fetch-dependency", uri))
        return self.payloads.get(uri, b"")

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        self.log.append(("write", component_id, content))
        self.images[component_id] = content

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        self.log.append(("copy", source, destination))
        self.images[destination] = self.images.get(source, b"")

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        self.log.append(("swap", first, second))
        self.images[first], self.images[second] = self.images.get(second, b""), self.images.get(first, b"")

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        self.log.append(("invoke", component_id, arguments))

    def unlink(self, component_id: ComponentId) -> None:
        self.log.append(("unlink", component_id))
        self.images.pop(component_id, None)

    def wait(self, wait_info: bytes) -> bool:
        self.log.append(("wait", wait_info))
        return True

    def facts(self) -> DeviceFacts:
        return self.device_facts

    def effects(self, kind: str) -> list[tuple[Any, ...]]:
        """The logged effects of one kind, in order."""
        return [entry[1:] for entry in self.log if entry[0] == kind]
