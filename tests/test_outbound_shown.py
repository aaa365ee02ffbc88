"""What a notebook shows of an outbound target (a replay's or a send's result, their errors,
``%hooklab send``'s line, ``hooklab replay``'s lines) never holds the target's credentials,
while the request itself goes out with them: real lab, real apps on 127.0.0.1, real CLI."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import post
from _target import Target

import hooklab

# how a target is written (after "http://"; {host} is the app's 127.0.0.1:port), the
# credential in it, and how every text form writes it (as lab.forwards() records a target)
TARGETS = [
    ("{host}/hook?token=TARGET_TOKEN_999", "TARGET_TOKEN_999", "{host}/hook?token=[secret]"),
    ("{host}/hook?api_key=API_KEY_S31&page=2", "API_KEY_S31", "{host}/hook?api_key=[secret]&page=2"),
    ("{host}/hook?sv=2024&sig=SAS_SIG_S32", "SAS_SIG_S32", "{host}/hook?sv=2024&sig=[secret]"),
    ("{host}/hook?X-Amz-Signature=AMZ_S33", "AMZ_S33", "{host}/hook?X-Amz-Signature=[secret]"),
    ("{host}/hook?webhook_password=PW_S34", "PW_S34", "{host}/hook?webhook_password=[secret]"),
    ("{host}/hook;token=PATH_S35/x", "PATH_S35", "{host}/hook;token=[secret]/x"),
    ("admin:PASSWD_777@{host}/h", "PASSWD_777", "admin:[secret]@{host}/h"),
    ("GHP_TOKEN_S36@{host}/h", "GHP_TOKEN_S36", "[secret]@{host}/h"),  # a user name alone
    # a user name and an empty password: Stripe's documented `curl -u sk_live_...:` (it
    # showed "sk_live_...:[secret]@", the key in clear)
    ("sk_live_S37:@{host}/h", "sk_live_S37", "[secret]@{host}/h"),
    ("{host}/hook?page=2&q=a", None, "{host}/hook?page=2&q=a"),  # none: shown as written
]
IDS = ["token", "api_key", "sig", "amz", "word-password", "path-param", "user-pass",
       "user-token", "user-empty-password", "none"]


def _texts(obj: Any) -> str:
    """Every text a notebook or a terminal shows of ``obj``: repr, str, and what IPython's
    display formatter saves in the cell (every MIME type: text/plain, and HTML if any)."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return "\n".join([repr(obj), str(obj), *map(str, data.values())])


