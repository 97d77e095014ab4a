"""Key ceremonies: a declarative ceremony file drives a witnessed, M-of-N key birth in a
PKCS#11 token, recorded in a hash-chained, signed transcript (docs/ceremonies.md)."""
