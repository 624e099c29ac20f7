"""Password hashing with argon2id; verification answers a plain yes or no."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's memory-constrained recommendation is argon2id with 64 MiB and 3 passes: memory
# hardness is what makes GPU guessing expensive, and 3 passes keep it safe at that size.
# Parallelism 2 matches the two-core machines we deploy on, so one login takes about a tenth
# of a second without letting a burst of logins starve the request workers.
TIME_COST = 3
MEMORY_COST_KIB = 65536
PARALLELISM = 2

PRODUCTION_HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

# Looked up at call time rather than bound as a default argument, so a test suite can swap in a
# cheap hasher for speed without touching the code under test.
DEFAULT_HASHER = PRODUCTION_HASHER


def _pick(hasher: PasswordHasher | None) -> PasswordHasher:
    return hasher if hasher is not None else DEFAULT_HASHER


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """Hash a password into an encoded argon2id string that carries its own salt and costs."""
    return _pick(hasher).hash(password)


def verify_password(
    password_hash: str, password: str, hasher: PasswordHasher | None = None
) -> bool:
    """Tell whether `password` matches `password_hash`; a corrupt hash counts as a mismatch."""
    try:
        return _pick(hasher).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher | None = None) -> bool:
    """Tell whether a stored hash was made with other parameters than the current ones."""
    try:
        return _pick(hasher).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
