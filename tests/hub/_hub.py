"""A real JupyterHub on loopback for tests: configurable-http-proxy, DummyAuthenticator,
SimpleLocalProcessSpawner, ``c.JupyterHub.public_url`` left unset (the default).

>>> with run_hub(tmp_path) as hub:                              # doctest: +SKIP
...     hub_login(page, hub.url, "alice")                       # the browser logs in, spawns
...     kernel = KernelClient(hub.server_url("alice"), hub.user_token("alice"))
...     kernel.run("print(1 + 1)")                              # '2\\n'

Every process is started here and ended here; every wait has a deadline.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import free_port  # out of the ephemeral range

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HOW_TO_ENABLE = (
    "pip install 'jupyterhub>=5,<7' and npm install -g configurable-http-proxy "
    "(and apt-get install chromium) to run the JupyterHub tests"
)


def missing_tools() -> list[str]:
    """What the hub tests need and this machine lacks (empty: all there)."""
    missing = []
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        missing.append("jupyterhub (pip)")
    if shutil.which("configurable-http-proxy") is None:
        missing.append("configurable-http-proxy (npm)")
    if not CHROMIUM.exists():
        missing.append("chromium (/usr/bin/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
        import websocket  # noqa: F401  (websocket-client, a jupyter_server dependency)
    except ImportError:
        missing.append("playwright / websocket-client (pip)")
    return missing


def require_tools() -> None:
    """Skip (or under CI, ``CI=true``, fail) when a tool the hub tests need is missing."""
    import pytest

    missing = missing_tools()
    if not missing:
        return
    message = f"missing {', '.join(missing)}: {HOW_TO_ENABLE}"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail("CI must run the JupyterHub tests, but " + message, pytrace=False)
    pytest.skip(message)



def http(
    method: str, url: str, *, token: str | None = None, body: Any = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """A JSON request (no browser headers); returns ``(status, decoded JSON or None)``."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"token {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


@dataclass
class Hub:
    """A running hub. ``url`` is the proxy's public address (what a browser opens)."""

    url: str
    api_token: str
    proxy_api: str
    proxy_token: str
    home: Path
    log: Path
    proc: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return http(method, f"{self.url}/hub/api/{path}", token=self.api_token, body=body)

    def user_token(self, user: str) -> str:
        """A Hub API token of ``user`` that may use the user's server (as a script of theirs would)."""
        if user not in self.tokens:
            status, model = self.api(
                "POST", f"users/{user}/tokens",
                {"note": "hooklab tests", "expires_in": 3600, "scopes": [f"access:servers!user={user}"]},
            )  # fmt: skip
            assert status == 201, (status, model)
            self.tokens[user] = model["token"]
        return self.tokens[user]

    def server_url(self, user: str) -> str:
        """The single-user server's *internal* address (behind the proxy), from the proxy's routes."""
        status, routes = http("GET", f"{self.proxy_api}/api/routes", token=self.proxy_token)
        assert status == 200, (status, routes)
        target = routes[f"/user/{user}"]["target"]
        return f"{target.rstrip('/')}/user/{user}/"

    def wait_for_server(self, user: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status, model = self.api("GET", f"users/{user}")
            if status == 200 and (model.get("servers") or {}).get("", {}).get("ready"):
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"{user}'s server never became ready:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]


_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.bind_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
c.JupyterHub.pid_file = "{tmp}/jupyterhub.pid"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.auth_token = "{proxy_token}"
c.ConfigurableHTTPProxy.pid_file = "{tmp}/proxy.pid"
c.JupyterHub.services = [{{"name": "hooklab-tests", "api_token": "{api_token}"}}]
c.JupyterHub.load_roles = [{{
    "name": "hooklab-tests",
    "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
    "services": ["hooklab-tests"],
}}]
c.SimpleLocalProcessSpawner.home_dir_template = "{tmp}/home/{{username}}"
# the single-user server finds hooklab's extension the way an installed hooklab enables it:
# the shipped jupyter_server_config.d/hooklab.json on the Jupyter config path
c.Spawner.environment = {{"JUPYTER_CONFIG_PATH": "{config_path}", "JUPYTER_PLATFORM_DIRS": "1"}}
c.Spawner.args = {args}
c.Spawner.http_timeout = 60
# the API's "start server" answers at once (202) instead of waiting up to 10 s for the spawn
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.Spawner.start_timeout = 60
c.LocalProcessSpawner.interrupt_timeout = 1  # test speed: SIGTERM 1 s after SIGINT
"""


@contextmanager
def run_hub(tmp: Path, *, extra_config: str = "", ready_timeout: float = 60.0) -> Iterator[Hub]:
    """Start ``jupyterhub`` (and through it configurable-http-proxy) on free loopback ports.

    ``extra_config`` is appended to the generated ``jupyterhub_config.py``."""
    proxy_port, hub_port, api_port = free_port(), free_port(), free_port()
    api_token, proxy_token = secrets.token_hex(16), secrets.token_hex(16)
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    args = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    config = tmp / "jupyterhub_config.py"
    config.write_text(
        _CONFIG.format(
            proxy_port=proxy_port, hub_port=hub_port, api_port=api_port, tmp=tmp.as_posix(),
            api_token=api_token, proxy_token=proxy_token, args=json.dumps(args),
            config_path=(REPO / "jupyter-config").as_posix(),
        )  # fmt: skip
        + extra_config
    )
    env = {k: v for k, v in os.environ.items()  # (PYTEST_CURRENT_TEST: see tests/browser/_jupyter.py)
           if not k.startswith(("JUPYTERHUB_", "HOOKLAB_")) and k != "PYTEST_CURRENT_TEST"}
    env.pop("JUPYTER_RUNTIME_DIR", None)
    env.pop("JUPYTER_CONFIG_DIR", None)
    # hooklab under test (this checkout) for the hub, the single-user server and its kernels
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    # the spawner runs `jupyterhub-singleuser` from PATH: this interpreter's
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    log = tmp / "jupyterhub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    hub = Hub(
        url=f"http://127.0.0.1:{proxy_port}", api_token=api_token,
        proxy_api=f"http://127.0.0.1:{api_port}", proxy_token=proxy_token,
        home=tmp / "home", log=log, proc=proc,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited:\n{hub.tail()}")
            try:
                if hub.api("GET", "")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyterhub did not start:\n{hub.tail()}")
            time.sleep(0.2)
        yield hub
    finally:
        _stop(proc, tmp)


def _stop(proc: subprocess.Popen[bytes], tmp: Path) -> None:
    """SIGTERM: the hub stops its users' servers (cleanup_servers) and the proxy it started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # the proxy runs in its own process group: make sure it is gone even after a hub crash
    pid_file = tmp / "proxy.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def hub_login(page: Any, base: str, user: str, *, timeout: float = 60.0) -> None:
    """Log ``user`` in through the Hub's login page; the Hub spawns the server and the browser
    lands on ``/user/<user>/lab``, which is then fully loaded."""
    page.goto(f"{base}/hub/login", timeout=timeout * 1000)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "any password")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=timeout * 1000)
    page.wait_for_selector(".jp-LabShell", timeout=timeout * 1000)
    page.wait_for_function(
        "() => document.querySelector('#jupyterlab-splash') === null", timeout=timeout * 1000
    )


