"""Profiles and encrypted components in a release project (docs/project-format.md,
"Profiles and encrypted payloads").

`profile = "<name>"` selects the MTI profile (draft-ietf-suit-mti §3): the signers must make
its authentication algorithm, the recipients must fit its key distribution, and encrypted
components use its content encryption. A component with ``encrypt = true`` gets a fresh
content key; the builder then states the plaintext's digest in the manifest (FE §6.2: with
AES-CTR the image digest is the only integrity check) and writes the ciphertext where the
device fetches it: integrated under ``#<name>``, or detached beside the envelope.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric import x25519

import fileio
from signing.errors import WrongKeyType, WrongRecipientKey
from signing.pin import PinProvider
from signing.recipients import open_recipient
from signing.signer import Signer
from suit.cose import algorithm_name
from suit.digest import digest_of
from suit.encrypt import DeviceKey, Randomness, Recipient, Setup, prepare
from suit.encrypt_stream import encrypt_chunks
from suit.model import Digest
from suit.profiles import Profile, UnknownProfile, profile
from workbench.project import values
from workbench.project.errors import BuildError, ImageError, ProjectFileError
from workbench.project.model import Component, Project
from workbench.project.paths import project_file
from workbench.project.resolve import EncryptedComponent, Resolved, read_payload

logger = logging.getLogger(__name__)

#: Opens one recipient (reference, kid) for a build; token sessions close with the stack.
RecipientOpener = Callable[[str, "bytes | None", ExitStack], Recipient]
_SHA256_NAME: Final = "sha256"
_CHUNK: Final = 1 << 20  # detached images stream in 1 MiB chunks, as image digests do
_HASH_NAMES: Final = {-16: "sha256", -43: "sha384", -44: "sha512"}


@dataclass(frozen=True)
class EncryptionOptions:
    """How a build encrypts.

    Attributes:
        pins: Asked for the PIN of a token holding a KEK.
        randomness: The CEK/IV/ephemeral-key source (tests state them; default: the OS).
    """

    pins: PinProvider | None = None
    randomness: Randomness | None = None


def project_profile(project: Project) -> Profile | None:
    """The project's profile, checked against its digest algorithm.

    Raises:
        ProjectFileError: an unknown profile, or a digest the profile does not use.
    """
    if project.profile is None:
        return None
    try:
        chosen = profile(project.profile)
    except UnknownProfile as exc:  # reported at the project member
        raise ProjectFileError("profile", str(exc), hint=exc.hint) from exc
    if project.digest_algorithm != _SHA256_NAME:
        raise ProjectFileError("digest-algorithm", f"{chosen.name} digests with sha256, "
                               f"not {project.digest_algorithm}", hint="Remove digest-algorithm.")
    return chosen


def check_signers(chosen: Profile | None, signers: Sequence[Signer]) -> None:
    """MTI §3: the authentication block uses the profile's algorithm.

    Raises:
        WrongKeyType: a signer that makes another algorithm.
    """
    if chosen is None:
        return
    for signer in signers:
        made = signer.identity.algorithm.algorithm
        if made != chosen.auth:
            raise WrongKeyType(signer.identity.key_reference, algorithm_name(made),
                               f"{algorithm_name(chosen.auth)} (profile {chosen.name})")


def check_recipient(chosen: Profile, recipient: Recipient, name: str) -> None:
    """FE §5 / MTI §3: the recipient's key fits the profile's key distribution.

    Raises:
        WrongRecipientKey: e.g. a KEK for an ECDH profile, an X25519 key for an ESP256 one.
    """
    wanted = f"{algorithm_name(chosen.key_exchange)} (profile {chosen.name})"
    if isinstance(recipient, DeviceKey):
        curve = "X25519" if isinstance(recipient.public_key, x25519.X25519PublicKey) else "P-256"
        if curve != chosen.ecdh_curve:
            raise WrongRecipientKey(name, f"{curve} device key", wanted + (
                f" with a {chosen.ecdh_curve} device key" if chosen.ecdh_curve else ""))
        return
    if chosen.ecdh_curve is not None:
        raise WrongRecipientKey(name, "key-encryption key", wanted + f" with a {chosen.ecdh_curve} device key")
    if recipient.algorithm != chosen.key_exchange:
        raise WrongRecipientKey(name, f"{algorithm_name(recipient.algorithm)} key-encryption key", wanted)


def encrypt_components(project: Project, resolved: Resolved, stack: ExitStack,
                       options: EncryptionOptions, opener: RecipientOpener | None = None) -> Resolved:
    """Encrypt every ``encrypt = true`` component; the ciphertext replaces an integrated
    payload, and `Resolved.encrypted` carries each encryption info for the generator."""
    chosen = project_profile(project)
    encrypted = [(i, c) for i, c in enumerate(project.components) if c.encrypt]
    if not encrypted:
        return resolved
    if chosen is None:
        raise ProjectFileError("profile", "encrypted components need the project's profile",
                               hint="Add profile = \"suit-sha256-esp256-ecdh-a128gcm\" (or another MTI profile).")

    def default_opener(ref: str, kid: bytes | None, owner: ExitStack) -> Recipient:
        return open_recipient(project_ref(project, ref), kid, options.pins, owner)
    open_one = opener or default_opener
    out: dict[str, EncryptedComponent] = {}
    payloads = dict(resolved.payloads)
    for i, c in encrypted:
        where = f"component[{i}] ({c.name})"
        recipients = [_recipient(chosen, item, f"{where}.recipients[{k}]", stack, open_one)
                      for k, item in enumerate(c.recipients)]
        if not recipients:
            raise ProjectFileError(f"{where}.recipients", "an encrypted component needs recipients",
                                   hint="Give recipients = [\"device.pub.pem\"] or a key-encryption key.")
        setup = prepare(chosen.encryption, recipients, options.randomness)
        out[c.name] = _encrypted(project, c, where, setup)
        if c.integrated:
            payloads[f"#{c.name}"] = out[c.name].ciphertext or b""
        logger.info("encrypted %s with %s for %d recipient(s)", c.name,
                    algorithm_name(chosen.encryption), len(recipients))
    return dataclasses.replace(resolved, encrypted=out, payloads=payloads)


def _encrypted(project: Project, c: Component, where: str, setup: Setup) -> EncryptedComponent:
    """Held whole when it goes into the manifest or envelope; a detached image is only
    digested here, streaming, and encrypted again when written (`detached_chunks`)."""
    algorithm = values.DIGEST_NAMES[project.digest_algorithm]
    source = _source(project, c, where)
    if source is None or c.integrated:
        plaintext = values.parse_bytes(str(c.content), f"{where}.content") if source is None \
            else read_payload(project, str(c.image.file if c.image else ""), f"{where}.image.file")
        ciphertext = b"".join(encrypt_chunks(setup, [plaintext]))
        return EncryptedComponent(setup.detached_info(), digest_of(ciphertext, algorithm),
                                  ciphertext, ciphertext_size=len(ciphertext))
    digest, size = _digest_stream(encrypt_chunks(setup, _file_chunks(source)), algorithm)
    return EncryptedComponent(setup.detached_info(), digest, None, setup, source, size)


def detached_chunks(encrypted: EncryptedComponent) -> Iterator[bytes]:
    """The detached ciphertext again, chunk by chunk (the same CEK and IV as its digest)."""
    if encrypted.setup is None or encrypted.source is None:
        raise BuildError("encrypted payload", "not a detached image")
    return encrypt_chunks(encrypted.setup, _file_chunks(encrypted.source))


def _file_chunks(path: Path) -> Iterator[bytes]:
    try:
        with fileio.open_regular(path) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    except OSError as exc:
        raise ImageError(str(path), exc.strerror or str(exc)) from exc
    except fileio.FileAccessError as exc:
        raise ImageError(str(path), exc.problem, hint=exc.hint) from exc


def _digest_stream(chunks: Iterator[bytes], algorithm: int) -> tuple[Digest, int]:
    hasher = hashlib.new(_HASH_NAMES[algorithm])
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return Digest(algorithm, hasher.digest()), size


def project_ref(project: Project, ref: str) -> str:
    """A key reference with a relative file path taken from the project's folder."""
    # A recipient's key never lands in the envelope (only the wrapped CEK does), so it may
    # live outside the project folder, as signing keys do.
    return ref if ref.startswith("pkcs11:") else str(project.folder / ref)


