"""Exploring payloads as a user meets it: schema, JSON Schema, diff and search on a real lab.

Webhooks travel over real sockets into a real (in-memory or file) SQLite store; expected values
are written out by hand for crafted payloads, and every provider's built-in samples are checked
against a plain recursive walk of their JSON and validated by ``jsonschema`` (draft 2020-12).
"""

from __future__ import annotations

import gzip
import json
import math
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from _http import post
from jsonschema import Draft202012Validator

import hooklab
from hooklab import HookLab
from hooklab.explore import SCHEMA_COLUMNS
from hooklab.providers.samples import EVENTS

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json"}


def send_json(lab: HookLab, bin: str, payload: Any, headers: dict[str, str] | None = None) -> None:
    status, _ = post(lab.url_for(bin), json.dumps(payload).encode(), {**JSON, **(headers or {})})
    assert status == 200


# -- schema: crafted payloads, every value written out --------------------------------------------
P1 = {"id": "evt_1", "type": "invoice.paid",
      "data": {"object": {"amount": 100, "lines": [{"amount": 60}, {"amount": 40, "tax": None}]}}}
P2 = {"id": "evt_2", "type": "invoice.paid",
      "data": {"object": {"amount": 250, "lines": [{"amount": 250}], "coupon": "X"}}}
P3 = {"id": "evt_3", "type": "invoice.paid", "data": {"object": {"amount": None, "lines": []}}}


@pytest.fixture
def three(lab: HookLab) -> HookLab:
    for p in (P1, P2, P3):
        send_json(lab, "shop", p)
    lab.wait(3, timeout=10)
    return lab


def test_schema_rows_are_exact(three: HookLab) -> None:
    s = three.schema()
    assert tuple(s.columns) == SCHEMA_COLUMNS
    got = [tuple(r) for r in s[["field", "types", "present", "count", "distinct", "example"]]
           .astype(object).where(s.notna(), None).itertuples(index=False)]
    third = 1 / 3
    assert got == [
        ("(body)", "object", 1.0, 3, None, None),
        ("id", "string", 1.0, 3, 3, '"evt_1"'),
        ("type", "string", 1.0, 3, 1, '"invoice.paid"'),
        ("data", "object", 1.0, 3, None, None),
        ("data.object", "object", 1.0, 3, None, None),
        ("data.object.amount", "integer|null", 1.0, 3, 3, "100"),
        ("data.object.lines", "array", 1.0, 3, None, None),
        ("data.object.lines[]", "object", 2 * third, 3, None, None),
        ("data.object.lines[].amount", "integer", 2 * third, 3, 3, "60"),
        ("data.object.lines[].tax", "null", third, 1, 1, "null"),
        ("data.object.coupon", "string", third, 1, 1, '"X"'),
    ]
    assert s["provider"].isna().all() and s["event_type"].isna().all()
    caps = three.captures
    assert str(s["first_seen"].dtype) == "datetime64[ns, UTC]"
    row = s.set_index("field")
    assert row.loc["id", "first_seen"] == caps[0].received_at
    assert row.loc["id", "last_seen"] == caps[2].received_at
    assert row.loc["data.object.coupon", "first_seen"] == caps[1].received_at
    assert row.loc["data.object.coupon", "last_seen"] == caps[1].received_at
    assert row.loc["data.object.lines[].tax", "last_seen"] == caps[0].received_at


def test_schema_drift_is_one_filter(three: HookLab) -> None:
    """'New fields since the upgrade': first_seen after a time, and since= on the captures."""
    before = three.captures[-1].received_at
    send_json(three, "shop", {**P2, "id": "evt_4", "api_version": "2026-11-01",
                              "data": {"object": {"amount": 7, "lines": [], "currency": "eur"}}})
    three.wait(4, timeout=10)
    s = three.schema()
    new = s[s["first_seen"] > before]["field"].tolist()
    assert new == ["data.object.currency", "api_version"]  # tree order: under data, then top level
    only_new = three.schema(since=3)
    assert only_new.set_index("field").loc["(body)", "count"] == 1
    assert set(only_new["field"]) == {"(body)", "id", "type", "api_version", "data", "data.object",
                                      "data.object.amount", "data.object.lines",
                                      "data.object.currency"}


