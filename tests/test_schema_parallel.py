"""A first ``schema()`` on a store nobody has summarized hands column segments to helper
processes (``hooklab.explore.parallel``): the table must be exactly the one a single pass over
every row gives, whatever the helpers do (answer, fail to start, die, hang, lie, answer
garbage), no helper may run the person's own script, and none may outlive the call.

Real SQLite files with sealed segments (the hostile corpus of ``test_schema_summaries``), real
helper processes, opened with ``hooklab.open`` as a user would; one test in a real kernel.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_schema_summaries import SUMMARY_KIND, N, make_store, one_pass

import hooklab
from hooklab.explore import parallel

pytestmark = pytest.mark.timeout(300)
SEGMENTS = N // 4096


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("parallel") / "captures.sqlite3")
    make_store(path)
    return path


@pytest.fixture()
def store_file(made: str, tmp_path: Path) -> str:
    """A copy of the store without any kept summary."""
    path = str(tmp_path / "captures.sqlite3")
    shutil.copy(made, path)
    with sqlite3.connect(path) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'segment_summaries'").fetchone():
            db.execute("DELETE FROM segment_summaries")
        assert db.execute("SELECT count(*) FROM segments").fetchone()[0] == SEGMENTS
    db.close()
    return path


@pytest.fixture(scope="module")
def want(made: str, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The table a single pass over every row gives: the same for every test's copy (they
    hold the same rows; only the kept summaries differ), so it is worked out once."""
    path = str(tmp_path_factory.mktemp("want") / "captures.sqlite3")
    shutil.copy(made, path)
    return expected(path)


#: seconds this process takes longer to read a segment's rows, so that helpers (ready after
#: their imports, about half a second) get segments of this small store before it is done
SLOW = 0.8
_SLOW_HERE = (f"import time, hooklab.explore.schema as S; r = S._SegmentRows.rows; "
              f"S._SegmentRows.rows = lambda self, ks: (time.sleep({SLOW}), r(self, ks))[1]")
#: the fixtures eager and given, in one line for another process (counts into ``given``)
_EAGER_HERE = ("from hooklab.explore import parallel; parallel.MIN_SEGMENTS, parallel.PER_HELPER,"
               f" parallel.PROCESSES = 1, 1, 2; {_SLOW_HERE}; given = []; t = parallel.Helpers.take;"
               " parallel.Helpers.take = lambda self, key: (lambda got: (given.append(got is not"
               " None), got)[1])(t(self, key))")


@pytest.fixture()
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helpers even for this small store: two of them, one segment each at least; this
    process slower at reading rows than they are."""
    import hooklab.explore.schema as schema_module

    monkeypatch.setattr(parallel, "MIN_SEGMENTS", 1)
    monkeypatch.setattr(parallel, "PER_HELPER", 1)
    monkeypatch.setattr(parallel, "PROCESSES", 2)
    rows = schema_module._SegmentRows.rows

    def slow(self: Any, ks: list[int]) -> Any:
        time.sleep(SLOW)
        return rows(self, ks)

    monkeypatch.setattr(schema_module._SegmentRows, "rows", slow)


@pytest.fixture()
def given(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Per segment the caller asked the helpers for: whether a helper gave it."""
    seen: list[bool] = []
    take = parallel.Helpers.take

    def counted(self: Any, key: Any) -> Any:
        got = take(self, key)
        seen.append(got is not None)
        return got

    monkeypatch.setattr(parallel.Helpers, "take", counted)
    return seen


def expected(path: str) -> pd.DataFrame:
    lab = hooklab.open(path)
    try:
        return one_pass(lab)
    finally:
        lab.stop()


