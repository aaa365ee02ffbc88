"""``provider="unknown"`` means the captures without a detected provider, everywhere filters
are read and on every kind of lab, and never a capture with a provider.

(found by a reviewer) ``"unknown"`` was accepted as a filter value, as it is what a Parquet
export names the folder of such captures (``day=.../provider=unknown/``), but it matched
nothing: on a SQLite lab, a lab in memory and a Parquet export opened with ``hooklab.open``.
A user who saw those folders and asked ``lab.dataframe(provider="unknown")`` or
``assert_received(count=0, provider="unknown")`` got an empty frame, a check that passed.

Six requests are sent over real sockets to a lab serving a SQLite file and to one in memory;
what each is stored as follows from how it was sent (worked out here, not read back):

== ========================================================= =========
id request                                                    provider
== ========================================================= =========
1  ``hooklab.send(provider="github", event="push")`` to gh   github
2  ``hooklab.send(provider="stripe", ...)`` to st            stripe
3  a bare JSON POST to /plain/orders                         none
4  a bare GET of /plain/ping?x=1                             none
5  a bare JSON POST to bin shop, registered as Shopify's     shopify
6  a bare text PUT to /other                                 none
== ========================================================= =========

The SQLite file is exported by the ``hooklab export`` command into a Parquet folder, opened
as it is (``provider=unknown`` folders) and as Spark writes a null partition
(``provider=__HIVE_DEFAULT_PARTITION__``, read as null).
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hooklab

pytestmark = pytest.mark.timeout(240)

#: the provider each request is stored as (see the table above), id 1 first
STORED = ["github", "stripe", None, None, "shopify", None]

#: (filters, the ids they mean): derived from STORED and the requests by hand
CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"provider": "unknown"}, [3, 4, 6]),
    ({"provider": ["unknown"]}, [3, 4, 6]),
    ({"provider": ["unknown", "stripe"]}, [2, 3, 4, 6]),
    ({"provider": ["github", "unknown", "shopify"]}, [1, 3, 4, 5, 6]),
    ({"provider": "unknown", "bin": "plain"}, [3, 4]),
    ({"provider": "unknown", "method": "GET"}, [4]),
    ({"provider": "unknown", "bin": "shop"}, []),      # a bin's provider: never "unknown"
    ({"provider": "unknown", "bin": "gh"}, []),
    ({"provider": "unknown", "since": 4}, [6]),
    ({"provider": "unknown", "search": "orders"}, [3]),
    ({"provider": "github"}, [1]),                     # (the real names, as before)
    ({"provider": "shopify"}, [5]),
    ({"provider": ["stripe", "github"]}, [1, 2]),
]
IDS = [json.dumps(f, sort_keys=True) for f, _ in CASES]


def _send_all(lab: hooklab.HookLab) -> None:
    """The six requests of the module's table, each answered before the next goes."""
    lab.secret("shop", "shop-secret", provider="shopify")
    hooklab.send(lab.url_for("gh"), provider="github", event="push")
    hooklab.send(lab.url_for("st"), provider="stripe", event="invoice.paid")
    port = urllib.parse.urlsplit(lab.url).port
    for method, path, body, ctype in [
        ("POST", "/plain/orders", b'{"order": 1, "note": "bare"}', "application/json"),
        ("GET", "/plain/ping?x=1", b"", None),
        ("POST", "/shop", b'{"order": 2}', "application/json"),
        ("PUT", "/other", b"just some text", "text/plain"),
    ]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=body or None,
                         headers={"Content-Type": ctype} if ctype else {})
            conn.getresponse().read()
        finally:
            conn.close()
    got = lab.wait(len(STORED), timeout=20)
    assert [c.provider for c in got] == STORED  # (the table's premise)


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, hooklab.HookLab]]:
    folder = tmp_path_factory.mktemp("unknown")
    db = str(folder / "c.sqlite3")
    served = hooklab.HookLab(port=0, db=db).start()
    memory = hooklab.HookLab(port=0, db=":memory:").start()
    opened: list[hooklab.HookLab] = []
    try:
        _send_all(served)
        _send_all(memory)
        out = folder / "export"
        r = subprocess.run([sys.executable, "-m", "hooklab.cli", "export", "--db", db,
                            "--format", "parquet", "-o", str(out)],
                           capture_output=True, text=True, timeout=120, env=os.environ.copy())
        assert r.returncode == 0, r.stderr
        folders = sorted(p.name for p in out.glob("day=*/provider=*"))
        assert set(folders) == {"provider=github", "provider=stripe", "provider=shopify",
                                "provider=unknown"}, folders
        spark = folder / "spark"  # the same files, none-detected as Hive's null partition
        for f in out.rglob("*.parquet"):
            rel = Path(str(f.relative_to(out)).replace("provider=unknown",
                                                       "provider=__HIVE_DEFAULT_PARTITION__"))
            (spark / rel).parent.mkdir(parents=True, exist_ok=True)
            (spark / rel).write_bytes(f.read_bytes())
        opened = [hooklab.open(str(out)), hooklab.open(str(spark))]
        yield {"sqlite": served, "memory": memory, "parquet": opened[0],
               "parquet-null": opened[1]}
    finally:
        for lab in (served, memory, *opened):
            lab.stop()


def _api(lab: hooklab.HookLab, filters: dict[str, Any]) -> list[int]:
    query = urllib.parse.urlencode(filters, doseq=True)
    req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?{query}",
                                 headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        return [c["id"] for c in json.loads(r.read())["captures"]]


def _exported(lab: hooklab.HookLab, path: Path, filters: dict[str, Any]) -> list[int]:
    n = lab.export(path, fmt="jsonl", **filters)
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]
    assert n == len(ids)
    return ids


