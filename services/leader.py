"""Leadership across replicas through a PostgreSQL session advisory lock.

The lock belongs to one database session: when the leader's process dies, its connection closes
and PostgreSQL releases the lock at once, so a standby's next try wins. SQLite (development,
one process) has no such lock and every holder is the leader.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """Try to become leader; keep checking that the lock's session is still alive."""

    def __init__(self, engine: Engine, name: str) -> None:
        """Nothing connects until `try_acquire`."""
        self.engine = engine
        self.key = lock_key(name)
        self._conn: Connection | None = None
        self._shared = engine.dialect.name != "postgresql"
        self._held_shared = False

    @property
    def held(self) -> bool:
        """Whether this process believes it holds the lock."""
        return self._conn is not None or (self._shared and self._held_shared)

    def try_acquire(self) -> bool:
        """Take the lock if free; returns True when this process now leads."""
        if self._shared:
            self._held_shared = True
            return True
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            )
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """Check the lock's session; a dropped session means leadership is lost."""
        if self._shared:
            return self._held_shared
        if self._conn is None:
            return False
        try:
            # A session-level advisory lock lasts as long as its session: alive session, held lock.
            self._conn.execute(text("SELECT 1")).scalar()
        except Exception as exc:
            log.warning("leader lock session lost: %s", type(exc).__name__)
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Give up leadership (a standby takes over on its next try)."""
        if self._shared:
            self._held_shared = False
            return
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except Exception:
            log.warning("could not unlock the leader lock; closing its session instead")
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                # The session is gone already; closing it is only tidying up.
                log.debug("closing a lost leader connection failed", exc_info=True)
