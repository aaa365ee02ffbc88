"""Usage errors of the ``hooklab`` command name its options, not the Python API: ``serve
--forward a=URL --resign`` without a secret for ``a`` said "lab.secret('a', secret,
provider=...) first" (the command's way is ``--secret-file a=FILE``); ``export --verified
maybe`` said "verified= takes True or False (in a URL true or false)" (the option takes
true or false); ``serve --resign`` without any ``--forward`` was accepted and did nothing,
where ``replay --provider`` without ``--resign-file`` is a usage error (exit 2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _http import free_port
from test_cli import ENV, EXE

TARGET = "http://127.0.0.1:9/fw"
RESIGN = ("--resign needs --secret-file a=FILE (the secret the bin's deliveries verify with; "
          "each forward is signed afresh with it)")
NO_FORWARD = ("hooklab: --resign needs --forward (e.g. --forward github=http://127.0.0.1:8000"
              "/hooks --secret-file github=gh.key --resign: each forward signed afresh)\n")

# (arguments after `serve --db DB --port P --strict-port`, stderr)
SERVE = [
    (["--forward", f"a={TARGET}", "--resign"], f"hooklab: --forward a={TARGET}: {RESIGN}\n"),
    (["--forward", f"/a/={TARGET}", "--resign"], f"hooklab: --forward /a/={TARGET}: {RESIGN}\n"),
    (["--forward", f"a={TARGET}", "--provider", "a=github", "--resign"],  # (a provider alone)
     f"hooklab: --forward a={TARGET}: {RESIGN}\n"),
    (["--forward", f"a={TARGET}", "--secret-file", "b=k.key", "--resign"],  # (another bin's)
     f"hooklab: --forward a={TARGET}: {RESIGN}\n"),
    (["--resign"], NO_FORWARD),
    (["--resign", "--secret-file", "a=k.key"], NO_FORWARD),
    (["--resign", "--quiet"], NO_FORWARD),
]


@pytest.mark.parametrize(("args", "said"), SERVE)
def test_serve_resign_mistakes_name_the_options(tmp_path: Path, args: list[str], said: str) -> None:
    (tmp_path / "k.key").write_text("s3cret")
    r = subprocess.run([EXE, "serve", "--db", "s.db", "--port", str(free_port()),
                        "--strict-port", *args],
                       capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", said)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key"]  # (no database left)


@pytest.mark.parametrize("value", ["maybe", "yes please", "2", "T"])
def test_export_verified_says_what_the_option_takes(tmp_path: Path, value: str) -> None:
    r = subprocess.run([EXE, "export", "--db", str(tmp_path / "none.db"), "--verified", value],
                       capture_output=True, text=True, env=ENV, timeout=30)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"hooklab: --verified takes true or false, not {value!r}\n"
