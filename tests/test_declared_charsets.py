"""Bodies in the charset their sender declared, read alike by every reader.

A form posted ``application/x-www-form-urlencoded; charset=windows-1252`` (PayPal's IPN
posts so) sends ``José`` as ``Jos%E9``: ``capture.form()``, the live view's Details and Tree
tabs, ``search=``, ``schema()`` / ``json_schema``, ``diff`` and the signature checks read
``José`` (they read ``Jos\\ufffd``: ``%XX`` bytes were read as UTF-8 whatever the charset).
A charset name that is no text encoding (``unicode_escape``, ``utf-7``, ``rot13``,
``base64``, made-up names) is never used as a Python codec: such a body reads as UTF-8
(``charset=unicode_escape`` turned the six characters ``\\u00e9`` of a body into ``é``).
Text in a declared charset (Latin-1, Windows-1252, Shift JIS) is shown as text in the live
view's Details tab, escaped, not as a hex dump.

Every request is posted over a real socket to a real lab on a SQLite file; the expected
values are what the sender encoded (``urllib.parse.urlencode(..., encoding=...)``), or
Python's own codecs applied to the bytes sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(180)

FORM = "application/x-www-form-urlencoded"

#: (charset declared, codec the sender encoded with, fields): forms as their senders encode them
FORMS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("windows-1252", "cp1252", [("first_name", "José"), ("item_name", "Café crème"),
                                ("memo", "5€ “quoted”")]),
    ("ISO-8859-1", "latin-1", [("last_name", "Müller"), ("city", "Zürich")]),
    ('"iso-8859-15"', "iso8859_15", [("price", "9€"), ("name", "Œuvre")]),
    ("Shift_JIS", "shift_jis", [("order", "注文"), ("note", "受付")]),
    ("koi8-r", "koi8_r", [("greeting", "Привет")]),
    ("utf-8", "utf-8", [("first_name", "José")]),  # (as real deliveries come)
]
FORM_IDS = [f"{c}-{f[0][0]}" for c, _, f in FORMS]

#: charset names that are no text encoding: a body declared so reads as UTF-8
HOSTILE = ["unicode_escape", "raw-unicode-escape", "utf-7", "UTF7", "rot13", "rot_13", "base64",
           "base64_codec", "hex", "zlib", "uu", "quopri", "bz2", "punycode", "idna", "undefined",
           "charmap", "mbcs", "aliases", "bogus", "x-user-defined", "utf-8;", "'", "..", "%"]


def urlencoded(fields: list[tuple[str, str]], codec: str) -> bytes:
    return urllib.parse.urlencode(fields, encoding=codec).encode("ascii")


def expected(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    return out


class Sent:
    def __init__(self, lab: hooklab.HookLab, path: Path) -> None:
        self.lab, self.path = lab, path
        self.ids: dict[str, int] = {}

    def send(self, name: str, body: bytes, ctype: str, **more: str) -> int:
        status, answer = post(self.lab.url_for(name), body, {"Content-Type": ctype, **more})
        assert status == 200, answer
        self.ids[name] = self.lab.wait(1, bin=name, timeout=20)[-1].id
        return self.ids[name]


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    path = tmp_path_factory.mktemp("charsets") / "captures.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(path)).start()  # (not the default lab: one per module)
    out = Sent(lab, path)
    try:
        for i, (charset, codec, fields) in enumerate(FORMS):
            out.send(f"form{i}", urlencoded(fields, codec), f"{FORM}; charset={charset}")
        yield out
    finally:
        lab.stop()


def details(view: Any, cap_id: int) -> tuple[str, str]:
    """(the Body heading's kind, the Body section's HTML) of the Details tab for ``cap_id``."""
    view.select(cap_id)
    value = view.detail.value
    m = re.search(r"<h4>Body — (.*?), \d+ bytes</h4>(.*)$", value, re.S)
    assert m is not None, value[-500:]
    return html.unescape(m.group(1)), m.group(2)


def rows(body_html: str) -> list[tuple[str, str]]:
    return [(html.unescape(k), html.unescape(v))
            for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", body_html, re.S)]


@pytest.mark.parametrize("i", range(len(FORMS)), ids=FORM_IDS)
def test_a_form_reads_in_its_declared_charset_everywhere(sent: Sent, i: int) -> None:
    charset, codec, fields = FORMS[i]
    lab, want = sent.lab, expected(fields)
    cap = lab.query(bin=f"form{i}")[0]
    assert cap.body == urlencoded(fields, codec)  # (the bytes as sent: %XX of the charset)
    assert cap.form() == want
    # the live view: Details lists the fields, Tree shows them
    view = lab.live(bin=f"form{i}")
    try:
        kind, body = details(view, cap.id)
        assert kind == "form fields"
        assert rows(body) == [(k, v) for k, vs in want.items() for v in vs]
        view.tabs.selected_index = 1
        labels = [label for label, _ in view.tree.options]
        for k, vs in want.items():
            assert any(k in label and f'"{vs[0]}"' in label for label in labels), labels
        assert not any("\ufffd" in label for label in labels)
    finally:
        view.close()
    # search=: every word of every value finds it (indexed as stored)
    for v in (v for vs in want.values() for v in vs):
        for word in re.findall(r"\w+", v):
            assert cap.id in [c.id for c in lab.query(search=word)], (word, v)
    # schema(): the fields named and shown as capture.form() gives them
    schema = lab.schema(bin=f"form{i}")
    examples = dict(zip(schema["field"], schema["example"], strict=True))
    for k, vs in want.items():
        assert examples[k] == f'"{vs[0]}"', examples
    props = lab.json_schema(None, bin=f"form{i}")["properties"]
    assert sorted(props) == sorted(want)


def test_diff_of_two_forms_in_a_declared_charset(sent: Sent) -> None:
    a = sent.send("diff-a", urlencoded([("first_name", "José")], "cp1252"), f"{FORM}; charset=windows-1252")
    b = sent.send("diff-b", urlencoded([("first_name", "Zoë")], "cp1252"), f"{FORM}; charset=windows-1252")
    d = sent.lab.diff(a, b)
    row = d[d["field"] == "first_name"].iloc[0]
    assert (row["change"], row["a"], row["b"]) == ("changed", "José", "Zoë")


def test_raw_bytes_of_a_form_in_its_charset(sent: Sent) -> None:
    """A form's bytes sent unescaped (``Jos\\xe9``) read in its charset too."""
    i = sent.send("raw", b"first_name=Jos\xe9&city=K%F6ln", f"{FORM}; charset=iso-8859-1")
    cap = sent.lab.query(bin="raw")[0]
    assert cap.id == i and cap.form() == {"first_name": ["José"], "city": ["Köln"]}
    assert [c.id for c in sent.lab.query(search="Köln")] == [i]


