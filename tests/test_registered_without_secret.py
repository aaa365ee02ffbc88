"""A bin registered for a provider without a secret is that provider's bin all the same.

``lab.secret("ny", None, provider="nylas")`` (README: ``lab.secret("wa", None,
provider="meta", verify_token="tok")``) was forgotten as soon as it was given: only a secret
or a verify token kept a bin's registration, so a Nylas ``GET ?challenge=`` to it (Nylas
checks the URL before it hands out the webhook secret) was stored with no provider, "its
User-Agent names neither", and ``hooklab serve --provider ny=nylas`` without
``--secret-file`` the same. Now the provider alone names the bin's sender wherever the
registration is read: the handshakes that depend on it (Dropbox/Nylas challenge, Meta/Strava
``hub.challenge``, Trello/Mandrill ``HEAD``, Discord's PING, Xero's intent, Standard Webhooks'
challenge) and deliveries (stored as the bin's provider, unchecked: ``verified`` None).

Each request goes over a real socket to a lab on a real SQLite file; the expected echoes are
the values sent (Dropbox, Nylas, Meta want the challenge back as text, Strava as
``{"hub.challenge": ...}``, per their docs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _http import exact_request as _send

import hooklab

pytestmark = pytest.mark.timeout(180)

GO_UA = [("User-Agent", "Go-http-client/2.0")]
JSON_CT = [("Content-Type", "application/json")]
EITHER = "dropbox or nylas"

#: (case, lab.secret kwargs (secret None), method, target after /<bin>, headers, body,
#:  status, answer body (None: not compared), provider, event type, verify_reason)
CASES: list[tuple[str, dict[str, str], str, str, list[tuple[str, str]], bytes, int,
                  bytes | None, str | None, str | None, str | None]] = [
    ("nylas challenge, User-Agent naming neither", {"provider": "nylas"}, "GET",
     "?challenge=ny-c1", GO_UA, b"", 200, b"ny-c1", "nylas", "challenge",
     "handshake: nylas does not sign it"),
    ("dropbox challenge, no User-Agent", {"provider": "dropbox"}, "GET", "?challenge=db-c2",
     [], b"", 200, b"db-c2", "dropbox", "challenge", "handshake: dropbox does not sign it"),
    ("nylas bin, Dropbox's User-Agent: the registration wins", {"provider": "nylas"}, "GET",
     "?challenge=ny-c3", [("User-Agent", "DropboxWebhooks/1.0")], b"", 200, b"ny-c3",
     "nylas", "challenge", "handshake: nylas does not sign it"),
    ("meta, no verify token, hex challenge (Strava's shape)", {"provider": "meta"}, "GET",
     "?hub.mode=subscribe&hub.challenge=abcdef12", [], b"", 200, b"abcdef12", "meta",
     "subscribe", "handshake: meta does not sign it"),
    ("strava, no verify token, integer challenge (Meta's shape)", {"provider": "strava"},
     "GET", "?hub.mode=subscribe&hub.challenge=12345", [], b"", 200,
     json.dumps({"hub.challenge": "12345"}, separators=(",", ":")).encode(), "strava",
     "subscribe", "handshake: strava does not sign it"),
    ("trello HEAD", {"provider": "trello"}, "HEAD", "", [], b"", 200, b"", "trello", "head",
     "handshake: trello does not sign it"),
    ("mandrill HEAD", {"provider": "mandrill"}, "HEAD", "", [], b"", 200, b"", "mandrill",
     "head", "handshake: mandrill does not sign it"),
    ("discord PING without the public key: 401 (Discord wants a checked endpoint)",
     {"provider": "discord"}, "POST", "", JSON_CT,
     b'{"type":1,"application_id":"1","version":1,"token":"t"}', 401, None, "discord",
     "ping", None),
    ("xero intent to receive", {"provider": "xero"}, "POST", "", JSON_CT,
     b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"E"}', 200, None,
     "xero", "intent_to_receive", None),
    ("svix webhook-challenge", {"provider": "svix"}, "POST", "", [("webhook-challenge", "w1")],
     b"", 200, None, "svix", "endpoint_verification", None),
    ("a stripe delivery: stored as stripe's, unchecked", {"provider": "stripe"}, "POST", "",
     JSON_CT, b'{"id":"evt_1","type":"invoice.paid"}', 200, None, "stripe", "invoice.paid",
     None),
    # hostile / unchanged: a registration for another provider names no challenge's sender
    # (and, with no secret to check it, the challenge is said unsigned)
    ("github bin, ?challenge=", {"provider": "github"}, "GET", "?challenge=gh-c4", GO_UA, b"",
     200, b"gh-c4", None, None, f"handshake: {EITHER} does not sign it"),
    ("registered, then lab.secret(bin, None): forgotten", {"provider": "nylas", "then": "drop"},
     "GET", "?challenge=ny-c5", GO_UA, b"", 200, b"ny-c5", None, None,
     f"handshake: {EITHER} does not sign it"),
    ("x crc_token: still not answered without the secret", {"provider": "x"}, "GET",
     "?crc_token=abc", [], b"", 200, None, "x", "crc", "handshake: x does not sign it"),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    out: dict[int, Any] = {}
    db = tmp_path_factory.mktemp("noseed") / "c.sqlite3"
    with hooklab.HookLab(port=0, db=str(db)) as lab:
        for i, (_n, reg, method, tail, headers, body, *_e) in enumerate(CASES):
            bin_ = f"b{i}"
            lab.secret(bin_, None, provider=reg["provider"])
            if reg.get("then") == "drop":
                lab.secret(bin_, None)
            reply = _send(lab.bound_port, method, f"/{bin_}{tail}", headers, body)
            (cap,) = lab.wait(1, timeout=10, bin=bin_)
            out[i] = (reply, cap)
        out[-1] = sorted(c.bin for c in lab.query(provider="nylas"))
    return out


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_a_bin_registered_without_a_secret_names_its_sender(stored: dict[int, Any],
                                                            i: int) -> None:
    name, _r, _m, _t, _h, _b, status, answer, provider, event, reason = CASES[i]
    (got_status, got_body), cap = stored[i]
    assert got_status == status, name
    if answer is not None:
        assert got_body == answer, name
    assert (cap.provider, cap.event_type) == (provider, event), name
    assert cap.verified is None, name  # (no secret: nothing is checked, nothing fails)
    assert cap.verify_reason == reason, name


def test_lab_query_finds_the_nylas_checks(stored: dict[int, Any]) -> None:
    want = sorted(f"b{i}" for i, c in enumerate(CASES) if c[8] == "nylas")
    assert stored[-1] == want == ["b0", "b2"]


def test_serve_provider_without_secret_file(tmp_path: Path) -> None:
    """``hooklab serve --provider ny=nylas --provider dbx=dropbox`` (no ``--secret-file``):
    the checks are stored as Nylas's and Dropbox's, and serve's lines say so."""
    from _serve_lines import gather, serve

    db = tmp_path / "s.sqlite3"
    lines: list[str] = []
    with serve("--port", "0", "--db", str(db), "--provider", "ny=nylas",
               "--provider", "dbx=dropbox") as (out, _errs):
        gather([(out, lines)], lambda: any("listening on" in x for x in lines))
        found = [m for x in lines if (m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", x))]
        assert found, lines
        port = int(found[0].group(1))
        for b in ("ny", "dbx"):
            assert _send(port, "GET", f"/{b}?challenge=c-{b}", GO_UA, b"") == (200, f"c-{b}".encode())
        gather([(out, lines)], lambda: sum("/challenge" in x for x in lines) >= 2)
    shown = [x for x in lines if "/challenge" in x]
    assert any("GET /ny " in x and "nylas/challenge" in x for x in shown), lines
    assert any("GET /dbx " in x and "dropbox/challenge" in x for x in shown), lines
    with hooklab.open(str(db)) as lab:
        assert [(c.bin, c.provider) for c in lab.captures] == [("ny", "nylas"), ("dbx", "dropbox")]
