"""``lab.json_schema`` of form webhooks validates what ``capture.form()`` gives.

Slack slash commands and Slack's interactive ``payload=`` arrive as forms. The schema said
``{"team_id": {"type": "string"}}`` while no public call gave an instance it validates
(``capture.json()`` is None, ``capture.form()`` gives each field as a list). Now a form's
field is described as ``capture.form()`` gives it: the list of its values, strings; a field
holding JSON is a string whose ``contentSchema`` describes that JSON. Every capture a schema
came from validates (``jsonschema``, draft 2020-12): ``capture.form()`` of a form,
``capture.json()`` of a JSON body.

Webhooks are posted over real sockets to a real lab.
"""

from __future__ import annotations

import gzip
import json
import urllib.parse
from typing import Any

import pytest
from _http import post
from jsonschema import Draft202012Validator

from hooklab import Capture, HookLab

pytestmark = pytest.mark.timeout(120)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STRINGS = {"type": "array", "items": {"type": "string"}, "minItems": 1}


def form(fields: list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def slash(text: str) -> bytes:
    """A Slack slash command as Slack's docs show one."""
    return form([("token", "gIkuvaNzQIHg97ATvDxqgjtO"), ("team_id", "T0001"), ("team_domain", "example"),
                 ("channel_id", "C2147483705"), ("user_id", "U2147483697"), ("command", "/weather"),
                 ("text", text), ("response_url", "https://hooks.slack.com/commands/1234/5678"),
                 ("trigger_id", "13345224609.738474920.8088930838d88f008e0")])


def interactive(payload: dict[str, Any]) -> bytes:
    return form([("payload", json.dumps(payload))])


BLOCK = {"type": "block_actions", "team": {"id": "T0001"}, "actions": [{"action_id": "go", "value": "1"}]}
VIEW = {"type": "view_submission", "team": {"id": "T0001"}, "view": {"id": "V1"}}

#: (bin, [(body, content type, more headers)])
CASES: list[tuple[str, list[tuple[bytes, str, dict[str, str]]]]] = [
    ("slack-command", [(slash("94070"), FORM, {}), (slash(""), FORM, {})]),
    ("slack-interactive", [(interactive(BLOCK), FORM, {}), (interactive(VIEW), FORM, {})]),
    ("repeated", [(b"a=1&a=2&b=x", FORM, {}), (b"a=3", FORM, {}), (b"a=&a=&a=", FORM, {})]),
    ("blank", [(b"x=&y", FORM, {}), (b"x=1&y=2", FORM, {})]),
    ("sometimes-json", [(b"data=%7B%22a%22%3A1%7D", FORM, {}), (b"data=plain", FORM, {}),
                        (b"data=%5B1%2C2%5D", FORM, {})]),
    ("gzip", [(gzip.compress(b"team_id=T1&text=hi"), FORM, {"Content-Encoding": "gzip"}),
              (b"team_id=T2", FORM, {})]),
    ("charset", [("caf\u00e9=cr\u00e8me".encode(), FORM + "; charset=utf-8", {}), (b"caf%C3%A9=1", FORM, {})]),
    ("form-and-json", [(b"team_id=T2&payload=%7B%22n%22%3A1%7D", FORM, {}),
                       (b'{"team_id": "T1", "payload": {"n": 2}, "n": 1}', JSON, {})]),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def lab() -> Any:
    with HookLab(port=0, db=":memory:") as lab:
        total = 0
        for name, bodies in CASES:
            for body, ctype, more in bodies:
                status, answer = post(lab.url_for(name), body, {"Content-Type": ctype, **more})
                assert status == 200, (name, answer)
                total += 1
        lab.wait(total, timeout=20)
        yield lab


def instance(c: Capture) -> Any:
    """What the schema says validates: ``capture.form()`` of a form, else ``capture.json()``."""
    return c.form() if c.content_type == FORM else c.json()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_capture_validates_as_a_user_gets_it(lab: HookLab, case: Any) -> None:
    name, bodies = case
    caps = lab.query(bin=name)
    assert len(caps) == len(bodies)
    js = lab.json_schema(None, bin=name)
    Draft202012Validator.check_schema(js)
    v = Draft202012Validator(js)
    for c in caps:
        got = instance(c)
        assert got, (name, c.body)
        assert [e.message for e in v.iter_errors(got)] == [], (name, got)
    # a field holding JSON: the JSON in it validates against its contentSchema
    for key, prop in js["properties"].items():
        for sub in prop.get("anyOf", [prop]):
            item = sub.get("items", {})
            if "contentSchema" not in item:
                continue
            inner = Draft202012Validator(item["contentSchema"])
            for c in caps:
                for value in c.form().get(key, []):
                    if value[:1] in "{[":
                        assert [e.message for e in inner.iter_errors(json.loads(value))] == [], value


def test_a_slash_command_s_schema(lab: HookLab) -> None:
    js = lab.json_schema(None, bin="slack-command")
    names = ["token", "team_id", "team_domain", "channel_id", "user_id", "command", "text",
             "response_url", "trigger_id"]
    assert js["type"] == "object"
    assert js["properties"] == dict.fromkeys(names, STRINGS)
    assert js["required"] == names
    v = Draft202012Validator(js)
    # the fields one value each (no public call gives that) and a field left out: not valid
    (cap, _) = lab.query(bin="slack-command")
    assert not v.is_valid({k: vs[0] for k, vs in cap.form().items()})
    assert not v.is_valid({k: vs for k, vs in cap.form().items() if k != "team_id"})
    assert not v.is_valid({**cap.form(), "text": []})


def test_slack_s_payload_is_a_string_holding_json(lab: HookLab) -> None:
    js = lab.json_schema(None, bin="slack-interactive")
    assert js["required"] == ["payload"]
    payload = js["properties"]["payload"]
    assert payload["type"] == "array" and payload["minItems"] == 1
    item = payload["items"]
    assert item["type"] == "string" and item["contentMediaType"] == "application/json"
    inner = item["contentSchema"]
    assert inner["type"] == "object" and inner["required"] == ["type", "team"]
    assert inner["properties"]["actions"]["items"]["required"] == ["action_id", "value"]
    v = Draft202012Validator(inner)
    assert v.is_valid(BLOCK) and v.is_valid(VIEW) and not v.is_valid({"type": 7, "team": {}})


def test_repeated_and_blank_fields(lab: HookLab) -> None:
    js = lab.json_schema(None, bin="repeated")
    assert js["properties"] == {"a": STRINGS, "b": STRINGS} and js["required"] == ["a"]
    js = lab.json_schema(None, bin="blank")
    assert js["properties"] == {"x": STRINGS, "y": STRINGS} and js["required"] == ["x", "y"]


def test_forms_beside_json_bodies(lab: HookLab) -> None:
    """One bin, a form and a JSON body: each field is the JSON value as read, or the form's
    list of strings."""
    js = lab.json_schema(None, bin="form-and-json")
    team = js["properties"]["team_id"]
    assert team == {"anyOf": [{"type": "string"}, STRINGS]}
    form_json = js["properties"]["payload"]["anyOf"]
    assert form_json[0]["type"] == "object" and form_json[1]["items"]["contentMediaType"] == "application/json"
    assert js["required"] == ["team_id", "payload"]
    v = Draft202012Validator(js)
    assert not v.is_valid({"team_id": 5, "payload": {"n": 1}})
