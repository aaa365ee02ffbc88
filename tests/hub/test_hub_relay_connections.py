"""Through a real JupyterHub and its configurable-http-proxy, which reuses its connections to
the user's server: requests the relay refuses (PROPFIND, TRACE: 405) never cost another
sender's delivery its answer, and a query reaches the capture as it was sent.

Before, the relay closed the connection after each 405 without ``Connection: close``; the proxy
sent the next request, often a real delivery, into the closed socket and answered it with the
Hub's own 503 page (15-25 of 100 deliveries with 8 senders alternating PROPFIND and POST).
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from _hub import SETUP, Hub, KernelClient, require_tools, run_hub

pytestmark = pytest.mark.timeout(300)

USER = "erin"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    require_tools()
    with run_hub(tmp_path_factory.mktemp("conn-hub")) as running:
        assert running.api("POST", f"users/{USER}")[0] in (201, 409)
        assert running.api("POST", f"users/{USER}/server")[0] in (201, 202)
        yield running


@pytest.fixture(scope="module")
def kernel(hub: Hub) -> Iterator[KernelClient]:
    hub.wait_for_server(USER)
    k = KernelClient(hub.server_url(USER), hub.user_token(USER))
    try:
        k.run(SETUP)
        yield k
    finally:
        k.shutdown()


def _public_path(hub: Hub, kernel: KernelClient, bin: str) -> str:
    url = kernel.run(f"import hooklab; print(hooklab.lab().public_url({bin!r}, host={hub.url!r}))")
    return urlsplit(url.strip().splitlines()[-1]).path


def _send(hub: Hub, method: str, target: str, body: bytes | None) -> tuple[int, str]:
    """One request on a connection of its own, exactly these fields (a length only with a body)."""
    port = urlsplit(hub.url).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Content-Type", "application/json")
        conn.endheaders(body)
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Content-Type") or ""
    finally:
        conn.close()


def test_refused_methods_never_cost_a_delivery_its_answer(hub: Hub, kernel: KernelClient) -> None:
    path = _public_path(hub, kernel, "conc")

    def one(i: int) -> tuple[str, int, str]:
        if i % 2:
            method = ("PROPFIND", "TRACE")[i % 4 // 2]
            return (method, *_send(hub, method, f"{path}/probe", b""))
        return ("POST", *_send(hub, "POST", f"{path}/d{i}", b'{"i": %d}' % i))

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, range(120)))
    seen = Counter((m, s, t) for m, s, t in got)
    # every delivery answered by the lab, every probe refused by the relay (its JSON 405)
    assert seen == Counter({("POST", 200, "application/json"): 60,
                            ("PROPFIND", 405, "application/json"): 30,
                            ("TRACE", 405, "application/json"): 30}), seen
    out = kernel.run("import hooklab; c = hooklab.lab().wait(60, timeout=30, bin='conc'); "
                     "print(sorted(x.path for x in c))")
    assert out.strip() == repr(sorted(f"/conc/d{i}" for i in range(0, 120, 2)))


def test_the_query_arrives_as_sent_through_the_hub(hub: Hub, kernel: KernelClient) -> None:
    path = _public_path(hub, kernel, "q")
    for query in ("a=1&&b=2&", "&&x", "a=&=b&&"):
        assert _send(hub, "POST", f"{path}/x?{query}", b"{}")[0] == 200
    out = kernel.run("import hooklab, json; c = hooklab.lab().wait(3, timeout=20, bin='q'); "
                     "print(json.dumps([x.url.partition('?')[2] for x in c]))")
    assert json.loads(out.strip().splitlines()[-1]) == ["a=1&&b=2&", "&&x", "a=&=b&&"]


def test_what_the_proxy_adds_to_a_bodiless_delete_and_options(hub: Hub, kernel: KernelClient) -> None:
    """The README's list of what the Hub's proxy changes: a DELETE or OPTIONS sent without a
    body or a length arrives with ``Content-Length: 0`` (a GET does not)."""
    path = _public_path(hub, kernel, "cl")
    for method in ("DELETE", "OPTIONS", "GET"):
        assert _send(hub, method, f"{path}/{method}", None)[0] == 200
    out = kernel.run("import hooklab, json; c = hooklab.lab().wait(3, timeout=20, bin='cl'); "
                     "print(json.dumps({x.method: x.header('content-length') for x in c}))")
    assert json.loads(out.strip().splitlines()[-1]) == {"DELETE": "0", "OPTIONS": "0", "GET": None}
