"""A secret given with ``lab.secret`` after captures holding it were stored: exports and views
write it as ``[secret]`` all the same.

README (Providers and signatures): every secret given to ``lab.secret`` of 6 characters or more
is ``[secret]`` wherever it appears outside the body, in exports and widgets. A GitLab delivery
that came before ``lab.secret("gitlab", token)`` was exported with its ``X-Gitlab-Token`` (the
secret itself) in clear. The database keeps such a capture as it was stored (README says so);
HAR, JSON Lines, CSV and Parquet exports, the live view (its widget state, Copy as curl with
credentials shown), the read API and the stream write it by the secrets the lab holds then.

Raw requests over real sockets to a lab on a real SQLite file.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest
from _http import raw_request
from _views import open_every_tab, saved_state

import hooklab

SECRET = "glsecret-Token-123456"  # (16+ characters: matched in any letter case)
B64 = base64.b64encode(SECRET.encode()).decode()
PCT = SECRET.replace("-", "%2D")  # (percent-encoded: stored as sent, read decoded)
#: forms a file or a view must not hold (the secret, in the letter cases sent, and its base64)
FORMS = (SECRET, SECRET.upper(), B64, B64.rstrip("="), PCT)

# (bin, request line target, extra header lines): each sends the secret in one place before it
# is given (case by case; the body never holds it: the body stays exact)
CASES = [
    ("gitlab", "/gitlab", [("X-Gitlab-Token", SECRET), ("X-Gitlab-Event", "Push Hook")]),
    ("query", f"/query/x?token={SECRET}&a=1", []),
    ("path", f"/path/{SECRET}/deliver", []),
    ("pct-query", f"/pct-query?t={PCT}", []),
    ("pct-path", f"/pct-path/{PCT}", []),
    ("bearer", "/bearer", [("Authorization", f"Bearer {SECRET}")]),
    ("basic", "/basic", [("Authorization", "Basic " + base64.b64encode(
        f"user:{SECRET}".encode()).decode())]),
    ("b64-header", "/b64-header", [("X-Key", B64)]),
    ("upper", "/upper", [("X-Echo", SECRET.upper())]),
    ("header-name", "/header-name", [(f"X-{SECRET}", "1")]),
]


def _send(port: int, target: str, headers: list[tuple[str, str]]) -> None:
    body = b'{"object_kind":"push"}'
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    data = (f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    assert raw_request(port, data, timeout=30).startswith(b"HTTP/1.1 200")


def _leaks(text: str) -> list[str]:
    return [f for f in FORMS if f in text]


@pytest.fixture()
def lab(tmp_path: Path):
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        for _bin, target, headers in CASES:
            _send(lab.bound_port, target, headers)
        lab.wait(len(CASES), timeout=30)
        lab.secret("gitlab", SECRET)  # (given after they came)
        _send(lab.bound_port, *CASES[0][1:])  # one after: stored as [secret], as before
        lab.wait(len(CASES) + 1, timeout=30)
        yield lab
    finally:
        lab.stop()


def test_the_database_keeps_them_as_stored(lab: hooklab.HookLab) -> None:
    """What README says the database keeps: the captures before the secret as they came."""
    before, after = lab.captures[0], lab.captures[len(CASES)]
    assert before.header("X-Gitlab-Token") == SECRET
    assert after.header("X-Gitlab-Token") == "[secret]" and after.verified is True


@pytest.mark.parametrize("fmt", ["har", "jsonl", "csv", "parquet"])
def test_no_export_holds_them(lab: hooklab.HookLab, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    assert lab.export(out, fmt=fmt) == len(CASES) + 1
    files = sorted(out.rglob("*")) if out.is_dir() else [out]
    data = b"".join(f.read_bytes() for f in files if f.is_file())
    if fmt == "parquet":  # (columns are compressed: every file's rows read back as text)
        import pyarrow.parquet as pq

        rows = [r for f in files if f.suffix == ".parquet" for r in pq.read_table(f).to_pylist()]
        assert len(rows) == len(CASES) + 1
        text = json.dumps(rows, default=str)
    else:
        text = data.decode("utf-8")
    assert _leaks(text) == [], fmt
    assert "[secret]" in text


@pytest.mark.parametrize("fmt", ["har", "jsonl"])
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_each_place_reads_secret_in_the_export(lab: hooklab.HookLab, tmp_path: Path, fmt: str,
                                               case: str) -> None:
    out = tmp_path / f"{case}.{fmt}"
    assert lab.export(out, fmt=fmt, bin=case) >= 1
    text = out.read_text()
    assert _leaks(text) == [], (case, text)
    back = (hooklab.load_har if fmt == "har" else hooklab.load_jsonl)(out)
    try:
        cap = back.captures[0]
        shown = json.dumps([cap.path, cap.url, cap.query, cap.headers])
        assert ("X-secret" if case == "header-name" else "[secret]") in shown, shown
        assert cap.body == b'{"object_kind":"push"}'  # (the body stays exact)
    finally:
        back.stop()


def test_the_live_view_and_its_state_hold_none(lab: hooklab.HookLab) -> None:
    view = lab.live()
    try:
        view.show_credentials.value = True  # (credentials shown: what is left is the data)
        for cap in list(lab.captures):
            view.select(cap.id)
            open_every_tab(view)
        state = saved_state()
        assert _leaks(state) == [], _leaks(state)
        assert "[secret]" in state
    finally:
        view.close()


def test_a_view_open_before_the_secret_shows_it_no_more(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "v.sqlite3")).start()
    view = None
    try:
        _send(lab.bound_port, *CASES[2][1:])  # (the secret in the path: shown in the row)
        (cap,) = lab.wait(1, timeout=30)
        view = lab.live()
        view.show_credentials.value = True
        view.select(cap.id)
        view.refresh()
        assert SECRET in saved_state()  # (no secret given yet: the data as it came)
        lab.secret("path", SECRET)
        view.refresh()
        open_every_tab(view)
        assert _leaks(saved_state()) == []
    finally:
        if view is not None:
            view.close()
        lab.stop()


def test_the_stream_replays_them_as_secret(lab: hooklab.HookLab) -> None:
    import asyncio

    from tornado import websocket

    async def main() -> list[str]:
        conn = await websocket.websocket_connect(lab.stream_url() + "&since=0")
        got = []
        for _ in range(len(CASES) + 1):
            msg = await asyncio.wait_for(conn.read_message(), 30)
            assert msg is not None, conn.close_reason
            got.append(msg if isinstance(msg, str) else msg.decode())
        conn.close()
        return got

    messages = asyncio.run(main())
    assert [json.loads(m)["id"] for m in messages] == [c.id for c in lab.captures]
    assert all(_leaks(m) == [] for m in messages), [_leaks(m) for m in messages]


def test_the_read_api_holds_none(lab: hooklab.HookLab) -> None:
    headers = {"Authorization": f"token {lab.api_token}"}
    for url in (f"{lab.url}/_hooklab/api/captures?limit=100", f"{lab.url}/_hooklab/api/captures/1"):
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        assert _leaks(text) == [], url
        assert "[secret]" in text
