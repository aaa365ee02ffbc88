"""``%hooklab respond --method`` and ``%%hooklab sql`` as a notebook user meets them (a real
IPython shell, the lab on 127.0.0.1, a real SQLite file for the search index):

- a method is an RFC 9110 token: ``'GET POST'`` was accepted and the rule matched no request;
  the confirmation line names the method a rule is for;
- the search index ``captures_fts`` said "refused pragma data_version" (its own read of
  SQLite's counter), though the query holds no PRAGMA: it is readable with ``MATCH``;
- a ``?`` / ``:name`` parameter said SQLite's "Incorrect number of bindings" without saying
  the magic binds none.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import hooklab


def _status(url: str, method: str) -> int:
    req = urllib.request.Request(url, data=None if method == "GET" else b"{}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize("method", ["GET POST", "GET,POST", "POST\r\nX-A: 1", "PÖST", "GET/1",
                                    "(GET)", "GET "])
def test_a_method_that_is_no_token_is_refused(memory_shell: Any, method: str) -> None:
    lab = hooklab.lab()
    with pytest.raises(UsageError, match=r"^%hooklab respond: method .* is no HTTP method"):
        memory_shell.run_line_magic("hooklab", f"respond m --status 418 --method {method!r}")
    with pytest.raises(ValueError, match="is no HTTP method"):
        lab.respond("m", 418, method=method)
    assert (_status(lab.url_for("m"), "GET"), _status(lab.url_for("m"), "POST")) == (200, 200)


@pytest.mark.parametrize(("method", "matches"), [("GET", "GET"), ("get", "GET"),
                                                 ("PROPFIND", "PROPFIND"), ("M-SEARCH", "M-SEARCH")])
def test_a_token_method_answers_and_is_named(memory_shell: Any, capsys: Any, method: str,
                                             matches: str) -> None:
    lab = hooklab.lab()
    memory_shell.run_line_magic("hooklab", f"respond m --status 418 --method {method}")
    assert capsys.readouterr().out == f"hooklab: m answers 418 to {matches} requests\n"
    assert _status(lab.url_for("m"), matches) == 418
    assert _status(lab.url_for("m"), "POST" if matches != "POST" else "PUT") == 200
    memory_shell.run_line_magic("hooklab", "respond n --status 503 200")
    assert capsys.readouterr().out == "hooklab: n answers 503 then 200\n"  # (as it was)


@pytest.fixture
def file_shell(memory_shell: Any, tmp_path: Path) -> Any:
    """The shell's lab capturing into a SQLite file (its search index with it)."""
    memory_shell.run_line_magic("hooklab", f"start --db {tmp_path / 'c.sqlite3'}")
    return memory_shell


def test_the_search_index_is_read_with_match(file_shell: Any) -> None:
    lab = hooklab.lab()
    hooklab.send(lab.url_for("a"), payload={"word": "narwhal"})
    hooklab.send(lab.url_for("b"), payload={"word": "walrus"})
    ids = [c.id for c in lab.wait(2, timeout=10)]
    df = file_shell.run_cell_magic(
        "hooklab", "sql", "SELECT rowid FROM captures_fts WHERE captures_fts MATCH 'narwhal'")
    assert df["rowid"].tolist() == ids[:1]
    for query in ("SELECT rowid FROM captures_fts", "SELECT count(*) FROM captures_fts"):
        with pytest.raises(UsageError) as err:  # (FTS5 scans no contentless table: its words)
            file_shell.run_cell_magic("hooklab", "sql", query)
        assert "pragma" not in str(err.value).lower(), err.value
    with pytest.raises(UsageError, match="read-only"):  # (writes stay refused)
        file_shell.run_cell_magic("hooklab", "sql",
                                  "INSERT INTO captures_fts(rowid, words) VALUES (9, 'x')")


@pytest.mark.parametrize(("query", "params"), [
    ("SELECT count(*) FROM captures WHERE bin = :b", {"b": "x"}),
    ("SELECT count(*) FROM captures WHERE bin = ?", ["x"]),
    ("SELECT ?1, ?2", ["x", "y"]), ("SELECT @b", {"b": "x"}), ("SELECT $b", {"b": "x"}),
])
def test_a_parameter_says_the_magic_binds_none(file_shell: Any, query: str, params: Any) -> None:
    with pytest.raises(UsageError) as err:
        file_shell.run_cell_magic("hooklab", "sql", query)
    assert str(err.value) == ("%hooklab sql: the query has a parameter (? or :name), and "
                              "%hooklab sql takes none: write the value in the query, or use "
                              "lab.sql(query, params)"), err.value
    with pytest.raises(UsageError, match="takes none"):
        file_shell.run_line_magic("hooklab", f"sql {query}")
    assert hooklab.lab().sql(query, params).shape[0] == 1  # (lab.sql binds them)