def test_search_twin_reads_rows_not_yet_indexed(sent: Sent, tmp_path: Path) -> None:
    """Rows the index does not hold yet are matched by the SQL twin: the same words."""
    sent.lab.store.flush(30)
    copy = tmp_path / "unindexed.sqlite3"
    with sqlite3.connect(sent.path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    db = sqlite3.connect(copy)
    try:
        db.executescript("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all');"
                         " UPDATE meta SET value = '0' WHERE key = 'search_upto';")
        db.commit()
    finally:
        db.close()
    lab = hooklab.open(str(copy))
    try:
        found = [c.id for c in lab.query(search="José")]
        assert sent.ids["form0"] in found and sent.ids["form5"] in found
        assert sent.ids["form1"] not in found
    finally:
        lab.stop()


@pytest.mark.parametrize("charset", HOSTILE)
def test_a_charset_that_is_no_text_encoding_reads_as_utf8(sent: Sent, charset: str) -> None:
    body = "caf\\u00e9 +AOk- Y2Fm Zo\u00eb".encode() + b" a=%E9"
    name = "hostile-" + hashlib.sha1(charset.encode()).hexdigest()[:8]
    sent.send(name, body, f"text/plain; charset={charset}")
    sent.send(name + "-form", b"a=%E9&b=Zo%C3%AB&c=\\u00e9", f"{FORM}; charset={charset}")
    text = sent.lab.query(bin=name)[0]
    assert text.text == body.decode("utf-8")  # (no escape undone, no base64 or UTF-7 decoded)
    form = sent.lab.query(bin=name + "-form")[0]
    assert form.form() == {"a": [b"\xe9".decode("utf-8", "replace")], "b": ["Zoë"], "c": ["\\u00e9"]}
    view = sent.lab.live(bin=name)
    try:
        kind, shown = details(view, text.id)
        assert kind == "text"
        assert html.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", shown, re.S).group(1)) == body.decode()
    finally:
        view.close()


#: (content type, text): text bodies in the charset their sender declared
TEXTS = [
    ("text/plain; charset=iso-8859-1", "Commande reçue: café naïve"),
    ("text/plain; charset=windows-1252", "Price: 5€ – “quoted”"),
    ("text/plain; charset=shift_jis", "注文を受け付けました"),
    ("text/csv; charset=koi8-r", "имя,город\nИван,Москва"),
    ("text/html; charset=iso-8859-1", "<script>alert('é')</script><b>ça</b>"),
    ("text/plain; charset=utf-16", "UTF-16 text: Grüße"),
]


@pytest.mark.parametrize("ctype,text", TEXTS, ids=[c.split("=")[1] + "-" + t[:4] for c, t in TEXTS])
def test_text_in_its_declared_charset_is_shown_as_text(sent: Sent, ctype: str, text: str) -> None:
    name = "text-" + hashlib.sha1((ctype + text).encode()).hexdigest()[:8]
    i = sent.send(name, text.encode(ctype.split("=")[1]), ctype)
    view = sent.lab.live(bin=name)
    try:
        kind, shown = details(view, i)
        assert kind == "text", shown[:300]
        pre = re.search(r'<pre class="hl-pre">(.*?)</pre>', shown, re.S)
        assert pre is not None and html.unescape(pre.group(1)) == text
        assert "<script>" not in view.detail.value and "<b>" not in shown  # (escaped)
    finally:
        view.close()


@pytest.mark.parametrize("ctype,body", [
    ("text/plain; charset=iso-8859-1", b"\x00\x01\x02binary\x80\x81"),  # controls: binary
    ("text/plain; charset=windows-1252", b"abc\x81\x8d"),  # bytes Windows-1252 has no letter for
    ("text/plain; charset=shift_jis", b"\x82\xa0\xff\xfe\x80"),  # no Shift JIS text
    ("application/octet-stream; charset=unicode_escape", b"\\u00e9\xff\xfe"),
], ids=["latin1-controls", "cp1252-undefined", "sjis-invalid", "unicode-escape"])
def test_binary_bodies_stay_a_hex_dump(sent: Sent, ctype: str, body: bytes) -> None:
    name = "bin-" + hashlib.sha1(ctype.encode() + body).hexdigest()[:8]
    i = sent.send(name, body, ctype)
    view = sent.lab.live(bin=name)
    try:
        kind, _ = details(view, i)
        assert kind == "binary (hex)"
    finally:
        view.close()


def _twilio_signature(token: str, url: str, fields: list[tuple[str, str]]) -> str:
    """Twilio's documented scheme: the URL, then each POST parameter sorted by name, name and
    value run together; HMAC-SHA1 with the auth token, base64."""
    signed = url + "".join(k + v for k, v in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), signed.encode("utf-8"), hashlib.sha1).digest()).decode()


