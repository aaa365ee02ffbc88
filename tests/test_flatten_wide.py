"""``flatten=True`` over wide bodies when one body is read by Python (NaN, Infinity, 1e400:
``capture.json()`` reads them, Arrow does not), and a flatten interrupted in a real kernel.

Found by an outside analyst: 2,000 keys plus ``{"x": NaN}`` took 2.7 s, 4,000 keys 10.4 s,
20,000 more than two minutes (the same bodies without the NaN: 0.15 s; pandas'
``json_normalize``: 0.01 s). pandas deep-copies a frame's ``attrs`` into each column it hands
out, and the frame carried a list naming its integer columns: each of the n column reads copied
n names. And a kernel interrupt during such a call gave the prompt back while the flatten
thread went on using a CPU (4.8 s of CPU in the next 5 idle seconds).
"""

from __future__ import annotations

import json
import math
import os
import queue
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from _http import post

from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(240)

WIDE = 4_000  # keys of the wide body: 10.4 s before, under a second after
BIG = 2**60 + 1  # a float64 would change it: the flat frame keeps it exact (Int64)

# (name, the other body, its payload.x as the frame gives it)
ODD_BODIES = [
    ("NaN", b'{"x": NaN}', math.nan),
    ("Infinity", b'{"x": Infinity}', math.inf),
    ("-Infinity", b'{"x": -Infinity}', -math.inf),
    ("1e400", b'{"x": 1e400}', math.inf),
    ("plain float (Arrow reads it)", b'{"x": 1.5}', 1.5),
]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(("name", "odd", "x"), ODD_BODIES, ids=[c[0] for c in ODD_BODIES])
def test_a_wide_flatten_stays_linear_when_one_body_needs_python(file_lab, name, odd, x):
    wide = {f"k{i}": i for i in range(WIDE)} | {"big": BIG}
    for body in (json.dumps(wide).encode(), odd):
        status, _ = post(file_lab.url_for("w"), body, {"Content-Type": "application/json"})
        assert status == 200
    file_lab.wait(2, timeout=10)
    file_lab.dataframe()  # (pandas and Arrow imported, the store read once: the flatten is timed)

    t0 = time.perf_counter()
    df = file_lab.dataframe(flatten=True)
    took = time.perf_counter() - t0

    assert took < 5.0, f"{WIDE:,} columns and a {name} body: {took:.1f} s"
    assert len(df) == 2
    flat = [c for c in df.columns if c.startswith("payload.")]
    assert set(flat) == {f"payload.k{i}" for i in range(WIDE)} | {"payload.big", "payload.x"}
    for i in (0, 1, 1234, WIDE - 1):  # integers with a missing row: floats, as json_normalize
        col = df[f"payload.k{i}"]
        assert col.dtype == "float64" and col.iloc[0] == i and math.isnan(col.iloc[1])
    big = df["payload.big"]
    assert isinstance(big.dtype, pd.Int64Dtype) and big.iloc[0] == BIG and big.isna().iloc[1]
    assert df["payload.x"].dtype == "float64"
    assert math.isnan(df["payload.x"].iloc[0]) and _same(df["payload.x"].iloc[1], x)


# -- Ctrl-C in a real kernel ---------------------------------------------------------------------
class _Kernel:
    """A real IPython kernel (jupyter_client) whose cells can be interrupted midway."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        # (as tests/test_kernel.py: ipykernel shows the process's stderr unless under pytest)
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def start(self, code: str) -> str:
        return self.kc.execute(code)

    def outcome(self, msg_id: str, timeout: float = 60.0) -> tuple[str, str]:
        """(printed text, traceback text) of cell ``msg_id`` once the kernel is idle again."""
        out: list[str] = []
        error: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            kind = m["msg_type"]
            if kind == "stream":
                out.append(m["content"]["text"])
            elif kind == "error":
                error.append(m["content"]["ename"] + "\n" + "\n".join(m["content"]["traceback"]))
            elif kind == "status" and m["content"]["execution_state"] == "idle":
                return "".join(out), "".join(error)
        raise AssertionError(f"the kernel did not answer within {timeout} s")

    def run(self, code: str) -> str:
        out, error = self.outcome(self.start(code))
        assert not error, error
        return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


ROWS = 12 * 4096  # twelve column segments: the flatten thread reads them four at a time
KEYS = 200

# Runs in the kernel before the flatten: a thread that watches the main thread's stack. Once
# the call waits for its flatten thread (in _flatten_result) it leaves the file ``mark``, so
# that the interrupt lands there however busy the machine is, not after a guessed delay; once
# the call is left, it writes to ``mark`` whether the flatten thread was still running then
# ("alive": the interrupt ended the wait; "done": the wait ended as the thread did) and ends.
_WATCH = """
import sys, threading, time
def _hooklab_test_watch(main=threading.main_thread().ident, end=time.monotonic() + 120):
    def waiting():
        f = sys._current_frames().get(main)
        while f is not None and f.f_code.co_name != "_flatten_result":
            f = f.f_back
        return f is not None
    while not waiting() and time.monotonic() < end:
        time.sleep(0.002)
    open({mark!r}, "w").close()
    while waiting() and time.monotonic() < end:
        time.sleep(0.002)
    alive = any(t.name == "hooklab-flatten" for t in threading.enumerate())
    with open({mark!r}, "w") as f:
        f.write("alive" if alive else "done")
