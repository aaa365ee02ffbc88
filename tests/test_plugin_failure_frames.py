"""A failing ``assert_received`` / ``wait`` in a user's test shows the test's own line and the
message, not hooklab's source: pytest's ``__tracebackhide__`` convention for assertion helpers.

The failure printed the whole of ``assert_received`` with its docstring, whose example error
(``expected at least 1 capture(s) matching bin='github'``) a reader skimming the report took
for the real one. Run as a user runs it: a pytest project of its own, the plugin by its name.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(300)

#: (the failing line, what the report must say)
CASES = [
    ('hooklab_server.assert_received(count=2, bin="orders")',
     "expected 2 capture(s) matching bin='orders', got 1"),
    ('hooklab_server.assert_received(bin="payments")',
     "expected at least 1 capture(s) matching bin='payments', got 0"),
    ('hooklab_server.wait(2, bin="orders", timeout=0.2)',
     "waited 0.2 s for 2 capture(s) matching bin='orders'; 1 matched"),
    ('hooklab_server.assert_received(count=-1)', "count"),
]


@pytest.mark.parametrize(("line", "said"), CASES)
def test_the_report_shows_the_test_line_not_hooklab_source(tmp_path, line: str, said: str) -> None:
    (tmp_path / "test_app.py").write_text(
        "import hooklab\n\n\n"
        "def test_orders(hooklab_server):\n"
        '    hooklab.send(hooklab_server.url_for("orders"), provider="stripe", event="invoice.paid")\n'
        f"    {line}\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hooklab.pytest_plugin", "-p", "no:nbval",
         "-p", "no:cacheprovider", "-q", "test_app.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    out = run.stdout
    assert run.returncode == 1, out
    assert said in out, out
    assert f"    {line}" in out  # (the test's own line, marked by pytest)
    assert "bin='github'" not in out  # (the docstring's example error)
    assert '"""' not in out and "def assert_received" not in out and "def wait" not in out, out
    assert "hooklab/core.py" not in out, out
