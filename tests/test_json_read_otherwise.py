"""JSON whose credentials were hidden in some tabs but read otherwise in others: the live
view (every tab, so the widget state a saved notebook keeps) and ``lab.diff`` hide them
until "show credentials" is ticked (``reveal=True``).

Found by an outside tester:

- JSON sent with a form's content type (``curl -d '{"password": ...}' URL``: curl's default
  is ``application/x-www-form-urlencoded``) was hidden in the Raw body tab, but the Tree tab
  read the body as a form of one field whose *name* is the whole JSON text: the password
  was in the tree's label, the field pane's path and its column box (``payload.{...}``), the
  Diff tab and ``lab.diff``.
- A JSON body in UTF-16 or UTF-32 (``json.loads`` reads it, with no ``charset``) shown "as
  received" in the Details tab (over 1 MiB, or nested deeper than 256 levels) was read as
  UTF-8: the NULs between its characters hid every key, and the password was shown as
  ``Z\\x00q\\x007...``.

Met as a user meets them: a real lab on 127.0.0.1 with a SQLite file, bodies POSTed over HTTP.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from _http import post
from _views import json_body as _json
from _views import open_every_tab as _open_every_tab
from _views import saved_state as _saved_state

from hooklab import HookLab

#: the end of every secret: characters HTML and JSON escape, and "&" and "=" (which split a
#: form's fields), so that a secret shown in any escaped form is found by its start (needle)
TAIL = '&x=<"\u00e9'


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookLab]:
    lab = HookLab(port=0, db=str(tmp_path_factory.mktemp("jro") / "captures.sqlite3")).start()
    try:
        yield lab
    finally:
        lab.stop()



def _leaks(text: str, needles: tuple[str, ...]) -> list[str]:
    """The needles ``text`` holds: as written, as a hex dump shows them (``S.a.0``), and read
    as UTF-8 from UTF-16 / 32 (``S\\x00a\\x000``, as the Details tab shows a NUL)."""
    return [n for n in needles
            if any(form in text for form in (n, ".".join(n), "\\x00".join(n),
                                               "\\\\x00".join(n), "\\x00\\x00\\x00".join(n),
                                               "\\\\x00\\\\x00\\\\x00".join(n)))]




def _deliver(lab: HookLab, name: str, bodies: list[bytes], headers: dict[str, str]) -> list[Any]:
    for body in bodies:
        status, _ = post(lab.url_for(name, "hook"), body, headers)
        assert status == 200
    return lab.wait(len(bodies), timeout=10, bin=name)


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # (what curl -d sends)
# (name, body of a secret, headers, a value that stays shown in the Details tab)
AS_FORM = [
    ("curl-d", lambda s: _json({"user": "bob", "password": s}), _FORM, "bob"),
    ("nested", lambda s: _json({"data": {"api_key": s}, "amount": "kept-amt"}), _FORM,
     "kept-amt"),
    ("top-array", lambda s: _json([{"access_token": s, "scope": "read-kept"}]), _FORM,
     "read-kept"),
    ("after-a-field", lambda s: _json({"user": "bob", "n": [1, {"client_secret": s}]}), _FORM,
     "bob"),
    ("spaced", lambda s: b"  \n" + _json({"user": "bob", "password": s}), _FORM, "bob"),
    ("gzip", lambda s: gzip.compress(_json({"password": s, "user": "bob"})),
     {**_FORM, "Content-Encoding": "gzip"}, "bob"),
    ("utf-16", lambda s: _json({"password": s, "user": "bob"}, "utf-16"),
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-16"}, "bob"),
]
FORM_PARAMS = [pytest.param(make, headers, kept, (f"Fa{i}q{name[:3]}", f"Fb{i}q{name[:3]}"),
                            id=name) for i, (name, make, headers, kept) in enumerate(AS_FORM)]


@pytest.mark.parametrize("make,headers,kept,needles", FORM_PARAMS)
def test_json_sent_as_a_form_is_hidden_in_the_tree_and_diff_tabs(lab, request, make, headers,
                                                                  kept, needles):
    name = "form-" + request.node.callspec.id
    _first, second = _deliver(lab, name, [make(n + TAIL) for n in needles], headers)
    view = lab.live(bin=name)
    try:
        view.select(second.id)
        _open_every_tab(view)
        labels = " ".join(label for label, _ in view.tree.options)
        assert _leaks(_saved_state(), needles) == [], labels
        assert "hidden" in labels and "hidden" in view.raw.value, labels
        assert kept in view.detail.value
        view.show_credentials.value = True  # (shown: the person asked)
        _open_every_tab(view)
        labels = " ".join(label for label, _ in view.tree.options)
        assert _leaks(labels + view.detail.value, needles[1:]) == [needles[1]]
        assert _leaks(view.diff_pane.value, needles) == list(needles)
        view.show_credentials.value = False
        assert _leaks(_saved_state(), needles) == []
    finally:
        view.close()


@pytest.mark.parametrize("make,headers,kept,needles", FORM_PARAMS)
def test_lab_diff_hides_json_sent_as_a_form_unless_reveal(lab, request, make, headers, kept,
                                                          needles):
    name = "form-diff-" + request.node.callspec.id
    first, second = _deliver(lab, name, [make(n + TAIL) for n in needles], headers)
    d = lab.diff(first.id, second.id)
    for text in (str(d), d.to_string(), d._repr_html_(), str(d.to_dict())):
        assert _leaks(text, needles) == [], text
    assert "hidden" in str(d.to_dict())
    shown = lab.diff(first, second, reveal=True)
    assert _leaks(str(shown.to_dict()), needles) == list(needles)


def test_json_in_a_form_field_is_hidden_in_lab_diff(lab):
    """A form field read as JSON (Slack's ``payload=``) has its credential keys hidden by
    ``lab.diff`` as a JSON body's are."""
    from urllib.parse import quote

    bodies = [b"payload=" + quote(json.dumps({"token": t, "n": i})).encode()
              for i, t in enumerate(("FJa_secret_1", "FJb_secret_2"))]
    a, b = _deliver(lab, "form-field-json", bodies, _FORM)
    rows = sorted(map(tuple, lab.diff(a, b).itertuples(index=False)))
    assert rows == [("payload.n", "changed", 0, 1),
                    ("payload.token", "changed", "<hidden: 12 chars>", "<hidden: 12 chars>")]


def _big(encoding: str) -> Any:
    """A JSON body over the Details tab's 1 MiB limit (shown as received, not re-indented)."""
    return lambda s: _json({"password": s, "user": "bob", "pad": "x" * (1100 * 1024)}, encoding)


def _deep(encoding: str) -> Any:
    """A JSON body nested deeper than 256 levels (shown as received, not re-indented)."""
    deep = "[" * 300 + "]" * 300
    return lambda s: (f'{{"password": {json.dumps(s, ensure_ascii=False)}, "user": "bob", '
                      f'"deep": {deep}}}').encode(encoding)


_JSON = {"Content-Type": "application/json"}
# (name, body of a secret, headers): JSON read as json.loads reads bytes, with no charset
AS_RECEIVED = [
    ("big-utf-16-le", _big("utf-16-le"), _JSON),
    ("big-utf-16-be", _big("utf-16-be"), _JSON),
    ("big-utf-32-le", _big("utf-32-le"), _JSON),
    ("deep-utf-16", _deep("utf-16"), _JSON),  # (with a byte order mark)
    ("deep-utf-16-le", _deep("utf-16-le"), _JSON),
    ("deep-utf-32-be", _deep("utf-32-be"), _JSON),
    ("deep-utf-16-le-gzip", lambda s: gzip.compress(_deep("utf-16-le")(s)),
     {**_JSON, "Content-Encoding": "gzip"}),
    # (a charset that says otherwise: JSON's reading, the one Capture.json() gives, is shown)
    ("deep-utf-16-le-said-latin-1", _deep("utf-16-le"),
     {"Content-Type": "application/json; charset=iso-8859-1"}),
    ("deep-utf-8", _deep("utf-8"), _JSON),  # (as before)
]
RECEIVED_PARAMS = [pytest.param(make, headers, (f"Ra{i}w", f"Rb{i}w"), id=name)
                   for i, (name, make, headers) in enumerate(AS_RECEIVED)]


@pytest.mark.parametrize("make,headers,needles", RECEIVED_PARAMS)
def test_json_in_utf_16_or_32_shown_as_received_hides_its_credentials(lab, request, make,
                                                                      headers, needles):
    name = "recv-" + request.node.callspec.id
    _first, second = _deliver(lab, name, [make(n + TAIL) for n in needles], headers)
    assert second.json()["password"] == needles[1] + TAIL  # (JSON: json.loads reads it)
    view = lab.live(bin=name)
    try:
        view.select(second.id)
        detail = view.detail.value
        assert "JSON as received" in detail and "credential fields hidden" in detail, detail[:600]
        assert _leaks(detail, needles) == [], detail[:600]
        assert "&quot;user&quot;: &quot;bob&quot;" in detail  # (the rest readable, as sent)
        assert _leaks(_saved_state(), needles) == []
        view.show_credentials.value = True  # (shown, readable: the person asked)
        assert needles[1] in view.detail.value
        view.show_credentials.value = False
        assert _leaks(_saved_state(), needles) == []
    finally:
        view.close()


SLACK_ACTION = {"type": "block_actions", "user": {"id": "U0KEPT"}, "actions": [{"value": "a&b=c"}]}


@pytest.mark.parametrize("headers,gz", [(_FORM, False), ({**_FORM, "Content-Encoding": "gzip"}, True)],
                         ids=["plain", "gzip"])
def test_a_form_field_holding_json_has_its_credentials_hidden_in_every_tab(lab, request,
                                                                           headers, gz):
    """Slack's interactive requests are a form whose ``payload=`` field is JSON with Slack's
    verification ``token`` in it: the Tree and Diff tabs hid it, but the Details tab's field
    table, the Raw body, Copy as curl and the stream page showed it (and a saved notebook kept
    it). A form field's JSON value has its credential keys hidden wherever a form's
    credential fields are; the rest of it stays shown."""
    from urllib.parse import quote_plus

    from hooklab import credentials

    needles = ("SLKa_v3rif", "SLKb_v3rif")
    bodies = [b"team=T1&payload=" + quote_plus(json.dumps({**SLACK_ACTION, "token": n})).encode()
              for n in needles]
    if gz:
        bodies = [gzip.compress(b) for b in bodies]
    _a, b = _deliver(lab, f"slack-{request.node.callspec.id}", bodies, headers)
    assert needles[1] not in json.dumps(credentials.hidden_view(b))  # (the stream page's)
    view = lab.live(bin=f"slack-{request.node.callspec.id}")
    try:
        view.select(b.id)
        _open_every_tab(view)
        assert _leaks(_saved_state(), needles) == []
        if not gz:  # (a compressed form is hidden whole: nothing of it to keep shown)
            assert "U0KEPT" in view.detail.value and "&lt;hidden: 10 chars&gt;" in view.detail.value
        view.show_credentials.value = True
        _open_every_tab(view)
        assert needles[1] in view.raw.value or gz  # (shown: the person asked)
        view.show_credentials.value = False
        assert _leaks(_saved_state(), needles) == []
    finally:
        view.close()
