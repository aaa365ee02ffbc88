"""Review of round 31: monday.com's ``aud`` check failed real deliveries behind a
path-rewriting proxy (jupyter-server-proxy's ``/user/x/proxy/8765/...``): on arrival the lab
knows only the URL it was reached at, and ``lab.secret`` has no ``url=``. On arrival (and in
``capture.verify()`` without ``url=``), when a proxy said it was on the way
(``X-Forwarded-*``), an ``aud`` whose path ends with the capture's path is taken, its host
not compared, and the reason says "checked by its path"; ``capture.verify(url=...)`` keeps
the strict check. Met as a user meets it: ``import hooklab``, a lab on a real SQLite file,
deliveries on a real socket to 127.0.0.1, tokens made here (``tests/_jwt.py``).
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from _jwt import hs256_jwt
from _labs import file_module_lab

import hooklab

lab = file_module_lab()

KEY = "monday-signing-secret-0123456789abcdef"
BODY = json.dumps({"event": {"type": "create_item", "triggerUuid": "tu-9", "boardId": 1,
                             "pulseId": 2}}).encode()
HUB = "https://hub.example.org/user/ada/proxy/{port}"
PROXY = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
         "X-Forwarded-Host": "hub.example.org"}

# (aud, headers a proxy added, verified on arrival, "checked by its path" in the reason)
CASES = [
    (HUB + "/mon/x", PROXY, True, True),
    (HUB + "/mon/x", {"Forwarded": "for=203.0.113.7;proto=https"}, True, True),
    ("http://other.example/mon/x", {"X-Forwarded-For": "203.0.113.7"}, True, True),
    # (the capture's own URL, X-Forwarded-Proto not changing it: checked whole, as ever)
    ("{url}", {"X-Forwarded-For": "203.0.113.7"}, True, False),
    (HUB + "/mon/x", {}, False, False),  # (no proxy said so: strict)
    (HUB + "/xmon/x", PROXY, False, False),  # (a path that ends otherwise, mid-segment)
    (HUB + "/mon/x/more", PROXY, False, False),
    (HUB + "/mon", PROXY, False, False),
    (HUB + "/other/x", PROXY, False, False),
    ("/mon/x", PROXY, False, False),  # (no http(s) URL)
    ("ftp://hub.example.org/mon/x", PROXY, False, False),
    ([HUB + "/mon/x"], PROXY, False, False),  # (monday's aud is a string)
    ("", PROXY, False, False),
]


def _deliver(lab: hooklab.HookLab, aud: object, extra: dict[str, str]) -> hooklab.Capture:
    now = int(time.time())
    claims = {"accountId": 1, "userId": 2, "iat": now, "exp": now + 300, "aud": aud}
    before = lab.captures[-1].id if len(lab.captures) else 0
    u = urlsplit(lab.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request("POST", "/mon/x", body=BODY,
                  headers={"Content-Type": "application/json", **extra,
                           "Authorization": hs256_jwt(KEY, claims)})
        c.getresponse().read()
    finally:
        c.close()
    return lab.wait(1, timeout=10, since=before)[-1]


@pytest.mark.parametrize("aud, extra, ok, by_path", CASES)
def test_monday_aud_behind_a_proxy_is_checked_by_its_path(lab: hooklab.HookLab, aud: object,
                                                          extra: dict[str, str], ok: bool,
                                                          by_path: bool) -> None:
    lab.secret("mon", KEY, provider="monday")
    port = lab.bound_port
    url = lab.url_for("mon", "x")

    def fill(v: object) -> object:
        if isinstance(v, str):
            return v.format(url=url, port=port)
        return [fill(x) for x in v] if isinstance(v, list) else v

    c = _deliver(lab, fill(aud), extra)
    assert c.verified is ok, c.verify_reason
    assert ("checked by its path" in c.verify_reason) is by_path, c.verify_reason
    if not ok:
        assert c.verify_reason.startswith("JWT aud is ")
    again = c.verify(KEY)  # (no url=: the capture's own, read as on arrival)
    assert (again.valid, again.reason) == (ok, c.verify_reason)
    if by_path:
        # the caller's url= is checked whole: the capture's own URL is not the aud
        strict = c.verify(KEY, url=url)
        assert not strict.valid and strict.reason.startswith("JWT aud is ")
        assert c.verify(KEY, url=fill(aud)).reason == "ok"  # (the URL monday called)