class KernelClient:
    """A kernel in a user's Jupyter server, driven over its WebSocket (Jupyter protocol 5.3).

    It talks to ``server`` with a token, like a script of the user's would: no browser headers.
    """

    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token
        status, model = http("POST", server + "api/kernels", token=token, body={"name": "python3"})
        assert status == 201, (status, model)
        self.id = model["id"]
        self.session = uuid.uuid4().hex

    def run(self, code: str, timeout: float = 60.0) -> str:
        """Execute ``code``; returns its stdout; raises AssertionError with the kernel's error."""
        import websocket

        ws_url = "ws" + self.server[4:] + f"api/kernels/{self.id}/channels?session_id={self.session}"
        conn = websocket.create_connection(
            ws_url, header=[f"Authorization: token {self.token}"], timeout=timeout
        )
        msg_id = uuid.uuid4().hex
        msg = {
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }  # fmt: skip
        out: list[str] = []
        error = None
        deadline = time.monotonic() + timeout
        try:
            conn.send(json.dumps(msg))
            while True:
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    reply = json.loads(conn.recv())
                except websocket.WebSocketTimeoutException:
                    raise AssertionError(f"kernel gave no answer in {timeout}s: {code!r}") from None
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = reply["msg_type"], reply["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    error = "\n".join(content["traceback"])
                elif kind == "status" and content["execution_state"] == "idle":
                    break
        finally:
            conn.close()
        if error:
            raise AssertionError(f"kernel error in {code!r}:\n{error}")
        return "".join(out)

    def shutdown(self) -> None:
        http("DELETE", self.server + f"api/kernels/{self.id}", token=self.token)


# -- what the tests run in a user's kernel --------------------------------------------------------
SECRET = "whsec_hooklab_hub_test_0123456789"
SETUP = """
%config HookLab.port = 0
%config HookLab.db = ':memory:'
%load_ext hooklab
"""
PUBLIC_URL = """
import json, warnings, hooklab
with warnings.catch_warnings(record=True) as _caught:
    warnings.simplefilter("always")
    _url = hooklab.lab().public_url("stripe")
print(json.dumps({"url": _url, "warnings": [str(w.message) for w in _caught]}))
"""
CAPTURED = f"""
import base64, json, hooklab
_cap = hooklab.lab().wait(1, timeout=20, bin="stripe")[-1]
print(json.dumps({{
    "method": _cap.method, "path": _cap.path, "body": base64.b64encode(_cap.body).decode(),
    "headers": _cap.headers, "valid": _cap.verify({SECRET!r}, "stripe").valid,
}}))
"""


def kernel_public_url(kernel: KernelClient) -> tuple[str, list[str]]:
    out = json.loads(kernel.run(PUBLIC_URL).strip().splitlines()[-1])
    return out["url"], out["warnings"]


def deliver_and_check(kernel: KernelClient, url: str, **send_kwargs: Any) -> None:
    """A Stripe delivery to ``url`` (through the proxies) arrives exactly as sent."""
    import hooklab

    resp = hooklab.send(url + "/events", provider="stripe", event="invoice.paid", secret=SECRET,
                        **send_kwargs)  # fmt: skip
    assert resp.status == 200, (resp.status, resp.text)
    assert resp.header("X-Hooklab-Capture-Id")
    got = json.loads(kernel.run(CAPTURED).strip().splitlines()[-1])
    assert got["method"] == "POST" and got["path"] == "/stripe/events"
    assert base64.b64decode(got["body"]) == resp.sent_body
    assert json.loads(resp.sent_body)["type"] == "invoice.paid"
    sent = dict((k.lower(), v) for k, v in resp.sent_headers)
    received = {k.lower(): v for k, v in got["headers"]}
    assert received["stripe-signature"] == sent["stripe-signature"]
    assert received["content-type"] == sent["content-type"]
    assert got["valid"] is True


TWILIO = "twilio-auth-token-hub-0123"
TWILIO_SETUP = f"""
import json, hooklab
hooklab.lab().secret("tw", {TWILIO!r}, provider="twilio")
print(json.dumps({{"url": hooklab.lab().public_url("tw")}}))
"""
TWILIO_CAPTURED = """
import json, hooklab
_cap = hooklab.lab().wait(1, timeout=20, bin="tw")[-1]
print(json.dumps({"verified": _cap.verified, "reason": _cap.verify_reason, "url": _cap.url}))
"""


def deliver_twilio_and_check(kernel: KernelClient, *, connect: str | None = None,
                             cafile: str | None = None) -> None:
    """A Twilio delivery signed over the public URL (Twilio signs the URL it calls) verifies
    on arrival in the kernel, and the capture's URL is that URL with the key as [key].
    ``connect``: the ``scheme://127.0.0.1:port`` to reach it at, the URL's own host sent as
    ``Host`` (a provider resolving the hub's name to the proxy)."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    from hooklab.signatures import sign_request

    public = json.loads(kernel.run(TWILIO_SETUP).strip().splitlines()[-1])["url"] + "/sms?x=1"
    key = urlsplit(public).path.split("/hooklab/in/", 1)[1].split("/", 1)[0]
    body = b"Body=hello+hub&From=%2B15550001"
    req = sign_request("twilio", TWILIO, url=public, body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    target = urlsplit(connect or public)
    if target.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False  # (the certificate names the hub, reached at 127.0.0.1)
        conn: Any = http.client.HTTPSConnection(target.hostname, target.port, context=ctx, timeout=20)
    else:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=20)
    path = urlsplit(public)
    conn.request("POST", f"{path.path}?{path.query}", body=body, headers={
        "Host": path.netloc, "Content-Type": "application/x-www-form-urlencoded", **req.headers})
    assert conn.getresponse().status == 200
    conn.close()
    got = json.loads(kernel.run(TWILIO_CAPTURED).strip().splitlines()[-1])
    assert got["verified"] is True, got
    assert got["url"] == public.replace(key, "[key]"), got