def test_schema_groups_by_provider_and_event_type(lab: HookLab) -> None:
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid")
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="charge.refunded")
    hooklab.send(lab.url_for("gh"), provider="github", event="push")
    lab.wait(3, timeout=10)
    s = lab.schema()
    groups = s[s["field"] == "(body)"][["provider", "event_type", "count"]].values.tolist()
    assert groups == [["stripe", "invoice.paid", 1], ["stripe", "charge.refunded", 1],
                      ["github", "push", 1]]
    only = lab.schema(provider="github")
    assert set(only["provider"]) == {"github"} and "head_commit.message" in set(only["field"])
    assert (lab.schema(event_type="invoice.paid")["event_type"] == "invoice.paid").all()
    with pytest.raises(TypeError, match="unknown capture filter 'colour'"):
        lab.schema(colour="red")


def _walk(value: Any, path: str, out: dict[str, dict[str, Any]], cap_id: int) -> None:
    """A plain recursive walk: the reference the schema's columns are checked against."""
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number",
             bool: "boolean", type(None): "null"}
    row = out.setdefault(path, {"types": set(), "captures": set(), "count": 0, "values": set()})
    row["types"].add(names[type(value)])
    row["captures"].add(cap_id)
    row["count"] += 1
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}.{k}" if path else k, out, cap_id)
    elif isinstance(value, list):
        for v in value:
            _walk(v, path + "[]", out, cap_id)
    else:
        row["values"].add((type(value), value))


def test_every_provider_sample_through_a_real_lab(file_lab: HookLab) -> None:
    lab = file_lab
    sent = 0
    for provider, events in EVENTS.items():
        for event in events:
            for _ in range(2):  # two deliveries each: fresh ids, same shape
                r = hooklab.send(lab.url_for(provider), provider=provider, event=event)
                assert r.status == 200
                sent += 1
    caps = lab.wait(sent, timeout=30)
    s = lab.schema()
    assert s["field"].eq("(body)").sum() == len(s.groupby(["provider", "event_type"], dropna=False))
    assert int(s.loc[s["field"] == "(body)", "count"].sum()) == sent
    groups: dict[tuple[Any, Any], list[Any]] = {}
    for c in caps:
        groups.setdefault((c.provider, c.event_type), []).append(c)
    for (provider, event_type), members in groups.items():
        part = s[(s["provider"].fillna("<none>") == (provider or "<none>"))
                 & (s["event_type"].fillna("<none>") == (event_type or "<none>"))].set_index("field")
        expected: dict[str, dict[str, Any]] = {}
        kinds = set()
        for c in members:
            body = c.json()
            if body is None and c.content_type == "application/x-www-form-urlencoded":
                body = {k: v[0] if len(v) == 1 else v for k, v in c.form().items()}
                for k, v in body.items():  # Slack's payload=: JSON inside the form
                    if isinstance(v, str) and v[:1] in "{[":
                        try:
                            body[k] = json.loads(v)
                        except ValueError:
                            pass
                kinds.add("form")
            elif body is None:  # neither JSON nor a form: the body row names its kind
                kinds.add("empty" if not c.body else c.content_type or "text")
                continue
            else:
                kinds.add({dict: "object", list: "array"}.get(type(body), "scalar"))
            if isinstance(body, dict):
                for k, v in body.items():
                    _walk(v, k, expected, c.id)
            elif isinstance(body, list):
                for v in body:
                    _walk(v, "[]", expected, c.id)
        assert set(part.index) == {"(body)", *expected}, (provider, event_type)
        assert set(part.loc["(body)", "types"].split("|")) == kinds, (provider, event_type)
        for field, want in expected.items():
            row = part.loc[field]
            assert set(row["types"].split("|")) == want["types"], (event_type, field)
            assert row["present"] == pytest.approx(len(want["captures"]) / len(members))
            assert row["count"] == want["count"], (event_type, field)
            if want["values"]:
                assert row["distinct"] == len(want["values"]), (event_type, field)
            else:
                assert pd.isna(row["distinct"])


