"""A page of a lab opened on a Parquet export costs its rows, not the dataset.

``lab.captures[-1]``, ``lab.captures[0]`` and ``query(limit=1, newest_first=True)`` of
``hooklab.open(folder)`` read every row of every file and made a Python object of each:
1.1 - 1.9 s a call at 100,000 captures (0.3 ms on SQLite), hundreds of megabytes at once.
Now the row groups are visited in the order of their id statistics and only the page's rows
are read whole. Shown here without timing: the Python memory a page takes stays small at
100,000 captures, and files that hold no row of a page may be garbage once their footers
were read. The pages are the SQLite store's (the export's source) for every filter, with
bodies exact, over a dataset of several files, row groups, days and providers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from test_export import BINARY, TEXT
from test_filter_parity import BINS, METHODS, READ_AS_A_PERSON
from test_search_text import BODIES, TARGETS

import hooklab
from hooklab.providers.samples import sample

pytestmark = pytest.mark.timeout(600)

DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)
SECRET = "whsec_pages"


def _records(n: int, start: int, day: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` captures on ``DAY + day`` (their times in id order): bulk JSON of 18 KB (so a
    batch spans several row groups), provider samples, binary and hostile bodies."""
    at = DAY + timedelta(days=day)
    out: list[dict[str, Any]] = []
    corpus: list[tuple[str, str, bytes]] = [
        *READ_AS_A_PERSON,
        *((f"/{b}/x", ct, body) for b, (ct, body) in BODIES.items()),
        *((t, "text/plain", b"") for t in TARGETS.values()),
        ("/bin/raw", "application/octet-stream", BINARY),
        ("/bin/text", "text/plain; charset=utf-8", TEXT.encode()),
    ]
    for i in range(n):
        k = start + i
        when = at + timedelta(seconds=i)
        if i % 50 == 7:
            s = sample("stripe" if k % 2 else "github", "invoice.paid" if k % 2 else "push")
            out.append({"method": "POST", "path": f"/{'stripe' if k % 2 else 'github'}/in",
                        "headers": s.headers, "body": s.body, "received_at": when})
        elif i % 50 == 9:
            target, ctype, body = corpus[(k // 50) % len(corpus)]
            path, _, query = target.partition("?")
            q: dict[str, list[str]] = {}
            for part in filter(None, query.split("&")):
                name, _, value = part.partition("=")
                q.setdefault(name, []).append(value)
            out.append({"method": METHODS[k % len(METHODS)], "path": path, "query": q,
                        "headers": [("Content-Type", ctype)], "body": body, "received_at": when})
        else:
            pad = rng.randbytes(9000).hex()
            word = "needle" if k % 97 == 0 else "hay"
            out.append({"method": METHODS[k % len(METHODS)],
                        "path": f"/{BINS[k % len(BINS)]}/p{k % 7}",
                        "headers": [("Content-Type", "application/json")],
                        "body": json.dumps({"n": k, "word": word, "pad": pad}).encode(),
                        "received_at": when})
    return out


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(the SQLite lab, a lab opened on its Parquet export, the dataset's folder): three
    days, exported as they were added (two files per day and provider), and signed
    deliveries received over HTTP (verified true and false)."""
    root = tmp_path_factory.mktemp("pages")
    rng = random.Random(7)
    lab = hooklab.HookLab(port=0, db=str(root / "c.sqlite3")).start()
    lab.secret("stripe", SECRET)
    folder = root / "ds"
    total = 0
    for day in range(3):
        for half in range(2):  # (two exports a day: two files in each folder)
            records = _records(600, total, day, rng)
            for r in records:
                r["received_at"] += timedelta(seconds=600 * half)
            total += lab.store.add_many(records)
            lab.wait(total, timeout=60)
            lab.export(str(folder), fmt="parquet")
    for secret in (SECRET, "wrong"):
        hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", secret=secret)
    hooklab.send(lab.url_for("github"), provider="github", event="push")
    total += 3
    lab.wait(total, timeout=60)
    assert lab.export(str(folder), fmt="parquet") == 3
    parquet = hooklab.open(str(folder))
    yield lab, parquet, folder
    parquet.stop()
    lab.stop()


def test_the_dataset_has_several_files_row_groups_days_and_providers(labs: Any) -> None:
    import pyarrow.parquet as pq

    _, _, folder = labs
    files = sorted(folder.rglob("*.parquet"))
    parts = {f.parent.relative_to(folder).as_posix() for f in files}
    assert {p.split("/")[0] for p in parts} >= {"day=2026-03-01", "day=2026-03-02", "day=2026-03-03"}
    assert {p.split("/")[1] for p in parts} == {"provider=stripe", "provider=github", "provider=unknown"}
    assert len(files) > len(parts)  # (several exports: several files in a folder)
    assert max(pq.ParquetFile(f).metadata.num_row_groups for f in files) > 1


#: filters the README lists, alone and together
FILTERS: list[dict[str, Any]] = [
    {},
    {"provider": "stripe"},
    {"provider": ["github", "stripe"]},
    {"event_type": "push"},
    {"bin": "shop"},
    {"bin": ["Shop", "stripe"]},
    {"method": "post"},
    {"method": ["patch", "Delete"], "bin": "mixed"},
    {"path": "/shop/p3"},
    {"kind": "http"},
    {"verified": True},
    {"verified": False},
    {"since": 1000, "until": 2500},
    {"since": DAY + timedelta(days=1, seconds=30)},
    {"until": DAY + timedelta(days=1, seconds=30)},
    {"search": "needle"},
    {"search": "crème"},
    {"search": "wombat"},
    {"search": "needle", "method": "POST", "since": 500},
    {"bin": "nothing-here"},
]
#: (offset, limit) of the pages asked for
PAGES = [(0, 1), (1, 1), (0, 3), (2, 40), (0, 500), (1190, 20), (10**6, 5), (0, 0)]


def _same(got: list[hooklab.Capture], want: list[hooklab.Capture]) -> None:
    assert [c.id for c in got] == [c.id for c in want]
    for g, w in zip(got, want, strict=True):
        assert (g.body, g.received_at, g.method, g.path, g.query, g.headers, g.provider,
                g.event_type, g.delivery_id, g.verified, g.bin) == (
            w.body, w.received_at, w.method, w.path, w.query, w.headers, w.provider,
            w.event_type, w.delivery_id, w.verified, w.bin)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: json.dumps(f, default=str)[:60])
def test_every_page_is_the_sqlite_stores(labs: Any, filters: dict[str, Any]) -> None:
    lab, parquet, _ = labs
    every = lab.query(**filters)
    if filters.get("bin") != "nothing-here":
        assert every, filters
    for newest_first in (False, True):
        ordered = every[::-1] if newest_first else every
        for offset, limit in PAGES:
            got = parquet.query(limit=limit, offset=offset, newest_first=newest_first, **filters)
            _same(got, ordered[offset:offset + limit])
    assert len(parquet.query(**filters)) == len(every)


def test_captures_at_both_ends_and_get_are_the_sqlite_stores(labs: Any) -> None:
    lab, parquet, _ = labs
    n = len(lab.captures)
    assert len(parquet.captures) == n
    for i in (0, 1, 2, 599, n // 2, n - 3, n - 2, n - 1, -1, -2, -3, -n):
        _same([parquet.captures[i]], [lab.captures[i]])
    for i in (n, -n - 1, 10**9):
        with pytest.raises(IndexError):
            parquet.captures[i]
    for cid in (1, 2, 599, 1200, 1201, n // 2, n - 1, n):
        _same([parquet.get(cid)], [lab.get(cid)])
    with pytest.raises(KeyError):
        parquet.get(n + 1)
    assert parquet.store.last_id == n


def test_a_page_reads_no_file_that_holds_none_of_it(labs: Any, tmp_path: Path) -> None:
    """Once the footers are read (the first page), a file whose ids all lie before the
    newest page (after the oldest) is never opened for it: garbage there changes nothing."""
    import pyarrow.parquet as pq

    lab, _, folder = labs
    copy = tmp_path / "ds"
    shutil.copytree(folder, copy)
    opened = hooklab.open(str(copy))
    try:
        n = len(lab.captures)
        _same([opened.captures[-1]], [lab.captures[-1]])  # (the footers read here)
        newest, oldest = lab.query(limit=3, newest_first=True), lab.query(limit=3)
        newest_low, oldest_high = min(c.id for c in newest), max(c.id for c in oldest)
        garbled = 0
        for f in copy.rglob("*.parquet"):
            ids = pq.read_table(f, columns=["id"]).column("id").to_pylist()
            if max(ids) < newest_low and min(ids) > oldest_high:
                f.write_bytes(b"\0" * f.stat().st_size)  # (its footer too)
                garbled += 1
        assert garbled >= 3
        _same(opened.query(limit=3, newest_first=True), newest)
        _same(opened.query(limit=3), oldest)
        _same([opened.captures[-1], opened.captures[0]], [lab.captures[-1], lab.captures[0]])
        _same([opened.get(n)], [lab.get(n)])
    finally:
        opened.stop()


def test_a_page_of_100k_captures_takes_little_memory(tmp_path: Path) -> None:
    """100,000 captures of 400-byte bodies: each page call's Python memory stays under 8 MB
    (every row made into an object took hundreds of megabytes)."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "big.sqlite3"))
    try:
        n = 100_000
        lab.store.add_many({"method": "POST", "path": f"/b{i % 3}",
                            "headers": [("Content-Type", "application/json")],
                            "body": json.dumps({"i": i, "pad": "x" * 380}).encode(),
                            "received_at": DAY + timedelta(seconds=i)} for i in range(n))
        assert lab.export(str(tmp_path / "pq"), fmt="parquet") == n
    finally:
        lab.stop()
    opened = hooklab.open(str(tmp_path / "pq"))
    try:
        calls = [
            ("captures[-1]", lambda: [opened.captures[-1]], [n]),
            ("captures[0]", lambda: [opened.captures[0]], [1]),
            ("captures[1]", lambda: [opened.captures[1]], [2]),
            ("newest 3", lambda: opened.query(limit=3, newest_first=True), [n, n - 1, n - 2]),
            ("newest of b1", lambda: opened.query(limit=2, newest_first=True, bin="b1"),
             [n - 2, n - 5]),
            ("oldest of b2", lambda: opened.query(limit=2, bin="b2"), [3, 6]),
            ("get", lambda: [opened.get(n // 2)], [n // 2]),
        ]
        calls[0][1]()  # (the footers, once)
        for name, call, ids in calls:
            tracemalloc.start()
            try:
                got = call()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert [c.id for c in got] == ids, name
            assert [c.json()["i"] for c in got] == [i - 1 for i in ids], name
            assert peak < 8 << 20, (name, f"{peak:,} bytes")
    finally:
        opened.stop()
    assert os.path.isdir(tmp_path / "pq")


def test_two_labs_in_one_folder_page_by_id_then_time(tmp_path: Path) -> None:
    """Two labs' exports in one folder repeat ids: a page orders them by id, then time (as
    the whole list does), whichever file holds them."""
    folder = tmp_path / "ds"
    made = []
    for name, shift in (("a", 30), ("b", 0)):  # (b's captures are the earlier of each id)
        lab = hooklab.HookLab(port=0, db=str(tmp_path / f"{name}.sqlite3"))
        try:
            lab.store.add_many({"method": "POST", "path": f"/{name}/{i}", "body": f"{name}{i}".encode(),
                                "received_at": DAY + timedelta(seconds=60 * i + shift)}
                               for i in range(6))
            lab.export(str(folder), fmt="parquet")
            made += [(c.id, c.received_at, c.path, c.body) for c in lab.query()]
        finally:
            lab.stop()
    want = sorted(made)
    assert [p for _i, _t, p, _b in want[:4]] == ["/b/0", "/a/0", "/b/1", "/a/1"]
    opened = hooklab.open(str(folder))
    try:
        def seen(caps: list[hooklab.Capture]) -> list[tuple[Any, ...]]:
            return [(c.id, c.received_at, c.path, c.body) for c in caps]

        assert seen(list(opened.captures)) == want
        for newest_first in (False, True):
            ordered = want[::-1] if newest_first else want
            for offset, limit in [(0, 1), (1, 1), (0, 3), (3, 4), (11, 1), (10, 5)]:
                got = opened.query(limit=limit, offset=offset, newest_first=newest_first)
                assert seen(got) == ordered[offset:offset + limit], (newest_first, offset, limit)
        assert seen([opened.captures[i] for i in range(-12, 12)]) == want + want
        with pytest.raises(ValueError, match="names 2 captures"):
            opened.get(3)
    finally:
        opened.stop()
