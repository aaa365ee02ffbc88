"""The paths a lab remembers as they came (a bin's secret in the path, Telegram-style
``/bot<token>/``: forward and replay send it back) are capped by the memory they hold, not
by their characters: 300,000 short paths held 67 MiB under an "8 MiB" cap, and a path of
emoji is 4 bytes a character. And each such capture no longer makes the forms of every
other secret anew (1.7 ms a capture with 255 secrets, 0.55 ms without)."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest

import hooklab  # noqa: F401  (hooklab.signatures.book: the lab's secret book)
from hooklab.signatures import book

S = "123456:AAbbCCddEEffGGhh"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
CAP = 256 * 1024


def _record(i: int, path: str) -> dict[str, object]:
    """A capture as the store hands it to the book on arrival (a new body each time)."""
    return {"kind": "http", "bin": "tg", "path": path, "url": "http://127.0.0.1:8765" + path,
            "headers": [("Content-Type", "application/json")],
            "body": b'{"update_id":%d}' % i, "received_at": T0 + timedelta(microseconds=i),
            "method": "POST"}


# (the path each capture came with; captures sent: past what the cap holds counted in
# characters, 256 KiB / (characters an entry counted), so the old count overflows it)
PATHS = [
    ("short Telegram-style path", f"/tg/bot{S}/x", 8_000),
    ("path of emoji (4 bytes a character)", f"/tg/bot{S}/" + "\U0001f600" * 500, 300),
    ("long ASCII path", f"/tg/bot{S}/" + "a" * 2000, 200),
]


@pytest.mark.parametrize(("path", "n"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS])
def test_remembered_paths_hold_at_most_the_cap_in_memory(monkeypatch: pytest.MonkeyPatch,
                                                          path: str, n: int) -> None:
    monkeypatch.setattr(book, "_PATHS_KEPT", CAP)
    sb = book.SecretBook()
    sb.set("tg", S)
    sb.apply(_record(0, path))  # (the scrub pattern and caches made before measuring)
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(1, n + 1):
            sb.apply(_record(i, path))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        kept = len(sb._paths)
        sb._paths.clear()
        gc.collect()
        freed = held - tracemalloc.get_traced_memory()[0]  # (what the remembered paths held)
    finally:
        tracemalloc.stop()
    assert kept > 1  # (still remembered: forward and replay send them back)
    assert CAP // 4 < freed <= CAP, (kept, freed)


def test_other_secrets_forms_are_made_once_not_per_capture(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sb = book.SecretBook()
    sb.set("tg", S)
    for i in range(50):
        sb.set(f"o{i}", f"other-secret-{i:06d}-xyz")
    made = 0
    forms = book._forms

    def counted(value: str | bytes) -> set[str]:
        nonlocal made
        made += 1
        return forms(value)

    monkeypatch.setattr(book, "_forms", counted)
    path = f"/tg/bot{S}/other-secret-000007-xyz/x"
    for i in range(100):
        sb.apply(_record(i, path))
    # (each other secret's forms once, made for the first capture: 50 secrets, each listed
    # at most twice, given and current; per capture they were 100 x 100)
    assert made <= 100
    # and the path comes back with the bin's secret, another bin's still hidden (README)
    key = next(iter(sb._paths))
    assert sb._paths[key] == f"/tg/bot{S}/[secret]/x"
    sb.set("o50", "a-new-secret-given-later")  # (what was given changed: made anew, once)
    made = 0
    sb.apply(_record(100, path))
    assert 0 < made <= 102
    sb.apply(_record(101, path))
    assert made <= 102
