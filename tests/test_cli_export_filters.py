"""``hooklab export`` takes the filters ``lab.export(**filters)`` and ``%hooklab export`` take,
by the same names: ``--bin``, ``--method``, ``--provider``, ``--event-type``, ``--path``,
``--kind``, ``--verified``, ``--since``, ``--until``, ``--search`` (a field one again for any
of several values).

It took only ``--since``: "the Stripe captures of bin orders since yesterday, as HAR" needed
Python. Eight requests are sent over 127.0.0.1 to a lab serving a SQLite file; what each is
stored as follows from how it was sent (worked out here, not read back):

== ================================================================ ====== ====== ========
id request                                                          bin    method provider
== ================================================================ ====== ====== ========
1  ``hooklab.send(provider="stripe", event="invoice.paid")``        orders POST   stripe
2  ``hooklab.send(provider="stripe", event="payment_intent.succeeded")`` orders POST stripe
3  ``hooklab.send(provider="github", event="push")``                gh     POST   github
4  ``hooklab.send(provider="github", event="push")``                orders POST   github
5  ``hooklab.send(provider="stripe", event="invoice.paid")`` signed  st     POST   stripe
   with the secret the lab holds for bin st: verified
6  a bare JSON POST to /orders/new, ``{"note": "wombat-42"}``      orders POST   none
7  a bare GET of /orders/ping?x=1                                   orders GET    none
8  a bare text PUT to /misc, ``hello wombat``                       misc   PUT    none
== ================================================================ ====== ====== ========

Each filter is run through the ``hooklab`` command as a subprocess in every format (HAR, JSON
Lines, CSV, Parquet), and the ids each export holds are read as its reader reads them.
"""

from __future__ import annotations

import csv
import json
import subprocess
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _http import post
from test_cli import ENV, EXE

import hooklab

pytestmark = pytest.mark.timeout(300)

FORMATS = ("har", "jsonl", "csv", "parquet")
_TODAY = datetime.now(timezone.utc).date()  # (the captures are sent today, in UTC)
YESTERDAY = (_TODAY - timedelta(days=1)).isoformat()
TOMORROW = (_TODAY + timedelta(days=1)).isoformat()

#: (options, the ids they mean): derived from the module's table by hand
CASES: list[tuple[list[str], list[int]]] = [
    ([], [1, 2, 3, 4, 5, 6, 7, 8]),
    (["--provider", "stripe"], [1, 2, 5]),
    (["--provider", "stripe", "--bin", "orders"], [1, 2]),
    (["--provider", "stripe", "--bin", "orders", "--since", YESTERDAY], [1, 2]),
    (["--provider", "stripe", "--bin", "orders", "--since", TOMORROW], []),
    (["--provider", "unknown"], [6, 7, 8]),
    (["--provider", "unknown", "--provider", "github"], [3, 4, 6, 7, 8]),
    (["--provider", "unknown", "--method", "POST", "--bin", "orders"], [6]),
    (["--event-type", "push"], [3, 4]),
    (["--event-type", "invoice.paid", "--event-type", "payment_intent.succeeded",
      "--bin", "orders"], [1, 2]),
    (["--method", "get"], [7]),
    (["--search", "wombat"], [6, 8]),
    (["--search", "wombat-42"], [6]),
    (["--path", "/orders/new"], [6]),
    (["--bin", "/orders/"], [1, 2, 4, 6, 7]),  # (as url_for("/orders/") names bin orders)
    (["--verified", "true"], [5]),
    (["--since", "2", "--until", "4"], [3, 4]),
    (["--until", f"{TOMORROW}T00:00:00+00:00", "--bin", "misc"], [8]),
    (["--kind", "ws"], []),
]
RUNS = [(fmt, opts, ids) for fmt in FORMATS for opts, ids in CASES]


def _send_all(lab: hooklab.HookLab) -> None:
    """The eight requests of the module's table, each answered before the next goes."""
    lab.secret("st", "whsec_filters", provider="stripe")
    hooklab.send(lab.url_for("orders"), provider="stripe", event="invoice.paid")
    hooklab.send(lab.url_for("orders"), provider="stripe", event="payment_intent.succeeded")
    hooklab.send(lab.url_for("gh"), provider="github", event="push")
    hooklab.send(lab.url_for("orders"), provider="github", event="push")
    hooklab.send(lab.url_for("st"), provider="stripe", event="invoice.paid",
                 secret="whsec_filters")
    assert post(f"{lab.url}/orders/new", b'{"note": "wombat-42"}',
                {"Content-Type": "application/json"})[0] == 200
    with urllib.request.urlopen(f"{lab.url}/orders/ping?x=1", timeout=10) as answer:
        assert answer.status == 200  # (a GET, no body)
    assert post(f"{lab.url}/misc", b"hello wombat", {"Content-Type": "text/plain"}, "PUT")[0] == 200
    got = lab.wait(8, timeout=20)
    assert [(c.bin, c.method, c.provider) for c in got] == [  # (the table's premise)
        ("orders", "POST", "stripe"), ("orders", "POST", "stripe"), ("gh", "POST", "github"),
        ("orders", "POST", "github"), ("st", "POST", "stripe"), ("orders", "POST", None),
        ("orders", "GET", None), ("misc", "PUT", None)]
    assert [c.verified for c in got] == [None, None, None, None, True, None, None, None]