def test_json_schema_of_crafted_stripe_events(lab: HookLab) -> None:
    for p in (P1, P2, P3):
        hooklab.send(lab.url_for("stripe"), payload=p,
                     headers={"Stripe-Signature": "t=1,v1=00", "User-Agent": "Stripe/1.0"})
    caps = lab.wait(3, timeout=10)
    assert {c.provider for c in caps} == {"stripe"} and {c.event_type for c in caps} == {"invoice.paid"}
    js = lab.json_schema("invoice.paid")
    assert js["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert js["title"] == "invoice.paid"
    assert js["type"] == "object" and js["required"] == ["id", "type", "data"]
    obj = js["properties"]["data"]["properties"]["object"]
    assert obj["required"] == ["amount", "lines"]  # coupon is in one of three
    assert obj["properties"]["amount"] == {"type": ["integer", "null"]}
    assert obj["properties"]["lines"]["items"] == {
        "type": "object",
        "properties": {"amount": {"type": "integer"}, "tax": {"type": "null"}},
        "required": ["amount"],
    }
    Draft202012Validator.check_schema(js)
    v = Draft202012Validator(js)
    for c in caps:
        v.validate(c.json())
    assert not v.is_valid({"type": "invoice.paid", "data": {}})  # no id
    assert not v.is_valid({**P1, "data": {"object": {"amount": "100", "lines": []}}})


def test_json_schema_for_every_provider_event(lab: HookLab) -> None:
    for provider, events in EVENTS.items():
        for event in events:
            for _ in range(2):
                hooklab.send(lab.url_for(provider), provider=provider, event=event)
    caps = lab.wait(2 * sum(map(len, EVENTS.values())), timeout=30)
    by_event: dict[str, list[Any]] = {}
    for c in caps:
        if c.event_type:
            by_event.setdefault(c.event_type, []).append(c)
    assert len(by_event) >= 10
    described = 0
    for event_type, members in by_event.items():
        shaped = [c for c in members if c.json() is not None or c.form()]
        if not shaped:  # e.g. empty bodies: nothing to describe, and it says so
            with pytest.raises(ValueError, match="no JSON or form bodies"):
                lab.json_schema(event_type)
            continue
        js = lab.json_schema(event_type)
        Draft202012Validator.check_schema(js)
        v = Draft202012Validator(js)
        for c in shaped:
            body = c.json()
            if body is None:  # a form body: as capture.form() gives it (each field a list)
                body = c.form()
            errors = [e.message for e in v.iter_errors(body)]
            assert errors == [], (event_type, errors[:3])
        described += 1
    assert described >= 10


def test_json_schema_refuses_what_it_cannot_describe(lab: HookLab) -> None:
    with pytest.raises(LookupError, match="no captures with event_type='nothing.here'"):
        lab.json_schema("nothing.here")
    with pytest.raises(TypeError):
        lab.json_schema("")  # type: ignore[arg-type]


# -- bodies that are not JSON ------------------------------------------------------------------------
def test_non_json_bodies_appear_by_kind_and_forms_as_fields(lab: HookLab) -> None:
    slack = urllib.parse.urlencode({
        "payload": json.dumps({"type": "block_actions", "actions": [{"action_id": "go"}]}),
    }).encode()
    cases = [
        ("form", b"a=1&b=x&b=y&c=", "application/x-www-form-urlencoded"),
        ("slack", slack, "application/x-www-form-urlencoded"),
        ("xml", b'<?xml version="1.0"?><a><b>1</b></a>', "application/xml"),
        ("text", b"plain words", "text/plain"),
        ("bin", bytes(range(256)), "application/octet-stream"),
        ("empty", b"", "application/json"),
        ("bad", b'{"a": ', "application/json"),
    ]
    for bin_, body, ct in cases:
        assert post(lab.url_for(bin_), body, {"Content-Type": ct})[0] == 200
    gz = gzip.compress(json.dumps({"zipped": {"n": 1}}).encode())
    assert post(lab.url_for("gz"), gz, {**JSON, "Content-Encoding": "gzip"})[0] == 200
    lab.wait(len(cases) + 1, timeout=10)

    def rows(bin_: str) -> dict[str, tuple[Any, ...]]:
        s = lab.schema(bin=bin_)
        return {r.field: (r.types, r.present, r.count, r.example) for r in s.itertuples()}

    assert rows("form") == {
        "(body)": ("form", 1.0, 1, None),
        "a": ("string", 1.0, 1, '"1"'),
        "b": ("array", 1.0, 1, None),
        "b[]": ("string", 1.0, 2, '"x"'),
        "c": ("string", 1.0, 1, '""'),
    }
    assert rows("slack") == {
        "(body)": ("form", 1.0, 1, None),
        "payload": ("object", 1.0, 1, "(JSON inside a form field)"),
        "payload.type": ("string", 1.0, 1, '"block_actions"'),
        "payload.actions": ("array", 1.0, 1, None),
        "payload.actions[]": ("object", 1.0, 1, None),
        "payload.actions[].action_id": ("string", 1.0, 1, '"go"'),
    }
    assert rows("xml") == {"(body)": ("application/xml", 1.0, 1, '<?xml version="1.0"?><a><b>1</b></a>')}
    assert rows("text") == {"(body)": ("text/plain", 1.0, 1, "plain words")}
    assert rows("bin") == {"(body)": ("application/octet-stream", 1.0, 1, "<256 bytes>")}
    assert rows("empty") == {"(body)": ("empty", 1.0, 1, None)}
    (bad,) = rows("bad").values()
    assert bad[0] == "application/json" and bad[3].startswith('{"a":  (not JSON: ')
    assert rows("gz") == {
        "(body)": ("object", 1.0, 1, None),
        "zipped": ("object", 1.0, 1, None),
        "zipped.n": ("integer", 1.0, 1, "1"),
    }


# -- diff -----------------------------------------------------------------------------------------------
def _rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    assert list(df.columns) == ["field", "change", "a", "b"]
    return [tuple(r) for r in df.itertuples(index=False)]


#: (how a credential arrives, its field in the schema, the example shown without reveal=True)
CREDENTIAL_EXAMPLES = [
    ("form", "password", '"hunter2"'),
    ("form", "user[token]", '"tok-123"'),
    ("form", "Client_Secret", '"cs-9"'),
    ("json", "data.api_key", '"sk_live_1"'),
    ("json", "data.lines[].secret", '"s-1"'),
    ("json", "auth.password", '"pw-2"'),
    ("json", "accessToken.x", None),  # (not a credential's name: shown)
]


def test_schema_hides_a_credential_s_example_unless_revealed(file_lab: HookLab) -> None:
    """lab.schema() is a notebook output a saved notebook keeps: a field named like a
    credential shows its example's length only, in forms and JSON bodies alike, as the
    live view's Tree tab does; reveal=True gives it back; other fields are untouched."""
    lab = file_lab
    form = {"user": "bob", "password": "hunter2", "user[token]": "tok-123", "Client_Secret": "cs-9"}
    post(lab.url_for("f"), urllib.parse.urlencode(form).encode(),
         {"Content-Type": "application/x-www-form-urlencoded"})
    send_json(lab, "j", {"data": {"api_key": "sk_live_1", "lines": [{"secret": "s-1"}], "n": 5},
                         "auth": {"password": "pw-2"}, "tokenization": {"x": "visible"},
                         "session": {"refreshToken": "rt-3", "token_count": 7}})
    lab.wait(2, timeout=10)
    for reveal in (False, True):
        s = lab.schema(reveal=reveal) if reveal else lab.schema()
        shown = dict(zip(s["field"], s["example"], strict=True))
        for _kind, field, value in CREDENTIAL_EXAMPLES:
            if value is None:
                continue
            want = value if reveal else f"<hidden: {len(json.loads(value))} chars>"  # (not the quotes)
            assert shown[field] == want, (field, reveal)
        assert shown["user"] == '"bob"' and shown["data.n"] == "5"
        assert shown["tokenization.x"] == '"visible"' and shown["session.token_count"] == "7"
        # a name whose last word is a credential's (refreshToken, db_password, webhook_secret)
        assert shown["session.refreshToken"] == ('"rt-3"' if reveal else "<hidden: 4 chars>")
        assert shown["data"] is None  # (objects have no example: nothing to hide)
    text = lab.schema().to_string() + lab.schema(provider=None).to_string()
    for secret in ("hunter2", "tok-123", "cs-9", "sk_live_1", "s-1", "pw-2", "rt-3"):
        assert secret not in text
    # the same filters again (the kept builder): still hidden, the kept table not changed
    assert lab.schema(reveal=True)["example"].tolist() == s["example"].tolist()
    assert "hunter2" not in lab.schema().to_string()


def test_diff_of_two_deliveries(lab: HookLab) -> None:
    a = {"id": "evt_1", "n": 1, "flag": True, "nested": {"keep": 1, "gone": "x", "list": [1, 2, 3]},
         "t": {"was": "object"}, "f": float("nan"), "big": 123456789012345678901234567890}
    b = {"id": "evt_2", "n": 1.0, "flag": 1, "nested": {"keep": 1, "list": [1, 5], "new": None},
         "t": "now a string", "f": float("nan"), "big": 123456789012345678901234567891}
    for p in (a, b):
        assert post(lab.url_for("d"), json.dumps(p).encode(), JSON)[0] == 200
    ca, cb = lab.wait(2, timeout=10)
    assert _rows(lab.diff(ca, cb)) == [
        ("id", "changed", "evt_1", "evt_2"),
        ("n", "changed", 1, 1.0),          # integer became a number
        ("flag", "changed", True, 1),      # boolean became an integer
        ("nested.gone", "removed", "x", None),
        ("nested.list[1]", "changed", 2, 5),
        ("nested.list[2]", "removed", 3, None),
        ("nested.new", "added", None, None),
        ("t", "changed", {"was": "object"}, "now a string"),
        ("big", "changed", 123456789012345678901234567890, 123456789012345678901234567891),
    ]  # NaN == NaN here: "f" is unchanged; huge integers compared exactly
    assert _rows(lab.diff(ca.id, ca.id)) == []
    back = lab.diff(cb.id, ca.id)
    assert ("nested.gone", "added", None, "x") in _rows(back)
    with pytest.raises(KeyError, match="no capture with id 999"):
        lab.diff(ca, 999)
    with pytest.raises(TypeError):
        lab.diff(ca, "2")  # type: ignore[arg-type]


@pytest.mark.parametrize("a,b,want", [
    # the whole payloads compare equal by Python's == (1 == True == 1.0): found anyway
    ({"flag": 1}, {"flag": True}, [("flag", "changed", 1, True)]),
    ({"flag": 0}, {"flag": False}, [("flag", "changed", 0, False)]),
    ({"n": 1}, {"n": 1.0}, [("n", "changed", 1, 1.0)]),
    ([1, {"x": [True]}], [1, {"x": [1]}], [("[1].x[0]", "changed", True, 1)]),
    ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, []),  # key order is no change
    ({"f": float("nan")}, {"f": None}, [("f", "changed", float("nan"), None)]),
])
def test_diff_tells_booleans_integers_and_floats_apart(lab: HookLab, a: Any, b: Any,
                                                        want: list[tuple[Any, ...]]) -> None:
    for p in (a, b):
        assert post(lab.url_for("t"), json.dumps(p).encode(), JSON)[0] == 200
    ca, cb = lab.wait(2, timeout=10)
    got = _rows(lab.diff(ca, cb))
    assert repr(got) == repr(want) and [tuple(map(type, r)) for r in got] == [
        tuple(map(type, r)) for r in want]