def first_and_fresh(path: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The first ``schema()`` (helpers may take part), a fresh lab's (from what was kept),
    and how many segment summaries were kept."""
    lab = hooklab.open(path)
    try:
        first = lab.schema()
        lab.store.flush(60)
        kept = sum(v is not None for v in lab.store.summaries(SUMMARY_KIND).values())
    finally:
        lab.stop()
    lab = hooklab.open(path)
    try:
        return first, lab.schema(), kept
    finally:
        lab.stop()


def children() -> list[int]:
    """Processes whose parent is this one (Linux)."""
    me, out = str(os.getpid()), []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            out.append(int(pid))
    return out


def test_helpers_make_segments_and_the_table_is_the_one_pass_table(store_file, eager, given,
                                                                    want) -> None:
    first, fresh, kept = first_and_fresh(store_file)
    assert True in given, "no helper made a segment"
    assert len(given) == SEGMENTS
    pd.testing.assert_frame_equal(first, want)
    pd.testing.assert_frame_equal(fresh, want)
    assert kept == SEGMENTS  # what the helpers made is kept like the rest


def test_without_helpers_the_same_table(store_file, monkeypatch, given, want) -> None:
    monkeypatch.setattr(parallel, "PROCESSES", 0)
    monkeypatch.setattr(parallel, "MIN_SEGMENTS", 1)
    first, fresh, kept = first_and_fresh(store_file)
    assert given == []
    pd.testing.assert_frame_equal(first, want)
    pd.testing.assert_frame_equal(fresh, want)
    assert kept == SEGMENTS


#: what a helper process may do instead of its job; each must cost nothing but time
HOSTILE = {
    "exits at once": "import sys; sys.exit(3)",
    "never answers": "import sys, time; sys.stdin.buffer.readline(); sys.stdin.buffer.readline();"
                     " time.sleep(60)",
    "says it is ready, then hangs": "import sys, time; sys.stdin.buffer.readline();"
                                    " sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush(); sys.stdout.buffer.flush();"
                                    " sys.stdin.buffer.readline(); time.sleep(60)",
    "answers garbage": "import sys; sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\nfor line in sys.stdin.buffer:\n"
                       "    sys.stdout.buffer.write((9).to_bytes(8, 'little') + b'HSS1junk!');"
                       " sys.stdout.buffer.flush()",
    "answers a huge length": "import sys; sys.stdin.buffer.readline(); sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush();"
                             " sys.stdin.buffer.readline();"
                             " sys.stdout.buffer.write((1 << 62).to_bytes(8, 'little'));"
                             " sys.stdout.buffer.flush(); sys.stdin.buffer.read()",
    "answers half an answer": "import sys; sys.stdin.buffer.readline(); sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush();"
                              " sys.stdin.buffer.readline();"
                              " sys.stdout.buffer.write((100).to_bytes(8, 'little') + b'HSS1');"
                              " sys.stdout.buffer.flush()",
    "answers empty": "import sys; sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\nfor line in sys.stdin.buffer:\n"
                     "    sys.stdout.buffer.write(bytes(8)); sys.stdout.buffer.flush()",
    "answers another segment's summary": "LIAR",
    "is no Python at all": "NOT-PYTHON",
}


@pytest.mark.parametrize("behaviour", list(HOSTILE))
def test_a_helper_that_misbehaves_costs_nothing_but_time(behaviour, store_file, eager, given,
                                                          monkeypatch, made, want) -> None:
    boot = HOSTILE[behaviour]
    if boot == "LIAR":  # a real summary, but always of the first segment
        boot = (parallel._BOOT.replace("serve(h)", "pass")
                + "; import sqlite3, json; from pathlib import Path;"
                  " from hooklab.explore.schema import summarize_rows;"
                  " db = sqlite3.connect(Path(h['source']).as_uri() + '?mode=ro', uri=True);"
                  " k = db.execute('SELECT first_id, last_id, rows FROM segments"
                  " ORDER BY first_id').fetchone(); p = summarize_rows(db, tuple(k));"
                  " sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\n"
                  "for line in sys.stdin.buffer:\n"
                  "    sys.stdout.buffer.write(len(p).to_bytes(8, 'little') + p);"
                  " sys.stdout.buffer.flush()")
    if boot == "NOT-PYTHON":
        monkeypatch.setattr(parallel.sys, "executable", str(Path(store_file).parent / "no-python"))
    else:
        monkeypatch.setattr(parallel, "_BOOT", boot)
    hangs = behaviour == "says it is ready, then hangs"
    monkeypatch.setattr(parallel, "TAKE_TIMEOUT", 2.0 if hangs else 60.0)  # (the others: no wait)
    answers = behaviour in ("answers garbage", "answers another segment's summary")
    if answers:  # (their answer must come before this process has read every segment itself:
        # under make test's four workers on two cores a helper's imports took longer than
        # three segments at 0.8 s, and none was asked: "True in given" failed)
        monkeypatch.setattr(sys.modules[__name__], "SLOW", 2.5)
    before = set(children())
    t0 = time.monotonic()
    first, fresh, kept = first_and_fresh(store_file)
    pd.testing.assert_frame_equal(first, want)
    pd.testing.assert_frame_equal(fresh, want)
    assert kept == SEGMENTS
    if answers:
        assert True in given  # they did answer: what they answered was refused
    else:
        assert True not in given
    assert time.monotonic() - t0 < 30 + 3 * 2 * SLOW  # a hung helper: one TAKE_TIMEOUT
    assert set(children()) <= before


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_no_helper_outlives_the_call_even_an_interrupted_one(store_file, eager, monkeypatch) -> None:
    before = set(children())
    lab = hooklab.open(store_file)
    try:
        lab.schema()
        lab.store.flush(60)
        assert set(children()) <= before
        with sqlite3.connect(store_file) as db:
            db.execute("DELETE FROM segment_summaries")
        db.close()
        lab2 = hooklab.open(store_file)
        import hooklab.explore.schema as schema_module

        merge = schema_module.SchemaBuilder.merge
        started: list[int] = []
        plain_start = parallel.start

        def counted(*args: Any) -> Any:
            h = plain_start(*args)
            started.append(h.started if h is not None else 0)
            return h

        def interrupted(self: Any, *args: Any, **kw: Any) -> None:
            merge(self, *args, **kw)
            raise KeyboardInterrupt  # as when the person interrupts the kernel

        monkeypatch.setattr(parallel, "start", counted)
        monkeypatch.setattr(schema_module.SchemaBuilder, "merge", interrupted)
        try:
            with pytest.raises(KeyboardInterrupt):
                lab2.schema()
        finally:
            monkeypatch.undo()
            lab2.stop()
        assert started and started[0] >= 1
        end = time.monotonic() + 10
        while set(children()) - before and time.monotonic() < end:
            time.sleep(0.05)
        assert set(children()) <= before
    finally:
        lab.stop()


def test_no_helper_runs_the_person_s_script(store_file, tmp_path, want) -> None:
    """A script without ``if __name__ == "__main__"`` (``multiprocessing``'s spawn would run it
    again in every helper): it runs once, and its helpers made segments."""
    marker = tmp_path / "runs.txt"
    evil = tmp_path / "elsewhere"
    (evil / "numpy").mkdir(parents=True)
    (evil / "numpy" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'a').write('a helper imported the folder\\'s numpy\\n')\n"
        "raise ImportError('not this numpy')\n")
    script = tmp_path / "explore_it.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        import numpy, pandas  # (this process's own, imported before the directory changes)
        import hooklab
        from hooklab.explore import parallel
        with open({str(marker)!r}, "a") as f:
            f.write("ran\\n")
        sys.path.insert(0, "")  # as in a kernel, and then %cd to a folder with its own numpy
        os.chdir({str(evil)!r})
        {_EAGER_HERE}
        lab = hooklab.open({store_file!r})
        print(len(lab.schema()), sum(given))
        lab.stop()
    """))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    rows, from_helpers = map(int, r.stdout.split())
    assert rows == len(want) and from_helpers >= 1
    assert marker.read_text() == "ran\n"


