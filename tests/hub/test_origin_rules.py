"""How the public origin is learnt and chosen — by tables of cases with expected values, and
end to end through a real ``jupyter server`` in which another extension replaces the request
logger after hooklab's loaded (as JupyterHub's single-user extension does).

These need no JupyterHub: they run wherever jupyter_server is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _hub import free_port
from _jupyter_server import stop_server  # (tests/, on the path by its conftest)

from hooklab import HookLab, ingress
from hooklab.ingress.origin import OriginLearner, Seen, public_root, request_origin

B, R = True, False  # Seen.by_browser: stated by the browser / shown by a request
SAME = {"Sec-Fetch-Site": "same-origin"}

# (headers, Host, protocol) -> expected Seen (or None: the request shows no usable origin)
ORIGIN_CASES = [
    # plain requests: Host and the connection's scheme
    ({}, "127.0.0.1:8888", "http", Seen("http://127.0.0.1:8888", R)),
    ({}, "HUB.Example.ORG", "https", Seen("https://hub.example.org", R)),
    ({}, "[::1]:8888", "http", Seen("http://[::1]:8888", R)),
    ({}, "", "http", None),
    # a proxy's forwarded headers: first hop, default ports dropped
    ({"X-Forwarded-Host": "hub.example.org", "X-Forwarded-Proto": "https,http"},
     "127.0.0.1:8000", "http", Seen("https://hub.example.org", R)),
    ({"X-Forwarded-Host": "a.example, b.example", "X-Forwarded-Proto": "http"},
     "127.0.0.1:8000", "http", Seen("http://a.example", R)),
    ({"X-Forwarded-Host": "hub.example.org:443", "X-Forwarded-Proto": "https"},
     "127.0.0.1:8000", "http", Seen("https://hub.example.org", R)),
    ({"X-Forwarded-Host": "hub.example.org:8443", "X-Forwarded-Proto": "https"},
     "127.0.0.1:8000", "http", Seen("https://hub.example.org:8443", R)),
    ({"Forwarded": 'for=192.0.2.1;host="hub.example.org";proto=https, for=10.0.0.1'},
     "127.0.0.1:8000", "http", Seen("https://hub.example.org", R)),
    ({"X-Forwarded-Host": "x.example", "Forwarded": "host=y.example;proto=https"},
     "127.0.0.1:8000", "http", Seen("https://x.example", R)),
    ({"X-Forwarded-Proto": "gopher"}, "hub.example.org", "http", Seen("http://hub.example.org", R)),
    # a Referer/Origin naming the same host gives the scheme (TLS ended before the server)
    ({"Referer": "https://hub.example.org/user/ada/lab"}, "hub.example.org", "http",
     Seen("https://hub.example.org", R)),
    ({"Origin": "https://hub.example.org:443"}, "hub.example.org", "http",
     Seen("https://hub.example.org", R)),
    # ... but not a Referer from elsewhere (a link from another site)
    ({"Referer": "https://github.com/org/repo"}, "hub.example.org", "http",
     Seen("http://hub.example.org", R)),
    # the browser's own statement: same-origin fetches, whatever the proxies did to Host
    ({**SAME, "Referer": "https://hub.example.org/user/ada/lab"}, "10.0.0.7:8888", "http",
     Seen("https://hub.example.org", B)),
    ({**SAME, "Origin": "https://hub.example.org", "X-Forwarded-Host": "internal:8000"},
     "10.0.0.7:8888", "http", Seen("https://hub.example.org", B)),
    ({"Sec-Fetch-Site": "same-site", "Referer": "https://hub.example.org/hub/home"},
     "ada.hub.example.org", "https", Seen("https://ada.hub.example.org", R)),
    ({"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"},
     "hub.example.org", "https", Seen("https://hub.example.org", R)),
    # hostile or broken values never make an origin
    ({**SAME, "Origin": "null"}, "hub.example.org", "https", Seen("https://hub.example.org", R)),
    ({**SAME, "Referer": "javascript:alert(1)"}, "hub.example.org", "https",
     Seen("https://hub.example.org", R)),
    ({**SAME, "Referer": "https://user:pw@evil.example/"}, "hub.example.org", "https",
     Seen("https://hub.example.org", R)),
    ({**SAME, "Referer": "https://evil.example:99999/"}, "hub.example.org", "https",
     Seen("https://hub.example.org", R)),
    ({"X-Forwarded-Host": "evil.example/phish?x="}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "evil.example@hub.example.org"}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "evil.example:99999"}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "a b.example"}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "<script>"}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "x" * 300}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": ".".join(["a" * 60] * 5)}, "hub.example.org", "https", None),
    ({"X-Forwarded-Host": "[not-ipv6]"}, "hub.example.org", "https", None),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "host", "protocol", "expected"), ORIGIN_CASES)
def test_request_origin(headers: dict[str, str], host: str, protocol: str, expected: Seen | None) -> None:
    assert request_origin(headers, host=host, protocol=protocol) == expected


def test_learner_keeps_the_browsers_word_and_ignores_the_unauthenticated() -> None:
    recorded: list[tuple[str, bool]] = []
    learner = OriginLearner(lambda origin, by_browser: recorded.append((origin, by_browser)))

    def see(headers: dict[str, str], host: str = "127.0.0.1:8888", *, auth: bool = True, status: int = 200) -> Seen | None:
        return learner.observe(authenticated=auth, status=status, headers=headers, host=host, protocol="http")

    browser = {**SAME, "Referer": "https://hub.example.org/user/ada/lab"}
    assert see({"X-Forwarded-Host": "evil.example"}, auth=False) is None
    assert see({**SAME, "Referer": "https://evil.example/"}, auth=False) is None
    assert see({**SAME, "Referer": "https://evil.example/"}, status=404) is None
    assert see({**SAME, "Referer": "https://evil.example/"}, status=500) is None
    assert see({}) == Seen("http://127.0.0.1:8888", R)  # a script with the token, directly
    assert see({"X-Forwarded-Host": "nb.example.org"}) == Seen("http://nb.example.org", R)
    assert see(browser) == Seen("https://hub.example.org", B)
    assert see({}) == Seen("https://hub.example.org", B)  # scripts no longer move it
    assert see({"Origin": "http://127.0.0.1:8888"}) == Seen("https://hub.example.org", B)
    assert see(browser) == Seen("https://hub.example.org", B)
    moved = {**SAME, "Origin": "https://other.example.org"}
    assert see(moved, status=302) == Seen("https://other.example.org", B)
    assert recorded == [
        ("http://127.0.0.1:8888", R), ("http://nb.example.org", R),
        ("https://hub.example.org", B), ("https://other.example.org", B),
    ]  # fmt: skip  (written to the registry only when it changes)


def test_a_script_s_loopback_request_never_replaces_a_public_origin() -> None:
    """A JupyterHub outside: on a plain-http hub Chromium sends no Sec-Fetch-*, so the browser's
    requests learn the hub's name "by request"; a notebook cell asking its own server at
    $JUPYTERHUB_SERVICE_URL (127.0.0.1) replaced it, and public_url() gave 127.0.0.1."""
    recorded: list[tuple[str, bool]] = []
    learner = OriginLearner(lambda origin, by_browser: recorded.append((origin, by_browser)))

    def see(host: str, headers: dict[str, str] | None = None) -> Seen | None:
        return learner.observe(authenticated=True, status=200, headers=headers or {}, host=host,
                               protocol="http")

    assert see("hub.example.test:8000") == Seen("http://hub.example.test:8000", R)
    for loop in ("127.0.0.1:60025", "localhost:60025", "[::1]:60025",
                 # (third attacker) other spellings of this machine
                 "127.1:60025", "2130706433:60025", "[::ffff:127.0.0.1]:60025", "localhost.:60025"):
        assert see(loop) == Seen("http://hub.example.test:8000", R)
    assert see("nb.example.test") == Seen("http://nb.example.test", R)  # (moved: followed)
    assert recorded == [("http://hub.example.test:8000", R), ("http://nb.example.test", R)]
    # (review) a spawner listening on 0.0.0.0 gives JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/;
    # a pod's own address is the server's too (the extension says which are its own)
    assert see("0.0.0.0:8888") == Seen("http://nb.example.test", R)
    own = OriginLearner(lambda origin, by_browser: None,
                        internal=lambda o: o == "http://10.1.2.3:8888")
    own.observe(authenticated=True, status=200, headers={}, host="hub.example.test", protocol="http")
    assert own.observe(authenticated=True, status=200, headers={}, host="10.1.2.3:8888",
                       protocol="http") == Seen("http://hub.example.test", R)
    first = OriginLearner(lambda origin, by_browser: None)  # nothing known yet: a start
    assert first.observe(authenticated=True, status=200, headers={}, host="127.0.0.1:1",
                         protocol="http") == Seen("http://127.0.0.1:1", R)


# (environment, registry entry of this server) -> expected root (base_url /user/ada/)
ROOT_CASES = [
    ({"HOOKLAB_PUBLIC_URL": "https://hooks.example.org"}, {"origin": "https://learnt.example"},
     "https://hooks.example.org/user/ada/"),
    ({"JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/ada/"}, {},
     "https://hub.example.org/user/ada/"),
    # subdomains: the callback URL names this server's host; JUPYTERHUB_HOST is the Hub's
    ({"JUPYTERHUB_OAUTH_CALLBACK_URL": "https://ada.hub.example.org/user/ada/oauth_callback",
      "JUPYTERHUB_HOST": "https://hub.example.org"}, {}, "https://ada.hub.example.org/user/ada/"),
    ({"JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/ada/oauth_callback",
      "JUPYTERHUB_HOST": "https://hub.example.org"}, {}, "https://hub.example.org/user/ada/"),
    ({"JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/ada/oauth_callback"},
     {"hub_url": "https://hub.example.org/user/ada/", "origin": "http://127.0.0.1:8000"},
     "https://hub.example.org/user/ada/"),
    ({"JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/hub/"}, {"origin": "https://x.example"},
     "https://hub.example.org/user/ada/"),
    # Hub default config: the variables are empty; the origin learnt from the browser is used
    ({"JUPYTERHUB_PUBLIC_URL": "", "JUPYTERHUB_PUBLIC_HUB_URL": "", "JUPYTERHUB_HOST": ""},
     {"origin": "http://127.0.0.1:8000", "origin_by": "browser"}, "http://127.0.0.1:8000/user/ada/"),
    ({}, {"origin": "https://nb.example.org", "origin_by": "request"}, "https://nb.example.org/user/ada/"),
    ({"JUPYTERHUB_PUBLIC_URL": "not a url"}, {"origin": "https://nb.example.org"},
     "https://nb.example.org/user/ada/"),
]  # fmt: skip


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost:8000"])
def test_a_scripts_loopback_origin_is_no_public_address(origin: str) -> None:
    """A token script talking to the server directly (or the Hub's own checks) shows only the
    server's internal address: the URL keeps the warning instead of handing it out as public."""
    entry = {"base_url": "/user/ada/", "url": "http://127.0.0.1:9999/user/ada/", "origin": origin,
             "origin_by": "request"}  # fmt: skip
    root, note = public_root("/user/ada/", entry, {"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"})
    assert root == "http://127.0.0.1:9999/user/ada/"
    assert note is not None and "through the Hub" in note
    assert public_root("/user/ada/", {**entry, "origin_by": "browser"}, {}) == (origin + "/user/ada/", None)


def test_an_internal_origin_learnt_first_is_not_given_out() -> None:
    """(review) A script's request to the pod's own address, before any browser's, was
    recorded "by request" and public_root gave it out; it is "internal" now: the local
    address with the warning that says what to do, as when nothing is known."""
    entry = {"base_url": "/user/ada/", "url": "http://127.0.0.1:9999/user/ada/",
             "origin": "http://10.1.2.3:8888", "origin_by": "internal"}
    root, note = public_root("/user/ada/", entry, {})
    assert root == "http://127.0.0.1:9999/user/ada/" and note is not None


@pytest.mark.parametrize(("env", "server", "expected"), ROOT_CASES)
def test_public_root_prefers_what_the_platform_states(env: dict[str, str], server: dict[str, str], expected: str) -> None:
    entry = {"base_url": "/user/ada/", "url": "http://127.0.0.1:9999/user/ada/", **server}
    assert public_root("/user/ada/", entry, env) == (expected, None)


# platform -> what the warning must tell the user to do there
ADVICE_CASES = [
    ({"BINDER_REQUEST": "v2/gh/org/repo/main", "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"},
     ["Binder", "/user/ada/lab", "host="]),
    ({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"},
     ["/user/ada/lab", "through the Hub", "c.JupyterHub.public_url", "hub.config.JupyterHub.public_url",
      "/opt/tljh/config/jupyterhub_config.d/", "HOOKLAB_PUBLIC_URL"]),
    ({}, ["in your browser", "HOOKLAB_PUBLIC_URL", "hooklab.ingress.tunnel(lab, bin)"]),
]  # fmt: skip


@pytest.mark.parametrize(("env", "says"), ADVICE_CASES)
def test_the_warning_says_what_to_do_on_each_platform(env: dict[str, str], says: list[str]) -> None:
    entry = {"base_url": "/user/ada/", "url": "http://127.0.0.1:9999/user/ada/"}
    root, note = public_root("/user/ada/", entry, env)
    assert root == "http://127.0.0.1:9999/user/ada/"
    assert note is not None and "http://127.0.0.1:9999/user/ada" in note
    assert [s for s in says if s not in note] == []
    # without the extension: how to enable it there
    root, note = public_root("/user/ada/", None, env)
    assert note is not None and "extension" in note


# -- end to end: a real jupyter server whose request logger another extension replaces --------
_REPLACER = textwrap.dedent(
    '''
    """Loads after hooklab.serverext (alphabetically) and replaces the request logger."""
    import os

    def _jupyter_server_extension_points():
        return [{"module": "zz_replaces_log_function"}]

    def _load_jupyter_server_extension(serverapp):
        path = os.environ["ZZ_LOG"]

        def log_function(handler):
            with open(path, "a") as f:
                f.write(f"{handler.get_status()} {handler.request.path}\\n")

        serverapp.web_app.settings["log_function"] = log_function
    '''
)
TOKEN = "origin-test-token-0123456789"


@contextmanager
def _jupyter(tmp: Path, token: str) -> Iterator[dict[str, object]]:
    """``jupyter server`` with hooklab's extension and the logger-replacing one after it."""
    for d in ("runtime", "root", "config", "ext"):
        (tmp / d).mkdir()
    (tmp / "ext" / "zz_replaces_log_function.py").write_text(_REPLACER)
    port = free_port()
    repo = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKLAB_", "JUPYTERHUB_"))}
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
        ZZ_LOG=str(tmp / "zz.log"),
        PYTHONPATH=os.pathsep.join(p for p in (repo, str(tmp / "ext"), env.get("PYTHONPATH")) if p),
    )  # fmt: skip
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--allow-root",
        f"--IdentityProvider.token={token}", "--ServerApp.base_url=/user/ada/",
        f"--ServerApp.root_dir={tmp / 'root'}",
        "--ServerApp.jpserver_extensions={'hooklab.serverext': True, 'zz_replaces_log_function': True}",
    ]  # fmt: skip
    with open(tmp / "server.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    local = f"http://127.0.0.1:{port}/user/ada/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter server did not start:\n" + (tmp / "server.log").read_text())
            status, _ = _get(local + "api/status", {"Authorization": f"token {token}"} if token else {})
            if status == 200 and (tmp / "runtime" / ingress.REGISTRY_NAME).exists():
                break
            time.sleep(0.1)
        yield {"local": local, "runtime": tmp / "runtime", "pid": proc.pid, "zz": tmp / "zz.log"}
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    with _jupyter(tmp_path_factory.mktemp("origin"), TOKEN) as running:
        yield running


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def _use(server: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's labs register with ``server`` (as a kernel of it would)."""
    for var in [v for v in os.environ if v.startswith(("HOOKLAB_", "JUPYTERHUB_", "BINDER_"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOOKLAB_INGRESS_REGISTRY", str(Path(str(server["runtime"])) / ingress.REGISTRY_NAME))
    monkeypatch.setenv("HOOKLAB_INGRESS_SERVER", str(server["pid"]))


@pytest.fixture
def lab(server: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Iterator[HookLab]:
    _use(server, monkeypatch)
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def _root(lab: HookLab) -> tuple[str, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        url = lab.public_url("gh")
    return url.split("hooklab/in/")[0], [str(w.message) for w in caught]


def _until(lab: HookLab, root: str) -> None:
    deadline = time.monotonic() + 5  # recorded when the server finishes the request
    while _root(lab)[0] != root:
        assert time.monotonic() < deadline, (_root(lab), root)
        time.sleep(0.05)


def test_learnt_from_the_users_requests_although_another_extension_replaced_the_logger(
    server: dict[str, object], lab: HookLab
) -> None:
    local, auth = str(server["local"]), {"Authorization": f"token {TOKEN}"}
    # the fixture's readiness checks (token, no proxy) showed only the local address: still
    # unknown, and the warning says so
    root, warned = _root(lab)
    assert root == local and len(warned) == 1 and "not known yet" in warned[0]
    # the user's script, through a proxy that forwards the host
    assert _get(local + "api/status", {**auth, "X-Forwarded-Host": "nb.example.org", "X-Forwarded-Proto": "https"})[0] == 200
    _until(lab, "https://nb.example.org/user/ada/")
    # the user's browser, whose own statement wins from now on
    browser = {**auth, **SAME, "Referer": "https://hub.example.org/user/ada/lab"}
    assert _get(local + "api/contents", browser)[0] == 200
    _until(lab, "https://hub.example.org/user/ada/")
    # what must not move it: a script straight to the server, strangers, failed requests
    stranger = {**SAME, "Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
    for url, headers, status in (
        (local + "api/status", {**auth, "X-Forwarded-Host": "script.example"}, {200}),
        # a foreign Origin on Jupyter's API is refused with 404, a missing token with 403
        (local + "api/contents", stranger, {403, 404}),
        (local + "api/contents?token=wrong", {"X-Forwarded-Host": "evil.example"}, {403}),
        (local + "api/contents/missing.ipynb", {**auth, **SAME, "Referer": "https://evil.example/lab"}, {404}),
    ):  # fmt: skip
        assert _get(url, headers)[0] in status, url
    time.sleep(0.3)
    assert _root(lab) == ("https://hub.example.org/user/ada/", [])
    # the other extension's logger is the one in place, and it still logs every request
    logged = Path(str(server["zz"])).read_text()
    assert "404 /user/ada/api/contents/missing.ipynb" in logged
    assert "200 /user/ada/api/status" in logged
    entry = json.loads((Path(str(server["runtime"])) / ingress.REGISTRY_NAME).read_text())["servers"][str(server["pid"])]
    assert entry["origin"] == "https://hub.example.org" and entry["origin_by"] == "browser"


def test_a_server_without_authentication_learns_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no token and no password every request gets an anonymous user: none may count."""
    with _jupyter(tmp_path, "") as open_server:
        _use(open_server, monkeypatch)
        local = str(open_server["local"])
        browser = {**SAME, "Referer": "https://evil.example/lab", "X-Forwarded-Host": "evil.example"}
        assert _get(local + "api/contents", browser)[0] == 200  # answered: auth is off
        assert _get(local + "api/status", {"X-Forwarded-Host": "evil.example"})[0] == 200
        time.sleep(0.3)
        lab = HookLab(port=0, db=":memory:").start()
        try:
            root, warned = _root(lab)
        finally:
            lab.stop()
        assert root == local
        assert len(warned) == 1 and "without authentication" in warned[0]
        assert "HOOKLAB_PUBLIC_URL" in warned[0]