#: entry point -> how it answers (lab, scratch folder, filters) with ids, oldest first
ENTRIES: dict[str, Callable[[hooklab.HookLab, Path, dict[str, Any]], list[int]]] = {
    "query": lambda lab, _, f: [c.id for c in lab.query(**f)],
    "captures-newest": lambda lab, _, f: [c.id for c in reversed(
        lab.store.query(newest_first=True, limit=10, **f))],
    "dataframe": lambda lab, _, f: list(lab.dataframe(**f)["id"]),
    "export": lambda lab, tmp, f: _exported(lab, tmp / "out.jsonl", f),
}


@pytest.mark.parametrize("backend", ["sqlite", "memory", "parquet", "parquet-null"])
@pytest.mark.parametrize("filters,want", CASES, ids=IDS)
def test_unknown_means_no_provider_detected(labs: dict[str, hooklab.HookLab], tmp_path: Path,
                                            backend: str, filters: dict[str, Any],
                                            want: list[int]) -> None:
    lab = labs[backend]
    for name, entry in ENTRIES.items():
        assert entry(lab, tmp_path, filters) == want, name
    assert lab.store.count(**filters) == len(want)
    assert [c.id for c in lab.assert_received(count=len(want), **filters)] == want
    if want:
        assert [c.id for c in lab.wait(len(want), timeout=5, **filters)] == want
    if backend in ("sqlite", "memory"):  # (served: the HTTP API on 127.0.0.1)
        assert _api(lab, filters) == want


def test_a_large_store_reads_unknown_the_same_way(labs: dict[str, hooklab.HookLab],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 20,000 matching rows a frame is read from the column segments, filtered there
    (here at a small size: the threshold set to 0)."""
    from hooklab.store import _columns

    monkeypatch.setattr(_columns, "SMALL", 0)
    for filters, want in CASES:
        for backend in ("sqlite", "memory"):
            assert list(labs[backend].dataframe(**filters)["id"]) == want, (backend, filters)


def test_the_sqlite_query_of_unknown_uses_the_provider_index(labs: dict[str, hooklab.HookLab]) -> None:
    """As ``provider="stripe"`` does: no scan of the whole table."""
    from hooklab.store import where_clause

    con = sqlite3.connect(labs["sqlite"].store.path)
    try:
        for filters in ({"provider": "unknown"}, {"provider": ["unknown", "stripe"]},
                        {"provider": "stripe"}):
            where, args = where_clause(filters)
            for sql in (f"SELECT id FROM captures{where} ORDER BY id",
                        f"SELECT COUNT(*) FROM captures{where}"):
                plan = " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))
                assert "captures_provider" in plan and "SCAN" not in plan, (filters, plan)
    finally:
        con.close()


def test_the_stream_and_the_live_view_take_unknown() -> None:
    """The ``/_hooklab/ws`` stream sends the stored captures without a provider, then those
    that arrive while it is open (#8, not #7: a GitHub delivery); ``lab.live(provider=
    "unknown")`` counts them."""
    import asyncio

    from tornado import websocket

    lab = hooklab.HookLab(port=0, db=":memory:").start()

    async def read(conn: Any, quiet: float) -> list[int]:
        ids: list[int] = []
        try:
            for _ in range(50):
                msg = await asyncio.wait_for(conn.read_message(), quiet)
                if msg is None:
                    break
                data = json.loads(msg)
                if isinstance(data, dict) and "id" in data:
                    ids.append(data["id"])
        except asyncio.TimeoutError:
            pass
        return ids

    def more() -> None:
        hooklab.send(lab.url_for("gh"), provider="github", event="push")  # 7
        with urllib.request.urlopen(urllib.request.Request(  # 8: bare
                lab.url_for("plain", "late"), data=b"late", method="POST"), timeout=10) as r:
            r.read()

    async def stream() -> tuple[list[int], list[int]]:
        conn = await websocket.websocket_connect(lab.stream_url(0, provider="unknown"))
        try:
            stored = await read(conn, 1.5)
            await asyncio.to_thread(more)
            return stored, await read(conn, 3.0)
        finally:
            conn.close()

    try:
        _send_all(lab)
        view = lab.live(provider="unknown")
        try:
            assert asyncio.run(stream()) == ([3, 4, 6], [8])
            view.refresh()
            assert view.error is None, view.error
            assert "<b>4</b> captures" in view.counter.value, view.counter.value
        finally:
            view.close()
        assert [c.provider for c in lab.query(since=6)] == ["github", None]
    finally:
        lab.stop()


def test_schema_of_unknown_is_of_the_captures_without_a_provider(
        labs: dict[str, hooklab.HookLab]) -> None:
    for backend in ("sqlite", "memory"):
        lab = labs[backend]
        schema = lab.schema(provider="unknown")
        assert set(schema["provider"]) == {None}, backend
        assert {"order", "note"} <= set(schema["field"]), backend  # (#3's JSON body)
        assert set(lab.schema(provider="shopify")["provider"]) == {"shopify"}


def test_percent_hooklab_takes_unknown(memory_shell: Any, tmp_path: Path) -> None:
    """``%hooklab df --provider unknown`` and ``%hooklab export`` in a real IPython shell."""
    lab = hooklab.lab()
    assert lab is not None
    _send_all(lab)
    ip = memory_shell
    assert list(ip.run_line_magic("hooklab", "df --provider unknown")["id"]) == [3, 4, 6]
    assert list(ip.run_line_magic("hooklab", "df --provider unknown --provider github")
                ["id"]) == [1, 3, 4, 6]
    out = tmp_path / "x.jsonl"
    ip.run_line_magic("hooklab", f"export {out} --format jsonl --provider unknown")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [3, 4, 6]