def _filled(path: Path) -> str:
    """A database at ``path`` holding the module's eight captures, as a lab serving it stored
    them (stopped after: the command reads it on its own)."""
    lab = hooklab.HookLab(port=0, db=str(path)).start()
    try:
        _send_all(lab)
    finally:
        lab.stop()
    return str(path)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _filled(tmp_path_factory.mktemp("filters") / "captures.sqlite3")


def _export(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "export", "--db", db, *args], capture_output=True, text=True,
                          timeout=120, env=ENV)


def _ids(fmt: str, out: Path) -> list[int]:
    """The capture ids an export holds, read as its reader reads it."""
    if fmt == "parquet":
        if not any(out.rglob("*.parquet")):
            return []
        lab = hooklab.open(str(out))
        try:
            return [c.id for c in lab.captures]
        finally:
            lab.stop()
    text = out.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if fmt == "csv":
        return [int(row["id"]) for row in csv.DictReader(text.splitlines())]
    return [e["_hooklab"]["id"] for e in json.loads(text)["log"]["entries"]]


def _words(n: int) -> str:
    return f"{n} capture" if n == 1 else f"{n} captures"


@pytest.mark.parametrize("fmt,opts,expected", RUNS,
                         ids=[f"{r[0]}-{' '.join(r[1]) or 'none'}" for r in RUNS])
def test_each_filter_in_each_format(db: str, tmp_path: Path, fmt: str, opts: list[str],
                                    expected: list[int]) -> None:
    out = tmp_path / f"out.{fmt}"
    r = _export(db, "--format", fmt, "-o", str(out), *opts)
    assert (r.returncode, r.stderr) == (0, f"wrote {_words(len(expected))} to {out}\n"), r.stderr
    assert _ids(fmt, out) == expected


def test_the_stripe_captures_of_bin_orders_since_yesterday_as_har_on_stdout(db: str) -> None:
    """The user's sentence, as they would type it: HAR on standard output."""
    r = _export(db, "--provider", "stripe", "--bin", "orders", "--since", YESTERDAY)
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)["log"]["entries"]
    assert [e["_hooklab"]["id"] for e in entries] == [1, 2]
    assert {e["request"]["url"].rsplit("/", 1)[-1] for e in entries} == {"orders"}


def _more(db: str) -> None:
    """Captures 9 (Stripe to bin orders) and 10 (a bare POST to /misc), by a lab serving
    ``db`` again."""
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        hooklab.send(lab.url_for("orders"), provider="stripe", event="invoice.paid")
        hooklab.send(lab.url_for("misc"), payload={"n": 10})
        got = lab.wait(2, since=8, timeout=20)
        assert [(c.id, c.provider) for c in got] == [(9, "stripe"), (10, None)]
    finally:
        lab.stop()


