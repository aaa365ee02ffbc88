"""Asana's ``X-Hook-Secret`` is stored as ``[secret]`` whoever answers the handshake.

Asana's handshake hands over, in ``X-Hook-Secret``, the shared secret every later delivery is
signed with (``X-Hook-Signature``: HMAC-SHA256 of the body under it; Asana's docs: "We
strongly recommend storing this secret to be used to verify future webhook event
signatures"). When hooklab answered the handshake the capture kept it as ``[secret]``; when a
rule of the user's (``lab.respond``) answered it, or ``lab.handshakes = False`` left the
normal answer, the capture kept the secret itself, and with it the SQLite file, the frame,
every export and the live view's state a saved notebook keeps.

Now it is ``[secret]`` whoever answers, everywhere the capture surfaces; hooklab still keeps
it for verification only where it answered (as before). A forward or replay gives the value
back to the capture it came with, so an app behind ``lab.forward`` learns the real secret
from the handshake (before, a handshake hooklab answered reached it as ``[secret]``, and the
app then refused every delivery); a capture this lab did not receive since it started (one
imported, one read back after a restart) is sent as stored.

Each case goes over a real socket to a lab on a real SQLite file, forwarding to a real HTTP
server on 127.0.0.1; the expected secrets are written out here, never read back from hooklab.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from pathlib import Path
from typing import Any

import pytest
from _target import Target
from _views import open_every_tab, saved_state

import hooklab

pytestmark = pytest.mark.timeout(180)

WHO = ("hooklab", "rule", "off")
#: one secret per bin, shaped as Asana's (64 hex digits: the docs' example is
#: b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81)
SECRETS = {who: hashlib.sha256(f"asana-{who}".encode()).hexdigest() for who in WHO}
ASANA_EVENT = b'{"events":[{"action":"changed","resource":{"gid":"1","resource_type":"task"}}]}'


def _send(port: int, path: str, headers: list[tuple[str, str]], body: bytes = b""
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    """POST with the fields as given (repeats and spelling kept); status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for k, v in [*headers, ("Content-Length", str(len(body)))]:
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def _surfaces(lab: hooklab.HookLab, caps: list[Any], out: Path) -> dict[str, str]:
    """Everything of ``caps`` a user can see, save or export, as text."""
    found = {
        "captures": repr([(c.headers, c.trailers, c.verify_reason, c.handshake)
                          for c in lab.captures]),
        "dataframe": lab.dataframe().to_json(default_handler=str, date_format="iso"),
        "curl": "\n".join(hooklab.export.to_curl(c) for c in caps),
    }
    for fmt in ("jsonl", "har", "csv"):
        path = out / f"captures.{fmt}"
        lab.export(path, fmt=fmt)
        found[fmt] = path.read_bytes().decode("latin-1")
    lab.export(out / "captures.parquet", fmt="parquet")  # (compressed: read back to look)
    found["parquet"] = repr([c.headers for c in hooklab.open(out / "captures.parquet").captures])
    view = lab.live()
    try:
        for c in caps:
            view.select(c.id)
            open_every_tab(view)
        found["live view state"] = saved_state()
    finally:
        view.close()
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("asana")
    db = tmp / "c.sqlite3"
    out: dict[str, Any] = {"db": db, "tmp": tmp}
    with Target() as app, hooklab.HookLab(port=0, db=str(db)) as lab:
        lab.respond("asana-rule", body="mine")
        for who in WHO:
            lab.forward(f"asana-{who}", to=app.url + "/app")
        for i, who in enumerate(WHO):
            lab.handshakes = who != "off"
            out[who] = _send(lab.bound_port, f"/asana-{who}",
                             [("User-Agent", "Asana"), ("X-Hook-Secret", SECRETS[who])])
            app.wait(i + 1)  # (the forward of this handshake reached the app)
        lab.handshakes = True
        caps = {who: lab.wait(1, timeout=10, bin=f"asana-{who}")[0] for who in WHO}
        out["caps"] = caps
        out["forwarded"] = [r.header("X-Hook-Secret") for r in app.received]
        lab.replay([caps[w].id for w in WHO], to=app.url + "/app")
        out["replayed"] = [r.header("X-Hook-Secret") for r in app.wait(6)[3:]]
        for who in WHO:  # (a delivery signed with the handed-over secret follows)
            sig = hmac.new(SECRETS[who].encode(), ASANA_EVENT, hashlib.sha256).hexdigest()
            _send(lab.bound_port, f"/asana-{who}", [("Content-Type", "application/json"),
                                                    ("X-Hook-Signature", sig)], ASANA_EVENT)
        out["deliveries"] = {w: lab.wait(2, timeout=10, bin=f"asana-{w}")[1] for w in WHO}
        out["surfaces"] = _surfaces(lab, list(caps.values()), tmp)
    out["files"] = {p.name: p.read_bytes() for p in tmp.iterdir() if p.name.startswith("c.")}
    return out


