"""The platform's IRP key pair, kept in the ledger: made once, the same for a restarted process and for a second
process on the same ledger (clients keep the public key they were given)."""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from taxstorm.mock_platform.dialects.irp.crypto import load_private_key, new_private_key_pem
from taxstorm.mock_platform.store.db import Database

PRIVATE_KEY = "irp_private_key"


class PlatformKey:
    """Loads (or makes and stores) the key on first use."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def __call__(self) -> RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = load_private_key(self._pem())
            return self._key

    def _pem(self) -> str:
        row = self._db.peek("SELECT value FROM meta WHERE name = ?", (PRIVATE_KEY,))
        if row is not None:
            return str(row[0])
        made = new_private_key_pem()
        with self._db.write() as tx:
            if tx.one("SELECT value FROM meta WHERE name = ?", (PRIVATE_KEY,)) is None:  # another process may have
                tx.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (PRIVATE_KEY, made))
        row = self._db.peek("SELECT value FROM meta WHERE name = ?", (PRIVATE_KEY,))
        assert row is not None
        return str(row[0])