@pytest.mark.parametrize(("missing", "processes", "cpus", "want"), [
    (0, None, 8, 0), (31, None, 8, 0), (32, None, 1, 0), (32, None, 2, 1), (32, None, 8, 2),
    (244, None, 2, 1), (244, None, 16, 7), (244, 0, 8, 0), (244, 3, 1, 3), (40, 5, 8, 2),
])
def test_how_many_helpers(missing, processes, cpus, want, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "PROCESSES", processes)
    monkeypatch.setattr(parallel, "cpus", lambda: cpus)
    assert parallel.wanted(missing) == want


def test_stores_in_memory_or_small_start_no_helper(tmp_path, eager) -> None:
    assert parallel.start(":memory:", [(1, 4096, 4096)]) is None
    assert parallel.start(str(tmp_path / "missing.sqlite3"), [(1, 4096, 4096)]) is None
    assert parallel.start(None, [(1, 4096, 4096)]) is None


def test_in_a_real_kernel(store_file, tmp_path, want) -> None:
    from test_kernel import Kernel

    out_file = tmp_path / "schema.pkl"
    with Kernel(tmp_path) as k:
        out = k.run(textwrap.dedent(f"""
            import hooklab
            from hooklab.explore import parallel
            {_EAGER_HERE}
            lab = hooklab.open({store_file!r})
            s = lab.schema()
            s.to_pickle({str(out_file)!r})
            lab.stop()
            print("from helpers", sum(given))
        """))
        assert "from helpers" in out and int(out.split()[-1]) >= 1, out
        assert k.run("print(1 + 1)").strip() == "2"  # the kernel lives on
    pd.testing.assert_frame_equal(pd.read_pickle(out_file), want)


