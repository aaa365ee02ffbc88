"""Package-level promises: a light import, the public names, the extension entry points."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hooklab

ROOT = Path(__file__).resolve().parent.parent

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


def test_the_example_notebooks_need_nothing_beyond_hooklab_and_its_lab_extra() -> None:
    """Every module the example notebooks import (matplotlib is imported by pandas' plotting
    too) comes with ``pip install hooklab[lab]``: notebooks 02, 05 and 06 stopped on a plain
    install because matplotlib was only in binder/requirements.txt."""
    import ast
    import json
    import re
    import sys
    from importlib.metadata import packages_distributions
    from pathlib import Path

    try:
        import tomllib  # (Python 3.11+)
    except ModuleNotFoundError:  # Python 3.10: tomli is the same parser, before the stdlib took it
        tomllib = pytest.importorskip("tomli", reason="Python 3.10 without tomli: no TOML parser")
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["lab"]]
    allowed = {re.split(r"[<>=!;\[ ]", w, maxsplit=1)[0].strip().lower().replace("_", "-") for w in wanted}
    allowed.add("hooklab")
    dists = packages_distributions()
    needed: dict[str, str] = {}
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "".join(cell["source"])
            if code.lstrip().startswith("%%"):  # a cell magic: not Python
                continue
            lines = [ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))]
            tree = ast.parse("\n".join(lines))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                         and not node.level else [])
                for name in names:
                    needed.setdefault(name.split(".")[0], nb.name)
            if ".plot(" in code or ".plot." in code:  # pandas plots with matplotlib
                needed.setdefault("matplotlib", nb.name)
    missing = {}
    for module, where in needed.items():
        if module in sys.stdlib_module_names:
            continue
        owners = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not owners & allowed:
            missing[module] = where
    assert not missing, f"imported by the notebooks, not installed by hooklab[lab]: {missing}"


def test_help_of_start_shows_the_default_database() -> None:
    """``help(hooklab.start)`` showed ``db: str = <object object at 0x...>``."""
    import inspect

    import hooklab
    from hooklab.core import DEFAULT_DB

    assert inspect.signature(hooklab.start).parameters["db"].default == DEFAULT_DB
    assert "object at" not in str(inspect.signature(hooklab.start))


def test_the_readme_command_that_turns_the_server_extension_on_after_an_editable_install(
        tmp_path: Path) -> None:
    """The README said to run ``jupyter server extension enable hooklab.serverext`` after
    ``pip install -e .``; jupyter_server 2 answers "could not be found" and writes nothing
    (it toggles only extensions some config file lists), so the public relay never loaded.
    The README's command, run as written (a config folder of this test's own), turns it on."""
    import shutil

    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(r'`(mkdir -p "\$\(jupyter --config-dir\)[^`]+)`', readme)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    assert shutil.which("jupyter", path=env["PATH"])
    subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, check=True, timeout=120)
    listed = subprocess.run(["jupyter", "server", "extension", "list"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert re.search(r"^\s*hooklab\.serverext enabled\s*$", text, re.M), text


def test_public_url_advice_names_steps_that_work_for_every_install() -> None:
    """With no server extension loaded, ``lab.public_url()`` says how to turn it on. After an
    editable install (``make lab``'s .venv) its one advice, ``jupyter server extension
    enable``, failed ("could not be found"): it names the config file to copy, which exists,
    and the command line ``make lab`` itself uses."""
    from hooklab.ingress.origin import _advice

    text = _advice("jupyter", "/", "http://127.0.0.1:8765", None)
    (copied,) = re.findall(r"(jupyter-config/jupyter_server_config\.d/hooklab\.json)", text)
    assert (ROOT / copied).is_file()
    makefile = (ROOT / "Makefile").read_text()
    (flag,) = re.findall(r"(--ServerApp\.jpserver_extensions=\"\{'hooklab\.serverext': True\}\")",
                         makefile)
    assert flag in text
