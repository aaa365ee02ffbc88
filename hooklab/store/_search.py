"""The ``search`` filter's index: an SQLite FTS5 table of each capture's words.

The words are computed in Python (:func:`hooklab.filters.search_words` over
:func:`hooklab.filters.search_text`) and handed to FTS5 already split, one space between
words, under its ``ascii`` tokenizer: so the index holds exactly the words the Python twin
(:func:`hooklab.filters.matches_text`) compares, whatever the Unicode version of either side.
The table is contentless (``content=''``): it stores the index only, not a second copy of
the text; deleting a row gives FTS5 the same words again, computed from the stored row.

Rows are indexed by the store's writer thread: in the same transaction as the rows when it
keeps up, in chunks when idle otherwise (a bulk import, a database written by an older
version). ``meta.search_upto`` is the id up to which every row is in the index; rows after it
are matched by the twin, registered as the SQL function ``hooklab_search``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..capture import trailers_start
from ..filters import matches_phrase, search_line, search_text, search_words

__all__: list[str] = []

#: bump when the words of a row change meaning: the index is then rebuilt
SEARCH_VERSION = "10"  # 2: bodies read as a person reads them (filters.readable); 3: binary
# bodies give no words (filters.is_text); 4: a path's %XX undone (filters.search_text); 5:
# JSON read as capture.json() reads it: after a byte order mark, a JSON string alone, UTF-16/32;
# 6: a declared Latin-1, Windows-1252, Shift JIS... charset read as capture.text reads it;
# 7: the body read by the header section's Content-Type / Content-Encoding only (trailers_at);
# 8: a path sent as raw UTF-8 read as UTF-8 (filters.search_text: path_read); 9: a form's %XX
# read in its declared charset (filters.declared_codec), charset=utf-7 and the like no text;
# 10: a body's transfer codings (Transfer-Encoding: gzip, chunked) undone (jsonread.body_coding)

FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS captures_fts USING fts5("
    "words, content='', tokenize='ascii', columnsize=0)"
)


#: rows one INSERT into the index takes (two values each: under SQLite's oldest limit of 999)
ROWS_PER_STATEMENT = 400


def fts_available(db: sqlite3.Connection) -> bool:
    """Whether this SQLite has FTS5 (nearly all builds do)."""
    try:
        return bool(db.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])
    except sqlite3.Error:
        return False


def _loads(text: str) -> Any:
    try:
        import orjson

        return orjson.loads(text)
    except (ImportError, ValueError):  # lone surrogates were stored by the standard library
        return json.loads(text)


def row_words(path: str, query: str, headers: str, body: bytes, trailers_at: Any = None) -> str:
    """The words of one stored row (``query``/``headers`` as stored JSON, ``trailers_at`` as
    stored: where its trailer fields start, which describe none of the body), space-separated."""
    q = _loads(query) if query else {}
    h = [(k, v) for k, v in _loads(headers)] if headers else []
    return search_line(search_text(path, q, h, bytes(body), trailers_start(trailers_at, len(h))))


def record_words(path: str, query: dict[str, Any], headers: Sequence[Any], body: bytes,
                 trailers_at: Any = None) -> str:
    """:func:`row_words` of a row from the record it is stored from (no JSON round trip)."""
    return search_line(search_text(path, query, headers, body,
                                   trailers_start(trailers_at, len(headers))))


#: bytes of a word FTS5 keeps (its FTS5_MAX_TOKEN_SIZE): a longer word is indexed, and looked
#: up, by its first 32,768 bytes
FTS_MAX_TOKEN = 32_768


def index_exact(needle: str) -> bool:
    """Whether the index answers ``search=needle`` exactly: every word shorter than
    :data:`FTS_MAX_TOKEN` bytes. A longer one is cut there, in the index and in the query
    alike, so the index finds a superset (60,000 ``x`` found a word of 50,000) and the twin
    must decide.

    >>> index_exact("refund 42"), index_exact("x" * 40_000)
    (True, False)
    """
    return all(len(w.encode("utf-8")) < FTS_MAX_TOKEN for w in search_words(needle))


def phrase(needle: str) -> str | None:
    """The FTS5 query for a search text (``None`` when it has no words: no index use)."""
    words = search_words(needle)
    if not words:
        return None
    return '"' + " ".join(words) + '"*'


def _match(path: Any, query: Any, headers: Any, body: Any, needle: Any) -> int:
    """:func:`_match_at` of a row without ``trailers_at`` (every field a header)."""
    return _match_at(path, query, headers, body, None, needle)


def _match_at(path: Any, query: Any, headers: Any, body: Any, trailers_at: Any, needle: Any) -> int:
    """The twin of the index for one stored row (``query``/``headers`` as stored JSON; its
    trailer fields, from ``trailers_at`` on, describe none of its body, as in the index)."""
    try:
        q = json.loads(query) if query else {}
        h = [(k, v) for k, v in json.loads(headers)] if headers else []
    except (ValueError, TypeError):
        return 0
    if isinstance(needle, bytes):  # (text with a lone surrogate: _sql.needle_param)
        needle = needle.decode("utf-8", "surrogatepass")
    text = search_text(path or "", q, h, bytes(body or b""), trailers_start(trailers_at, len(h)))
    wanted = search_words(needle)
    if not wanted:
        return int(needle.lower() in text.lower())
    return int(matches_phrase(search_words(text), wanted))


def register(db: sqlite3.Connection) -> None:
    """Add ``hooklab_search(path, query, headers, body, trailers_at, needle)``: the twin, row
    by row (and its five-argument form without ``trailers_at``: every field a header)."""
    db.create_function("hooklab_search", 5, _match, deterministic=True)
    db.create_function("hooklab_search", 6, _match_at, deterministic=True)


def register_duckdb(con: Any) -> None:
    """The same twin as a DuckDB function (for ``where_clause`` SQL run over Parquet files)."""
    from ._arrow import duckdb_module

    duckdb = duckdb_module()
    types = getattr(duckdb, "sqltypes", None) or duckdb.typing  # (renamed in DuckDB 2)
    text, blob = types.VARCHAR, types.BLOB
    con.create_function(
        "hooklab_search", _match_at, [text, text, text, blob, types.BIGINT, text], types.INTEGER,
        null_handling="special",
    )


def index_rows(db: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Add ``(id, words)`` rows to the index (inside the caller's transaction), up to 400 rows
    a statement (one SQLite step, one release of the GIL, for a whole batch)."""
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[i : i + ROWS_PER_STATEMENT]
        db.execute(
            "INSERT INTO captures_fts(rowid, words) VALUES " + ",".join(["(?,?)"] * len(chunk)),
            [x for row in chunk for x in row],
        )


def unindex_where(db: sqlite3.Connection, where: str, args: Sequence[Any], upto: int) -> None:
    """Take the rows matching ``where`` (and indexed: id <= ``upto``) out of the index."""
    cur = db.execute(
        f"SELECT id, path, query, headers, body, trailers_at FROM captures WHERE ({where})"
        " AND id <= ?",
        (*args, upto),
    )
    while True:
        chunk = cur.fetchmany(2000)
        if not chunk:
            return
        db.executemany(
            "INSERT INTO captures_fts(captures_fts, rowid, words) VALUES ('delete', ?, ?)",
            [(r[0], row_words(r[1], r[2], r[3], r[4], r[5])) for r in chunk],
        )


def clear_index(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all')")