def _exception_texts(exc: BaseException) -> str:
    """What a cell's traceback shows of ``exc`` (the causes chained to it too)."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def _with_control(url: str, secret: str | None) -> str:
    """``url`` with a DEL (a control character http.client refuses, quoting the path and
    query) right after a credential of its path or query (still part of its value), or at
    its end."""
    path = url.split("/", 3)[3]
    if secret and secret in path:
        return url.replace(secret, secret + "\x7f")
    return url + "\x7f"


def _basic(userinfo: str) -> str:
    user, _, password = userinfo.partition(":")
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextlib.contextmanager
def _bad_app(kind: str) -> Iterator[int]:
    """A port on 127.0.0.1 where a request fails: ``refused`` (bound, never listening),
    ``silent`` (listening, never answering: a timeout) or ``echo`` (answers the request line
    it got as its status line: ``BadStatusLine`` quotes it, the target's query and all)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stop = threading.Event()
    thread = None
    if kind != "refused":
        sock.listen(8)
    if kind == "echo":
        sock.settimeout(0.2)

        def serve() -> None:
            for _ in range(300):  # (bounded: a minute at most)
                if stop.is_set():
                    return
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(5)
                    got = b""
                    with contextlib.suppress(OSError):
                        while b"\r\n" not in got and len(got) < 65536:
                            piece = conn.recv(4096)
                            if not piece:
                                break
                            got += piece
                        conn.sendall(got.split(b"\r\n", 1)[0] + b"\r\n\r\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
    try:
        yield port
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        sock.close()


@pytest.mark.parametrize("written, secret, shown", TARGETS, ids=IDS)
def test_a_replay_reaches_the_app_with_its_credentials_and_its_result_shows_them_hidden(
    lab, written: str, secret: str | None, shown: str,  # type: ignore[no-untyped-def]
) -> None:
    """An outside tester: ``lab.replay([id], to=".../hook?token=...")``'s results, the cell's
    saved ``text/plain``, showed the token (and a target's ``admin:password@``), while
    ``lab.forwards()`` records such a target as ``?token=[secret]``. The request still goes
    out as written, and ``url`` keeps it exactly for code."""
    with Target() as app:
        host = app.url.split("://", 1)[1]
        to = "http://" + written.format(host=host)
        assert post(lab.url_for("a", "deep?n=1"), b'{"x": 1}')[0] == 200
        (cap,) = lab.wait(1, timeout=10)
        results = lab.replay([cap.id], to=to)
        (got,) = app.wait(1)
    (r,) = results
    assert r.ok and r.status == 200 and r.error is None, r
    sent, recorded = (_with_suffix(w.format(host=host)) for w in (written, shown))
    assert r.url == "http://" + sent  # (the attribute: where it went, exactly)
    # the app got the target as written (query, path parameter) and its user:password
    assert got.path == "/" + sent.split("/", 1)[1]
    if "@" in written:
        assert got.header("Authorization") == _basic(written.split("@")[0])
    text = _texts(results) + _texts(r)
    assert f"url='http://{recorded}'" in text, text
    if secret is not None:
        assert secret not in text, text


def _with_suffix(target: str) -> str:
    """``target`` as a replay of ``/a/deep?n=1`` goes to it: the path after the bin, then
    the capture's query after the target's own."""
    path, _, query = target.partition("?")
    return path + "/deep?" + "&".join(q for q in (query, "n=1") if q)


@pytest.mark.parametrize("kind, says", [
    ("refused", "ConnectionRefusedError"),
    ("silent", "timed out after 0.5 s"),
    ("echo", "BadStatusLine"),  # (it quotes the line the app sent back: the target's query)
    ("control", "is no valid URL"),  # (refused up front: check_target, credentials scrubbed)
])
@pytest.mark.parametrize("written, secret, shown", TARGETS, ids=IDS)
def test_a_replay_that_fails_never_quotes_the_target_s_credentials(
    lab, written: str, secret: str | None, shown: str, kind: str, says: str,  # type: ignore[no-untyped-def]
) -> None:
    """The result's ``error`` (and so its repr) of a target that refuses, never answers,
    answers garbage echoing the request, or holds a control character."""
    assert post(lab.url_for("a"), b'{"x": 1}')[0] == 200
    (cap,) = lab.wait(1, timeout=10)
    with _bad_app("refused" if kind == "control" else kind) as port:
        to = "http://" + written.format(host=f"127.0.0.1:{port}")
        if kind == "control":
            to = _with_control(to, secret)
            with pytest.raises(ValueError, match=says) as info:
                lab.replay(cap, to=to, timeout=0.5)
            if secret is not None:
                assert secret not in _exception_texts(info.value)
            return
        (r,) = lab.replay(cap, to=to, timeout=0.5)
    assert r.status is None and says in (r.error or ""), r
    text = _texts([r]) + (r.error or "")
    if secret is not None:
        assert secret not in text, text
        assert "[secret]" in repr(r)


@pytest.mark.parametrize("written, secret, shown", TARGETS, ids=IDS)
def test_send_s_response_and_errors_never_quote_the_target_s_credentials(
    written: str, secret: str | None, shown: str,
) -> None:
    """``hooklab.send(url)``'s response showed ``url='...?token=...'``, and its errors quoted
    the target: ``ValueError: not an http(s) URL: 'ftp://admin:PASSWD...'``, http.client's
    ``InvalidURL`` with the path and query, a ``BadStatusLine`` echoing them."""
    with Target() as app:
        host = app.url.split("://", 1)[1]
        to = "http://" + written.format(host=host)
        resp = hooklab.send(to, payload={"x": 1})
        (got,) = app.wait(1)
    assert resp.status == 200 and resp.url == to
    assert got.path == to.split(host, 1)[1]
    text = _texts(resp)
    assert f"url='http://{shown.format(host=host)}'" in text, text
    if secret is not None:
        assert secret not in text, text
    with _bad_app("refused") as refused, _bad_app("echo") as echo:
        for bad, error in [
            ("http://" + written.format(host=f"127.0.0.1:{refused}"), ConnectionRefusedError),
            ("http://" + written.format(host=f"127.0.0.1:{echo}"), http.client.BadStatusLine),
            ("ftp://" + written.format(host=host), ValueError),
            (_with_control(to, secret), ValueError),  # (refused before sending: it was
        ]:  # http.client's InvalidURL, after connecting)
            with pytest.raises(error) as info:
                hooklab.send(bad, payload={"x": 1}, timeout=5)
            if secret is not None:
                assert secret not in _exception_texts(info.value), bad


EXE = str(Path(sys.executable).with_name("hooklab"))


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A capture database with one capture, for ``hooklab replay`` processes to read."""
    db = str(tmp_path_factory.mktemp("replay") / "captures.sqlite3")
    lab = hooklab.start(port=0, db=db)
    try:
        assert post(lab.url_for("a"), b'{"x": 1}')[0] == 200
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    return db


@pytest.mark.parametrize("kind", ["app", "refused", "echo", "control"])
@pytest.mark.parametrize("written, secret", [
    ("{host}/hook?token=CLI_TOKEN_S41", "CLI_TOKEN_S41"),
    ("admin:CLI_PASSWD_S42@{host}/h", "CLI_PASSWD_S42"),
    ("{host}/hook;sig=CLI_SIG_S43", "CLI_SIG_S43"),
])
def test_hooklab_replay_s_lines_never_quote_the_target_s_credentials(
    stored_db: str, written: str, secret: str, kind: str,
) -> None:
    """``hooklab replay --to URL``: one line per capture, on the terminal (and in a CI log)."""
    with Target() as app, _bad_app("echo" if kind == "echo" else "refused") as bad:
        port = app.port if kind == "app" else bad
        to = "http://" + written.format(host=f"127.0.0.1:{port}")
        if kind == "control":
            to = _with_control(to, secret)
        r = subprocess.run([EXE, "replay", "--db", stored_db, "--id", "1", "--to", to],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if kind == "app":  # (the app got the credential)
            (got,) = app.wait(1)
            assert secret in got.path or got.header("Authorization") == _basic(
                written.split("@")[0])
    if kind == "control":  # (a target no request line can carry: a usage error, up front)
        assert (r.returncode, r.stdout) == (2, ""), (r.stdout, r.stderr)
        assert "is no valid URL" in r.stderr and secret not in r.stderr, r.stderr
        return
    assert r.stdout.startswith("#1 -> "), (r.stdout, r.stderr)
    assert (r.returncode == 0) == (kind == "app"), (r.stdout, r.stderr)
    assert secret not in r.stdout + r.stderr, (r.stdout, r.stderr)


# targets mistyped so that urlsplit finds no host in them (browsers and curl still read one:
# after "http:" the slashes may be missing, one or three, and a backslash is one), each with
# how messages write it: `ValueError: not an http(s) URL: 'http:/u:PW@...'` quoted them in
# clear (urlsplit gave no userinfo to hide)
TYPOS = [
    ("http:/u:TYPO_PW_S51@127.0.0.1:9/hook", "TYPO_PW_S51", "http:/u:[secret]@127.0.0.1:9/hook"),
    ("http:u:TYPO_PW_S52@127.0.0.1:9/hook", "TYPO_PW_S52", "http:u:[secret]@127.0.0.1:9/hook"),
    ("http:///u:TYPO_PW_S53@127.0.0.1:9/h", "TYPO_PW_S53", "http:///u:[secret]@127.0.0.1:9/h"),
    ("http:/\\u:TYPO_PW_S54@127.0.0.1:9/h", "TYPO_PW_S54", "http:/\\u:[secret]@127.0.0.1:9/h"),
    ("https:\\\\u:TYPO_PW_S55@127.0.0.1:9/h", "TYPO_PW_S55", "https:\\\\u:[secret]@127.0.0.1:9/h"),
    ("https:/sk_live_S56:@127.0.0.1:9/h", "sk_live_S56", "https:/[secret]@127.0.0.1:9/h"),
    ("http:TYPO_TOKEN_S57@127.0.0.1:9/h", "TYPO_TOKEN_S57", "http:[secret]@127.0.0.1:9/h"),
    ("http:/u:TYPO_PW_S58@127.0.0.1:9/h?q=1&token=TYPO_TOK_S58#f",  # (its query's as before)
     "TYPO_PW_S58", "http:/u:[secret]@127.0.0.1:9/h?q=1&token=[secret]#f"),
    ("https:/hooks.slack.com/services/T01/B02/TYPO_SLACK_S59", "TYPO_SLACK_S59",
     "https:/hooks.slack.com/services/[secret]"),
    ("htp://u:TYPO_PW_S60@127.0.0.1:9/h", "TYPO_PW_S60", "htp://u:[secret]@127.0.0.1:9/h"),
]
TYPO_IDS = ["one-slash", "no-slash", "three-slashes", "backslash", "two-backslashes",
            "user-empty-password", "user-alone", "with-query", "slack-path", "scheme-typo"]


@pytest.mark.parametrize("written, secret, shown", TYPOS, ids=TYPO_IDS)
def test_a_mistyped_target_s_credentials_are_hidden_in_every_refusal(
    lab, stored_db: str, written: str, secret: str, shown: str,  # type: ignore[no-untyped-def]
) -> None:
    """``hooklab.send``, ``lab.replay(..., to=)``, ``hooklab send`` and ``hooklab replay
    --to`` refuse a target with no host; their messages write its credentials as
    ``[secret]``, as ``scrubbed_url`` does, every other character as written."""
    from hooklab.credentials import scrubbed_url

    assert scrubbed_url(written) == shown
    assert post(lab.url_for("a"), b'{"x": 1}')[0] == 200
    (cap,) = lab.wait(1, timeout=10)
    for call in (lambda: hooklab.send(written, payload={"x": 1}, timeout=2),
                 lambda: lab.replay(cap, to=written, timeout=2)):
        with pytest.raises(ValueError, match="http\\(s\\) URL") as info:
            call()
        text = _exception_texts(info.value)
        assert secret not in text and "[secret]" in text, text
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for args in (["send", written], ["replay", "--db", stored_db, "--id", "1", "--to", written]):
        r = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 2 and "http(s) URL" in r.stderr, (args, r.stdout, r.stderr)
        assert secret not in r.stdout + r.stderr and "[secret]" in r.stderr, r.stderr
