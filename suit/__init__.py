"""The SUIT format core: model, codec, COSE structures, verification, renderings and the
manifest processor. Bytes in, bytes out: no Qt, no PKCS#11, no serial ports, no files."""