@pytest.mark.parametrize("charset,codec", [(None, "utf-8"), ("utf-8", "utf-8"),
                                           ("windows-1252", "cp1252"), ("iso-8859-1", "latin-1")])
def test_twilio_signs_the_parameters_a_receiver_reads(sent: Sent, charset: str | None, codec: str) -> None:
    """Twilio signs the POST parameters as its receivers' frameworks read them: a form in a
    declared charset verifies with its parameters read in it; real deliveries (UTF-8, with or
    without ``charset=utf-8``) verify as before."""
    token = "twilio_auth_token_0123456789abcdef"
    name = f"twilio-{codec}-{charset is None}"
    fields = [("Body", "Café crème, José"), ("From", "+14155550100"), ("To", "+14155550199")]
    url = sent.lab.url_for(name)
    sent.lab.secret(name, token, provider="twilio")
    ctype = FORM + (f"; charset={charset}" if charset else "")
    sent.send(name, urlencoded(fields, codec), ctype,
              **{"X-Twilio-Signature": _twilio_signature(token, url, fields)})
    cap = sent.lab.query(bin=name)[0]
    assert cap.verified is True, cap.verify_reason  # (checked on arrival)
    assert cap.verify(token, "twilio").valid
    assert not cap.verify(token + "x", "twilio").valid


def test_schema_of_forms_in_sealed_column_segments(tmp_path: Path) -> None:
    """A database of thousands of captures: ``schema()`` reads sealed column segments (and
    keeps a summary of each, read by the next call); a form's declared charset names its
    fields there too, as ``capture.form()`` names them."""
    import time
    from datetime import datetime, timedelta, timezone

    from hooklab.store import CaptureStore

    path = str(tmp_path / "segments.sqlite3")
    t0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
    ipn = urlencoded([("first_name", "José"), ("prénom", "Zoë")], "cp1252")
    records, ipns = [], 0
    for i in range(4096 + 50):
        if i % 100 == 7:
            ipns += 1
            body, ctype = ipn, f"{FORM}; charset=windows-1252"
        else:
            body, ctype = urlencoded([("first_name", f"n{i % 5}")], "utf-8"), FORM
        records.append({"method": "POST", "path": "/ipn", "headers": [("Content-Type", ctype)],
                        "body": body, "received_at": t0 + timedelta(seconds=i)})
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == len(records)
        end = time.monotonic() + 120
        while not store.summaries("any") and time.monotonic() < end:  # (a segment sealed)
            time.sleep(0.05)
        assert len(store.summaries("any")) == 1
    finally:
        store.close()
    lab = hooklab.open(path)
    try:
        assert lab.captures[7].form() == {"first_name": ["José"], "prénom": ["Zoë"]}
        for _ in range(2):  # (the second from the summary the first kept)
            schema = lab.schema()
            fields = dict(zip(schema["field"], schema["count"], strict=True))
            assert fields == {"(body)": len(records), "first_name": len(records), "prénom": ipns}
            props = lab.json_schema(None)["properties"]
            assert sorted(props) == ["first_name", "prénom"]
    finally:
        lab.stop()