def test_diff_of_a_retry_and_its_headers(lab: HookLab) -> None:
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid")
    (orig,) = lab.wait(1, timeout=10)
    lab.replay(orig, to=lab.url_for("stripe"))  # exactly what a provider retry looks like
    _, retry = lab.wait(2, timeout=10)
    assert retry.duplicate and _rows(lab.diff(orig, retry)) == []
    # a retry with an Authorization header and a new timestamp header
    hooklab.send(lab.url_for("h"), payload={"x": 1},
                 headers={"Authorization": "Bearer first-secret", "X-Attempt": "1"})
    hooklab.send(lab.url_for("h"), payload={"x": 1},
                 headers={"Authorization": "Bearer second-secret!", "X-Attempt": "2"})
    h1, h2 = lab.wait(2, timeout=10, bin="h")
    assert _rows(lab.diff(h1, h2)) == []
    rows = _rows(lab.diff(h1, h2, headers=True))
    assert rows == [
        ("headers.authorization", "changed", "<hidden: 19 chars>", "<hidden: 21 chars>"),
        ("headers.x-attempt", "changed", "1", "2"),
    ]
    assert "first-secret" not in repr(rows)
    shown = _rows(lab.diff(h1, h2, headers=True, reveal=True))
    assert shown[0] == ("headers.authorization", "changed", "Bearer first-secret",
                        "Bearer second-secret!")
    # a rotated token of the same length: hidden values look alike, the change is still one
    for token in ("Bearer OLDTOKEN111", "Bearer NEWTOKEN222"):
        hooklab.send(lab.url_for("rot"), payload={"x": 1},
                     headers={"Authorization": token})
    r1, r2 = lab.wait(2, timeout=10, bin="rot")
    assert _rows(lab.diff(r1, r2, headers=True)) == [
        ("headers.authorization", "changed", "<hidden: 18 chars>", "<hidden: 18 chars>"),
    ]
    assert _rows(lab.diff(r1, r1, headers=True)) == []


