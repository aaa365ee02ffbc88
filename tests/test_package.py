"""Package-level promises: a light import, the public names, the extension entry points."""

from __future__ import annotations

import subprocess
import sys

import hooklab


def test_import_is_light():
    code = (
        "import sys, hooklab; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'tornado', 'IPython') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_and_are_callable():
    for name in ("start", "lab", "open", "send", "verify_signature", "load_har", "stop"):
        assert callable(getattr(hooklab, name)), name
    assert hooklab.HookLab.__name__ == "HookLab"
    assert hooklab.Verification.__name__ == "Verification"
    assert hooklab.__all__ == sorted(hooklab.__all__)


def test_submodule_imports_do_not_shadow_functions():
    import hooklab.core  # noqa: F401
    import hooklab.outbound.sender  # noqa: F401

    assert callable(hooklab.lab) and callable(hooklab.send) and callable(hooklab.open)


def test_lab_is_none_until_started():
    hooklab.stop()
    assert hooklab.lab() is None
    lab = hooklab.start(port=0, db=":memory:")
    try:
        assert hooklab.lab() is lab and lab.is_running
    finally:
        hooklab.stop()
    assert hooklab.lab() is None and not lab.is_running


def test_readme_subpackages_work_after_plain_import():
    """The README calls hooklab.ws.record(...) and hooklab.ingress.tunnel(...)."""
    code = (
        "import hooklab, sys\n"
        "assert callable(hooklab.ws.record), 'ws'\n"
        "assert callable(hooklab.ingress.tunnel), 'ingress'\n"
        "assert callable(hooklab.signatures.sign_request)\n"
        "assert 'stripe' in hooklab.providers.PROVIDERS\n"
        "try:\n"
        "    hooklab.no_such_thing\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_thing' in str(e)\n"
        "else:\n"
        "    raise SystemExit('missing attribute did not raise')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
