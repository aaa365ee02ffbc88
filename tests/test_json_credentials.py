"""The values of a JSON body's keys named like credentials (``password``, ``data.api_key``,
``token`` in a list, ``"pass\\u0077ord"``...) are hidden like a form's fields: in every tab of
``lab.live()`` (so in the widget state a saved notebook keeps), in ``lab.diff`` and on the
stream page, until "show credentials" is ticked (``reveal=True``).

Found by an outside tester sharing saved notebooks: a JSON body's ``password`` and
``data.api_key`` were in clear in the Details, Tree (labels and field pane), Diff, Raw body
and Copy as curl tabs, in ``lab.diff`` and on the stream page, while the same names in a form
were ``<hidden: N chars>`` and ``lab.schema()`` hid their example. Met as a user meets them:
a real lab on 127.0.0.1 with a SQLite file, deliveries POSTed over HTTP.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from _http import post
from _views import json_body as _json
from _views import open_every_tab as _open_every_tab
from _views import saved_state as _saved_state
from tornado import websocket

from hooklab import HookLab, credentials

#: the end of every secret: characters HTML and JSON escape (``&lt;&amp;&quot;``,
#: ``\\"``, ``\\u00e9``), so that a secret shown in any escaped form is still found by its
#: start (the needle)
TAIL = '<&"\u00e9'


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookLab]:
    # (not the default lab of hooklab.start(): the suite stops that one after each test)
    lab = HookLab(port=0, db=str(tmp_path_factory.mktemp("jc") / "captures.sqlite3")).start()
    try:
        yield lab
    finally:
        lab.stop()



def _bodies(make: Any, needles: tuple[str, str]) -> tuple[bytes, bytes]:
    return make(needles[0] + TAIL), make(needles[1] + TAIL)


_JSON = {"Content-Type": "application/json"}
# (name, body of a secret, headers, the needles of the first and second delivery's secrets,
# values that stay shown in the Details tab)
CASES = [
    ("top-level", lambda s: _json({"user": "bob", "password": s}), _JSON, "bob"),
    ("nested", lambda s: _json({"data": {"api_key": s, "amount": 5}}), _JSON, "amount"),
    ("in-a-list", lambda s: _json({"items": [{"token": s}, {"sku": "kept-sku"}]}), _JSON,
     "kept-sku"),
    ("escaped-key", lambda s: b'{"pass\\u0077ord": ' + _json(s) + b', "user": "bob"}', _JSON,
     "bob"),
    ("zero-width-in-key", lambda s: _json({"pass\u200bword": s, "user": "bob"}), _JSON, "bob"),
    ("object-value", lambda s: _json({"auth": {"client_secret": {"v": s, "n": [1]}}, "ok": 1}),
     _JSON, "ok"),
    ("top-array", lambda s: _json([{"access_token": s, "scope": "read-kept"}]), _JSON,
     "read-kept"),
    ("key-holding-the-word", lambda s: _json({"api_key_id": "id-kept", "secret": s}), _JSON,
     "id-kept"),
    ("text-plain", lambda s: _json({"token": s, "user": "bob"}), {"Content-Type": "text/plain"},
     "bob"),
    ("gzip", lambda s: gzip.compress(_json({"password": s, "user": "bob"})),
     {**_JSON, "Content-Encoding": "gzip"}, "bob"),
    ("utf-16", lambda s: _json({"password": s, "user": "bob"}, "utf-16"),
     {"Content-Type": "application/json; charset=utf-16"}, "bob"),
    ("json-lines", lambda s: _json({"token": s}) + b"\n" + _json({"user": "bob"}) + b"\n",
     {"Content-Type": "application/x-ndjson"}, "bob"),
    # names whose last word (or last two) is a credential's, with none of SENSITIVE_QUERY's
    # seven names in them: a quick pre-check that knew only those let the Raw body, curl,
    # Tree, Diff and stream page show them while the Details tab hid them
    ("last-word-passwd", lambda s: _json({"db_passwd": s, "user": "bob"}), _JSON, "bob"),
    ("last-word-pwd", lambda s: _json({"cfg": {"pwd": s}, "user": "bob"}), _JSON, "bob"),
    ("last-two-private-key", lambda s: _json({"keys": [{"private_key": s, "kid": "kid-kept"}]}),
     _JSON, "kid-kept"),
    ("last-two-header-like", lambda s: _json({"X-Api-Key": s, "user": "bob"}), _JSON, "bob"),
    ("last-two-camel", lambda s: _json({"signingKey": s, "passphrase": s, "user": "bob"}), _JSON,
     "bob"),
]
PARAMS = [pytest.param(make, headers, kept, (f"Sa{i}z{name[:3]}", f"Sb{i}z{name[:3]}"), id=name)
          for i, (name, make, headers, kept) in enumerate(CASES)]


def _deliver(lab: HookLab, name: str, make: Any, headers: dict[str, str],
             needles: tuple[str, str]) -> tuple[Any, Any]:
    """POST both deliveries of a case to its own bin; the two captures."""
    for body in _bodies(make, needles):
        status, _ = post(lab.url_for(name, "hook"), body, headers)
        assert status == 200
    first, second = lab.wait(2, timeout=10, bin=name)
    return first, second


def _leaks(text: str, needles: tuple[str, ...]) -> list[str]:
    """The needles ``text`` holds, as written or as a hex dump shows them (``S.a.0``)."""
    return [n for n in needles if n in text or ".".join(n) in text]




@pytest.mark.parametrize("make,headers,kept,needles", PARAMS)
def test_json_credentials_are_hidden_in_every_tab_until_ticked(lab, request, make, headers,
                                                               kept, needles):
    name = request.node.callspec.id
    _first, second = _deliver(lab, name, make, headers, needles)
    view = lab.live(bin=name)
    try:
        view.select(second.id)
        _open_every_tab(view)
        state = _saved_state()
        assert _leaks(state, needles) == [], name
        assert "hidden" in view.detail.value and "hidden" in view.raw.value
        assert "hidden" in view.diff_pane.value
        assert kept in view.detail.value  # (only the credentials: the rest stays shown)
        view.show_credentials.value = True
        _open_every_tab(view)
        assert needles[1] in view.detail.value  # (shown: the person asked)
        assert _leaks(view.diff_pane.value, needles) == list(needles)
        view.show_credentials.value = False
        assert _leaks(_saved_state(), needles) == []
    finally:
        view.close()


@pytest.mark.parametrize("make,headers,kept,needles", PARAMS)
def test_lab_diff_hides_json_credentials_unless_reveal(lab, request, make, headers, kept, needles):
    """``lab.diff`` (and so ``%hooklab diff``): ``<hidden: N chars>`` on both sides of a
    changed credential, as for a form's; ``reveal=True`` shows them."""
    name = request.node.callspec.id + "-diff"
    first, second = _deliver(lab, name, make, headers, needles)
    d = lab.diff(first.id, second.id)
    for text in (str(d), d.to_string(), d._repr_html_()):
        assert _leaks(text, needles) == [] and "hidden" in text, text
    shown = lab.diff(first, second, reveal=True)
    assert _leaks(str(shown.to_dict()), needles) == list(needles)


