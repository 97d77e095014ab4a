"""What each kind of step does (the ``action`` of a step in the ceremony file).

Each function takes the runner and the step, does its work in the token or on disk,
records entries in the transcript, and returns the facts the participants check aloud
before confirming (the HSM serial, a key's fingerprint, the share files).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from pkcs11 import Attribute, ObjectClass

from signing.ceremony import hsm
from signing.ceremony.bundle import bundle_pem, keyset
from signing.ceremony.context import StepContext
from signing.ceremony.errors import CeremonyError
from signing.ceremony.model import Step
from signing.ceremony.rotation import rotation_envelope
from signing.ceremony.shamir import split
from signing.ceremony.shares import (
    USER_PIN,
    ShareFile,
    TokenRef,
    pin_check,
    read_share_file,
    rebuild_secret,
)
from signing.cose_key import thumbprint
from signing.files import write_atomic
from signing.keyref import Pkcs11Uri
from signing.pin import FixedPinProvider
from signing.token import translated
from signing.token_keys import export_public_key, generate_key
from signing.token_signer import open_pkcs11_signer
from suit.keys import TrustAnchor, encode_cose_key
from suit.verify import verify_envelope

Action = Callable[[StepContext, Step], dict[str, Any]]
#: Attributes read back from a new private key, to prove in the transcript what it is.
_KEY_ATTRIBUTES: Final = {"sensitive": Attribute.SENSITIVE, "extractable": Attribute.EXTRACTABLE,
                          "always_sensitive": Attribute.ALWAYS_SENSITIVE,
                          "never_extractable": Attribute.NEVER_EXTRACTABLE,
                          "local": Attribute.LOCAL, "token_object": Attribute.TOKEN}


def write_output(runner: StepContext, step: Step, name: str, data: bytes,
                 mode: int = 0o644, **extra: Any) -> Path:
    """Write an output file atomically and record its SHA-256 as an artefact entry."""
    path = runner.out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=mode)
    runner.state.outputs[name] = path
    runner.record("artefact", step.id, {"file": name, "sha256": hashlib.sha256(data).hexdigest(),
                                        "size": len(data), **extra})
    return path


def read_step(runner: StepContext, step: Step) -> dict[str, Any]:
    """``read``: nothing to do but be read aloud and confirmed."""
    return {}


def record_hsm(runner: StepContext, step: Step) -> dict[str, Any]:
    """``record-hsm``: choose the uninitialised token and record the HSM's identity."""
    spec = runner.ceremony.hsm
    if runner.state.token is None:
        runner.state.token = hsm.find_blank_token(spec.module, spec.serial)
    identity = hsm.identity_of(spec.module, runner.state.token)
    runner.record("hsm", step.id, identity.as_record())
    return identity.as_record()


def init_token(runner: StepContext, step: Step) -> dict[str, Any]:
    """``init-token``: initialise the token with a destroyed SO PIN and a temporary user
    PIN, and log in (see runner.py on the commit point)."""
    spec = runner.ceremony.hsm
    token = runner.state.token or hsm.find_blank_token(spec.module, spec.serial)
    temporary = hsm.random_pin()
    # The SO PIN lives only for these two calls: nobody can reset the user PIN later.
    token = hsm.initialise_token(spec.module, token, spec.token_label, hsm.random_pin(), temporary)
    runner.state.token = token
    runner.state.temporary_pin = temporary
    runner.state.session = hsm.open_user_session(token, temporary)
    identity = hsm.identity_of(spec.module, token)
    runner.state.identity = identity
    runner.record("hsm", step.id, {**identity.as_record(), "initialised": True,
                                   "label": spec.token_label, "so_pin": "random, destroyed"})
    return {"token": spec.token_label, "serial": identity.serial}


def generate(runner: StepContext, step: Step) -> dict[str, Any]:
    """``generate-key``: generate the key pair inside the token, sensitive and
    non-extractable, and record the attributes the token reports for it."""
    spec = runner.ceremony.key(str(step.key))
    uri = runner.signing_uri(spec.label)
    info = generate_key(runner.state.session, Pkcs11Uri({"object": spec.label}), spec.kind)
    runner.state.key_ids[spec.label] = info.key_id
    attributes = _private_attributes(runner.state.session, info.key_id, uri)
    facts = {"label": spec.label, "algorithm": spec.algorithm.name, "kind": spec.kind,
             "id": info.key_id.hex(), **attributes}
    runner.record("key", step.id, facts)
    if attributes["extractable"] or not attributes["sensitive"]:
        raise CeremonyError(f"the token made key {spec.label} extractable or not sensitive")
    return facts


def _private_attributes(session: Any, key_id: bytes, uri: Pkcs11Uri) -> dict[str, bool]:
    with translated("key attribute read-back", uri.redacted()):
        key = next(iter(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                             Attribute.ID: key_id})))
        return {name: bool(key[attr]) for name, attr in _KEY_ATTRIBUTES.items()}