def _recipient(chosen: Profile, item: str | dict[str, str], where: str, stack: ExitStack,
               open_one: RecipientOpener) -> Recipient:
    if isinstance(item, str):
        ref, kid = item, None
    else:
        unknown = set(item) - {"key", "kid"}
        if "key" not in item or unknown:
            raise ProjectFileError(where, "a recipient table has key = \"...\" and an optional kid")
        ref, kid = item["key"], item.get("kid")
    recipient = open_one(ref, kid.encode() if kid is not None else None, stack)
    check_recipient(chosen, recipient, where if ref.startswith("pkcs11:") else ref)
    return recipient


def _source(project: Project, c: Component, where: str) -> Path | None:
    """The plaintext image file; None for encrypted content."""
    if c.slots or c.mcuboot is not None:
        raise BuildError(where, "encrypting A/B slots or MCUboot images is not supported",
                         hint="Encrypt a plain image fetched into a staging component.")
    if c.content is not None:
        return None
    if c.image is None or c.image.file is None:
        raise ProjectFileError(f"{where}.image", "an encrypted image needs its file (the plaintext)")
    # FE §4: the device decrypts while copying (or writing); a fetched ciphertext lands in
    # a staging component first (FE "suit-manifest-aes-kw" example: fetch, then copy).
    if c.staging is None:
        raise ProjectFileError(f"{where}.staging", "an encrypted image is fetched into a "
                               "staging component and decrypted by the copy from it",
                               hint="Add a staging component (id h'01'...) and staging = \"its name\".")
    return project_file(project, c.image.file, f"{where}.image.file")
