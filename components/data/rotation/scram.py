"""PostgreSQL SCRAM-SHA-256 password verifiers, computed where the password is generated.

Why compute them here: the bootstrap Job sets each role's password *as a verifier*, so no
plain password ever reaches PostgreSQL (or its statement log), and PgBouncer can be handed the
very same verifier by its `auth_query`. SCRAM pass-through only works when PgBouncer's verifier
and the server's are byte-identical (same salt, same iterations), which a server-side hash of
the plain password would never be. RDS denies `pg_shadow` even to its master user, so reading
the server's verifier back is not an option there.

Format (PostgreSQL's `scram_build_secret`, RFC 5802 / 7677):
`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

#: PostgreSQL's default (`scram_iterations`, 4096 up to and including 16).
ITERATIONS = 4096
SALT_BYTES = 16


def scram_verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """The verifier PostgreSQL would store for `password`. Generated passwords are printable
    ASCII, which SASLprep leaves unchanged; anything else is refused rather than mis-hashed."""
    if not password.isascii() or not password.isprintable():
        raise ValueError("SCRAM verifiers are computed for printable ASCII passwords only (SASLprep)")
    if len(salt) < SALT_BYTES:
        raise ValueError(f"salt must be at least {SALT_BYTES} bytes")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
