"""A ``GET ?challenge=`` is Dropbox's or Nylas's endpoint check: stored as the one it is, or
as neither when nothing in the request tells them apart.

Both providers check a webhook URL with a GET carrying a ``challenge`` query parameter and
want its value echoed as the body (Dropbox's reference: also ``Content-Type: text/plain`` and
``X-Content-Type-Options: nosniff``; Nylas's notifications docs: the exact value, in a 200,
within 10 seconds). Neither documents any other parameter. Dropbox's checks come from
``User-Agent: DropboxWebhooks/1.0`` (as its deliveries do); a check whose User-Agent named
neither, Nylas's among them, was stored as ``provider="dropbox"``: a wrong provider, which
``lab.query(provider="dropbox")`` then returned. Now it is stored with no provider, its note
and verification reason saying "dropbox or nylas"; the answer is the same for all.

Each request is sent over a real socket to a lab on a real SQLite file, three times: to a
bin hooklab answers, one a rule of the user's answers, and with handshakes off.
"""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any

import pytest

import hooklab

pytestmark = pytest.mark.timeout(180)

WHO = ("hooklab", "rule", "off")
DROPBOX_UA = "DropboxWebhooks/1.0"
#: what the cases expect of a check whose sender nothing tells
EITHER = "dropbox or nylas"

#: (case, request headers, lab.secret(...) of the bin or None, stored provider, event type,
#:  verified, verify_reason, hooklab's note)
CASES: list[tuple[str, list[tuple[str, str]], tuple[str, str | None] | None, str | None,
                  str | None, bool | None, str, str]] = [
    ("dropbox, as Dropbox sends it", [("User-Agent", DROPBOX_UA), ("Accept", "*/*"),
                                      ("Accept-Encoding", "gzip,deflate")], None,
     "dropbox", "challenge", None, "handshake: dropbox does not sign it",
     "dropbox challenge: echoed"),
    ("nylas, a User-Agent naming it", [("User-Agent", "Nylas-Webhooks/1.0")], None,
     "nylas", "challenge", None, "handshake: nylas does not sign it", "nylas challenge: echoed"),
    ("a User-Agent naming neither", [("User-Agent", "Go-http-client/2.0")], None,
     None, None, None, f"handshake: {EITHER} does not sign it",
     f"{EITHER} challenge: echoed (its User-Agent names neither)"),
    ("no User-Agent at all", [], None,
     None, None, None, f"handshake: {EITHER} does not sign it",
     f"{EITHER} challenge: echoed (its User-Agent names neither)"),
    ("a User-Agent naming both", [("User-Agent", "DropboxWebhooks/1.0 Nylas/3")], None,
     None, None, None, f"handshake: {EITHER} does not sign it",
     f"{EITHER} challenge: echoed (its User-Agent names neither)"),
    ("naming neither, bin registered for nylas", [("User-Agent", "Go-http-client/2.0")],
     ("nylas-webhook-secret", "nylas"), "nylas", "challenge", None,
     "handshake: nylas does not sign it", "nylas challenge: echoed"),
    ("dropbox's agent, bin registered for nylas", [("User-Agent", DROPBOX_UA)],
     ("nylas-webhook-secret", "nylas"), "nylas", "challenge", None,
     "handshake: nylas does not sign it", "nylas challenge: echoed"),
    ("naming neither, bin secret without provider", [("User-Agent", "Go-http-client/2.0")],
     ("plain-secret-1", None), None, None, None, f"handshake: {EITHER} does not sign it",
     f"{EITHER} challenge: echoed (its User-Agent names neither)"),
    ("naming neither, bin registered for github", [("User-Agent", "Go-http-client/2.0")],
     ("gh-secret-1", "github"), None, None, False,
     "missing header X-Hub-Signature-256 (was the webhook created without a secret?)",
     f"{EITHER} challenge: echoed (its User-Agent names neither)"),
]
IDS = [c[0] for c in CASES]


def _get(port: int, target: str, headers: list[tuple[str, str]]
         ) -> tuple[int, dict[str, str], bytes]:
    """GET with exactly ``headers`` (no User-Agent of http.client's own)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    db = tmp_path_factory.mktemp("challenge") / "c.sqlite3"
    with hooklab.HookLab(port=0, db=str(db)) as lab:
        for i, (_name, headers, secret, *_r) in enumerate(CASES):
            for who in WHO:
                bin_ = f"{who}-{i}"
                if secret is not None:
                    lab.secret(bin_, secret[0], provider=secret[1])
                if who == "rule":
                    lab.respond(bin_, body="mine")
                lab.handshakes = who != "off"
                challenge = f"chal-{who}-{i}-x7Qp"
                reply = _get(lab.bound_port, f"/{bin_}?challenge={challenge}", headers)
                (cap,) = lab.wait(1, timeout=10, bin=bin_)
                out[i, who] = (challenge, reply, cap)
        lab.handshakes = True
        out["dropbox rows"] = {c.bin for c in lab.query(provider="dropbox")}
    return out


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_the_challenge_is_echoed_as_both_providers_want(stored: dict[Any, Any], i: int) -> None:
    challenge, (status, headers, body), _cap = stored[i, "hooklab"]
    assert (status, body) == (200, challenge.encode())
    assert headers["content-type"].startswith("text/plain")
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_the_row_names_the_sender_the_request_tells_or_none(stored: dict[Any, Any], i: int,
                                                             who: str) -> None:
    name, _h, _s, provider, event, verified, reason, note = CASES[i]
    _c, _reply, cap = stored[i, who]
    assert (cap.provider, cap.event_type) == (provider, event), name
    assert (cap.verified, cap.verify_reason) == (verified, reason), name
    assert cap.handshake == (note if who == "hooklab" else None), name


def test_no_check_that_names_neither_is_found_as_dropbox(stored: dict[Any, Any]) -> None:
    want = {f"{who}-{i}" for i, c in enumerate(CASES) for who in WHO if c[3] == "dropbox"}
    assert stored["dropbox rows"] == want


def test_a_nylas_check_sent_with_the_nylas_sample_is_stored_as_nylas(tmp_path: Path) -> None:
    """``hooklab.send(..., provider="nylas", event="challenge")`` (and Dropbox's) still name
    their sender, as the samples carry each provider's User-Agent."""
    with hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")) as lab:
        for p in ("nylas", "dropbox"):
            hooklab.send(lab.url_for(p), provider=p, event="challenge")
            assert lab.wait(1, timeout=10, bin=p)[0].provider == p
