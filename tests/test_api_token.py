"""The read token of ``/_hooklab/``: the API, the stream page and the stream need it; captures do not.

On a shared machine every local user reaches every other user's 127.0.0.1 ports, so the read
side carries a per-lab random token (``lab.api_token``), sent as ``Authorization: token ...`` or
``?token=``. The lab hands out URLs that carry it (``lab.page_url``, ``lab.stream_url()``); it is
never stored with captures, nor in widget state or a saved notebook.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from collections.abc import Iterator

import nbformat
import pytest
from _http import free_port, post
from nbclient import NotebookClient

from hooklab import HookLab

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tlab() -> Iterator[HookLab]:
    lab = HookLab(port=0, db=":memory:").start()
    try:
        assert post(lab.url_for("tok", "first"), b'{"card": "4242-SECRET"}')[0] == 200
        lab.wait(1, timeout=10)
        yield lab
    finally:
        lab.stop()


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
            if data.startswith(b"GET /_hooklab/ws") and b"\r\n\r\n" in out:
                return out  # an accepted upgrade stays open: the head is the answer


def _get(port: int, target: str, headers: str = "", *, ws: bool = False) -> tuple[int, bytes]:
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
    if ws:
        head += ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    else:
        head += "Connection: close\r\n"
    answer = _raw(port, (head + "\r\n").encode("latin-1"))
    return int(answer.split(b" ", 2)[1]), answer


SURFACES = {
    "captures": ("/_hooklab/api/captures", False),
    "one capture": ("/_hooklab/api/captures/1", False),
    "raw body": ("/_hooklab/api/captures/1/body", False),
    "page": ("/_hooklab/", False),
    "stream": ("/_hooklab/ws", True),
}
ACCEPTED = {"captures": 200, "one capture": 200, "raw body": 200, "page": 200, "stream": 101}


def _wrong_places(token: str) -> dict[str, tuple[str, str]]:
    """Ways to present the right token, or something like it, that must all be refused:
    name -> (query string to add, extra header lines)."""
    b64 = base64.b64encode(f"x:{token}".encode()).decode()
    return {
        "no token": ("", ""),
        "empty ?token=": ("token=", ""),
        "wrong token, same length": ("token=" + ("A" if token[0] != "A" else "B") + token[1:], ""),
        "token prefix": ("token=" + token[:-1], ""),
        "token + suffix": ("token=" + token + "x", ""),
        "token upper-cased": ("token=" + token.upper(), "") if token.upper() != token else
                             ("token=" + token.lower(), ""),
        "another lab's token": ("token=" + "Zz9" * 15, ""),
        "?TOKEN= (wrong name)": ("TOKEN=" + token, ""),
        "?api_token= (wrong name)": ("api_token=" + token, ""),
        "two ?token= (right one second)": ("token=nope&token=" + token, ""),
        "in a Cookie": ("", f"Cookie: token={token}\r\n"),
        "in X-Token": ("", f"X-Token: {token}\r\n"),
        "Authorization: Bearer": ("", f"Authorization: Bearer {token}\r\n"),
        "Authorization: Basic": ("", f"Authorization: Basic {b64}\r\n"),
        "Authorization without scheme": ("", f"Authorization: {token}\r\n"),
        "Authorization: token (wrong)": ("", "Authorization: token wrong-token\r\n"),
        "Authorization: token + extra": ("", f"Authorization: token {token} extra\r\n"),
        "wrong header, right query": ("token=" + token, "Authorization: token wrong-token\r\n"),
        "non-ASCII token": ("token=" + urllib.parse.quote("t\u00f6ken"), ""),
    }


def test_every_read_surface_refuses_without_the_token(tlab: HookLab) -> None:
    port = tlab.bound_port
    assert port is not None
    token = tlab.api_token
    for place, (query, headers) in _wrong_places(token).items():
        for name, (path, ws) in SURFACES.items():
            target = path + (f"?{query}" if query else "")
            status, answer = _get(port, target, headers, ws=ws)
            assert status == 401, (place, name, answer[:300])
            assert b"4242-SECRET" not in answer and b"/tok/first" not in answer
            if not ws:
                assert b"\r\nwww-authenticate: token\r\n" in answer.lower(), answer[:300]
                assert b"read token required" in answer


def test_every_read_surface_answers_with_the_token(tlab: HookLab) -> None:
    port = tlab.bound_port
    assert port is not None
    token = tlab.api_token
    for how in ("query", "header", "header, scheme in capitals"):
        for name, (path, ws) in SURFACES.items():
            if how == "query":
                status, answer = _get(port, f"{path}?token={token}", ws=ws)
            else:
                scheme = "TOKEN" if "capitals" in how else "token"
                status, answer = _get(port, path, f"Authorization: {scheme} {token}\r\n", ws=ws)
            assert status == ACCEPTED[name], (how, name, answer[:300])
    _, answer = _get(port, f"/_hooklab/api/captures?token={token}")
    assert b"4242-SECRET" in answer  # the body really is behind the token


def test_the_token_is_random_per_lab_long_and_kept_across_restarts() -> None:
    a = HookLab(port=0, db=":memory:")
    b = HookLab(port=0, db=":memory:")
    try:
        assert isinstance(a.api_token, str) and len(a.api_token) == 43  # 256 bits, URL-safe
        assert a.api_token != b.api_token
        assert a.api_token.isascii() and all(ch.isalnum() or ch in "-_" for ch in a.api_token)
        before = a.api_token
        a.start()
        first_port = a.bound_port
        a.port = free_port()  # restarts on another port: same lab, same token
        assert a.bound_port != first_port
        assert a.api_token == before
        status, _ = _get(a.bound_port, f"/_hooklab/api/captures?token={before}")  # type: ignore[arg-type]
        assert status == 200
    finally:
        a.stop()
        b.stop()


def test_the_lab_hands_out_urls_that_carry_the_token(tlab: HookLab) -> None:
    port = tlab.bound_port
    token = tlab.api_token
    assert tlab.page_url == f"http://127.0.0.1:{port}/_hooklab/?token={token}"
    assert tlab.stream_url() == f"ws://127.0.0.1:{port}/_hooklab/ws?token={token}"
    assert tlab.stream_url(since=0, bin="a b") == (
        f"ws://127.0.0.1:{port}/_hooklab/ws?token={token}&since=0&bin=a+b")
    with pytest.raises(ValueError, match="unknown stream filter"):
        tlab.stream_url(colour="red")
    status, page = _get(port, urllib.parse.urlsplit(tlab.page_url)._replace(scheme="", netloc="").geturl())  # type: ignore[arg-type]
    assert status == 200 and b"hooklab stream" in page
    # the page's script needs no token (it is code, not data) and sends the page's on
    status, js = _get(port, "/_hooklab/static/stream.js")  # type: ignore[arg-type]
    assert status == 200 and b'params.get("token")' in js


def test_stream_url_reaches_the_stream_with_websocket_client(tlab: HookLab) -> None:
    import asyncio

    from tornado.websocket import websocket_connect

    async def first() -> dict:
        conn = await websocket_connect(tlab.stream_url(since=0))
        msg = await asyncio.wait_for(conn.read_message(), 10)
        conn.close()
        return json.loads(msg)  # type: ignore[arg-type]

    got = asyncio.run(first())  # its own loop: the lab runs in its own thread
    assert got["path"] == "/tok/first"


def test_the_token_is_never_stored_with_captures(tlab: HookLab) -> None:
    token = tlab.api_token
    port = tlab.bound_port
    assert port is not None
    before = tlab.store.last_id
    # a sender (or a confused user) sends the token to a capture path, both ways
    assert post(f"{tlab.url_for('tok', 'leak')}?token={token}&x=1", b"{}",
                {"Authorization": f"token {token}"})[0] == 200
    (cap,) = tlab.wait(1, since=before, timeout=10)
    stored = json.dumps([cap.path, cap.url, cap.query, cap.headers])
    assert token not in stored
    assert cap.query == {"token": ["[redacted]"], "x": ["1"]}
    assert cap.header("authorization") == "[redacted]"


OTHER_USER = textwrap.dedent(
    """
    import json, os, sys, urllib.request, urllib.error
    port, token_guess = int(sys.argv[1]), sys.argv[2]
    results = {}
    tries = {
        "no token": ("/_hooklab/api/captures", {}),
        "wrong token": ("/_hooklab/api/captures?token=" + token_guess, {}),
        "wrong header": ("/_hooklab/api/captures/1", {"Authorization": "token " + token_guess}),
        "bearer": ("/_hooklab/api/captures/1/body", {"Authorization": "Bearer " + token_guess}),
        "cookie": ("/_hooklab/", {"Cookie": "token=" + token_guess}),
        "page": ("/_hooklab/", {}),
    }
    for name, (path, headers) in tries.items():
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                results[name] = [r.status, r.read().decode("latin-1")]
        except urllib.error.HTTPError as e:
            results[name] = [e.code, e.read().decode("latin-1")]
    print(json.dumps({"uid": os.getuid(), "results": results}))
    """
)


def _runs_as_nobody(python: str) -> bool:
    try:
        r = subprocess.run([python, "-I", "-c", "pass"], user=65534, group=65534,
                           extra_groups=[], capture_output=True, timeout=30, cwd="/")
    except OSError:
        return False
    return r.returncode == 0


def test_another_local_user_cannot_read_while_captures_keep_flowing(tlab: HookLab) -> None:
    """A different process (a different uid when the tests run as root) tries the read side
    with every guess it can make; meanwhile a sender's captures go on being stored."""
    port = tlab.bound_port
    assert port is not None
    stop = threading.Event()
    sent: list[int] = []

    def sender() -> None:
        i = 0
        while not stop.is_set() and i < 500:
            assert post(tlab.url_for("flow", str(i)), b'{"n": %d}' % i)[0] == 200
            sent.append(i)
            i += 1

    before = tlab.store.last_id
    t = threading.Thread(target=sender)
    t.start()
    python, kwargs = sys.executable, {}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # nobody: really another local user, with a Python it may run (the script is stdlib only)
        python = next((p for p in (shutil.which("python3", path="/usr/bin:/usr/local/bin"),)
                       if p and _runs_as_nobody(p)), sys.executable)
        if python != sys.executable or _runs_as_nobody(python):
            kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
    try:
        out = subprocess.run(
            [python, "-I", "-c", OTHER_USER, str(port), "guess-" + "x" * 40],
            capture_output=True, text=True, timeout=60, cwd="/", **kwargs)
    finally:
        stop.set()
        t.join(60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    results = report["results"]
    if kwargs:
        assert report["uid"] == 65534 != os.getuid()
    assert {k: v[0] for k, v in results.items()} == {k: 401 for k in results}
    for _, body in results.values():
        assert "/flow/" not in body and "4242-SECRET" not in body
    assert sent, "the sender sent nothing"
    caps = tlab.wait(len(sent), since=before, bin="flow", timeout=20)
    assert [c.path for c in caps] == [f"/flow/{i}" for i in sent]


NOTEBOOK_CELLS = [
    "%config HookLab.port = {port}\n%config HookLab.db = ':memory:'\n%load_ext hooklab",
    "import hooklab\nlab = hooklab.lab()\nview = lab.live()\nview",
    "%hooklab",
    "open('token.txt', 'w').write(lab.api_token)\nlab.page_url.startswith(lab.url)",
    "import urllib.request\nurllib.request.urlopen(lab.page_url, timeout=10).status",
    "lab",
]


def test_the_token_is_not_in_a_saved_notebook_or_widget_state(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.replace("{port}", str(port))) for src in NOTEBOOK_CELLS]
    client = NotebookClient(nb, timeout=60, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    token = (tmp_path / "token.txt").read_text()
    assert len(token) >= 32
    saved = nbformat.writes(nb)
    assert "application/vnd.jupyter.widget-state+json" in saved  # widget state was saved
    outputs = json.dumps([c.get("outputs") for c in nb.cells])
    assert "True" in outputs and "200" in outputs  # the page URL worked in the kernel
    assert "/_hooklab/" in outputs  # %hooklab points at the page ...
    assert token not in saved  # ... but nothing saved carries the token


@pytest.mark.parametrize("query,status", [
    ("since=99999999999999999999", 400),  # past SQLite's integers: was a 500
    ("since=9223372036854775808", 400),
    ("since=-1", 400),
    ("since=9223372036854775807", 200),  # the largest id: an empty page
    ("limit=0", 400),  # a page of none said "more" and never moved on
    ("limit=-1", 400),
    ("limit=1", 200),
    ("since=x", 400),
    ("since=%2B1", 400),  # int() would take "+1", "1_0", " 1" and other scripts' digits
    ("since=1_0", 400),
    ("since=%D9%A1", 400),
    ("until=99999999999999999999", 400),  # a filter past SQLite's integers: was a 500
    ("until=-99999999999999999999", 400),
    ("until=%D9%A3", 400),
])
def test_api_numbers_out_of_range_are_400_and_never_log_the_token(
        tlab: HookLab, query: str, status: int, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    port = tlab.bound_port
    got, answer = _get(port, f"/_hooklab/api/captures?token={tlab.api_token}&{query}")
    assert got == status, answer[:300]
    if status == 200:  # (a chunked answer: its page is checked by its words)
        more = query == "limit=1" and tlab.store.count() > 1
        assert (b'"more": true' if more else b'"more": false') in answer
    assert tlab.api_token not in caplog.text
    for cid in ("99999999999999999999", "9" * 5000, "0"):
        got, _ = _get(port, f"/_hooklab/api/captures/{cid}?token={tlab.api_token}")
        assert got == 404, cid
    assert tlab.api_token not in caplog.text