def test_a_filtered_parquet_export_leaves_the_rest_to_the_next(tmp_path: Path) -> None:
    """Parquet's default start is after the last export (a note in ``<folder>/_hooklab/``): an
    export of some captures must not move it past those it left out, or the next export
    without a filter skips them for ever."""
    db = _filled(tmp_path / "captures.sqlite3")
    out = tmp_path / "out.parquet"
    steps: list[tuple[list[str], int, list[int]]] = [  # options, written, then held in all
        (["--provider", "stripe"], 3, [1, 2, 5]),          # a first export, filtered
        ([], 5, [1, 2, 3, 4, 5, 6, 7, 8]),                # the rest, none twice
        ([], 0, [1, 2, 3, 4, 5, 6, 7, 8]),
        ("more", 0, []),                                  # (9: stripe to orders; 10: bare)
        (["--bin", "orders", "--provider", "stripe"], 1, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (["--provider", "unknown", "--since", "9"], 1, list(range(1, 11))),
        ([], 0, list(range(1, 11))),
    ]
    for opts, written, held in steps:
        if opts == "more":
            _more(db)
            continue
        r = _export(db, "--format", "parquet", "-o", str(out), *opts)
        assert (r.returncode, r.stderr) == (0, f"wrote {_words(written)} to {out}\n"), opts
        assert _ids("parquet", out) == held, opts


def test_after_a_filtered_export_with_a_note_the_next_finds_what_it_left(tmp_path: Path) -> None:
    """As above, where the folder has a note already: a filtered export after it writes the
    new captures it means, and the next one without a filter the others."""
    db = _filled(tmp_path / "captures.sqlite3")
    out = tmp_path / "out.parquet"
    assert _export(db, "--format", "parquet", "-o", str(out)).stderr == f"wrote 8 captures to {out}\n"
    _more(db)
    r = _export(db, "--format", "parquet", "-o", str(out), "--provider", "stripe")
    assert (r.returncode, r.stderr) == (0, f"wrote 1 capture to {out}\n")
    assert _ids("parquet", out) == list(range(1, 10))
    r = _export(db, "--format", "parquet", "-o", str(out))
    assert (r.returncode, r.stderr) == (0, f"wrote 1 capture to {out}\n")
    assert _ids("parquet", out) == list(range(1, 11))


_NOT = ", nor one a capture here has: provider= takes the lower-case ids of hooklab.providers.PROVIDERS\n"
_EMPTY = "the value is empty: give one, or leave the option out for every capture\n"

#: (options, exit code, the end of what stderr says): each refused before anything is written
BAD: list[tuple[list[str], int, str]] = [
    (["--provider", "Stripe"], 2,
     "hooklab: provider='Stripe' is not a provider hooklab detects (did you mean 'stripe'?)" + _NOT),
    (["--provider", "stripe", "--provider", "GitHub"], 2,
     "hooklab: provider='GitHub' is not a provider hooklab detects (did you mean 'github'?)" + _NOT),
    (["--provider", "acme"], 2, "hooklab: provider='acme' is not a provider hooklab detects" + _NOT),
    (["--provider", ""], 2, "hooklab: --provider: " + _EMPTY),
    (["--bin", ""], 2, "hooklab: --bin: " + _EMPTY),
    (["--event-type", " "], 2, "hooklab: --event-type: " + _EMPTY),
    (["--search", ""], 2, "hooklab: --search: " + _EMPTY),
    (["--since", ""], 2, "hooklab: --since: " + _EMPTY),
    (["--since", "yesterday"], 2,
     "hooklab: since must be a capture id or an ISO 8601 time, not 'yesterday'\n"),
    (["--until", "2026-13-45"], 2,
     "hooklab: until must be a capture id or an ISO 8601 time, not '2026-13-45'\n"),
    (["--since", "99999999999999999999"], 2,
     "hooklab: since must be a capture id or an ISO 8601 time\n"),
    (["--kind", "bogus"], 2, "hooklab: kind= is one of http, ws, not 'bogus'\n"),
    (["--verified", "maybe"], 2,
     "hooklab: --verified takes true or false, not 'maybe'\n"),
    (["--provider"], 2, "hooklab export: error: argument --provider: expected one argument\n"),
    (["--event_type", "push"], 2, "hooklab: error: unrecognized arguments: --event_type push\n"),
    (["--prov", "stripe"], 2, "hooklab: error: unrecognized arguments: --prov stripe\n"),
]
BAD_RUNS = [(fmt, *b) for fmt in ("jsonl", "parquet") for b in BAD]


@pytest.mark.parametrize("fmt,opts,code,says", BAD_RUNS,
                         ids=[f"{b[0]}-{' '.join(b[1])}" for b in BAD_RUNS])
def test_bad_filter_values_are_refused(db: str, tmp_path: Path, fmt: str, opts: list[str],
                                       code: int, says: str) -> None:
    out = tmp_path / f"out.{fmt}"
    r = _export(db, "--format", fmt, "-o", str(out), *opts)
    assert r.returncode == code, r.stderr
    assert r.stderr.endswith(says), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not out.exists()  # (nothing written, no folder made)


def test_lab_export_to_parquet_takes_the_path_filter(db: str, tmp_path: Path) -> None:
    """``lab.export(folder, fmt="parquet", path=...)``: the filter ``path`` met the export
    function's own parameter of that name (``TypeError: export_parquet() got multiple values
    for argument 'path'``), as the other formats did not."""
    lab = hooklab.open(db)
    try:
        assert lab.export(tmp_path / "p", fmt="parquet", path="/orders/new") == 1
        assert lab.export(tmp_path / "p.jsonl", fmt="jsonl", path="/orders/ping") == 1
    finally:
        lab.stop()
    assert _ids("parquet", tmp_path / "p") == [6]


#: the refusals of BAD that hooklab itself says (not argparse's words of the command line)
SAID = [(opts, says) for opts, _, says in BAD if says.startswith("hooklab: ") and "--" not in says]


@pytest.mark.parametrize("opts,says", SAID, ids=[" ".join(o) for o, _ in SAID])
def test_percent_hooklab_export_refuses_them_in_the_same_words(memory_shell: Any,
                                                               tmp_path: Path, opts: list[str],
                                                               says: str) -> None:
    """``%hooklab export`` reads the same options: the same mistake, the same sentence."""
    from IPython.core.error import UsageError

    line = "export " + str(tmp_path / "out.jsonl") + " " + " ".join(opts)
    with pytest.raises(UsageError) as err:
        memory_shell.run_line_magic("hooklab", line)
    assert str(err.value) == "%" + says.rstrip("\n")
    assert not (tmp_path / "out.jsonl").exists()
