"""Keyed pseudonyms (HMAC-SHA256) computed set-based in DuckDB.

HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)), K' = K padded to SHA-256's 64-byte block.
The two padded keys are passed as query parameters, so the key never appears in SQL text or error messages.
"""

from __future__ import annotations

import hashlib

BLOCK_SIZE = 64


def hmac_pads(key: bytes) -> dict[str, str]:
    """The inner and outer padded keys as hex, ready to bind as $hmac_ipad / $hmac_opad."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\0")
    return {
        "hmac_ipad": bytes(b ^ 0x36 for b in key).hex(),
        "hmac_opad": bytes(b ^ 0x5C for b in key).hex(),
    }


def hmac_sql(expression: str) -> str:
    """SQL for the hex HMAC-SHA256 of a VARCHAR expression; bind the parameters from hmac_pads()."""
    inner = f"unhex(sha256(unhex($hmac_ipad) || encode({expression})))"
    return f"sha256(unhex($hmac_opad) || {inner})"
