"""``--data`` that is no JSON object is refused in words that fit: without ``--provider``
there is no sample, and ``hooklab send URL --data '[{"id":1}]'`` said the array would be
"merged into the sample's payload" (``%hooklab send --data-var v`` too). README: "--data: the
body as written (a JSON object; an array is refused); with --provider, merged into the
sample". ``--data-var NAME``'s errors name ``--data-var NAME`` wherever they named ``--data``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))
AS_WRITTEN = "the body, sent as written"
MERGED = "merged into the sample's payload"

# (--data, with --provider?, the error after "hooklab: ": README's words, JSON's type names
# as Python reads them)
CLI = [
    ('[{"id": 1}]', False, f"--data must be a JSON object ({AS_WRITTEN}), not list"),
    ("[]", False, f"--data must be a JSON object ({AS_WRITTEN}), not list"),
    ('"text"', False, f"--data must be a JSON object ({AS_WRITTEN}), not str"),
    ("5", False, f"--data must be a JSON object ({AS_WRITTEN}), not int"),
    ("true", False, f"--data must be a JSON object ({AS_WRITTEN}), not bool"),
    ("null", False, f"--data must be a JSON object ({AS_WRITTEN}), not null"),
    ('[{"id": 1}]', True, f"--data must be a JSON object ({MERGED}), not list"),
    ("null", True, f"--data must be a JSON object ({MERGED}), not null"),
]


@pytest.mark.parametrize(("data", "provider", "said"), CLI,
                         ids=[f"{c[0]}{'-provider' if c[1] else ''}" for c in CLI])
def test_cli_send_says_what_data_fits(file_lab: HookLab, data: str, provider: bool,
                                      said: str) -> None:
    lab = file_lab
    args = ["--provider", "github", "--event", "push"] if provider else []
    r = subprocess.run([EXE, "send", lab.url_for("d"), *args, "--data", data],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"hooklab: {said}\n")
    assert len(lab.captures) == 0  # nothing sent


# (the variable's value, the magic's options, the UsageError's words)
MAGIC = [
    ('[{"id": 1}]', "--data-var v",
     f"%hooklab send: --data-var v must be a JSON object ({AS_WRITTEN}), not list"),
    ('"text"', "--data-var v",
     f"%hooklab send: --data-var v must be a JSON object ({AS_WRITTEN}), not str"),
    ('[{"id": 1}]', "--data-var v --provider github --event push",
     f"%hooklab send: --data-var v must be a JSON object ({MERGED}), not list"),
    ('{"a": 1e999}', "--data-var v --provider github --event push",
     "%hooklab send: --data-var v holds 1e999, a number too large for a float: merged into "
     "the sample's payload it cannot be written as it is (without --provider, --data-var v "
     "is sent as written)"),
    (None, "--data [1,2]",
     f"%hooklab send: --data must be a JSON object ({AS_WRITTEN}), not list"),
    (None, "--data null",
     f"%hooklab send: --data must be a JSON object ({AS_WRITTEN}), not null"),
]


@pytest.mark.parametrize(("value", "options", "said"), MAGIC, ids=[m[1] + " " + str(m[0])
                                                                   for m in MAGIC])
def test_magic_send_says_what_data_fits(memory_shell: Any, value: str | None, options: str,
                                        said: str) -> None:
    lab = hooklab.lab()
    memory_shell.user_ns["v"] = value
    result = memory_shell.run_cell(f"%hooklab send d {options}", store_history=False)
    assert str(result.error_in_exec) == said
    assert len(lab.captures) == 0  # nothing sent
