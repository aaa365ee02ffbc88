"""A public URL a test made (``hooklab_server.public_url(bin)``) retires when the test ends:
it pointed at the same lab and bin in the next test (a request to it became that test's
capture), and its key stayed in the user's Jupyter runtime registry until the session ended.
Found by an outside tester of the pytest plugin. Run in a pytest of its own, as a user's
project runs the plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROJECT = '''
import json, os

REG = os.environ["HOOKLAB_INGRESS_REGISTRY"]
SEEN = {}


def keys():
    if not os.path.exists(REG):
        return []
    with open(REG) as f:
        return sorted((json.load(f).get("keys") or {}))


def test_a_makes_public_urls(hooklab_server):
    before = keys()
    url = hooklab_server.public_url("orders")
    hooklab_server.public_url("github")
    SEEN["url"] = url
    assert "/hooklab/in/" in url
    assert len(keys()) == len(before) + 2


def test_b_has_none_of_them(hooklab_server):
    assert keys() == []


def test_c_session_lab_keeps_its_own(hooklab_session_server, hooklab_server):
    hooklab_session_server.public_url("kept")
    assert len(keys()) == 1


def test_d_the_session_lab_s_url_stays(hooklab_server):
    assert len(keys()) == 1  # (the session lab's: the plugin never clears it)
'''


def test_a_test_s_public_urls_retire_with_it(tmp_path: Path) -> None:
    (tmp_path / "test_public.py").write_text(textwrap.dedent(PROJECT))
    registry = tmp_path / "runtime" / "hooklab-ingress.json"
    env = {k: v for k, v in os.environ.items()
           if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD" and not k.startswith("PYTEST_XDIST")}
    env["HOOKLAB_INGRESS_REGISTRY"] = str(registry)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "no:nbval", str(tmp_path)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0 and "4 passed" in r.stdout, r.stdout + r.stderr
    left = json.loads(registry.read_text()).get("keys") if registry.exists() else {}
    assert not left  # (the session's end retires the session lab's too)