def test_lab_diff_rows_of_a_nested_credential_say_hidden_lengths(lab):
    """The tester's case: ``data.api_key`` and ``password`` changed, one row each, both sides
    ``<hidden: N chars>`` (N the value's length), the other fields as they were."""
    url = lab.url_for("diffrows", "x")
    post(url, _json({"data": {"api_key": "KEY_one_111", "n": 1}, "password": "PW_one_111"}), _JSON)
    post(url, _json({"data": {"api_key": "KEY_two_222", "n": 2}, "password": "PW_two_222"}), _JSON)
    a, b = lab.wait(2, timeout=10, bin="diffrows")
    rows = sorted(map(tuple, lab.diff(a, b).itertuples(index=False)))
    assert rows == [("data.api_key", "changed", "<hidden: 11 chars>", "<hidden: 11 chars>"),
                    ("data.n", "changed", 1, 2),
                    ("password", "changed", "<hidden: 10 chars>", "<hidden: 10 chars>")]
    # a credential holding an object: one row for it, its parts not named
    post(url, _json({"auth": {"client_secret": {"v": "CSx1", "w": 1}}}), _JSON)
    post(url, _json({"auth": {"client_secret": {"v": "CSx2", "w": 1}}}), _JSON)
    c, e = lab.wait(4, timeout=10, bin="diffrows")[2:]
    assert list(map(tuple, lab.diff(c, e).itertuples(index=False))) == [
        ("auth.client_secret", "changed", "<hidden: 21 chars>", "<hidden: 21 chars>")]


@pytest.mark.parametrize("make,headers,kept,needles", PARAMS)
def test_the_stream_page_s_hidden_view_hides_json_credentials(lab, request, make, headers, kept,
                                                              needles):
    """The stream (``/_hooklab/ws``, what ``lab.page_url`` shows): each message's ``hidden``
    view, shown until "show credentials" is ticked, holds the body without them."""
    name = request.node.callspec.id + "-ws"
    _deliver(lab, name, make, headers, needles)

    async def read() -> list[dict[str, Any]]:
        conn = await websocket.websocket_connect(lab.stream_url(since=0, bin=name))
        try:
            return [json.loads(await asyncio.wait_for(conn.read_message(), 10)) for _ in range(2)]
        finally:
            conn.close()

    for msg, needle in zip(asyncio.run(read()), needles, strict=True):
        assert "hidden" in msg, msg
        shown = msg["hidden"]["body_text"]
        assert _leaks(shown, needles) == [] and "hidden" in shown
        # what the ticked page shows: the body as received (UTF-8 text; none for gzip)
        raw = msg["body_text"] or ""
        assert needle in raw or ".".join(needle) in raw.replace("\x00", ".") or msg["body_text"] is None


