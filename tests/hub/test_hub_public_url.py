"""Public URLs on a real JupyterHub with its default config (``c.JupyterHub.public_url`` unset).

A user logs in through the Hub's login page in headless Chromium, the Hub spawns their server
(SimpleLocalProcessSpawner, hooklab's extension enabled by the shipped config file) and the
browser opens ``/user/<name>/lab``. In a kernel of that server, ``public_url`` must then name
the address the browser used — the Hub's proxy, or the TLS proxy in front of it — and a signed
Stripe delivery POSTed there by ``hooklab.send`` must arrive byte for byte.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _hub import (
    SETUP,
    Hub,
    KernelClient,
    deliver_and_check,
    deliver_twilio_and_check,
    hub_login,
    kernel_public_url,
)
from _proxy import TLSProxy

pytestmark = pytest.mark.timeout(300)


class _Refuse(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect (to the login page) is an answer of its own


_NO_REDIRECTS = urllib.request.build_opener(_Refuse)


@pytest.fixture(scope="module")
def users(hub: Hub) -> list[str]:
    """alice and bob, their servers already spawning while the browser starts."""
    names = ["alice", "bob"]
    for name in names:
        assert hub.api("POST", f"users/{name}")[0] in (201, 409)
        assert hub.api("POST", f"users/{name}/server")[0] in (201, 202)
    return names


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(ignore_https_errors=True)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def kernel_of(hub: Hub, user: str) -> KernelClient:
    """A kernel in ``user``'s server, reached at the server's internal address with a token of
    theirs (no browser headers): the requests it makes must not change what was learnt."""
    hub.wait_for_server(user)
    kernel = KernelClient(hub.server_url(user), hub.user_token(user))
    kernel.run(SETUP)
    return kernel


def test_hub_default_config_learns_the_proxy_address_from_the_users_browser(
    hub: Hub, users: list[str], page: Any
) -> None:
    hub_login(page, hub.url, "alice")
    kernel = kernel_of(hub, "alice")
    try:
        url, warned = kernel_public_url(kernel)
        assert url.startswith(f"{hub.url}/user/alice/hooklab/in/"), url
        assert warned == []
        key = url.rsplit("/", 1)[1]
        assert len(key) >= 32
        # not the single-user server's internal address, which the kernel client talks to
        assert not url.startswith(hub.server_url("alice").rsplit("/user/", 1)[0])

        # requests without alice's credentials teach nothing, whatever they claim
        for headers in (
            {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
            {"Origin": "https://evil.example", "Referer": "https://evil.example/",
             "Sec-Fetch-Site": "same-origin", "Host": "evil.example"},
        ):  # fmt: skip
            for base in (hub.url + "/user/alice/", hub.server_url("alice")):
                for path in ("api/contents", "lab"):
                    req = urllib.request.Request(base + path, headers=headers)
                    try:
                        _NO_REDIRECTS.open(req, timeout=10).close()
                        raise AssertionError(f"an unauthenticated GET {path} was answered")
                    except urllib.error.HTTPError as e:
                        assert e.code in (302, 401, 403), (path, e.code)
        assert kernel_public_url(kernel) == (url, [])

        deliver_and_check(kernel, url)
        deliver_twilio_and_check(kernel)
    finally:
        kernel.shutdown()


def test_behind_a_tls_proxy_setting_x_forwarded_proto_and_host(
    hub: Hub, users: list[str], page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TLSProxy(hub.url, tmp_path, name="hub.example.test") as proxy:
        public = f"https://hub.example.test:{proxy.port}"
        hub_login(page, public, "bob")
        assert any(host == f"hub.example.test:{proxy.port}" for _, _, host in proxy.seen)
        kernel = kernel_of(hub, "bob")
        try:
            url, warned = kernel_public_url(kernel)
            assert url.startswith(f"{public}/user/bob/hooklab/in/"), url
            assert warned == []
            # the provider resolves hub.example.test to the proxy (here: 127.0.0.1) and
            # trusts its certificate; the POST goes through the TLS proxy and the Hub's proxy
            monkeypatch.setenv("SSL_CERT_FILE", str(proxy.cert))
            before = len(proxy.seen)
            local = url.replace("//hub.example.test:", "//127.0.0.1:", 1)
            deliver_and_check(kernel, local, headers={"Host": f"hub.example.test:{proxy.port}"})
            # (the browser's JupyterLab page keeps talking through the proxy meanwhile)
            relayed = [(m, uri) for m, uri, _ in proxy.seen[before:] if "/hooklab/in/" in uri]
            assert [m for m, _ in relayed] == ["POST"], proxy.seen[before:]
            assert relayed[0][1].startswith("/user/bob/hooklab/in/")
            # Twilio signs the https URL it was given; configurable-http-proxy tells the
            # server "https,http", so the relay takes the scheme from what public_url gave out
            deliver_twilio_and_check(kernel, connect=f"https://127.0.0.1:{proxy.port}",
                                     cafile=str(proxy.cert))
        finally:
            kernel.shutdown()
