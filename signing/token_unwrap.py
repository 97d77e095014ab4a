"""A key-encryption key that stays in a PKCS#11 token and unwraps content keys there.

Satisfies `suit.encryption.KeyUnwrapper` (FE §5.1, AES-KW): the wrapped content key goes
to the token, which unwraps it with CKM_AES_KEY_WRAP (RFC 3394) into a session object; only
the content key (fresh per payload) comes out, never the KEK. The virtual device uses it
for `suitwb device serve --decryption-key pkcs11:...`.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11

from signing.keyref import Pkcs11Uri
from signing.pin import PinProvider
from signing.token import find_key, token_session, translated
from suit.cose import CoseAlgorithm
from suit.encryption import DecryptionError

logger = logging.getLogger(__name__)

_KEK_BYTES: Final = {CoseAlgorithm.A128KW: 16, CoseAlgorithm.A192KW: 24,
                     CoseAlgorithm.A256KW: 32}
#: The token's answers to a wrapped key that does not unwrap under this KEK (RFC 3394's
#: integrity check failed): a wrong key, not a broken token.
_NOT_THIS_KEY: Final = (p11.WrappedKeyInvalid, p11.EncryptedDataInvalid, p11.WrappedKeyLenRange,
                        p11.FunctionFailed, p11.GeneralError)


class TokenKeyUnwrapper:
    """Unwraps with the secret key the URI names (object= and/or id=).

    Args:
        uri: The key's PKCS#11 URI (with pin-source or pin-value for a device that runs
            unattended).
        pins: Where a PIN comes from when the URI gives none.
    """

    def __init__(self, uri: Pkcs11Uri, pins: PinProvider | None = None) -> None:
        self.uri = uri
        self.pins = pins

    def unwrap(self, algorithm: int, wrapped: bytes) -> bytes:
        """The content key `wrapped` holds (algorithm: A128KW, A192KW or A256KW).

        Raises:
            DecryptionError: this KEK does not unwrap it (or is of another size).
            SigningError: the token or the key cannot be used.
        """
        with token_session(self.uri, self.pins) as session:
            kek = find_key(session, self.uri, "secret-key")
            expected = _KEK_BYTES.get(CoseAlgorithm(algorithm))
            with translated("read key length", self.uri.redacted()):
                length = kek[Attribute.VALUE_LEN]
            if expected != length:
                raise DecryptionError(f"the token's {length}-byte KEK is not for algorithm "
                                      f"{algorithm}")
            return _unwrap(kek, wrapped, self.uri.redacted())


def _unwrap(kek: Any, wrapped: bytes, where: str) -> bytes:
    try:
        cek = kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, wrapped,
                             mechanism=Mechanism.AES_KEY_WRAP, store=False,
                             template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})
    except _NOT_THIS_KEY as exc:
        logger.info("%s: the token did not unwrap the content key (%s)", where,
                    type(exc).__name__)
        raise DecryptionError(f"{where} does not unwrap the content key") from exc
    with translated("read the unwrapped key", where):
        value: bytes = bytes(cek[Attribute.VALUE])
    return value
