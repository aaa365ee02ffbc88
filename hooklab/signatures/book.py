"""Secrets registered per bin, applied to each capture on arrival (``lab.secret(...)``).

>>> book = SecretBook()
>>> book.set("github", "s3cret", provider="github")
>>> record = {"path": "/github", "headers": [], "body": b"{}", "kind": "http"}
>>> book.apply(record); record["verified"], record["verify_reason"]
(False, 'missing header X-Hub-Signature-256 (was the webhook created without a secret?)')

The store's writer thread calls :meth:`SecretBook.apply` for every record before it is stored, so
it stays cheap when no secret is registered. The capture server answers endpoint handshakes with
the same book (:func:`hooklab.providers.handshake_answer`: verify tokens, secrets handed over by
Asana and Notion). Secrets live in memory only: never in the database, widgets or exports.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..capture import Capture, bin_of, redact_record
from ..providers import TABLE, BinSecrets, describe

__all__ = ["MARK", "SecretBook"]

#: what a registered secret is stored as (never the secret itself)
MARK = "[secret]"


def _verify(provider: str | None, secret: str | bytes, headers: Any, body: bytes,
            url: str | None, method: str = "POST", now: Any = None) -> tuple[bool, str]:
    from . import verify_signature

    v = verify_signature(provider, secret, headers, body, url=url, now=now, method=method)
    return v.valid, v.reason


def _standard_key(secret: str | bytes) -> bytes:
    from ._hmac import swh_key

    return swh_key(secret, raw_fallback=True)


class SecretBook(BinSecrets):
    """bin -> (secret, provider, verify_token); thread-safe. Verifies on arrival."""

    def __init__(self) -> None:
        super().__init__()
        self.verifier = _verify
        self.standard_key = _standard_key

    def apply(self, record: dict[str, Any]) -> None:
        """Verify ``record`` against its bin's secret (sets ``verified``, ``verify_reason``).

        A bin registered with a provider names the sender (Clerk sends Svix's headers: the
        capture says ``clerk``). A verification already settled by a handshake is kept. Some
        providers (GitLab, Okta, Asana's handshake, Basic auth) send the shared secret itself
        in a header: it is replaced by ``[secret]`` so it is never stored. A record that
        cannot be scrubbed raises (the store refuses it rather than keep a secret); one that
        cannot be verified is stored unverified, with the reason.
        """
        if not self:
            return
        if record.get("kind", "http") != "http":  # (a WebSocket frame: nothing to verify)
            self.scrub(record)
            return
        entry = self.get(record.get("bin") or bin_of(record.get("path") or "/"))
        if entry is None:
            self.scrub(record)  # (another bin's secret, sent here)
            return
        secret, provider = entry.secret, entry.provider
        headers = record.get("headers") or []
        try:
            if provider in TABLE and record.get("provider") != provider \
                    and not record.get("handshake"):
                record["provider"] = provider
                record["event_type"], record["delivery_id"] = describe(
                    provider, headers, record.get("body") or b"", record.get("query"))
            if secret and record.get("verify_reason") is None:
                record["verified"], record["verify_reason"] = _verify(
                    provider or record.get("provider"), secret, headers,
                    record.get("body") or b"", record.get("signed_url") or record.get("url"),
                    str(record.get("method") or "POST"), record.get("received_at"))
        except Exception as exc:  # noqa: BLE001 - verifying is best effort, scrubbing is not
            record["verified"] = False
            record["verify_reason"] = f"could not be verified ({type(exc).__name__})"
        plain = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        if plain:  # (the scheme stays: forward and replay give the value back, restored())
            forms = {plain: MARK, f"Bearer {plain}": f"Bearer {MARK}",
                     "Basic " + base64.b64encode(plain.encode("utf-8", "surrogatepass")).decode():
                         f"Basic {MARK}"}
            if any(value in forms for _, value in headers):
                record["headers"] = [(k, forms.get(value, value)) for k, value in headers]
        self.scrub(record, headers)

    def restored(self, capture: Capture) -> Capture:
        """``capture`` as its sender sent it, for forward and replay: where the secret or verify
        token registered for its bin was stored as ``[secret]`` (a shared token in a header,
        ``Basic``/``Bearer`` credentials, Meta's ``hub.verify_token`` in the query), the value
        is given back; a target that checks the token then accepts it. Unchanged when its bin
        has none (or the capture holds no mark).

        >>> book = SecretBook()
        >>> book.set("gitlab", "tok-123", provider="gitlab")
        >>> rec = {"path": "/gitlab", "headers": [("X-Gitlab-Token", "tok-123")], "body": b"{}"}
        >>> book.apply(rec); rec["headers"]
        [('X-Gitlab-Token', '[secret]')]
        >>> from hooklab.capture import Capture
        >>> cap = Capture(1, None, "POST", "/gitlab", headers=rec["headers"])
        >>> book.restored(cap).headers
        [('X-Gitlab-Token', 'tok-123')]
        """
        entry = self.get(capture.bin)
        if entry is None or (MARK not in repr(capture.headers) and MARK not in (capture.url or "")
                             and MARK not in capture.path):
            return capture
        secret = entry.secret.decode("utf-8", "replace") if isinstance(entry.secret, bytes) \
            else entry.secret
        token = entry.verify_token

        def value(name: str) -> str | None:  # Meta's and Strava's token goes in hub.verify_token
            return token if token and (not secret or "verify_token" in name.lower()) else secret

        def put(text: str, name: str, quote: Callable[[str], str] = str) -> str:
            given = value(name)
            if given is None or MARK not in text:
                return text
            if text == f"Basic {MARK}":
                return "Basic " + base64.b64encode(given.encode("utf-8", "surrogatepass")).decode()
            return text.replace(MARK, quote(given))

        headers = [(k, put(v, k)) for k, v in capture.headers]
        query = {k: [put(v, k) for v in vs] for k, vs in capture.query.items()}
        url = capture.url
        if url and MARK in url:
            from urllib.parse import quote_plus

            base, _, qs = url.partition("?")
            pairs = [p.partition("=") for p in qs.split("&")] if qs else []
            qs = "&".join(k + eq + put(v, k, quote_plus) for k, eq, v in pairs)
            url = base + ("?" + qs if qs else "")
        from urllib.parse import quote

        path = put(capture.path, "", lambda v: quote(v, safe=""))
        if url and path != capture.path:
            url = url.replace(capture.path.replace(MARK, quote(MARK, safe="")), path, 1).replace(
                capture.path, path, 1)
        return replace(capture, headers=headers, query=query, url=url, path=path)

    def scrub(self, record: dict[str, Any], received: Any = None) -> None:
        """Replace every secret and verify token given with ``lab.secret`` (of any bin; its
        base64 forms too) by ``[secret]`` wherever it appears in the record's header names
        and values (inside ``Basic`` credentials too), path, query, URL, event type and
        delivery id: ``bearer <secret>``, ``?token=<secret>``, percent-encoded, a bin other
        than the one it was given for (see :func:`hooklab.capture.redact_record`). A secret
        a handshake handed over is only replaced in its own bin's captures (by
        :meth:`apply`): a sender chooses it. The body stays exact (signatures are checked
        over it). Values shorter than 6 characters are only replaced where they are a whole
        header value."""
        words = self._words()
        before = list(received if received is not None else record.get("headers") or [])
        if not words and before == list(record.get("headers") or []):
            return
        if words:
            redact_record(record, credentials=False, secrets=words, mark=MARK)
        # a verification reason or handshake note may quote a header value (cut short)
        changed = [v for (_, v), (_, w) in zip(before, record.get("headers") or [], strict=False)
                   if isinstance(v, str) and v != w and len(v) >= 8]
        for key in ("verify_reason", "handshake"):  # (whole secrets: by redact_record)
            text = record.get(key)
            if not isinstance(text, str):
                continue
            for v in changed:
                for n in (len(v), 36, 24, 16, 8):
                    if v[:n] in text:
                        text = text.replace(v[:n], MARK)
                        break
            record[key] = text

    def _words(self) -> tuple[str, ...]:
        """The forms of every secret and verify token given with ``lab.secret`` (6+
        characters): as text, its bytes read as Latin-1, base64 (standard, unpadded,
        URL-safe), ``+`` read as a space (as a query string decodes it). Made again only
        when what was given changes."""
        cached = getattr(self, "_cached_words", None)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        version = self.version
        words: set[str] = set()
        for entry in self.entries():
            if entry.learned:
                continue
            for value in (entry.secret, entry.verify_token):
                if not value:
                    continue
                raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
                if len(raw) < 6:
                    continue
                text = value if isinstance(value, str) else value.decode("utf-8", "replace")
                std = base64.b64encode(raw).decode()
                words.update((text, raw.decode("latin-1"), text.replace("+", " "), std,
                              std.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")))
        got = tuple(sorted(w for w in words if w))
        self._cached_words = (version, got)
        return got
