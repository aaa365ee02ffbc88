"""``lab.schema()`` hides a credential's example as its length: the value's length, as ``lab.diff``
and the live view count it, not its JSON text's (``<hidden: 16 chars>`` was shown for a
14-character password: the quotes were counted).

Webhooks are posted over real sockets to a real lab; each length is written out by hand.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pandas as pd
import pytest
from _http import post

from hooklab import HookLab
from hooklab.explore.schema import hide_examples

pytestmark = pytest.mark.timeout(120)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SLACK_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"  # (the example token of Slack's docs: 24 characters)
LONG = "eyJ" + "x" * 297  # (a JWT-sized token: its JSON text is cut at 80 in the example)


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def form(fields: list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


#: (bin, content type, the body holding the credential, a second body, the schema field,
#: the example shown while hidden, the diff row's field (None: not compared) and its ``a``)
CASES = [
    ("json-nested", JSON, js({"user": {"password": "hunter2hunter2"}}), js({"user": {"password": "x"}}),
     "user.password", "<hidden: 14 chars>", "user.password"),
    ("json-top", JSON, js({"api_key": "sk_test_123"}), js({"api_key": "sk"}),
     "api_key", "<hidden: 11 chars>", "api_key"),
    ("json-number", JSON, js({"secret": 123456}), js({"secret": 7}),
     "secret", "<hidden: 6 chars>", "secret"),
    ("json-float", JSON, js({"secret": 2.5}), js({"secret": 7}),
     "secret", "<hidden: 3 chars>", "secret"),
    ("json-null", JSON, js({"password": None}), js({"password": None, "n": 1}),  # (null only)
     "password", "<hidden: 4 chars>", None),
    ("json-true", JSON, js({"password": True}), js({"password": "p"}),
     "password", "<hidden: 4 chars>", "password"),
    ("json-unicode", JSON, js({"password": "p\u00e4ssw\u00f6rd\U0001f511"}), js({"password": "p"}),
     "password", "<hidden: 9 chars>", "password"),
    ("json-escapes", JSON, js({"token": 'a"b\\c\n'}), js({"token": "t"}),
     "token", "<hidden: 6 chars>", "token"),
    ("json-surrogate", JSON, b'{"password": "ab\\ud800"}', js({"password": "p"}),
     "password", "<hidden: 3 chars>", "password"),
    ("json-long", JSON, js({"access_token": LONG}), js({"access_token": "t"}),
     "access_token", "<hidden: 300 chars>", "access_token"),
    ("json-in-list", JSON, js({"items": [{"secret": "s-1234"}]}), js({"items": [{"secret": "s"}]}),
     "items[].secret", "<hidden: 6 chars>", "items[0].secret"),
    ("form", FORM, form([("user", "u"), ("password", "hunter2")]), form([("user", "u"), ("password", "p")]),
     "password", "<hidden: 7 chars>", "password"),
    ("slack-command", FORM, form([("token", SLACK_TOKEN), ("team_id", "T0001"), ("command", "/weather")]),
     form([("token", "t"), ("team_id", "T0001"), ("command", "/weather")]),
     "token", "<hidden: 24 chars>", "token"),
    ("slack-payload", FORM, form([("payload", json.dumps({"type": "block_actions", "token": "verif-tok-1"}))]),
     form([("payload", json.dumps({"type": "block_actions", "token": "v"}))]),
     "payload.token", "<hidden: 11 chars>", "payload.token"),
    ("form-repeated", FORM, form([("password", "a1"), ("password", "bb22")]), form([("password", "c")]),
     "password[]", "<hidden: 2 chars>", None),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def lab() -> Any:
    with HookLab(port=0, db=":memory:") as lab:
        for name, ctype, first, second, *_ in CASES:
            for body in (first, second):
                status, answer = post(lab.url_for(name), body, {"Content-Type": ctype})
                assert status == 200, (name, answer)
        lab.wait(2 * len(CASES), timeout=20)
        yield lab


def examples(frame: pd.DataFrame) -> dict[str, Any]:
    return dict(zip(frame["field"], frame["example"].where(frame["example"].notna(), None), strict=True))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_schema_says_the_credential_s_own_length(lab: HookLab, case: Any) -> None:
    name, _ct, _first, _second, field, hidden, _diff_field = case
    shown = examples(lab.schema(bin=name))
    assert shown[field] == hidden
    revealed = examples(lab.schema(bin=name, reveal=True))
    assert revealed[field] != hidden and not str(revealed[field]).startswith("<hidden")
    assert examples(lab.schema(bin=name)) == shown  # (the kept builder: hidden again)


@pytest.mark.parametrize("case", [c for c in CASES if c[6]], ids=[c[0] for c in CASES if c[6]])
def test_schema_and_diff_say_the_same_length(lab: HookLab, case: Any) -> None:
    name, _ct, _first, _second, field, hidden, diff_field = case
    a, b = lab.query(bin=name)
    rows = {r.field: r.a for r in lab.diff(a, b).itertuples(index=False)}
    assert rows[diff_field] == hidden == examples(lab.schema(bin=name))[field]


def test_no_secret_is_in_the_hidden_table(lab: HookLab) -> None:
    text = lab.schema().to_string() + lab.schema()._repr_html_()
    for secret in ("hunter2", "sk_test_123", "123456", SLACK_TOKEN, "verif-tok-1", "s-1234", "bb22", LONG[:40]):
        assert secret not in text


def test_hide_examples_reads_the_length_back_from_a_revealed_table(lab: HookLab) -> None:
    """``hide_examples`` (for a table made with ``reveal=True``) counts as ``schema()`` does,
    and says only ``<hidden>`` where the example was cut short (its length is not in it)."""
    for name, *_rest, field, hidden, _d in CASES:
        got = examples(hide_examples(lab.schema(bin=name, reveal=True)))[field]
        assert got == ("<hidden>" if name == "json-long" else hidden), name
