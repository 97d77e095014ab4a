"""The signing package's errors, all under `SigningError` (architecture.md, "Errors").

Each error carries fields rather than a pre-formatted string and a one-line hint. None of
them ever holds a PIN or passphrase: messages name keys by their redacted reference.
"""

from __future__ import annotations

from fileio import FileAccessError
from suit.errors import WorkbenchError


class SigningError(WorkbenchError):
    """Root of everything the signing package raises on purpose."""


class KeyReferenceError(SigningError):
    """A key reference that cannot be parsed (neither a file path nor a PKCS#11 URI).

    Attributes:
        problem: What was wrong with it.
    """

    default_hint = ("Name a key as a file path or as pkcs11:token=LABEL;object=KEY"
                    "?module-path=/path/to/module.so")

    def __init__(self, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"bad key reference: {problem}", hint=hint)
        self.problem = problem


class KeyFileError(SigningError):
    """A key file that is missing, unreadable or not a supported key.

    Attributes:
        path: The file.
        problem: What was wrong.
    """

    default_hint = "Give a PEM private key (optionally passphrase-protected) or a COSE_Key file."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class PinUnavailable(SigningError):
    """No PIN or passphrase could be obtained (no provider, empty source file, cancelled)."""

    default_hint = ("Put pin-source=file:PATH in the key URI, set SUITWB_PIN, or run "
                    "interactively to be asked.")


class PinIncorrect(SigningError):
    """The token or key file refused the PIN or passphrase.

    Attributes:
        where: The token label or key file (never the PIN).
    """

    default_hint = "Check the PIN; repeated wrong PINs can lock the token."

    def __init__(self, where: str, *, hint: str | None = None) -> None:
        super().__init__(f"{where}: PIN or passphrase incorrect", hint=hint)
        self.where = where


class PinLocked(SigningError):
    """The token's user PIN is locked after too many wrong attempts."""

    default_hint = "Ask the token's security officer to reset the user PIN."


class ModuleNotFound(SigningError):
    """A PKCS#11 module that cannot be loaded.

    Attributes:
        module_path: The path we tried.
    """

    default_hint = ("Install the module (Debian: apt install softhsm2) or give its path "
                    "with module-path= in the URI or --module.")

    def __init__(self, module_path: str, problem: str = "cannot be loaded") -> None:
        super().__init__(f"PKCS#11 module {module_path}: {problem}")
        self.module_path = module_path


class TokenNotFound(SigningError):
    """No token matches the reference's token attributes.

    Attributes:
        token: What was asked for (label, serial...).
    """

    default_hint = "List the tokens with `suitwb keys list` and check token= in the URI."

    def __init__(self, token: str, *, problem: str = "no such token") -> None:
        super().__init__(f"{problem}: {token}")
        self.token = token


class KeyNotFound(SigningError):
    """No key (or more than one) matches the reference.

    Attributes:
        key: The redacted reference.
        problem: ``no such key`` or ``several keys match``.
    """

    default_hint = "List the keys with `suitwb keys list` and check object= / id= in the URI."

    def __init__(self, key: str, problem: str = "no such key") -> None:
        super().__init__(f"{problem}: {key}")
        self.key = key
        self.problem = problem


class KeyExists(SigningError):
    """Generating a key whose label or id is already on the token."""

    default_hint = "Choose another object= label, or delete the old key with the token's tools."


class MechanismUnsupported(SigningError):
    """The token lacks a mechanism the algorithm needs.

    Attributes:
        mechanism: The PKCS#11 mechanism name.
    """

    default_hint = "Use a key on a token that supports it, or a different --alg."

    def __init__(self, mechanism: str, where: str) -> None:
        super().__init__(f"{where}: mechanism {mechanism} is not supported")
        self.mechanism = mechanism


class TokenRemoved(SigningError):
    """The token went away (or the session was lost) in the middle of an operation."""

    default_hint = "Reconnect the token and run the command again; nothing was written."


class TokenError(SigningError):
    """Any other PKCS#11 failure, translated at the backend edge.

    Attributes:
        operation: What we were doing.
        reason: The PKCS#11 error class name.
    """

    default_hint = "Check the token with its vendor tools; nothing was written."

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"PKCS#11 {operation} failed: {reason}")
        self.operation = operation
        self.reason = reason


class WrongKeyType(SigningError):
    """A key that cannot make the requested algorithm's signatures.

    Attributes:
        key: The redacted reference.
        key_type: What the key is (``P-256``, ``Ed25519``, ``HMAC secret``...).
        algorithm: The requested COSE algorithm name.
    """

    default_hint = "Pick --alg to match the key (P-256: ESP256/ES256, P-384: ESP384/ES384, " \
                   "Ed25519: Ed25519/EdDSA, secret: HMAC-256-256)."

    def __init__(self, key: str, key_type: str, algorithm: str) -> None:
        super().__init__(f"{key}: a key of type {key_type} cannot sign {algorithm}")
        self.key = key
        self.key_type = key_type
        self.algorithm = algorithm


