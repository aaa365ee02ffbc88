"""Credentials a recording sends, as ``hooklab.ws.record`` keeps them out of what it stores:
a URL whose user name is the key (``ws://sk_live_...:@host``, Stripe's documented form), a
cookie's values, a token offered as a subprotocol, and the server's answers echoing any of
them however they are spelt (a reason phrase, percent-, JSON- or HTML-escaped, past the 64 KiB
a refusal's body is cut at, deflate-compressed); and what a short credential must not
destroy (``?token=test`` inside ``contest``). Real raw servers on 127.0.0.1
(tests/test_ws_hostile.py), real SQLite files."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from test_ws_hostile import _accept, _handshake, _hostile
from test_ws_refusal import _refuses

from hooklab import HookLab, ws


def _stored_text(lab: HookLab, summary: ws.RecordSummary, tmp_path: Path) -> str:
    """Everything a recording left behind, as text: its captures (url, query, headers,
    body), its summary, the JSON Lines and HAR exports and the database file."""
    lab.export(tmp_path / "out.jsonl", fmt="jsonl")
    lab.export(tmp_path / "out.har", fmt="har")
    caps = lab.query(kind="ws")
    parts = [repr(summary)] + [repr((c.url, c.query, c.headers)) + c.body.decode("latin-1")
                               for c in caps]
    parts += [(tmp_path / n).read_text("utf-8") for n in ("out.jsonl", "out.har")]
    return "\n".join(parts)


KEY = "sk_live_51HxUSERNAMEKEY"


@pytest.mark.parametrize("userinfo, recorded, basic", [
    # the key as the user name, an empty password (curl -u KEY: ; Stripe's docs)
    (f"{KEY}:", "%5Bsecret%5D", f"{KEY}:"),
    (f"{KEY}", "%5Bsecret%5D", f"{KEY}:"),  # (no colon at all: the same request)
    ("sk_live_51Hx%55SERNAMEKEY:", "%5Bsecret%5D", f"{KEY}:"),  # (percent-encoded: U)
    # a password: the user name stays, as a forward target's does
    (f"alice:{KEY}", "alice:%5Bsecret%5D", f"alice:{KEY}"),
    (f":{KEY}", ":%5Bsecret%5D", f":{KEY}"),
], ids=["user-empty-password", "user-alone", "user-encoded", "user-password", "password-alone"])
def test_a_key_given_as_the_urls_user_name_is_not_stored(
        file_lab: HookLab, tmp_path: Path, userinfo: str, recorded: str, basic: str) -> None:
    with _hostile(_refuses(b"HTTP/1.1 401 Unauthorized\r\n", b"nope")) as (base, seen):
        host = base.removeprefix("ws://")
        summary = ws.record(f"ws://{userinfo}@{host}/feed?q=1", lab=file_lab, duration=10,
                            connect_timeout=5)
    # sent as curl sends it: Basic base64("user:password"), percent-decoded
    assert b"Authorization: Basic " + base64.b64encode(basic.encode()) in seen.requests[0]
    (cap,) = file_lab.query(kind="ws")
    assert cap.url == summary.url == f"ws://{recorded}@{host}/feed?q=1"
    assert "USERNAMEKEY" not in _stored_text(file_lab, summary, tmp_path)
    file_lab.stop()
    for path in tmp_path.glob("captures.sqlite3*"):  # (the database, its WAL if any)
        assert b"USERNAMEKEY" not in path.read_bytes(), path.name


# a short credential (under 8 characters) is found again only as a word of its own, and never
# in a header's name: (query sent, a header line and a body the server answers with) -> (the
# header and the body as stored)
SHORT = [
    ("token=test", b"X-Test-Mode: contest latest", b"Attestation failed; retest /tests",
     ("X-Test-Mode", "contest latest"), b"Attestation failed; retest /tests"),
    ("token=test", b"Server: testbed/1.0", b"token test expired", ("Server", "testbed/1.0"),
     b"token [secret] expired"),
    ("token=test", b"X-Seen: test_x, xtest, test9", b"test", ("X-Seen", "test_x, xtest, test9"),
     b"[secret]"),
    ("token=test", b"X-Echo: (test)", b'{"token":"test"}', ("X-Echo", "([secret])"),
     b'{"token":"[secret]"}'),
    # under 4 characters: echoed, percent-encoded after "%3D" too, it is hidden as well
    ("key=k7Q", b"Location: /login?next=%2Ffeed%3Fkey%3Dk7Q", b'{"error":"api key k7Q revoked"}',
     ("Location", "/login?next=%2Ffeed%3Fkey%3D[secret]"), b'{"error":"api key [secret] revoked"}'),
    ("key=k7Q", b"Location: /sso?r=%252Ffeed%253Fkey%253Dk7Q", b"k7Qa ak7Q k7Q",
     ("Location", "/sso?r=%252Ffeed%253Fkey%253D[secret]"), b"k7Qa ak7Q [secret]"),
    # 1 or 2 characters: no secret to keep, not looked for (every "1" would go, Content-Length's)
    ("sig=1", b"X-Count: 10, 1, 21", b"1", ("X-Count", "10, 1, 21"), b"1"),
    # 8 characters and more: anywhere, a header's name too, in any case (as before)
    ("token=tok12345", b"X-TOK12345-Seen: atok12345b", b"xtok12345",
     ("X-[secret]-Seen", "a[secret]b"), b"x[secret]"),
]


@pytest.mark.parametrize("query, line, body, header, kept", SHORT, ids=[
    "inside-words", "prefix-of-a-word", "joined-by-underscore-or-digit", "a-word-of-its-own",
    "3-chars-encoded", "3-chars-double-encoded", "1-char-not-looked-for", "long-anywhere"])
def test_a_short_credential_is_hidden_as_a_word_and_destroys_nothing_else(
        lab: HookLab, query: str, line: bytes, body: bytes, header: tuple[str, str],
        kept: bytes) -> None:
    with _hostile(_refuses(b"HTTP/1.1 401 Unauthorized\r\n" + line + b"\r\n", body)) as (base, _):
        summary = ws.record(f"{base}/feed?{query}", lab=lab, duration=10, connect_timeout=5)
    (cap,) = lab.query(kind="ws")
    assert cap.status == 401 and header in cap.headers, cap.headers
    assert cap.body == kept
    assert summary.url == f"{base}/feed?{query.partition('=')[0]}=[secret]"


SID = "s%3AqV9xF2kLr8Wm4TzP7bN1cY6h"  # (an express-session id: "s:" percent-encoded)
COOKIE = f'connect.sid={SID}; theme=dark; csrftoken="Zq7PkW3mN8"'


@pytest.mark.parametrize("body, kept", [
    (f'{{"error":"session {SID} expired"}}'.encode(), b'{"error":"session [secret] expired"}'),
    (b"session s:qV9xF2kLr8Wm4TzP7bN1cY6h expired", b"session [secret] expired"),  # (decoded)
    (b"csrftoken Zq7PkW3mN8 is stale", b"csrftoken [secret] is stale"),  # (sent in quotes)
    (b"theme dark; darker", b"theme [secret]; darker"),  # (every value; short: a word)
    (b"no connect.sid, no csrftoken, no theme", b"no connect.sid, no csrftoken, no theme"),
], ids=["session-id", "decoded", "quoted", "short-value", "names-stay"])
def test_a_cookie_values_echo_in_a_refusal_is_hidden(lab: HookLab, body: bytes, kept: bytes) -> None:
    head = b"HTTP/1.1 401 Unauthorized\r\nX-Seen-Sid: " + SID.encode() + b"\r\n"
    with _hostile(_refuses(head, body)) as (base, seen):
        summary = ws.record(f"{base}/feed", lab=lab, duration=10, connect_timeout=5,
                            headers={"Cookie": COOKIE})
    assert b"Cookie: " + COOKIE.encode() in seen.requests[0]
    (cap,) = lab.query(kind="ws")
    assert (cap.status, cap.body, cap.header("X-Seen-Sid")) == (401, kept, "[secret]")
    assert "qV9xF2kLr8Wm4TzP7bN1cY6h" not in repr(cap.headers) + repr(summary)


def _rolling_session(reader, writer, seen):
    """A 101 that sends the session cookie back (express-session with ``rolling: true``)."""
    return _handshake(reader, writer, seen, extra=b"Set-Cookie: connect.sid=" + SID.encode()
                      + b"; Path=/; HttpOnly\r\nSet-Cookie: lang=en\r\n")


def test_a_101_sending_the_session_cookie_back_keeps_it_hidden(lab: HookLab) -> None:
    with _hostile(_rolling_session) as (base, _):
        ws.record(f"{base}/feed", lab=lab, duration=1, connect_timeout=5,
                  headers={"Cookie": COOKIE})
    opened = lab.query(kind="ws", method="OPEN")[0]
    cookies = [v for k, v in opened.headers if k == "Set-Cookie"]
    # (the server's own cookies stay, as a webhook's headers do: only the value sent is hidden)
    assert cookies == ["connect.sid=[secret]; Path=/; HttpOnly", "lang=en"]


def _answers(make):
    """Answers the handshake request with ``make(headers)`` (the request's headers, names in
    lower case), then closes the connection."""
    async def behaviour(reader, writer, seen) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.requests.append(request)
        lines = request.decode("latin-1").split("\r\n")[1:]
        sent = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines) if k}
        writer.write(make(sent))
        await writer.drain()
    return behaviour


def _refusal(status: str):
    return lambda h: f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode("latin-1")


def _broken_101(header: str):
    def make(h: dict[str, str]) -> bytes:
        accept = _accept(h["sec-websocket-key"].encode()).decode()
        lines = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept}
        lines[header] = h.get("authorization") or h["x-echo"]
        return ("HTTP/1.1 101 Switching Protocols\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in lines.items()) + "\r\n").encode("latin-1")
    return make


PW, TOK, SHORT_KEY = "Zq7PkW3mN8vR2xT5", "tK9vQ2mW8xZ4", "k9X2z"
LONG_TOKEN = "tok_" + "Ab9" * 40  # (longer than an error quotes of a header: cut at 60)
BASIC = base64.b64encode(f"alice:{PW}".encode()).decode()


# what the server says in its status line or in a broken 101's header, quoting a credential
# the request sent: (userinfo, query, headers, answer, the credential as the server spells it)
ERRORS = [
    (f"alice:{PW}@", "", {}, lambda h: _refusal(f"401 Rejected {h['authorization']}")(h), BASIC),
    ("", f"?token={TOK}", {}, _refusal(f"401 login at /login?next=%2Fb%3Ftoken%3D{TOK}"), TOK),
    ("", f"?token={TOK}", {}, _refusal(f"401 login at /sso?r=%252Fb%253Ftoken%253D{TOK}"), TOK),
    ("", "", {"X-Api-Key": SHORT_KEY}, _refusal(f"403 key {SHORT_KEY} revoked"), SHORT_KEY),
    (f"alice:{PW}@", "", {}, _broken_101("Upgrade"), BASIC),
    (f"alice:{PW}@", "", {}, _broken_101("Connection"), BASIC),
    # (a credential of the URL echoed past where the error cuts the value it quotes: not its
    # beginning either)
    ("", f"?token={LONG_TOKEN}", {"X-Echo": LONG_TOKEN}, _broken_101("Upgrade"), LONG_TOKEN[:40]),
    ("", f"?token={LONG_TOKEN}", {"X-Echo": LONG_TOKEN}, _broken_101("Sec-WebSocket-Accept"),
     LONG_TOKEN[:40]),
]


@pytest.mark.parametrize("userinfo, query, headers, answer, spelt", ERRORS, ids=[
    "reason-echoes-authorization", "reason-quotes-url-encoded", "reason-quotes-url-encoded-twice",
    "reason-quotes-a-short-key", "101-upgrade-echoes-authorization",
    "101-connection-echoes-authorization", "101-upgrade-long-token-cut",
    "101-accept-long-token-cut"])
def test_an_error_quoting_the_servers_words_holds_no_credential_sent(
        file_lab: HookLab, tmp_path: Path, userinfo: str, query: str, headers: dict,
        answer, spelt: str) -> None:
    with _hostile(_answers(answer)) as (base, seen):
        host = base.removeprefix("ws://")
        summary = ws.record(f"ws://{userinfo}{host}/b{query}", lab=file_lab, duration=10,
                            connect_timeout=5, headers=headers)
    assert seen.requests and summary.connections == 0
    (error,) = summary.errors
    assert "[secret]" in error and summary.stopped_by == f"could not connect ({error})"
    (cap,) = file_lab.query(kind="ws")
    assert cap.method == "ERROR" and error in (cap.header("X-WS-Error") or cap.body.decode())
    assert spelt not in _stored_text(file_lab, summary, tmp_path)


SLASHED = "AbC9/xYz+Qw3rT7uV1=="  # (the query's token: base64 with "/" and "+")
ACCENTED = "cl\u00e9-\u00dcn\u00efcode-4f9b"  # (an API key past ASCII)
EMOJI = "key\U0001f511-9f3bSECRET"  # (past U+FFFF: a surrogate pair in JSON)
AMPED = "k+A&B<C>_SECRET12"  # (characters HTML escapes)


# a refusal's body echoing a credential escaped as JSON or HTML writes it -> as stored
ESCAPED = [
    (b'{"token":"AbC9\\/xYz+Qw3rT7uV1=="}', b'{"token":"[secret]"}'),  # (PHP's json_encode)
    (b'{"key":"cl\\u00e9-\\u00dcn\\u00efcode-4f9b"}', b'{"key":"[secret]"}'),  # (json.dumps)
    (b'{"key":"cl\\u00E9-\\u00DCn\\u00EFcode-4f9b"}', b'{"key":"[secret]"}'),  # (upper-case hex)
    (b'{"key":"key\\ud83d\\udd11-9f3bSECRET"}', b'{"key":"[secret]"}'),
    (b'{"key":"k+A\\u0026B\\u003cC\\u003e_SECRET12"}', b'{"key":"[secret]"}'),  # (Go's encoder)
    (b"<p>k&#43;A&amp;B&lt;C&gt;_SECRET12</p>", b"<p>[secret]</p>"),
    (b"<p>k&#x2B;A&#38;B&#x3c;C&#62;_SECRET12</p>", b"<p>[secret]</p>"),
    (b"<p>AbC9&#x2F;xYz&#43;Qw3rT7uV1&#61;&#61;</p>", b"<p>[secret]</p>"),
    (b'{"path":"\\/feed","note":"AbC9\\/xYz"}', b'{"path":"\\/feed","note":"AbC9\\/xYz"}'),
]


@pytest.mark.parametrize("body, kept", ESCAPED, ids=[
    "json-slash", "json-unicode", "json-unicode-upper", "json-surrogates", "json-go-html-safe",
    "html-named-and-decimal", "html-hex", "html-token", "innocent"])
def test_a_refusal_echoing_a_credential_json_or_html_escaped_keeps_it_hidden(
        lab: HookLab, body: bytes, kept: bytes) -> None:
    headers = {"X-Api-Key": ACCENTED, "X-Auth-Token": EMOJI, "Api-Key": AMPED}
    head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
    with _hostile(_refuses(head, body)) as (base, _):
        # (a UTF-8 header value is sent as its bytes: Latin-1 text of them)
        sent = {k: v.encode("utf-8") for k, v in headers.items()}
        ws.record(f"{base}/feed?token={quote(SLASHED, safe='')}", lab=lab, duration=10,
                  connect_timeout=5, headers=sent)
    (cap,) = lab.query(kind="ws")
    assert (cap.status, cap.body) == (403, kept)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX1NFQ1JFVA"
K8S = "ZXlKaGJHY2lPaUpTVXpJMU5pSjkuU0VDUkVU"  # (base64url of a token)


# the subprotocols offered -> what a 400 quoting them keeps
OFFERED = [
    (f"access_token, {JWT}", "access_token, [secret]"),  # (a browser's way to send a token)
    ("graphql-ws, Authorization, tok_SECRET_9f3b", "graphql-ws, Authorization, [secret]"),
    ("bearer, tok_SECRET_9f3b", "bearer, [secret]"),
    (f"base64url.bearer.authorization.k8s.io.{K8S}, v4.channel.k8s.io",
     "base64url.bearer.authorization.[secret], v4.channel.k8s.io"),  # (Kubernetes)
    (f"{JWT}", "[secret]"),  # (a JWT offered alone)
    ("graphql-transport-ws, v12.stomp, mqtt", "graphql-transport-ws, v12.stomp, mqtt"),
]


@pytest.mark.parametrize("offered, kept", OFFERED, ids=[
    "access-token", "authorization", "bearer", "kubernetes", "jwt-alone", "protocol-names"])
def test_a_token_offered_as_a_subprotocol_is_a_credential(
        lab: HookLab, offered: str, kept: str) -> None:
    def make(h: dict[str, str]) -> bytes:
        body = b"unsupported subprotocol(s): " + h["sec-websocket-protocol"].encode()
        return b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    with _hostile(_answers(make)) as (base, seen):
        ws.record(f"{base}/feed", lab=lab, duration=10, connect_timeout=5,
                  headers={"Sec-WebSocket-Protocol": offered})
    assert f"Sec-Websocket-Protocol: {offered}".encode() in seen.requests[0]  # (as Tornado spells it)
    (cap,) = lab.query(kind="ws")
    assert (cap.status, cap.body) == (400, b"unsupported subprotocol(s): " + kept.encode())


def _picks_the_last(reader, writer, seen):
    """A 101 choosing the last subprotocol offered (the token, by mistake), then a close."""
    async def behaviour() -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.requests.append(request)
        head = {k.lower(): v for k, _, v in (line.partition(b": ")
                                             for line in request.split(b"\r\n")[1:])}
        offered = head[b"sec-websocket-protocol"].split(b",")[-1].strip()
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                     b"Upgrade\r\nSec-WebSocket-Accept: " + _accept(head[b"sec-websocket-key"])
                     + b"\r\nSec-WebSocket-Protocol: " + offered + b"\r\n\r\n\x88\x02\x03\xe8")
        await writer.drain()
    return behaviour()


def test_a_101_choosing_the_offered_token_keeps_it_hidden(file_lab: HookLab, tmp_path: Path) -> None:
    with _hostile(_picks_the_last) as (base, _):
        summary = ws.record(f"{base}/feed", lab=file_lab, duration=10, connect_timeout=5,
                            headers={"Sec-WebSocket-Protocol": f"access_token, {JWT}"})
    opened = file_lab.query(kind="ws", method="OPEN")[0]
    assert opened.header("Sec-WebSocket-Protocol") == "[secret]"
    assert JWT not in _stored_text(file_lab, summary, tmp_path)


CUT = 64 * 1024  # (what a refusal's ERROR capture keeps of its body: README)
LIVE = "tk_live_Zq7PkW3mN8vR2xT5aB6c"


@pytest.mark.parametrize("before", [CUT - 1, CUT - 10, CUT - len(LIVE) + 1, CUT - 40])
@pytest.mark.parametrize("spelt", [LIVE + "/", quote(LIVE + "/", safe="")], ids=["as-sent", "encoded"])
def test_a_credential_echoed_across_the_64_kib_cut_keeps_none_of_it(
        lab: HookLab, before: int, spelt: str) -> None:
    body = b"." * before + spelt.encode() + b" is not valid " + b"-" * 150_000
    with _hostile(_refuses(b"HTTP/1.1 401 Unauthorized\r\n", body)) as (base, _):
        ws.record(f"{base}/feed?token={quote(LIVE + '/', safe='')}", lab=lab, duration=10,
                  connect_timeout=5)
    (cap,) = lab.query(kind="ws")
    # hidden first, then cut: the mark may be cut, never the credential's beginning kept
    assert cap.body == (b"." * before + b"[secret] is not valid " + b"-" * 150_000)[:CUT]
    assert cap.header("X-WS-Body-Truncated") == f"the first {CUT} bytes are kept"


def _deflated(data: bytes, raw: bool = False) -> bytes:
    pack = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    return pack.compress(data) + pack.flush()


# a refusal's body in a Content-Encoding: (query sent, encoding, body as sent) -> (as kept,
# the encoding header kept)
ENCODED = [
    ("token=Zq7PkW3mN8vR2xT5", "deflate", _deflated(b'{"error":"bad token Zq7PkW3mN8vR2xT5"}'),
     b'{"error":"bad token [secret]"}', ("X-Consumed-Content-Encoding", "deflate")),
    ("token=Zq7PkW3mN8vR2xT5", "Deflate", _deflated(b"bad token Zq7PkW3mN8vR2xT5", raw=True),
     b"bad token [secret]", ("X-Consumed-Content-Encoding", "Deflate")),
    ("q=1", "deflate", _deflated(b"no credential sent"), b"no credential sent",
     ("X-Consumed-Content-Encoding", "deflate")),
    # (a small body inflating to 10 MB: not inflated past what is kept)
    ("q=1", "deflate", _deflated(b"0" * 10_000_000), b"0" * CUT,
     ("X-WS-Body-Truncated", f"the first {CUT} bytes are kept")),
    # not decodable: with a credential sent, not kept (an echo could not be found)
    ("token=Zq7PkW3mN8vR2xT5", "deflate", b"not deflate Zq7PkW3mN8vR2xT5",
     b"<body not kept: Content-Encoding 'deflate' could not be decoded to hide the credentials "
     b"the request sent>", ("Content-Encoding", "deflate")),
    ("token=Zq7PkW3mN8vR2xT5", "br", b"\x8b\x05\x80bad token Zq7PkW3mN8vR2xT5\x03",
     b"<body not kept: Content-Encoding 'br' could not be decoded to hide the credentials "
     b"the request sent>", ("Content-Encoding", "br")),
    # without one: kept as it came
    ("q=1", "br", b"\x8b\x05\x80plain\x03", b"\x8b\x05\x80plain\x03", ("Content-Encoding", "br")),
]


@pytest.mark.parametrize("query, encoding, body, kept, header", ENCODED, ids=[
    "deflate", "raw-deflate", "deflate-no-credential", "deflate-bomb", "broken-deflate",
    "brotli", "brotli-no-credential"])
def test_a_compressed_refusal_is_decoded_or_not_kept(
        lab: HookLab, query: str, encoding: str, body: bytes, kept: bytes,
        header: tuple[str, str]) -> None:
    head = f"HTTP/1.1 401 Unauthorized\r\nContent-Encoding: {encoding}\r\n".encode()
    with _hostile(_refuses(head, body)) as (base, _):
        ws.record(f"{base}/feed?{query}", lab=lab, duration=10, connect_timeout=5)
    (cap,) = lab.query(kind="ws")
    assert (cap.status, cap.body) == (401, kept)
    assert header in cap.headers, cap.headers
    assert b"Zq7PkW3mN8vR2xT5" not in cap.body