#: (this process's /proc/self/cgroup, files under the cgroup root, CPUs the quotas allow)
CGROUPS = {
    "v2, a container's own cgroup as the root": (
        "0::/\n", {"cpu.max": "200000 100000\n"}, 2),
    "v2, no quota": ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    "v2, a JupyterHub user's systemd unit (TLJH)": (
        "0::/system.slice/jupyter-ada.service\n",
        {"system.slice/jupyter-ada.service/cpu.max": "100000 100000\n"}, 1),
    "v2, the quota on the parent only": (
        "0::/kubepods/pod1/c1\n",
        {"kubepods/pod1/cpu.max": "300000 100000\n", "kubepods/pod1/c1/cpu.max": "max 100000\n"}, 3),
    "v2, the smaller of two, the child's": (
        "0::/a/b\n", {"a/cpu.max": "400000 100000", "a/b/cpu.max": "200000 100000"}, 2),
    "v2, the smaller of two, the parent's": (
        "0::/a/b\n", {"a/cpu.max": "200000 100000", "a/b/cpu.max": "400000 100000"}, 2),
    "v2, half a CPU": ("0::/u\n", {"u/cpu.max": "50000 100000"}, 1),
    "v2, a cgroup not in this view (old container)": (
        "0::/docker/abc\n", {"cpu.max": "300000 100000"}, 3),
    "v1, cpu,cpuacct": (
        "4:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n",
        {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"},
        1),
    "v1, mounted as cpu only": (
        "3:cpu:/x\n", {"cpu/x/cpu.cfs_quota_us": "400000", "cpu/x/cpu.cfs_period_us": "100000"}, 4),
    "v1, -1: no quota": (
        "4:cpu,cpuacct:/\n", {"cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
        None),
    "v1 beside a v2 hierarchy without the cpu controller (hybrid)": (
        "1:cpu:/\n0::/\n", {"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2),
    "no /proc/self/cgroup: the roots, as before": (
        None, {"cpu.max": "300000 100000"}, 3),
    "garbage in cpu.max": ("0::/u\n", {"u/cpu.max": "lots 100000", "cpu.max": "\x00\xff"}, None),
    "a zero quota or period": ("0::/u\n", {"u/cpu.max": "0 100000", "cpu.max": "100000 0"}, None),
    "negative numbers": ("0::/u\n", {"u/cpu.max": "-5 -100000"}, None),
    "a path that would leave the hierarchy": (
        "0::/../outside\n", {"../outside/cpu.max": "100000 100000"}, None),
    "a line that is not a cgroup line": ("garbage\n::\n0\n", {"cpu.max": "100000 100000"}, 1),
    "no files at all": ("0::/a\n", {}, None),
}


@pytest.mark.parametrize("name", sorted(CGROUPS))
def test_cpus_follow_the_quota_of_every_cgroup_up_to_the_root(tmp_path, name) -> None:
    own, files, want = CGROUPS[name]
    root = tmp_path / "sys" / "fs" / "cgroup"
    root.mkdir(parents=True)
    for rel, text in files.items():
        path = (root / rel).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, errors="surrogateescape")
    proc = tmp_path / "cgroup"
    if own is not None:
        proc.write_text(own)
    assert parallel.cgroup_cpus(root=str(root), own=str(proc)) == want


def test_cpus_take_the_smaller_of_the_affinity_and_the_quota(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "cgroup_cpus", lambda: 1)
    assert parallel.cpus() == 1
    monkeypatch.setattr(parallel, "cgroup_cpus", lambda: 10_000)
    assert parallel.cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(parallel, "cgroup_cpus", lambda: None)
    assert parallel.cpus() == len(os.sched_getaffinity(0))


def test_one_set_of_helpers_at_a_time(store_file, eager) -> None:
    keys = [(1, 4096, 4096)] * 4
    first = parallel.start(store_file, keys)
    try:
        assert first is not None and first.started == 2
        others: list[Any] = []
        t = threading.Thread(target=lambda: others.append(parallel.start(store_file, keys)))
        t.start()
        t.join(60)
        assert others == [None]  # (another thread, while the first set works)
    finally:
        if first is not None:
            first.close()
    again = parallel.start(store_file, keys)
    assert again is not None
    again.kill()  # (an interrupted call: killed, not closed yet) ends its turn
    third = parallel.start(store_file, keys)
    try:
        assert third is not None
        again.close()  # (a late second end does not end the third set's turn)
        assert parallel.start(store_file, keys) is None
    finally:
        if third is not None:
            third.close()
    assert not parallel._running


def test_background_helpers_give_way_to_a_caller_that_waits(store_file, eager) -> None:
    """Quiet-moment work (``background=True``) holds the one set of helpers for a while; a
    first ``schema()`` or an import that starts meanwhile ended up alone on one CPU. Now the
    background set is ended (``preempted``) and the caller gets the helpers; background work
    never takes them from another set, and a caller finds them free after."""
    keys = [(1, 4096, 4096)] * 4
    quiet = parallel.start(store_file, keys, background=True)
    assert quiet is not None and quiet.running
    assert parallel.start(store_file, keys, background=True) is None  # (background: no)
    person = parallel.start(store_file, keys)
    try:
        assert person is not None and person.started == 2
        assert quiet.preempted and not quiet.running
        assert quiet.answer(keys[0], timeout=5) is None
        quiet.close()  # (the preempted set's late end does not end the caller's turn)
        assert parallel.start(store_file, keys, background=True) is None
        assert parallel.start(store_file, keys) is None  # (one set at a time, as before)
    finally:
        if person is not None:
            person.close()
    assert not parallel._running
    for p in quiet._procs:
        assert p.wait(10) is not None


def test_an_interrupted_close_still_ends_the_turn(store_file, eager) -> None:
    keys = [(1, 4096, 4096)] * 4
    helpers = parallel.start(store_file, keys)
    assert helpers is not None
    proc = helpers._procs[0]
    wait = proc.wait

    def interrupted(timeout: float | None = None) -> int:
        raise KeyboardInterrupt

    proc.wait = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            helpers.close()
        assert not parallel._running
    finally:
        proc.wait = wait
        helpers.kill()
        for p in helpers._procs:
            p.wait(10)


def test_two_first_schemas_at_once_share_the_cpus_and_both_are_right(store_file, eager,
                                                                      tmp_path, want) -> None:
    other = str(tmp_path / "other.sqlite3")
    shutil.copy(store_file, other)
    sets: list[list[float]] = []  # [started, closed] of each set of helpers
    init, close = parallel.Helpers.__init__, parallel.Helpers.close

    def counted(self: Any, *a: Any, **k: Any) -> None:
        self.life = [time.monotonic(), float("inf")]
        sets.append(self.life)
        init(self, *a, **k)

    def closed(self: Any) -> None:
        close(self)
        self.life[1] = min(self.life[1], time.monotonic())

    parallel.Helpers.__init__, parallel.Helpers.close = counted, closed
    try:
        out: dict[str, Any] = {}

        def first_schema(path: str) -> None:
            lab = hooklab.open(path)
            try:
                out[path] = lab.schema()
            finally:
                lab.stop()

        threads = [threading.Thread(target=first_schema, args=(p,)) for p in (store_file, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
    finally:
        parallel.Helpers.__init__, parallel.Helpers.close = init, close
    pd.testing.assert_frame_equal(out[store_file], want)
    pd.testing.assert_frame_equal(out[other], want)
    assert sets
    spans = sorted(sets)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans  # never together
    assert not parallel._running


def test_quiet_moment_work_stops_at_once_when_the_store_closes(store_file, tmp_path, eager,
                                                               monkeypatch) -> None:
    """``lab.stop()`` waited for the rest of a quiet-moment piece (up to eight segments: 29 s
    for 41 KB bodies in a soak test); a helper that is slow to answer is given up, and ended,
    as soon as the store closes."""
    import shutil

    from hooklab.explore.schema import summarize_segment
    from hooklab.store import CaptureStore

    monkeypatch.setattr(parallel, "_BOOT", HOSTILE["says it is ready, then hangs"])
    path = str(tmp_path / "closing.sqlite3")
    shutil.copy(store_file, path)
    store = CaptureStore(path)
    before = set(children())
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(summarize_segment(store)))
    worker.start()
    time.sleep(1.0)  # (the helper has its first segment, and hangs)
    t0 = time.monotonic()
    store.close()
    worker.join(30)
    assert not worker.is_alive() and time.monotonic() - t0 < 5
    assert result in ([None], [False])
    deadline = time.monotonic() + 10
    while set(children()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(children()) - before
