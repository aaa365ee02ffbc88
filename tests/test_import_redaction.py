"""Importing an export keeps what the exporting lab kept, when asked: ``redact_credentials=``.

A lab with ``redact_credentials = False`` stores ``Cookie`` and ``Authorization: token ...`` as
they came, and its HAR and JSON Lines exports hold them. Importing such a file applies the
live rule by default (a browser's HAR is full of its user's own cookies), says so in one
warning (how many header values, in which entries or lines, and how to keep them), and
``redact_credentials=False`` keeps them; ``None`` (the default) follows the default lab's
setting (``%config HookLab.redact_credentials = False``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from _hostile_times import helpers_for_small_files
from _http import exact_request

import hooklab

# (header sent, stored as [redacted] by the live rule?) -- the rule read from the README's
# security notes: Cookie, X-XSRFToken / X-CSRFToken and Jupyter's "Authorization: token ..."
CASES = [
    (("Cookie", "session=abc123"), True),
    (("cookie", "a=1; b=2"), True),
    (("X-XSRFToken", "2|7f3a|deadbeef"), True),
    (("X-CSRFToken", "csrf-value-1"), True),
    (("Authorization", "token ghp_exampletoken"), True),
    (("authorization", "TOKEN upper-case-scheme"), True),
    (("Authorization", "Bearer keep-me-bearer"), False),
    (("Authorization", "Basic dXNlcjpwYXNz"), False),
    (("X-Cookie-Note", "session=not-a-cookie-header"), False),
    (("Set-Cookie", "id=kept"), False),
    (("Cookie", "[redacted]"), False),  # (a sender's own "[redacted]": nothing redacted by the import)
]
SENT = [h for h, _ in CASES]
#: header values the live rule changes, and so an import with it on
CHANGED = sum(1 for (_, v), red in CASES if red)
KEPT = [h for h, red in CASES if not red]
#: captures in the exports (enough ranges of a line each for helper processes to start)
N = 8
#: where the warning says they are: the first five, then "..."
WHERE = {"har": "in 8 entries (entries 0, 1, 2, 3, 4, ...)",
         "jsonl": "in 8 lines (lines 1, 2, 3, 4, 5, ...)"}


def _send(lab: hooklab.HookLab, n: int) -> None:
    for i in range(n):
        status, _ = exact_request(lab.bound_port, "POST", f"/app/login{i}", SENT, b"{}")
        assert status == 200
    lab.wait(n, timeout=30)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """HAR and JSON Lines exports of a lab that keeps credentials: ``N`` captures of ``SENT``."""
    root = tmp_path_factory.mktemp("exports")
    lab = hooklab.HookLab(port=0, db=str(root / "keeps.sqlite3"), redact_credentials=False)
    lab.start()
    try:
        _send(lab, N)
        assert all(c.headers[1:1 + len(SENT)] == SENT for c in lab.captures), "stored as sent"
        out = {"har": root / "keeps.har", "jsonl": root / "keeps.jsonl"}
        for fmt, path in out.items():
            assert lab.export(path, fmt=fmt) == N
            assert "session=abc123" in path.read_text()  # the export holds them
        yield out
    finally:
        lab.stop()


def _load(fmt: str, how: str, path: Path, **kw: object) -> hooklab.HookLab:
    if how == "module":
        return (hooklab.load_har if fmt == "har" else hooklab.load_jsonl)(path, **kw)
    return (hooklab.HookLab.from_har if fmt == "har" else hooklab.HookLab.from_jsonl)(path, **kw)


def _imported(fmt: str, how: str, path: Path, n: int = len(SENT), **kw: object
              ) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """The ``n`` headers after ``Host`` of each imported capture, and what the warnings said of
    redacted values; the importing lab's setting is the one the import applied."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        lab = _load(fmt, how, path, **kw)
    try:
        heads = [c.headers[1:1 + n] for c in lab.captures]  # (after Host)
        kept = any(v == "session=abc123" for h in heads for _, v in h)
        assert lab.redact_credentials is not kept or not heads
    finally:
        lab.stop()
    return heads, [str(w.message) for w in got if "[redacted]" in str(w.message)]


@pytest.mark.parametrize("how", ["module", "classmethod"])
@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_keep_credentials_gives_the_export_back_as_it_was(files, fmt: str, how: str) -> None:
    heads, said = _imported(fmt, how, files[fmt], redact_credentials=False)
    assert heads == [SENT] * N
    assert said == []


@pytest.mark.parametrize("given", [{}, {"redact_credentials": True}, {"redact_credentials": None}])
@pytest.mark.parametrize("how", ["module", "classmethod"])
@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_the_live_rule_by_default_said_in_one_warning(files, fmt: str, how: str, given) -> None:
    heads, said = _imported(fmt, how, files[fmt], **given)
    want = [(k, "[redacted]" if red else v) for (k, v), red in CASES]
    assert heads == [want] * N
    assert len(said) == 1, said
    assert f"{N * CHANGED} header values" in said[0] and WHERE[fmt] in said[0]
    call = "hooklab.load_har" if fmt == "har" else "hooklab.load_jsonl"
    assert f"{call}(path, redact_credentials=False) keeps them" in said[0]


@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_none_follows_the_default_lab(files, fmt: str) -> None:
    default = hooklab.start(port=0, db=":memory:", redact_credentials=False)
    try:
        heads, said = _imported(fmt, "module", files[fmt])
        assert heads == [SENT] * N and said == []
        default.redact_credentials = True
        heads, said = _imported(fmt, "module", files[fmt])
        assert heads[0][0] == ("Cookie", "[redacted]") and len(said) == 1
        heads, said = _imported(fmt, "module", files[fmt], redact_credentials=False)
        assert heads == [SENT] * N  # (given: the default lab's setting does not count)
    finally:
        default.stop()
        from hooklab.core import set_default

        set_default(None)


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_helper_processes_apply_the_same_choice(files, monkeypatch, fmt: str, keep: bool) -> None:
    starts = helpers_for_small_files(monkeypatch, 200)  # (ranges of a line or two each)
    heads, said = _imported(fmt, "module", files[fmt], redact_credentials=not keep)
    assert starts and all(starts), "read by helper processes"
    if keep:
        assert heads == [SENT] * N and said == []
    else:
        assert heads == [[(k, "[redacted]" if red else v) for (k, v), red in CASES]] * N
        assert len(said) == 1 and f"{N * CHANGED} header values" in said[0], said
        assert WHERE[fmt] in said[0]


@pytest.mark.parametrize("bad", [0, 1, "no", []])
def test_redact_credentials_takes_a_bool_or_none(files, bad: object) -> None:
    with pytest.raises(TypeError, match="redact_credentials must be True, False or None"):
        hooklab.load_jsonl(files["jsonl"], redact_credentials=bad)


def test_a_file_with_nothing_to_redact_says_nothing(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        status, _ = exact_request(lab.bound_port, "POST", "/plain", KEPT, b"{}")
        assert status == 200
        lab.wait(1, timeout=30)
        lab.export(tmp_path / "p.har")
        lab.export(tmp_path / "p.jsonl")
    finally:
        lab.stop()
    for fmt in ("har", "jsonl"):
        heads, said = _imported(fmt, "module", tmp_path / f"p.{fmt}", len(KEPT))
        assert heads == [KEPT] and said == []
