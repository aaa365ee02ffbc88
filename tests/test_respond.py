"""lab.respond: custom answers per bin, path glob and method; sequences; delays."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest
from _http import post, raw_request


def _get(url: str, method: str = "GET", body: bytes | None = None):  # type: ignore[no-untyped-def]
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_default_answer_names_the_capture(lab) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = _get(lab.url_for("x"), "POST", b"{}")
    (cap,) = lab.wait(1)
    assert status == 200 and json.loads(body) == {"ok": True, "id": cap.id}
    assert headers["X-Hooklab-Capture-Id"] == str(cap.id) and cap.status == 200


def test_503_twice_then_200_is_recorded_on_captures(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("flaky", status=[503, 503, 200])
    got = [post(lab.url_for("flaky"), b"{}")[0] for _ in range(4)]
    assert got == [503, 503, 200, 200]
    assert [c.status for c in lab.wait(4, bin="flaky")] == got
    assert list(lab.dataframe()["status"]) == got


def test_status_body_and_headers(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("teapot", 418, body=b"\x00\xffshort and stout", headers={"X-Kind": "tea"})
    lab.respond("json", 201, body={"received": True})
    s, h, b = _get(lab.url_for("teapot"), "POST", b"1")
    assert (s, h["X-Kind"], b) == (418, "tea", b"\x00\xffshort and stout")
    s, h, b = _get(lab.url_for("json"), "POST", b"1")
    assert (s, json.loads(b)) == (201, {"received": True})
    assert h["Content-Type"] == "application/json"  # (a dict or list is sent as JSON: said so)
    lab.respond("list", 200, body=[1], headers={"Content-Type": "application/vnd.x+json"})
    assert _get(lab.url_for("list"), "POST", b"1")[1]["Content-Type"] == "application/vnd.x+json"


def test_rules_per_method_and_glob(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("m", 405, method="GET")
    lab.respond("/api/*/hook", 202)
    lab.respond("/api/special/hook", 409, method="DELETE")
    assert _get(lab.url_for("m"))[0] == 405
    assert _get(lab.url_for("m"), "POST", b"")[0] == 200
    assert _get(lab.url_for("api", "v1/hook"), "POST", b"")[0] == 202
    assert _get(lab.url_for("api", "v1/hook?x=1"), "POST", b"")[0] == 202
    assert _get(lab.url_for("api", "v1/other"), "POST", b"")[0] == 200
    assert _get(lab.url_for("api", "special/hook"), "DELETE")[0] == 409
    assert _get(lab.url_for("api", "special/hook"), "POST", b"")[0] == 202
    assert [c.status for c in lab.wait(7)] == [405, 200, 202, 202, 200, 409, 202]


def test_latest_rule_wins_and_can_be_replaced(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("b", 500)
    lab.respond("/b/*", 202)
    assert _get(lab.url_for("b", "x"), "POST", b"")[0] == 202
    lab.respond("b", 204)  # replaces the first rule and is now the newest
    assert _get(lab.url_for("b", "x"), "POST", b"")[0] == 204


def test_delay_does_not_block_other_requests(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("slow", 200, delay=1.0)
    slow: dict[str, float] = {}

    def call_slow() -> None:
        t0 = time.monotonic()
        slow["status"] = post(lab.url_for("slow"), b"s")[0]
        slow["took"] = time.monotonic() - t0

    th = threading.Thread(target=call_slow)
    th.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    assert post(lab.url_for("fast"), b"f")[0] == 200
    assert time.monotonic() - t0 < 0.5
    lab.wait(1, bin="slow", timeout=0.5)  # stored before the (delayed) answer
    th.join(10)
    assert slow["status"] == 200 and 0.95 <= slow["took"] < 3


def test_invalid_rules_are_refused(lab) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="delay"):
        lab.respond("x", delay=31)
    # (1xx: only an interim answer went out, and the sender waited for ever)
    for bad, shown in [(99, "99"), (600, "600"), ("503", "'503'"), (b"503", "b'503'"),
                       ([200, "x"], "'x'"), (200.0, "200.0"), (None, "None"), (True, "True"),
                       (100, "100"), (101, "101"), ([503, 103], "103"), (199, "199")]:
        with pytest.raises(ValueError, match=rf"HTTP status must be an int in 200\.\.599, got {re.escape(shown)}$"):
            lab.respond("x", status=bad)
    with pytest.raises(ValueError, match="status sequence is empty"):
        lab.respond("x", status=[])
    with pytest.raises(ValueError, match="line break"):
        lab.respond("x", headers={"X-Bad": "a\r\nSet-Cookie: x"})
    with pytest.raises(ValueError, match="Latin-1"):
        lab.respond("x", headers={"X-Price": "5 €"})
    lab.respond("x", headers={"X-Name": "café"})  # Latin-1 is fine: sent as one byte each
    status, _ = post(lab.url_for("x"), b"1")
    assert status == 200
    for bad in ({"X Bad": "1"}, {"X-A": " leading space"}, {"X-A": "bell\x07"}):
        with pytest.raises(ValueError, match="not a valid HTTP header"):
            lab.respond("x", headers=bad)
    with pytest.raises(ValueError, match="Transfer-Encoding"):
        lab.respond("x", headers={"Transfer-Encoding": "chunked"})


def test_a_rules_content_length_never_reaches_the_answer(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("empty", 204, headers={"Content-Length": "3", "X-Kept": "yes"})
    lab.respond("sized", 200, body=b"abc", headers={"content-length": "999"})
    for name, status, body in (("empty", 204, b""), ("sized", 200, b"abc")):
        raw = (f"POST /{name} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
               f"POST /{name}/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        answer = raw_request(lab.bound_port, raw.encode())
        heads = answer.split(b"HTTP/1.1 ")[1:]
        assert len(heads) == 2, answer  # the connection stays usable after the first answer
        for head in heads:
            assert head.startswith(str(status).encode())
            assert b"X-Kept: yes" in head if name == "empty" else True
            lengths = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")]
            assert lengths == ([] if status == 204 else [b"Content-Length: %d" % len(body)])



SECRET = "sk_live_51Hq" + "Zx9PbQ"
# (headers, the name the message must give): values a person pastes from a real answer,
# each wrong in one way; none may be quoted back (an error lands in a saved notebook's output)
BAD_ANSWER_HEADERS = [
    ({"Authorization": f"Bearer {SECRET}\r\nX-Injected: 1"}, "'Authorization'"),
    ({"Set-Cookie": f"session={SECRET}\n"}, "'Set-Cookie'"),
    ({"X-Api-Key": f"{SECRET}\0"}, "'X-Api-Key'"),
    ({"X-Api-Key": f"{SECRET} €"}, "'X-Api-Key'"),
    ({"X-Api-Key": f" {SECRET}"}, "'X-Api-Key'"),
    ({"X-Api-Key": f"{SECRET}\t"}, "'X-Api-Key'"),
    ({"X-Api-Key": f"{SECRET}\x07"}, "'X-Api-Key'"),
    ({"X-Api-Key": f"{SECRET}\x7f"}, "'X-Api-Key'"),
    ({f"Authorization: Bearer {SECRET}": ""}, "'Authorization' (what follows its ':' not shown)"),
    ([("Authorization: Bearer " + SECRET, "x")], "'Authorization' (what follows its ':' not shown)"),
]


@pytest.mark.parametrize("headers, name", BAD_ANSWER_HEADERS,
                         ids=[f"{i}" for i in range(len(BAD_ANSWER_HEADERS))])
def test_a_refused_answer_header_is_named_and_its_value_never_shown(lab, headers, name) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as info:
        lab.respond("x", headers=headers)
    said = str(info.value)
    assert said.startswith(f"header {name} ") and SECRET not in said, said
    assert SECRET[:8] not in said and "Bearer" not in said, said


@pytest.mark.parametrize("value, why", [
    (None, "not NoneType"), (1.5, "not float"), (True, "not bool"), (object(), "not object"),
    (["a"], "not list"),
], ids=["none", "float", "bool", "object", "list"])
def test_an_answer_header_value_of_another_type_is_refused_now(lab, value, why) -> None:  # type: ignore[no-untyped-def]
    """(security review) ``None`` or ``1.5`` was taken, and every request to the bin was then
    stored but got no answer (the sender saw the connection drop, and retried)."""
    with pytest.raises(TypeError, match=rf"^header 'X-N': a value is text, bytes or an int, {why}$"):
        lab.respond("typed", headers={"X-N": value})
    assert post(lab.url_for("typed"), b"{}")[0] == 200  # (no rule was added)


def test_int_and_bytes_answer_header_values_go_out_as_given(lab) -> None:  # type: ignore[no-untyped-def]
    lab.respond("given", headers=[("X-Int", 5), ("X-Raw", b"caf\xe9")])
    status, headers, _ = _get(lab.url_for("given"), "POST", b"{}")
    assert status == 200 and headers["X-Int"] == "5" and headers["X-Raw"] == "caf\xe9"


@pytest.mark.parametrize("name, shown", [
    (f"Authorization Bearer {SECRET}", "'Authorization' (what follows a space not shown)"),
    (f"Authorization\r{SECRET}", "'Authorization' (what follows U+000D not shown)"),
    (f"Authorization\t{SECRET}", "'Authorization' (what follows a tab not shown)"),
    (f"X-Key-€{SECRET}", "'X-Key-' (what follows U+20AC not shown)"),
], ids=["space", "cr", "tab", "not-latin-1"])
def test_a_refused_answer_header_name_shows_no_pasted_value(lab, name, shown) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as info:
        lab.respond("x", headers={name: "v"})
    said = str(info.value)
    assert said.startswith(f"header {shown} ") and SECRET not in said and SECRET[:8] not in said, said


@pytest.mark.parametrize("pattern,target,hit", [
    ("/été/*", "/\xc3\xa9t\xc3\xa9/x", True),          # raw UTF-8, as curl sends /été/x
    ("/été/*", "/%C3%A9t%C3%A9/x", True),              # percent-encoded
    ("/été/*", "/%c3%a9t%c3%a9/x?q=1", True),          # lower-case escapes, a query
    ("/été/*", "/ete/x", False),
    ("/été/*", "/\xe9t\xe9/x", True),                  # Latin-1 bytes (no UTF-8): a char a byte
    ("/caf%C3%A9/*", "/caf%C3%A9/x", True),            # a pattern written escaped, sent so
    ("/a b/*", "/a%20b/x", True),
    ("/orders/*", "/orders%2Fx", True),                # (read: /orders/x, as the bin reads it)
    ("/€/*", "/\xe2\x82\xac/x", True),
], ids=["raw-utf8", "escaped", "lower-escapes", "other", "latin1", "pattern-escaped", "space",
        "escaped-slash", "euro"])
def test_a_path_glob_matches_the_path_as_a_person_reads_it(lab, pattern, target, hit) -> None:  # type: ignore[no-untyped-def]
    lab.respond(pattern, 418)
    raw = target.encode("latin-1")
    answer = raw_request(lab.bound_port, b"POST " + raw + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 418" if hit else b"HTTP/1.1 200"), answer[:40]