def test_diff_of_bodies_that_are_not_json(lab: HookLab) -> None:
    post(lab.url_for("t"), b"first text", {"Content-Type": "text/plain"})
    post(lab.url_for("t"), b"second text", {"Content-Type": "text/plain"})
    post(lab.url_for("t"), b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"})
    post(lab.url_for("t"), b"a=1&b=3", {"Content-Type": "application/x-www-form-urlencoded"})
    t1, t2, f1, f2 = lab.wait(4, timeout=10)
    assert _rows(lab.diff(t1, t2)) == [("(body)", "changed", "first text", "second text")]
    assert _rows(lab.diff(f1, f2)) == [("b", "changed", "2", "3")]
    assert _rows(lab.diff(t1, f1)) == [("(body)", "changed", "first text", {"a": "1", "b": "2"})]


FORM = "application/x-www-form-urlencoded"


def _h(n: int) -> str:
    return f"<hidden: {n} chars>"


#: (case, body a, body b, gzip?, rows hidden, rows with reveal=True, secrets never shown hidden)
DIFF_SECRETS = [
    ("a repeated credential: its first item changed",
     b"password=aaaa&password=cccc", b"password=bbbb&password=cccc", False,
     [("password[0]", "changed", _h(4), _h(4))],
     [("password[0]", "changed", "aaaa", "bbbb")], ["aaaa", "bbbb", "cccc"]),
    ("a repeated credential gains an item",
     b"token=a&token=b", b"token=a&token=b&token=cc", False,
     [("token[2]", "added", None, _h(2))],
     [("token[2]", "added", None, "cc")], ["cc"]),
    ("a repeated credential loses an item",
     b"token=a&token=b&token=cc", b"token=a&token=b", False,
     [("token[2]", "removed", _h(2), None)],
     [("token[2]", "removed", "cc", None)], ["cc"]),
    ("a credential becomes repeated",
     b"password=aa", b"password=aa&password=bbb", False,
     [("password", "changed", _h(2), [_h(2), _h(3)])],
     [("password", "changed", "aa", ["aa", "bbb"])], ["bbb"]),
    ("a bracketed name repeated (not read as a path)",
     b"user[token]=t1&user[token]=t2", b"user[token]=t1&user[token]=t3", False,
     [("user[token][1]", "changed", _h(2), _h(2))],
     [("user[token][1]", "changed", "t2", "t3")], ["t1", "t2", "t3"]),
    ("one value of the same length: still a change",
     b"user=a&password=PW1", b"user=a&password=PW2", False,
     [("password", "changed", _h(3), _h(3))],
     [("password", "changed", "PW1", "PW2")], ["PW1", "PW2"]),
    ("a credential after a ';' inside another field's value",
     b"a=1;password=secret1", b"a=1;password=secret2", False,
     [("a", "changed", "1;password=" + _h(7), "1;password=" + _h(7))],
     [("a", "changed", "1;password=secret1", "1;password=secret2")], ["secret1", "secret2"]),
    # a credential holding JSON is hidden as one text: its keys and their lengths stay hidden,
    # so the row names the field, not the key inside it that changed
    ("a credential holding JSON",
     b'token={"a":"xyz","b":"q"}', b'token={"a":"xyw","b":"q"}', False,
     [("token", "changed", _h(19), _h(19))],
     [("token.a", "changed", "xyz", "xyw")], ["xyz", "xyw"]),
    ("a compressed form, hidden whole",
     b"user=a&password=p1&password=p2", b"user=b&password=p1&password=p3", True,
     [("user", "changed", _h(1), _h(1)), ("password[1]", "changed", _h(2), _h(2))],
     [("user", "changed", "a", "b"), ("password[1]", "changed", "p2", "p3")], ["p1", "p2", "p3"]),
    ("JSON inside a compressed form hidden whole: hidden as one text",
     b'payload={"type":"xx","n":1}&password=p', b'payload={"type":"yy","n":1}&password=p', True,
     [("payload", "changed", _h(22), _h(22))],
     [("payload.type", "changed", "xx", "yy")], ["xx", "yy"]),
]


@pytest.mark.parametrize(("case", "first", "second", "gz", "hidden", "revealed", "secrets"),
                         DIFF_SECRETS, ids=[c[0] for c in DIFF_SECRETS])
def test_diff_names_a_form_s_credential_fields_as_reveal_does(
        lab: HookLab, case: str, first: bytes, second: bytes, gz: bool,
        hidden: list[tuple[Any, ...]], revealed: list[tuple[Any, ...]], secrets: list[str]) -> None:
    """A repeated credential field (``password=aaaa&password=cccc`` then ``bbbb&...``) was
    one row naming the whole field with both lists of hidden values, where reveal=True names
    ``password[0]``: the payloads are compared as sent and each row's values hidden after (as
    headers are), so hidden rows name the fields reveal=True does, and show what the Tree tab
    shows of each value (its length), never more."""
    headers = {"Content-Type": FORM, **({"Content-Encoding": "gzip"} if gz else {})}
    for body in (first, second):
        assert post(lab.url_for("f"), gzip.compress(body) if gz else body, headers)[0] == 200
    a, b = lab.wait(2, timeout=10)
    got = _rows(lab.diff(a, b))
    assert got == hidden
    assert _rows(lab.diff(a, b, reveal=True)) == revealed
    for secret in secrets:
        assert secret not in repr(got), secret


# -- search wherever filters are ------------------------------------------------------------------------
def test_search_filter_in_schema_sql_live_and_stream(lab: HookLab) -> None:
    send_json(lab, "a", {"note": "Needle-7 in a haystack"})
    send_json(lab, "b", {"note": "nothing here"})
    gz = gzip.compress(b'{"zip": "needle-7 compressed"}')
    post(lab.url_for("c"), gz, {**JSON, "Content-Encoding": "gzip"})
    lab.wait(3, timeout=10)
    assert [c.bin for c in lab.query(search="needle-7")] == ["a", "c"]
    assert list(lab.dataframe(search="NEEDLE-7")["bin"]) == ["a", "c"]
    assert [c.bin for c in lab.wait(2, timeout=1, search="needle-7")] == ["a", "c"]
    s = lab.schema(search="needle-7")
    assert set(s["field"]) == {"(body)", "note", "zip"}
    view = lab.live(search="needle-7")
    try:
        assert [lab.get(i).bin for i in view.rows] == ["c", "a"]
        assert view.search.value == "needle-7" and view.search.disabled
    finally:
        view.close()
    # the stream: replayed captures honour search=
    import asyncio

    import tornado.websocket

    async def first_two() -> list[str]:
        url = lab.url.replace("http", "ws") + "/_hooklab/ws?since=0&search=needle-7"
        token = getattr(lab, "api_token", None)
        req = tornado.httpclient.HTTPRequest(
            url, headers={"Authorization": f"token {token}"} if token else {})
        conn = await tornado.websocket.websocket_connect(req)
        got = []
        while len(got) < 2:
            msg = await asyncio.wait_for(conn.read_message(), 5)
            assert msg is not None
            data = json.loads(msg)
            if "bin" in data:
                got.append(data["bin"])
        conn.close()
        return got

    import tornado.httpclient

    assert asyncio.run(first_two()) == ["a", "c"]


# -- a real file store, opened again for analysis only ------------------------------------------------------
def test_schema_diff_sql_on_a_reopened_database(tmp_path) -> None:
    db = tmp_path / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        for p in (P1, P2):
            send_json(lab, "x", p)
        lab.wait(2, timeout=10)
    finally:
        lab.stop()
    again = hooklab.open(db)
    try:
        assert again.schema().set_index("field").loc["data.object.coupon", "present"] == 0.5
        assert _rows(again.diff(1, 2))[0] == ("id", "changed", "evt_1", "evt_2")
        got = again.sql("SELECT json_extract(payload, '$.data.object.amount') AS amount FROM captures")
        assert got["amount"].tolist() == [100, 250]
    finally:
        again.stop()


def test_received_at_and_times_line_up(three: HookLab) -> None:
    s = three.schema()
    caps = three.captures
    got = three.sql("SELECT id, received_at FROM captures ORDER BY id")
    assert got["received_at"].tolist() == [c.received_at for c in caps]
    assert s["first_seen"].min() == caps[0].received_at
    assert math.isclose(s["present"].max(), 1.0)
    assert (datetime.now(timezone.utc) - s["last_seen"].max()) < timedelta(minutes=5)


def test_schema_reads_only_new_captures_and_notices_deletions(tmp_path) -> None:
    """schema() keeps its work between calls; new captures are added, deleted ones undone."""
    lab = HookLab(port=0, db=str(tmp_path / "c.sqlite3"), retention_count=3).start()
    try:
        send_json(lab, "x", P1)
        lab.wait(1, timeout=10)
        first = lab.schema()
        assert first.set_index("field").loc["(body)", "count"] == 1
        send_json(lab, "x", P2)
        lab.wait(2, timeout=10)
        second = lab.schema().set_index("field")
        assert second.loc["(body)", "count"] == 2
        assert second.loc["data.object.coupon", "present"] == 0.5
        assert second.loc["id", "distinct"] == 2
        assert lab.schema(bin="x").set_index("field").loc["(body)", "count"] == 2
        lab.clear()
        send_json(lab, "x", P3)
        lab.wait(1, timeout=10)
        third = lab.schema().set_index("field")
        assert third.loc["(body)", "count"] == 1 and "data.object.coupon" not in third.index
        assert third.loc["id", "example"] == '"evt_3"'
        for p in (P1, P2, P1):  # retention keeps the newest 3: P3 goes, then the first P1
            send_json(lab, "x", p)
            time.sleep(1.1)  # retention runs at most once a second
        send_json(lab, "x", P2)
        deadline = time.monotonic() + 10
        while lab.store.count() != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [c.json()["id"] for c in lab.captures] == ["evt_2", "evt_1", "evt_2"]
        fourth = lab.schema().set_index("field")
        assert fourth.loc["(body)", "count"] == 3
        assert fourth.loc["data.object.coupon", "count"] == 2
        assert fourth.loc["id", "distinct"] == 2 and fourth.loc["id", "example"] == '"evt_2"'
    finally:
        lab.stop()


def test_schema_of_a_large_store_is_read_from_its_column_segments(tmp_path) -> None:
    """A store of 9,000 captures (two sealed segments and the rows after them; gzip bodies,
    text bodies, three providers' events): the first schema() reads the segments, not row by
    row, and every row of it is what a plain walk of the payloads gives."""
    import gzip
    import time

    from hooklab.store import CaptureStore

    path = str(tmp_path / "seg.sqlite3")
    store = CaptureStore(path, durability="normal")
    t0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
    records = []
    for i in range(9000):
        payload = dict([P1, P2, P3][i % 3])
        payload["id"] = f"evt_{i}"
        headers = [("Content-Type", "application/json")]
        body = json.dumps(payload).encode()
        if i % 50 == 7:
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        elif i % 97 == 5:
            body, headers = f"hello {i % 4}".encode(), [("Content-Type", "text/plain")]
        records.append({"method": "POST", "path": "/shop", "headers": headers, "body": body,
                        "received_at": t0 + timedelta(seconds=i),
                        "provider": ["stripe", "shopify", None][i % 3], "event_type": "e"})
    assert store.add_many(records) == 9000
    end = time.monotonic() + 60
    while store._behind() and time.monotonic() < end:
        time.sleep(0.05)
    assert store._segments_upto >= 8192
    store.close()

    lab = hooklab.open(path)
    try:
        by_sql = []
        plain = lab.store.iter_rows
        lab.store.iter_rows = lambda *a, **k: by_sql.append(k) or plain(*a, **k)  # type: ignore[method-assign]
        s = lab.schema()
        assert by_sql == []  # every capture came from the segments
        for provider, k in (("stripe", 0), ("shopify", 1), (None, 2)):
            members = [(i, r) for i, r in enumerate(records) if i % 3 == k]
            part = s[s["provider"].fillna("<none>") == (provider or "<none>")].set_index("field")
            expected: dict[str, dict[str, Any]] = {}
            kinds = set()
            for i, r in members:
                raw = r["body"]
                if len(r["headers"]) > 1:
                    raw = gzip.decompress(raw)
                if raw.startswith(b"hello"):
                    kinds.add("text/plain")
                    continue
                kinds.add("object")
                for key, v in json.loads(raw).items():
                    _walk(v, key, expected, i)
            assert part.loc["(body)", "count"] == len(members)
            assert set(part.loc["(body)", "types"].split("|")) == kinds
            assert part.loc["(body)", "first_seen"] == t0 + timedelta(seconds=members[0][0])
            assert part.loc["(body)", "last_seen"] == t0 + timedelta(seconds=members[-1][0])
            assert set(part.index) == {"(body)", *expected}
            for field, want in expected.items():
                row = part.loc[field]
                assert set(row["types"].split("|")) == want["types"], (provider, field)
                assert row["present"] == pytest.approx(len(want["captures"]) / len(members))
                assert row["count"] == want["count"], (provider, field)
                assert row["first_seen"] == t0 + timedelta(seconds=min(want["captures"]))
                assert row["last_seen"] == t0 + timedelta(seconds=max(want["captures"]))
                if want["values"]:
                    assert row["distinct"] == len(want["values"]), (provider, field)
            assert part.loc["id", "example"] == f'"evt_{members[0][0]}"'
        assert lab.schema().equals(s)  # again: nothing new, the same table
    finally:
        lab.stop()
