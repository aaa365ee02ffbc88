"""``hooklab send --data``: the JSON you wrote is the body, byte for byte; what is no JSON is
refused.

Python's JSON reader takes ``NaN``, ``Infinity`` and ``-Infinity``, and it writes a number
too large for a float (``1e999``) as ``Infinity``: ``--data '{"a":NaN}'`` went out as
``{"a": NaN}``, which no strict JSON reader (RFC 8259) takes, exit 0. Now those literals are
refused (exit 2, nothing sent) and, without ``--provider``, the body is the text given
(``1e999`` stays ``1e999``); with ``--provider`` it is merged into the sample, which is
written anew: a number too large for a float is refused there, said why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _target import Target

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _strict(body: bytes) -> object:
    """``body`` read as RFC 8259 JSON: no NaN or Infinity literal, UTF-8."""
    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")
    return json.loads(body.decode("utf-8"), parse_constant=refuse)


def _send(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "send", url, *args], capture_output=True, text=True,
                          timeout=60, env=ENV)


SENT = ['{"a":1e999}', '{"a": -1E+400, "b": [1e999]}', '{"a":1}', '{ "a" : 1.50, "b":"x" }',
        '{"big": 123456789012345678901234567890, "tiny": 1e-999}', '{"\\u00e9": "caf\u00e9"}',
        '{"a": 1, "a": 2}']


@pytest.mark.parametrize("data", SENT)
def test_without_provider_the_body_is_the_json_as_written(data: str) -> None:
    with Target() as app:
        r = _send(app.url + "/x", "--data", data)
        (got,) = app.wait(1)
    assert r.returncode == 0, r.stderr
    assert got.body == data.encode("utf-8")
    assert [v for k, v in got.headers if k.lower() == "content-type"] == ["application/json"]
    _strict(got.body)


def test_a_content_type_header_given_is_the_one_sent() -> None:
    with Target() as app:
        r = _send(app.url + "/x", "--data", '{"a":1}', "--header",
                  "Content-Type: application/vnd.api+json")
        (got,) = app.wait(1)
    assert r.returncode == 0, r.stderr
    assert [v for k, v in got.headers if k.lower() == "content-type"] == [
        "application/vnd.api+json"]


# (--data, the literal said: the first one in it)
NOT_JSON = [('{"a":NaN}', "NaN"), ('{"a":Infinity}', "Infinity"), ('{"a":-Infinity}', "-Infinity"),
            ('{"a":[1,{"b":NaN}]}', "NaN"), ('{"NaN": -Infinity, "b": NaN}', "-Infinity")]


@pytest.mark.parametrize("provider", [[], ["--provider", "stripe"]], ids=["plain", "stripe"])
@pytest.mark.parametrize("data, literal", NOT_JSON)
def test_nan_and_infinity_are_refused(data: str, literal: str, provider: list[str]) -> None:
    with Target() as app:
        r = _send(app.url + "/x", *provider, "--data", data)
        time.sleep(0.3)
        assert app.received == []
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr == (f"hooklab: --data is not valid JSON: {literal} is no JSON value (RFC "
                        "8259 has no NaN or Infinity: write a number, or a string)\n")


def test_with_provider_the_data_is_merged_and_a_huge_number_refused() -> None:
    with Target() as app:
        ok = _send(app.url + "/x", "--provider", "stripe", "--data", '{"data": {"n": 1.5}}')
        (got,) = app.wait(1)
        huge = _send(app.url + "/x", "--provider", "stripe", "--data", '{"a": 1e999}')
        time.sleep(0.3)
        assert len(app.received) == 1
    assert ok.returncode == 0, ok.stderr
    assert _strict(got.body)["data"]["n"] == 1.5  # type: ignore[index]
    assert (huge.returncode, huge.stdout) == (2, "")
    assert huge.stderr == ("hooklab: --data holds 1e999, a number too large for a float: merged "
                           "into the sample's payload it cannot be written as it is (without "
                           "--provider, --data is sent as written)\n")
