"""Review of round 31: Basic credentials were read two ways. The scrub (``capture.py``)
took any whitespace after the scheme and URL-safe base64, while the secret book's "is the
secret their password?" split on one space and took standard base64 only: with
``Authorization: Basic<TAB><base64 of myapp:<secret>>`` the secret was hidden in the stored
header and the reason said "does not hold the bin's secret (wrong credentials?)", advising a
provider. Both now read them with :func:`hooklab.capture.basic_credentials`: the reason says
the bin's secret is the password. Real sockets on 127.0.0.1, a real SQLite file.
"""

from __future__ import annotations

import base64

import pytest
from _http import post
from _labs import file_module_lab

import hooklab

lab = file_module_lab()

S = "hunter2-password"
SAID = ("the bin's secret is the password of the Basic credentials in Authorization: "
        "register the whole user:password as the bin's secret to verify them")
NOT_IT = "the Authorization header does not hold the bin's secret (wrong credentials?); "
#: a user whose "user:<secret>" base64 holds "+" or "/" (so its URL-safe form differs):
#: checked below, not assumed
USER = "a>?~"


def _std(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _url_safe(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_the_url_safe_case_is_one() -> None:
    assert _std(f"{USER}:{S}") != base64.urlsafe_b64encode(f"{USER}:{S}".encode()).decode()


# (Authorization sent, reason said)
CASES = [
    (f"Basic\t{_std('myapp:' + S)}", SAID),
    (f"basic \t {_std('myapp:' + S)}", SAID),
    (f"Basic {_url_safe(USER + ':' + S)}", SAID),
    (f"Basic\t{_url_safe(USER + ':' + S)}", SAID),
    (f"Basic {_std('myapp:' + S)}", SAID),  # (as ever)
    # hostile or other: not the password
    (f"Basic\t{_std(S + ':x')}", NOT_IT),  # (the user, not the password)
    (f"Basic\t{_std('a:b:' + S)}", NOT_IT),  # (the password is b:<secret>)
    (f"Basic\t{_std('myapp' + S)}", NOT_IT),  # (no colon)
    ("Basic\t!!not-base64!!", NOT_IT),
    (f"Bearer\t{_std('myapp:' + S)}", NOT_IT),
]


@pytest.mark.parametrize("auth, reason", CASES, ids=[f"c{i}" for i in range(len(CASES))])
def test_basic_credentials_read_one_way(lab: hooklab.HookLab, auth: str, reason: str) -> None:
    lab.secret("hook", S)
    before = lab.captures[-1].id if len(lab.captures) else 0
    status, _ = post(lab.url_for("hook", "x"), b'{"a": 1}',
                     {"Content-Type": "application/json", "Authorization": auth})
    assert status == 200
    cap = lab.wait(1, timeout=10, since=before)[-1]
    assert cap.verified is False
    assert (cap.verify_reason or "").startswith(reason), cap.verify_reason
    assert S not in str(cap.headers)
