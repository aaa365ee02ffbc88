"""The ``hooklab_server`` pytest fixture, exercised in a separate pytest run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

#: the test projects' pytest runs load no nbval (the repository's notebook plugin, ~2 s of
#: CPU a start: nbformat, jsonschema's format grammars); the hooklab plugin is what is tested
_NO_NBVAL = ("-p", "no:nbval")

TESTS = '''
import urllib.request

import pytest

SEEN = []


def _post(url, body=b"{}"):
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
        return r.status


def test_first(hooklab_server):
    hooklab_server.respond("orders", 202)
    hooklab_server.forward("orders", to="http://127.0.0.1:9/")
    assert _post(hooklab_server.url_for("orders")) == 202
    hooklab_server.wait(1, bin="orders", timeout=5)
    hooklab_server.assert_received(1, bin="orders", method="POST")
    SEEN.append(hooklab_server.url)


def test_second_starts_clean_on_the_same_server(hooklab_server):
    assert len(hooklab_server.captures) == 0
    assert _post(hooklab_server.url_for("orders")) == 200  # rules were reset
    assert hooklab_server.url == SEEN[0]
    with pytest.raises(AssertionError, match="expected 2 capture"):
        hooklab_server.assert_received(2, bin="orders")
'''


def _pytest_project(tmp_path, name: str, source: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run pytest with the plugin on a project of one test file (the plugin loaded by name)."""
    (tmp_path / name).write_text(source)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hooklab.pytest_plugin", "-q",
         "-p", "no:cacheprovider", *_NO_NBVAL, str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)