def _gz(body: bytes) -> bytes:
    return gzip.compress(body)


#: expected: the body hidden whole (its bytes cannot be shown with only the values hidden)
WHOLE = b"<JSON body hidden"


# (body, content type, more headers, what the Raw body tab and curl show: every other byte
# as received)
EXACT = [
    pytest.param(b'{"user": "bob", "password": "hunter2"}', "application/json", {},
                 b'{"user": "bob", "password": "<hidden: 7 chars>"}', id="top-level"),
    pytest.param(b'{ "data" :{"api_key"  :\n "k\\u00e9y" } ,"n":1}', "application/json", {},
                 b'{ "data" :{"api_key"  :\n "<hidden: 3 chars>" } ,"n":1}', id="spacing-kept"),
    pytest.param(b'{"token": "DUP", "echo": "DUP"}', "application/json", {},
                 b'{"token": "<hidden: 3 chars>", "echo": "DUP"}', id="same-value-elsewhere"),
    pytest.param(b'{"api_key_id": "id_1", "tokens": 5, "max_tokens": 2, "token_type": "b"}',
                 "application/json", {}, None, id="names-holding-the-word"),
    pytest.param(b'{"refresh_token": "r1", "accessToken": "a22", "db_password": 7, "n": 1}',
                 "application/json", {},
                 b'{"refresh_token": "<hidden: 2 chars>", "accessToken": "<hidden: 3 chars>", '
                 b'"db_password": "<hidden: 1 chars>", "n": 1}', id="names-ending-in-the-word"),
    pytest.param(b'[{"token": 12345}, {"secret": null}, "password"]', "application/json", {},
                 b'[{"token": "<hidden: 5 chars>"}, {"secret": "<hidden: 4 chars>"}, "password"]',
                 id="list-and-non-strings"),
    pytest.param(b'{"note": "\\"password\\": x", "k": ["token"]}', "application/json", {}, None,
                 id="names-in-values-only"),
    pytest.param(b'{"client_secret": {"a": [1, "x"]}, "b": 2}', "application/json", {},
                 b'{"client_secret": "<hidden: 15 chars>", "b": 2}', id="object-value"),
    pytest.param(b'{"pass\\u0077ord": "pw"}', "application/json", {},
                 b'{"pass\\u0077ord": "<hidden: 2 chars>"}', id="escaped-key"),
    pytest.param('{"pass\u200bword": "pw", "caf\u00e9": "ok"}'.encode(), "application/json", {},
                 '{"pass\u200bword": "<hidden: 2 chars>", "caf\u00e9": "ok"}'.encode(),
                 id="zero-width-key-and-utf8"),
    pytest.param('{"api_\u212aey": "k"}'.encode(), "application/json", {},
                 '{"api_\u212aey": "<hidden: 1 chars>"}'.encode(), id="kelvin-sign-k"),
    pytest.param(b'{"user.password": "p", "user[token]": "t"}', "application/json", {},
                 b'{"user.password": "<hidden: 1 chars>", "user[token]": "<hidden: 1 chars>"}',
                 id="dotted-and-bracketed"),
    pytest.param(b'\xef\xbb\xbf{"token": "t"}', "application/json", {},
                 b'\xef\xbb\xbf{"token": "<hidden: 1 chars>"}', id="bom"),
    pytest.param(b'{"token": "a1"}\n{"token": "b22"}\n', "application/x-ndjson", {},
                 b'{"token": "<hidden: 2 chars>"}\n{"token": "<hidden: 3 chars>"}\n',
                 id="json-lines"),
    pytest.param(b'{"id": 1, "password": "abc', "application/json", {},
                 b'{"id": 1, "password": "<hidden: 4 chars>"', id="cut-short"),
    pytest.param(b"[" * 500 + b'{"token": "x"}' + b"]" * 500, "application/json", {},
                 b"[" * 500 + b'{"token": "<hidden: 1 chars>"}' + b"]" * 500, id="deep"),
    pytest.param(b'{"a": 1, "b": "password"}', "application/json", {}, None, id="none"),
    pytest.param(b'{"password": "pw"}', "multipart/form-data; boundary=x", {},
                 b'{"password": "<hidden: 2 chars>"}', id="json-labelled-multipart"),
    pytest.param(_gz(b'{"password": "pw"}'), "application/json", {"Content-Encoding": "gzip"},
                 WHOLE, id="gzip-whole"),
    pytest.param('{"password": "pw"}'.encode("utf-16"), "application/json", {}, WHOLE,
                 id="utf-16-whole"),
    pytest.param(_gz(b'{"user": "bob"}'), "application/json", {"Content-Encoding": "gzip"}, None,
                 id="gzip-without-credentials"),
]


