"""``hooklab.send(url, timeout=...)`` and ``hooklab send --timeout`` take the bounds every
other outbound timeout has (``lab.replay(timeout=)``, ``forward_timeout``, ``serve
--timeout``: 0.1 to 86400 seconds), refused before anything is sent with a ``ValueError``
naming ``timeout`` (-1 said "timed out after -1 s", NaN a ValueError naming nothing, inf an
OverflowError, and 0 timed out at once after the app may have had the webhook)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))

# (the timeout given; worked out from README: "0.1 to 86400 seconds", the value repr'd)
REFUSED = [
    (-1, "timeout must be 0.1 to 86400 seconds, got -1"),
    (0, "timeout must be 0.1 to 86400 seconds, got 0"),
    (0.05, "timeout must be 0.1 to 86400 seconds, got 0.05"),
    (float("nan"), "timeout must be 0.1 to 86400 seconds, got nan"),
    (float("inf"), "timeout must be 0.1 to 86400 seconds, got inf"),
    (-math.inf, "timeout must be 0.1 to 86400 seconds, got -inf"),
    (86400.5, "timeout must be 0.1 to 86400 seconds, got 86400.5"),
    (1e300, "timeout must be 0.1 to 86400 seconds, got 1e+300"),
    (True, "timeout must be 0.1 to 86400 seconds, got True"),
    ("5", "timeout must be 0.1 to 86400 seconds, got '5'"),
]


@pytest.mark.parametrize(("timeout", "said"), REFUSED, ids=[repr(r[0]) for r in REFUSED])
def test_send_refuses_a_timeout_out_of_bounds_and_sends_nothing(file_lab: HookLab,
                                                                timeout: object, said: str) -> None:
    lab = file_lab
    with pytest.raises(ValueError) as raised:
        hooklab.send(lab.url_for("t"), payload={"t": repr(timeout)}, timeout=timeout)  # type: ignore[arg-type]
    assert str(raised.value) == said
    hooklab.send(lab.url_for("after"), payload={}, timeout=10)  # (the lab got what came first)
    lab.wait(1, bin="after", timeout=10)
    assert [c.bin for c in lab.captures] == ["after"]


@pytest.mark.parametrize("timeout", [0.1, 2, 86400])
def test_send_takes_a_timeout_within_bounds(file_lab: HookLab, timeout: float) -> None:
    lab = file_lab
    assert hooklab.send(lab.url_for("t"), payload={}, timeout=timeout).status == 200


# (--timeout as typed; argparse's error, in serve's and replay's words for --timeout)
CLI_REFUSED = ["-1", "0", "nan", "inf", "0.05", "86401", "soon"]


@pytest.mark.parametrize("typed", CLI_REFUSED)
def test_cli_send_refuses_a_timeout_out_of_bounds(file_lab: HookLab, typed: str) -> None:
    lab = file_lab
    r = subprocess.run([EXE, "send", lab.url_for("t"), "--data", "{}", f"--timeout={typed}"],
                       capture_output=True, text=True, timeout=60)
    why = f"not a number of seconds: {typed!r}" if typed == "soon" else \
        f"{typed} is out of range (0.1 to 86400 s)"
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == f"hooklab send: error: argument --timeout: {why}"
    assert len(lab.captures) == 0


def test_cli_send_timeout_bounds_the_exchange(file_lab: HookLab) -> None:
    lab = file_lab
    r = subprocess.run([EXE, "send", lab.url_for("t"), "--data", "{}", "--timeout", "5"],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "200 OK")
    assert lab.wait(1, bin="t", timeout=10)[0].body == b"{}"