def export_public(runner: StepContext, step: Step) -> dict[str, Any]:
    """``export-public``: the public key as PEM, COSE_Key (kid = CKA_ID) and the
    trust-anchor bundle (every key exported so far)."""
    label = str(step.key)
    uri = runner.signing_uri(label).with_type("public")
    public, key_id = export_public_key(runner.state.session, uri)
    cose_key = encode_cose_key(public, key_id)
    anchor = TrustAnchor.from_cose_key(cose_key, label)  # our own output must load as one
    write_output(runner, step, f"{label}.pem", bundle_pem([public]), key=label, format="PEM")
    write_output(runner, step, f"{label}.cose_key", cose_key, key=label, format="COSE_Key",
                 cose_key=cose_key.hex())
    exported = runner.state.public_keys
    exported[label] = (public, key_id)
    write_output(runner, step, "trust-anchors.pem", bundle_pem([k for k, _ in exported.values()]),
                 format="trust-anchor bundle (PEM)")
    write_output(runner, step, "trust-anchors.cbor", keyset(list(exported.values())),
                 format="trust-anchor bundle (COSE_KeySet)")
    return {"key": label, "kid": key_id.hex(), "curve": anchor.curve,
            "thumbprint": thumbprint(public).hex()}


def split_pin(runner: StepContext, step: Step) -> dict[str, Any]:
    """``split-pin``: make the final user PIN and give each custodian a share of it."""
    ceremony, identity = runner.ceremony, runner.state.identity
    if identity is None:
        raise CeremonyError("split-pin before init-token")
    final = hsm.random_pin()
    runner.state.final_pin = final
    custodians = ceremony.roles.custodians
    shares = split(final.encode("ascii"), ceremony.threshold, len(custodians))
    token = TokenRef(ceremony.hsm.module, ceremony.hsm.token_label, identity.serial,
                     tuple(k.label for k in ceremony.keys))
    check = pin_check(runner.instance, USER_PIN, final)
    files = {}
    for custodian, share in zip(custodians, shares, strict=True):
        share_file = ShareFile(runner.instance, ceremony.name, custodian, token,
                               {USER_PIN: share}, {USER_PIN: check})
        name = f"shares/{_slug(custodian)}.share.json"
        # Owner-only: a share is a secret until it is on the custodian's own medium.
        write_output(runner, step, name, share_file.to_json(), mode=0o600,
                     custodian=custodian, share_index=share.index)
        files[custodian] = name
    return {"threshold": ceremony.threshold, "shares": len(custodians), "files": files}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "custodian"


def sign_rotation(runner: StepContext, step: Step) -> dict[str, Any]:
    """``sign-rotation``: the old key's custodians bring their shares; the old key signs
    the envelope that installs the new key as trust anchor."""
    rotation = runner.ceremony.rotation
    if rotation is None:  # the file check refuses this; kept for type narrowing
        raise CeremonyError("sign-rotation needs a [rotation] table")
    files = [read_share_file(p) for p in runner.participants.old_shares(runner.prompt())]
    pin = rebuild_secret(files)
    runner.record("old-key-unlocked", step.id, {
        "custodians": sorted({f.custodian for f in files}), "old_ceremony": files[0].ceremony,
        "old_instance": files[0].instance})
    old_uri = Pkcs11Uri({"token": rotation.old_token_label, "object": rotation.old_key_label,
                         "type": "private"}, module_path=rotation.old_module)
    new_pem = runner.state.outputs[f"{rotation.new_key}.pem"].read_bytes()
    signer = open_pkcs11_signer(old_uri, None, FixedPinProvider(pin))
    try:
        envelope = rotation_envelope(new_pem, rotation.sequence_number, rotation.vendor_id,
                                     rotation.class_id, signer)
        old_public = signer.identity.public_key
    finally:
        signer.close()
    old_anchor = TrustAnchor("old key", public_key=old_public)
    if not verify_envelope(envelope, [old_anchor]).ok:
        raise CeremonyError("the rotation envelope does not verify with the old key")
    write_output(runner, step, "rotation.suit", envelope, format="SUIT envelope",
                 sequence_number=rotation.sequence_number,
                 old_key=thumbprint(old_public).hex() if old_public else None)
    return {"envelope": "rotation.suit", "sequence_number": rotation.sequence_number,
            "old_key_thumbprint": thumbprint(old_public).hex() if old_public else None}


ACTION_FUNCTIONS: Final[dict[str, Action]] = {
    "read": read_step, "record-hsm": record_hsm, "init-token": init_token,
    "generate-key": generate, "export-public": export_public, "split-pin": split_pin,
    "sign-rotation": sign_rotation}