threading.Thread(target=_hooklab_test_watch, name="test-watch", daemon=True).start()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_an_interrupted_flatten_stops_its_thread(tmp_path):
    made = tmp_path / "made.sqlite3"
    body = json.dumps({f"k{j}": j for j in range(KEYS)}).encode()
    store = CaptureStore(str(made))
    try:
        headers = [("Content-Type", "application/json")]
        store.add_many({"method": "POST", "path": "/w", "headers": headers, "body": body}
                       for _ in range(ROWS))
        store.add_many([{"method": "POST", "path": "/w", "headers": headers, "body": b'{"x": NaN}'}])
        end = time.monotonic() + 120  # the column segments sealed: the kernel reads the same
        while store._behind() and time.monotonic() < end:  # blocks each run
            time.sleep(0.05)
        assert not store._behind()
    finally:
        store.close()

    k = _Kernel(tmp_path)
    try:
        pid = int(k.run("import os, threading, hooklab\nprint(os.getpid())"))
        # the flatten takes seconds (its thread starts at once): interrupted as soon as the call
        # waits for that thread (its traceback says so). Each try on a fresh copy of the file
        # (a flatten keeps the segments it parsed: the next one would have less to do), and
        # bounded: a kernel interrupt does not always end that wait (the signal can reach
        # another thread), the prompt then comes back with the frame made
        landed, state = "", ""
        for attempt in range(4):
            db = made if attempt == 0 else tmp_path / f"wide-{attempt}.sqlite3"
            if db != made:
                shutil.copyfile(made, db)
            k.run(f"lab = hooklab.open({str(db)!r})\nlab.dataframe()\nNone")  # (pandas, Arrow)
            mark = tmp_path / f"waiting-{attempt}"
            msg_id = k.start(_WATCH.format(mark=str(mark)) + "df = lab.dataframe(flatten=True)")
            end = time.monotonic() + 60
            while not mark.exists() and time.monotonic() < end:
                time.sleep(0.005)
            assert mark.exists(), "the call never waited for its flatten thread"
            k.km.interrupt_kernel()
            t_int = time.monotonic()
            _, landed = k.outcome(msg_id, timeout=30)
            assert time.monotonic() - t_int < 10, "the prompt did not come back"
            end = time.monotonic() + 10
            while not (state := mark.read_text()) and time.monotonic() < end:
                time.sleep(0.005)
            if state == "alive" and "_flatten_result" in landed:
                break
            k.run("lab.stop()")
        assert "KeyboardInterrupt" in landed and "_flatten_result" in landed, landed[-3000:]
        assert state == "alive", "no interrupt ended the wait for the flatten thread"

        # the prompt is back: the kernel is idle, and so is the thread (before: it read the
        # other segments and combined them, a CPU busy for seconds after the prompt)
        c0 = _cpu_seconds(pid)
        time.sleep(2.0)
        used = _cpu_seconds(pid) - c0
        names = k.run("print(sorted(t.name for t in threading.enumerate()))")
        assert used < 0.4, f"the kernel used {used:.1f} s of CPU in 2 idle seconds ({names.strip()})"
        assert "hooklab-flatten" not in names

        # the lab works on: the whole frame, as if never interrupted
        out = k.run("df = lab.dataframe(flatten=True); print(df.shape, df['payload.k7'].iloc[0])")
        assert out.split() == [f"({ROWS + 1},", f"{21 + KEYS})", "7.0"]
    finally:
        k.close()
