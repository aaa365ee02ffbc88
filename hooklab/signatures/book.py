"""Secrets registered per bin, applied to each capture on arrival (``lab.secret(...)``).

>>> book = SecretBook()
>>> book.set("github", "s3cret", provider="github")
>>> record = {"path": "/github", "headers": [], "body": b"{}", "kind": "http"}
>>> book.apply(record); record["verified"], record["verify_reason"]
(False, 'missing header X-Hub-Signature-256 (was the webhook created without a secret?)')

The store's writer thread calls :meth:`SecretBook.apply` for every record before it is stored, so
it stays cheap when no secret is registered. Secrets live in memory only: never in the
database, widgets or exports.
"""

from __future__ import annotations

import threading
from typing import Any

from ..capture import bin_of

__all__ = ["SecretBook"]


class SecretBook:
    """bin -> (secret, provider); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_bin: dict[str, tuple[str | bytes, str | None]] = {}

    def set(self, bin: str, secret: str | bytes | None, provider: str | None = None) -> None:
        """Register (or, with ``secret=None``, remove) the secret for ``bin``."""
        with self._lock:
            if secret is None:
                self._by_bin.pop(bin, None)
            else:
                self._by_bin[bin] = (secret, provider)

    def get(self, bin: str) -> tuple[str | bytes, str | None] | None:
        with self._lock:
            return self._by_bin.get(bin)

    def clear(self) -> None:
        with self._lock:
            self._by_bin.clear()

    def __len__(self) -> int:
        return len(self._by_bin)

    def apply(self, record: dict[str, Any]) -> None:
        """Verify ``record`` against its bin's secret (sets ``verified``, ``verify_reason``).

        Some providers (GitLab) send the shared secret itself in a header: it is replaced by
        ``[secret]`` so it is never stored.
        """
        if not self._by_bin or record.get("kind", "http") != "http":
            return
        entry = self.get(record.get("bin") or bin_of(record.get("path") or "/"))
        if entry is None:
            return
        secret, provider = entry
        from . import verify_signature

        v = verify_signature(
            provider or record.get("provider"),
            secret,
            record.get("headers") or [],
            record.get("body") or b"",
            url=record.get("url"),
            now=record.get("received_at"),
        )
        record["verified"] = v.valid
        record["verify_reason"] = v.reason
        plain = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        headers = record.get("headers") or []
        if plain and any(value == plain for _, value in headers):
            record["headers"] = [(k, "[secret]" if value == plain else value) for k, value in headers]