def test_the_answer_is_whoever_answers(run: dict[str, Any]) -> None:
    status, headers, body = run["hooklab"]
    assert status == 200 and ("X-Hook-Secret", SECRETS["hooklab"]) in headers
    status, headers, body = run["rule"]
    assert (status, body) == (200, b"mine")
    assert all(k.lower() != "x-hook-secret" for k, _ in headers)
    status, headers, body = run["off"]
    assert status == 200 and json.loads(body)["ok"] is True
    assert all(k.lower() != "x-hook-secret" for k, _ in headers)


@pytest.mark.parametrize("who", WHO)
def test_the_capture_stores_the_secret_as_a_mark(run: dict[str, Any], who: str) -> None:
    cap = run["caps"][who]
    assert (cap.provider, cap.event_type) == ("asana", "handshake")
    assert cap.header("X-Hook-Secret") == "[secret]"
    assert cap.verified is None and cap.verify_reason == "handshake: asana does not sign it"


@pytest.mark.parametrize("surface", ["captures", "dataframe", "curl", "jsonl", "har", "csv",
                                     "parquet", "live view state"])
def test_no_surface_holds_a_secret(run: dict[str, Any], surface: str) -> None:
    text = run["surfaces"][surface]
    assert [w for w in WHO if SECRETS[w] in text] == [], surface
    if surface not in ("dataframe", "csv", "live view state"):  # (those that carry headers)
        assert "[secret]" in text, surface


def test_the_database_files_hold_no_secret(run: dict[str, Any]) -> None:
    assert run["files"], "no database file"
    for name, data in run["files"].items():
        assert [w for w in WHO if SECRETS[w].encode() in data] == [], name


def test_forward_and_replay_give_the_app_the_secret_it_needs(run: dict[str, Any]) -> None:
    """The app learns from the handshake the secret the deliveries are signed with."""
    assert run["forwarded"] == [SECRETS[w] for w in WHO]
    assert run["replayed"] == [SECRETS[w] for w in WHO]


def test_hooklab_keeps_the_secret_for_verification_only_where_it_answered(
        run: dict[str, Any]) -> None:
    verified = {w: run["deliveries"][w].verified for w in WHO}
    assert verified == {"hooklab": True, "rule": None, "off": None}


#: (case, X-Hook-Secret fields sent in order, status answered, what a forward sends in order)
LONG = "a" * 3000
HOSTILE = [
    ("two fields", [("X-Hook-Secret", "first-secret-1"), ("X-Hook-Secret", "second-secret-2")],
     200, ["first-secret-1", "second-secret-2"]),
    ("the sender's own mark second", [("X-Hook-Secret", "real-secret-3"),
                                      ("X-Hook-Secret", "[secret]")],
     200, ["real-secret-3", "[secret]"]),
    ("lower-case name", [("x-hook-secret", "lower-secret-4")], 200, ["lower-secret-4"]),
    ("longer than an echo may be", [("X-Hook-Secret", LONG)], 400, ["[secret]"]),
]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case,fields,status,sent", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_handshakes_are_hidden_and_forwarded_as_they_came(
        tmp_path: Path, who: str, case: str, fields: list[tuple[str, str]], status: int,
        sent: list[str]) -> None:
    secrets = [v for _, v in fields if v != "[secret]"]
    with Target() as app, hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")) as lab:
        lab.handshakes = who != "off"
        if who == "rule":
            lab.respond("a", body="mine")
        lab.forward("a", to=app.url)
        answered, _h, _b = _send(lab.bound_port, "/a", fields)
        assert answered == (status if who == "hooklab" else 200)
        (cap,) = lab.wait(1, timeout=10, bin="a")
        stored = [v for k, v in cap.headers if k.lower() == "x-hook-secret"]
        assert stored == ["[secret]"] * len(fields)
        assert [r.header("X-Hook-Secret") for r in app.wait(1)] == sent[:1]
        assert [v for k, v in app.received[0].headers if k.lower() == "x-hook-secret"] == sent
        shown = lab.dataframe().to_json(default_handler=str, date_format="iso") + repr(cap.headers)
        assert [s for s in secrets if s in shown] == []


@pytest.mark.parametrize("how", ["read back after a restart", "imported from HAR"])
def test_a_handshake_this_lab_did_not_receive_is_replayed_as_stored(tmp_path: Path,
                                                                     how: str) -> None:
    db, har = tmp_path / "c.sqlite3", tmp_path / "c.har"
    with hooklab.HookLab(port=0, db=str(db)) as lab:
        _send(lab.bound_port, "/a", [("X-Hook-Secret", "earlier-secret-5")])
        lab.wait(1, timeout=10, bin="a")
        lab.export_har(har)
    other = hooklab.open(db) if how.startswith("read") else hooklab.load_har(har)
    with Target() as app:
        other.replay([c.id for c in other.captures], to=app.url)
        assert app.wait(1)[0].header("X-Hook-Secret") == "[secret]"