@pytest.mark.parametrize("body,ctype,headers,expected", EXACT)
def test_the_raw_body_keeps_every_byte_but_the_hidden_values(lab, request, body, ctype, headers,
                                                              expected):
    """What the Raw body tab, Copy as curl and the stream page show of a JSON body: the bytes
    as received with each credential key's value replaced by ``"<hidden: N chars>"`` (N its
    length as text, as a form's), its key as sent; whole where its bytes cannot be shown so."""
    name = "raw-" + request.node.callspec.id
    status, _ = post(lab.url_for(name), body, {"Content-Type": ctype, **headers})
    assert status == 200
    (cap,) = lab.wait(1, timeout=10, bin=name)
    assert cap.body == body
    view = lab.live(bin=name)
    try:  # the Raw body tab says whether it hid any; ticked, it shows the body as received
        view.select(cap.id)
        assert ("credential fields hidden" in view.raw.value) == (expected is not None)
        view.show_credentials.value = True
        assert "as received" in view.raw.value
    finally:
        view.close()
    shown = credentials.hidden_body(cap)
    if expected is WHOLE:
        assert shown is not None and shown.startswith(WHOLE) and b"pw" not in shown
    else:
        assert shown == expected


def test_schema_tree_and_diff_agree_on_which_json_fields_are_credentials(lab):
    """One rule: every field ``lab.schema()`` hides the example of is hidden in the Tree and
    ``lab.diff``, and the fields it shows are shown there too."""
    def body(n: int) -> bytes:
        return _json({"id": n, "password": f"AGpw{n}", "data": {
            "api_key": f"AGkey{n}", "api_key_id": f"AGid{n}",
            "lines": [{"secret": f"AGsec{n}", "sku": f"AGsku{n}"}]}})

    for n in (1, 2):
        post(lab.url_for("agree", "x"), body(n), _JSON)
    a, b = lab.wait(2, timeout=10, bin="agree")
    schema = lab.schema(bin="agree")
    hidden = set(schema.field[schema.example.astype(str).str.startswith("<hidden")])
    assert hidden == {"password", "data.api_key", "data.lines[].secret"}
    rows = {r.field: r for r in lab.diff(a, b).itertuples()}
    assert {f for f, r in rows.items() if str(r.b).startswith("<hidden")} == {
        "password", "data.api_key", "data.lines[0].secret"}
    assert rows["data.api_key_id"].b == "AGid2" and rows["data.lines[0].sku"].b == "AGsku2"


@pytest.mark.parametrize("name", ["db_passwd", "pwd", "private_key", "webhook_secret"])
@pytest.mark.parametrize("ctype", ["multipart/form-data", "multipart/form-data; boundary=zz"])
def test_a_multipart_form_that_cannot_be_split_is_hidden_for_any_credential_name(lab, request,
                                                                                 name, ctype):
    """A multipart body whose parts cannot be told apart (no boundary, a wrong one) is hidden
    whole when it may hold a credential: the test knew only SENSITIVE_QUERY's names, so a
    ``db_passwd`` part was shown in the Raw body tab and on the stream page."""
    bin_ = "mp" + str(abs(hash(request.node.callspec.id)))[:8]
    secret = "MPs3cr3t" + name[:3]
    body = (f'--b0\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{secret}\r\n'
            '--b0--\r\n').encode()
    status, _ = post(lab.url_for(bin_, "x"), body, {"Content-Type": ctype})
    assert status == 200
    (cap,) = lab.wait(1, timeout=10, bin=bin_)
    view = lab.live(bin=bin_)
    try:
        view.select(cap.id)
        _open_every_tab(view)
        assert _leaks(_saved_state(), (secret,)) == []
        assert secret not in json.dumps(credentials.hidden_view(cap))  # (the stream page's)
    finally:
        view.close()


def test_every_credential_name_holds_a_stem_the_quick_tests_look_for():
    """The quick tests before a body is read key by key look for CREDENTIAL_STEMS: a name
    rule without one of them would be passed by (as FIELD_WORDS' were, at first)."""
    names = {*credentials.SENSITIVE_QUERY, *credentials.FIELD_WORDS,
             *("_".join(k) for k in credentials.CREDENTIAL_KEYS)}
    assert [n for n in names if not any(s in n for s in credentials.CREDENTIAL_STEMS)] == []
    assert all(credentials.is_sensitive_field(n) for n in names)