class ExportRefused(SigningError):
    """Asked to export a private or secret key: only public keys leave the workbench."""

    default_hint = "Export the public key instead; private and secret keys never leave the token."


class BlockExists(SigningError):
    """An authentication block for the same kid is on the envelope and the policy is refuse.

    Attributes:
        kid: The key identifier, hex.
    """

    default_hint = "Use --policy replace to re-sign, or --policy append to keep both."

    def __init__(self, kid: bytes) -> None:
        super().__init__(f"the envelope already has an authentication block for kid {kid.hex()}")
        self.kid = kid


class ExternalSignatureInvalid(SigningError):
    """An imported signature that does not verify against the given public key."""

    default_hint = ("Sign exactly the exported to-be-signed bytes with the private half of "
                    "--key, then import again.")
    exit_status = 1


class OutputError(SigningError, FileAccessError):
    """A file we write could not be written or may not be replaced (nothing was left
    half-written). A `fileio.FileAccessError` too, so callers may catch either.

    Attributes:
        path: The file.
        problem: What was wrong.
    """

    default_hint = "Check that the directory exists and is writable."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        FileAccessError.__init__(self, path, problem, hint=hint)


class AuditError(SigningError):
    """The audit log cannot be opened or written."""

    default_hint = "Check SUITWB_DATA_DIR or the user data directory; nothing was signed."


class AuditChainBroken(AuditError):
    """The audit log's hash chain does not hold: a record was edited, deleted or reordered.

    Attributes:
        record: The sequence number of the first bad record.
        problem: What does not hold there.
    """

    default_hint = "Treat the log as tampered with; compare it with your backup."
    exit_status = 1

    def __init__(self, record: int, problem: str) -> None:
        super().__init__(f"audit record {record}: {problem}")
        self.record = record
        self.problem = problem


class AuditAnchorError(AuditError):
    """The audit log's anchor (the chain head kept in a token) is misnamed or unusable."""

    default_hint = ("Name the anchor as pkcs11:token=LABEL;object=NAME with pin-source= or "
                    "SUITWB_PIN (docs/signing.md, \"The audit log\").")


class EnvelopeFileError(SigningError):
    """The envelope to sign cannot be read.

    Attributes:
        path: The file.
    """

    default_hint = "Give the path of a SUIT envelope (.suit / .cbor)."

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class StatefulKeyRefused(SigningError):
    """An HSS-LMS private key that must not sign: using it could reuse a one-time key,
    which lets anybody forge signatures (RFC 8554 §9).

    Attributes:
        path: The key's state file.
        problem: Why it is refused.
    """

    exit_status = 1
    default_hint = "See docs/signing.md, \"Stateful HSS-LMS keys\"."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class KeyStateRestored(StatefulKeyRefused):
    """The state is older than what this machine's journal recorded: a backup put back."""

    default_hint = ("Never restore a stateful key from a backup: the indices signed since "
                    "would be used again. Generate a new key (docs/signing.md).")


class KeyStateCopied(StatefulKeyRefused):
    """The state was made for another file or machine, or this machine never saw it."""

    default_hint = ("A stateful key signs from the one file it was generated as; copies "
                    "would reuse indices. Generate a key on each signing machine.")


class KeyStateAltered(StatefulKeyRefused):
    """The state says something else than what this machine's journal recorded when it was
    written (serial and id equal, remaining signatures not): damaged or edited since."""

    default_hint = ("The state file changed after it was written; signing with it could "
                    "reuse indices. Generate a new key (docs/signing.md).")


class KeyExhausted(StatefulKeyRefused):
    """Every one-time index of the key has been used."""

    default_hint = "Generate a new HSS-LMS key (more levels last longer) and distribute it."


class WrongRecipientKey(SigningError):
    """A key that cannot receive an encrypted payload as asked (FE §5; MTI §3 profiles).

    Attributes:
        key: The redacted reference.
        key_type: What the key is (``P-384``, ``HMAC secret``, ``24-byte secret``...).
        wanted: What the profile's key distribution needs.
    """

    default_hint = ("The profile decides: ECDH profiles take the device's P-256 (ESP256) or "
                    "X25519 (Ed25519) public key; AES-KW profiles a 16-byte (A128KW) or "
                    "32-byte (A256KW) key-encryption key.")

    def __init__(self, key: str, key_type: str, wanted: str) -> None:
        super().__init__(f"{key}: a {key_type} cannot be a recipient for {wanted}")
        self.key = key
        self.key_type = key_type
        self.wanted = wanted