def test_fixture_one_server_per_session_cleared_per_test(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _pytest_project(tmp_path, "test_uses_fixture.py", textwrap.dedent(TESTS))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout


def test_entry_point_is_registered() -> None:
    """A packaging regression (entry point gone) fails here; it is never a skip."""
    eps = [ep for ep in entry_points(group="pytest11") if ep.value == "hooklab.pytest_plugin"]
    assert eps, "the pytest11 entry point 'hooklab = hooklab.pytest_plugin' is not installed"
    assert [ep.name for ep in eps] == ["hooklab"]
    assert eps[0].load().__name__ == "hooklab.pytest_plugin"


ISOLATION = r'''
import urllib.error
import urllib.request

import pytest


def _status(req):
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _post(url, body=b"{}", headers=None):
    return _status(urllib.request.Request(url, data=body, headers=headers or {}))


def test_a_changes_settings(hooklab_server):
    hooklab_server.max_body = 10
    hooklab_server.redact_credentials = False
    hooklab_server.handshakes = False
    assert _post(hooklab_server.url_for("x"), b"x" * 100) == 413


def test_b_has_the_settings_as_made(hooklab_server):
    assert _post(hooklab_server.url_for("x"), b"x" * 100, {"Cookie": "sid=abc"}) == 200
    (cap,) = hooklab_server.wait(1)
    assert cap.header("Cookie") == "[redacted]" and hooklab_server.handshakes


def test_c_stops_the_server(hooklab_server):
    hooklab_server.stop()


def test_d_gets_a_running_one(hooklab_server):
    assert _post(hooklab_server.url_for("y")) == 200
    hooklab_server.assert_received(1, bin="y")


def test_e_stops_serving(hooklab_server):
    hooklab_server.stop_serving()


def test_f_gets_a_serving_one(hooklab_server):
    assert _post(hooklab_server.url_for("z")) == 200
    assert len(hooklab_server.captures) == 1


def test_g_seeds_the_session_lab(hooklab_session_server):
    assert _post(hooklab_session_server.url_for("seed")) == 200
    hooklab_session_server.wait(1, bin="seed")


def test_h_uses_the_per_test_lab(hooklab_server, hooklab_session_server):
    assert hooklab_server.url != hooklab_session_server.url
    assert _post(hooklab_server.url_for("other"), b'{"type": "charge.refunded"}',
                 {"Stripe-Signature": "t=1,v1=00"}) == 200
    with pytest.raises(TimeoutError, match=r"0 matched .*newest captures: #\d+ POST /other charge.refunded"):
        hooklab_server.wait(1, bin="orders", timeout=0.2)


def test_i_the_session_lab_kept_its_capture(hooklab_session_server):
    hooklab_session_server.assert_received(1, bin="seed")


def _api(lab, host):
    return _status(urllib.request.Request(
        lab.url + "/_hooklab/api/captures",
        headers={"Host": host, "Authorization": "token " + lab.api_token}))


def test_j_opens_the_guard_every_way(hooklab_server):
    hooklab_server.allowed_hosts.append("evil.example")  # in place
    hooklab_server.server.stream_origins = ("*",)  # on the server itself
    hooklab_server.server.allowed_hosts = ("*",)
    assert _api(hooklab_server, "evil.example") == 200
    view = hooklab_server.live()
    assert view is not None


def test_k_has_the_guard_back(hooklab_server):
    assert hooklab_server.allowed_hosts == []
    assert _api(hooklab_server, "evil.example") == 403
    assert _api(hooklab_server, "127.0.0.1") == 200
    assert hooklab_server.server.stream_origins == ()
    assert not list(hooklab_server._views)
'''


def test_each_test_gets_a_lab_as_made_whatever_the_last_one_did(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Settings a test changed (max_body, redact_credentials), a server it stopped, and
    hooklab_session_server (a lab of its own, never cleared) — each broke later tests."""
    r = _pytest_project(tmp_path, "test_isolation.py", ISOLATION)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "11 passed" in r.stdout and "error" not in r.stdout.lower(), r.stdout


SIGNED = '''
import hashlib, hmac, json, time, urllib.request

import pytest


def _post(url, secret=None, ts=None):
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "object": "event"}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        ts = int(time.time()) if ts is None else ts
        sig = hmac.new(secret.encode(), b"%d." % ts + body, hashlib.sha256).hexdigest()
        headers["Stripe-Signature"] = f"t={ts},v1={sig}"
    urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=10)


def test_wait_wrong_secret(hooklab_server):
    hooklab_server.secret("orders", "whsec_test", provider="stripe")
    _post(hooklab_server.url_for("orders"), "whsec_WRONG")
    hooklab_server.wait(1, bin="orders", verified=True, timeout=0.5)


def test_assert_wrong_secret(hooklab_server):
    hooklab_server.secret("orders", "whsec_test", provider="stripe")
    _post(hooklab_server.url_for("orders"), "whsec_WRONG")
    hooklab_server.assert_received(count=0, verified=False)


def test_assert_stale(hooklab_server):
    hooklab_server.secret("orders", "whsec_test", provider="stripe")
    _post(hooklab_server.url_for("orders"), "whsec_test", ts=int(time.time()) - 3600)
    hooklab_server.assert_received(count=0, verified=False)


def test_assert_no_provider(hooklab_server):
    hooklab_server.secret("any", "s3cret-value")
    _post(hooklab_server.url_for("any"))
    hooklab_server.assert_received(count=0, verified=False)


def test_assert_right_secret(hooklab_server):
    hooklab_server.secret("orders", "whsec_test", provider="stripe")
    _post(hooklab_server.url_for("orders"), "whsec_test")
    hooklab_server.assert_received(bin="elsewhere")


def test_assert_unchecked(hooklab_server):
    _post(hooklab_server.url_for("plain"))
    hooklab_server.assert_received(bin="elsewhere")
'''


@pytest.fixture(scope="module")
def signed_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One pytest run of :data:`SIGNED` (every test fails): test name -> its ``E`` lines."""
    tmp = tmp_path_factory.mktemp("signed")
    r = _pytest_project(tmp, "test_signed.py", textwrap.dedent(SIGNED))
    assert "6 failed" in r.stdout, r.stdout + r.stderr
    said: dict[str, str] = {}
    name = ""
    for line in r.stdout.splitlines():
        m = re.match(r"_+ (test_\w+) _+$", line)
        if m:
            name = m.group(1)
        elif line.startswith("E ") and name:
            said[name] = said.get(name, "") + line[1:].strip() + "\n"
    return said


@pytest.mark.parametrize("test,shown", [
    ("test_wait_wrong_secret", r"0 matched .*newest captures: #\d+ POST /orders payment_intent\."
     r"succeeded \(verified=False: signature mismatch: was the body re-serialised\? "),
    ("test_assert_wrong_secret", r"got 1; newest captures: #\d+ POST /orders payment_intent\."
     r"succeeded \(verified=False: signature mismatch: was the body re-serialised\? "),
    ("test_assert_stale", r"#\d+ POST /orders payment_intent\.succeeded \(verified=False: "
     r"timestamp 36\d\d s old, beyond tolerance 300 s \(the signature itself matches\)\)"),
    ("test_assert_no_provider", r"#\d+ POST /any \(verified=False: unknown provider: .*"
     r"give the bin a provider: "),
    ("test_assert_right_secret", r"#\d+ POST /orders payment_intent\.succeeded \(verified=True\)$"),
    ("test_assert_unchecked", r"newest captures: #\d+ POST /plain$"),
], ids=["wait-wrong-secret", "assert-wrong-secret", "stale-timestamp", "no-provider",
        "verified", "no-check"])
def test_a_failure_message_says_how_each_listed_capture_was_verified(
        signed_failures: dict[str, str], test: str, shown: str) -> None:
    """A failed ``wait(verified=True)`` or ``assert_received(count=0, verified=False)`` (the
    README's pattern) listed the capture without saying its check failed, nor why
    (``verify_reason``): a debugger was needed to learn what the lab knew."""
    said = signed_failures.get(test, "")
    assert re.search(shown, said, re.M), said


@pytest.mark.parametrize("reason,shown", [
    ("evil\x1b]0;pwned\x07", r"\(verified=False: evil\\x1b\]0;pwned\\x07\)$"),
    ("two\nE   forged line", r"\(verified=False: two\\nE   forged line\)$"),
    ("r" * 1000, r"\(verified=False: r{160}\.\.\.\(\+840 chars\)\)$"),
    ("ok", r"payment_intent\.succeeded \(verified=False: ok\)$"),
], ids=["escape-sequence", "newline", "long", "ok-but-false"])
def test_a_verify_reason_in_a_failure_message_is_escaped_and_cut(tmp_path, reason, shown) -> None:  # type: ignore[no-untyped-def]
    """The reason comes from a stored capture (an imported export may hold anything): it
    reaches a test report escaped, one line, at most 160 characters."""
    import hooklab

    rec = {"id": 1, "received_at": "2026-01-01T00:00:00Z", "method": "POST", "path": "/orders",
           "headers": [["Content-Type", "application/json"]],
           "body": json.dumps({"type": "payment_intent.succeeded"}), "provider": "stripe",
           "event_type": "payment_intent.succeeded", "verified": False, "verify_reason": reason}
    (tmp_path / "c.jsonl").write_text(json.dumps(rec) + "\n")
    lab = hooklab.load_jsonl(str(tmp_path / "c.jsonl"))
    try:
        with pytest.raises(AssertionError) as err:
            lab.assert_received(bin="elsewhere")
    finally:
        lab.stop()
    said = str(err.value)
    assert "\n" not in said and "\x1b" not in said, said
    assert re.search(shown, said), said


#: what loading the plugin must not import: the lab and what it stands on. pytest loads the
#: plugin in every run of an environment where hooklab is installed (and in each xdist worker):
#: imported at the top, they cost a run that never asks for a fixture +0.34 s.
HEAVY = ("hooklab.core", "hooklab.server", "hooklab.store", "tornado", "traitlets", "sqlite3",
         "asyncio", "httptools", "uvloop", "pandas", "ipywidgets")

UNRELATED = '''
import json
import os
import sys


def test_unrelated():
    with open(os.environ["HOOKLAB_TEST_MODULES_OUT"], "w") as f:
        json.dump(sorted(sys.modules), f)
'''


def _modules_of_a_run(tmp_path, load: list[str], autoload: bool) -> set[str]:  # type: ignore[no-untyped-def]
    """The modules imported by the time an unrelated test runs (a project of its own, one
    test that asks for no fixture), the plugin loaded as ``load`` says."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    env["HOOKLAB_TEST_MODULES_OUT"] = str(out)
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    (tmp_path / "project").mkdir(exist_ok=True)
    (tmp_path / "project" / "test_unrelated.py").write_text(UNRELATED)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load,
                        *_NO_NBVAL, "test_unrelated.py"], cwd=tmp_path / "project", env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize("with_plugin,without,autoload", [
    (["-p", "hooklab.pytest_plugin"], [], False),  # PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, -p
    ([], ["-p", "no:hooklab"], True),  # installed: the entry point loads it
], ids=["by-name", "entry-point"])
def test_loading_the_plugin_imports_no_lab(tmp_path, with_plugin: list[str], without: list[str],  # type: ignore[no-untyped-def]
                                           autoload: bool) -> None:
    """The plugin module imported hooklab.core at load: tornado, traitlets, sqlite3, asyncio,
    httptools and the capture server came with every pytest run; the lab is imported when a
    fixture first needs one."""
    loaded = _modules_of_a_run(tmp_path, with_plugin, autoload)
    baseline = _modules_of_a_run(tmp_path, without, autoload)
    assert "hooklab.pytest_plugin" in loaded and "hooklab.pytest_plugin" not in baseline
    brought = sorted(m for m in loaded - baseline
                     if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY)))
    assert brought == []
