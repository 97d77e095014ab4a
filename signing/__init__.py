"""Signers (software key, PKCS#11, external two-phase), key references and management,
the signing audit log, and key ceremonies. Depends on `suit` only."""
