"""Read-only SQL over the captures, through a documented ``captures`` view.

>>> lab.sql("SELECT event_type, count(*) AS n FROM captures GROUP BY 1 ORDER BY n DESC")
                 event_type  n
0  payment_intent.succeeded  1
>>> lab.sql("SELECT id, json_extract(payload, '$.data.object.amount') AS amount "
...         "FROM captures WHERE provider = 'stripe'")
   id  amount
0   1    2000

The ``captures`` view has the columns of ``lab.dataframe()`` except ``json``, plus:

=====================  ===========================================================================
``received_at``        ISO 8601 text in UTC with microseconds (``2026-01-01T12:00:00.000123Z``);
                       turned into ``datetime64[ns, UTC]`` in the result when selected by that
                       name. It compares as text: compare it with a time parameter (bound in
                       this form, :func:`time_param`) or with text in this form, such as
                       SQLite's ``strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-1 hour')``, not
                       with SQLite's ``datetime(...)`` (``2026-01-01 12:00:00``: a space sorts
                       before the ``T``)
``payload``            the body as JSON text when ``capture.json()`` parses it (``json_extract``,
                       ``->>``, ``json_each`` and ``json_tree`` work on it), else NULL: a
                       compressed (``Content-Encoding``) body decoded, UTF-16 and UTF-32 as
                       UTF-8 text, a byte order mark dropped; a form or a Latin-1 body NULL;
                       a key written twice in an object is there twice, and ``json_extract``
                       reads its first value where ``capture.json()`` reads the last (finding
                       such bodies cost every query about four times its time)
``headers``            JSON array of ``[name, value]`` pairs, as received: the header section, then
                       the trailer fields sent after a chunked body, if any (from ``trailers_at`` on)
``query``              JSON object of the query string (``{"name": ["value", ...]}``)
``trailers_at``        where the trailer fields start in ``headers`` (``Capture.trailers_at``: the
                       index of the first, from 0), NULL when none came; the header section is
                       ``headers``' items before it
=====================  ===========================================================================

Read-only, checked in three independent ways: only one statement that starts with ``SELECT``,
``WITH``, ``VALUES``, ``EXPLAIN`` or a read-only ``PRAGMA`` (table_info and friends) is taken;
an SQLite authorizer refuses anything that would write, attach, vacuum, start a transaction or
call a dangerous function; and the database is opened read-only (``mode=ro`` and
``PRAGMA query_only``). A refused statement raises :class:`ReadOnlyError` and changes nothing.
Queries stop after ``timeout`` seconds (default 30) with :class:`TimeoutError`; ``None`` sets
no limit, and a timeout that is not a number above 0 is refused (``ValueError``) before the
query runs (:func:`check_timeout`).

Parameters (``?`` with a sequence, ``:name`` or ``$name`` with a mapping, on both engines) that
are times, ``datetime``, ``pandas.Timestamp``, ``numpy.datetime64`` or ``date``, are bound as
``received_at`` reads (:func:`time_param`), so ``received_at > ?`` with
``datetime.now(timezone.utc) - timedelta(hours=1)`` gives the captures ``since=`` gives.
NumPy integers, booleans and floats (``df.id[2]``) are bound as the Python numbers they hold,
and ``pandas.NA``, ``NaT`` and NaN as NULL (:func:`plain_param`).
"""

from __future__ import annotations

import math
import numbers
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from ..capture import escaped_key, payload_text
from ..filters import warn_if_local_is_not_utc
from ..jsonread import JSON_MAX_DEPTH, json_too_deep
from ..store.store import ENCODED, header_section_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_DUCKDB_QUERY",
    "VIEW_COLUMNS",
    "VIEW_SQL",
    "ReadOnlyError",
    "check_statement",
    "check_timeout",
    "run_duckdb",
    "run_sql",
    "time_param",
]

VIEW_COLUMNS = (
    "id", "received_at", "kind", "bin", "method", "path", "provider", "event_type",
    "delivery_id", "content_type", "size", "status", "verified", "duplicate", "handshake",
    "remote_addr",
    "forward_status", "forward_latency_ms", "forward_error", "payload", "headers", "query",
    "trailers_at",
)  # fmt: skip

_LATEST_FORWARD = "(SELECT f.{col} FROM main.forwards f WHERE f.capture_id = c.id ORDER BY f.id DESC LIMIT 1)"
VIEW_SQL = f"""CREATE TEMP VIEW IF NOT EXISTS captures AS SELECT
    c.id AS id,
    strftime('%Y-%m-%dT%H:%M:%S', (c.received_us - (c.received_us % 1000000 + 1000000) % 1000000)
                                  / 1000000, 'unixepoch')
        || printf('.%06dZ', (c.received_us % 1000000 + 1000000) % 1000000) AS received_at,
    c.kind AS kind, c.bin AS bin, c.method AS method, c.path AS path, c.provider AS provider,
    c.event_type AS event_type, c.delivery_id AS delivery_id, c.content_type AS content_type,
    length(c.body) AS size, c.status AS status, c.verified AS verified,
    c.duplicate AS duplicate, {{handshake}} AS handshake, c.remote_addr AS remote_addr,
    {_LATEST_FORWARD.format(col="status")} AS forward_status,
    {_LATEST_FORWARD.format(col="latency_ms")} AS forward_latency_ms,
    {_LATEST_FORWARD.format(col="error")} AS forward_error,
    CASE WHEN NOT {{encoded}}
              AND json_valid(CAST(c.body AS TEXT))
              AND hooklab_utf8(c.body)
              AND (instr(c.body, x'5c75') = 0 OR NOT hooklab_escaped_key(c.body))
         THEN CAST(c.body AS TEXT)
         WHEN length(c.body) > 0
              AND ({{encoded}}
                   OR json_valid(CAST(c.body AS TEXT))
                   OR substr(c.body, 1, 1) IN (x'ef', x'fe', x'ff', x'00')
                   OR substr(c.body, 2, 1) = x'00'
                   OR instr(c.body, x'4e614e') > 0 OR instr(c.body, x'496e66696e697479') > 0)
         THEN hooklab_payload(c.body, c.headers, {{trailers_at}}) END AS payload,
    c.headers AS headers, c.query AS query, {{trailers_at}} AS trailers_at
FROM main.captures c"""
"""``payload`` in SQL: UTF-8 bodies SQLite's ``json_valid`` takes are their own JSON text (one
call of :func:`_utf8` per row, whose work is C-level: ``bytes.isascii`` or a UTF-8 decode; a
``GLOB`` for bytes past ASCII made every query 4 to 10 times slower); :func:`hooklab.capture.payload_text` settles the few others it could read
differently from ``Capture.json()``: bytes that are not UTF-8, a ``Content-Encoding``, a byte
order mark or UTF-16/32 zero bytes, ``NaN`` or ``Infinity`` (JSON to Python only). The
``Content-Encoding`` is the header section's, as ``Capture.json()`` reads it (the
``hooklab.store.store.ENCODED`` test, put in by :func:`view_sql`: a field name before the body; a
trailer field's is none of the body's)."""


def _payload(body: bytes | None, headers: str | None, trailers_at: Any) -> str | None:
    """``hooklab_payload`` in the view: :func:`~hooklab.capture.payload_text` of the body with
    the capture's header section (its trailer fields cut off: ``trailers_at``)."""
    return payload_text(body, headers if trailers_at is None else header_section_text(headers, trailers_at))


def view_sql(columns: set[str]) -> str:
    """:data:`VIEW_SQL` for a ``captures`` table with ``columns`` (a database written before
    the handshake or trailers_at column reads NULL for it, as it is)."""
    trail = "c.trailers_at" if "trailers_at" in columns else "NULL"
    encoded = ENCODED.replace("headers", "c.headers").replace("trailers_at", trail)
    return (VIEW_SQL.replace("{handshake}", "c.handshake" if "handshake" in columns else "NULL")
            .replace("{encoded}", encoded).replace("{trailers_at}", trail))


def _utf8(body: bytes | None) -> int:
    """1 if ``body`` is UTF-8 text nested at most :data:`~hooklab.jsonread.JSON_MAX_DEPTH`
    deep (``hooklab_utf8`` in the view: SQLite's JSON functions take Latin-1 bytes too, and
    JSON 2,000 levels deep, which ``Capture.json()`` does not read; the others go through
    :func:`~hooklab.capture.payload_text`). Only a body of over 2,048 bytes can nest deeper;
    its depth is looked at in C-speed passes (:func:`~hooklab.jsonread.json_too_deep`), not
    by a parse: a view over bodies of 2,000 items was 7 to 10 times slower that way."""
    if not body:
        return 0
    if not body.isascii():
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return 0
    if len(body) > 2 * JSON_MAX_DEPTH and json_too_deep(body):
        return 0  # (payload_text parses it and says None)
    return 1


#: per engine (``sqlite``, ``duckdb`` of a Parquet dataset): the words a statement may start
#: with, and how a refusal names them (each engine's own: DuckDB's PRAGMA are refused)
_FIRST_WORDS = {
    "sqlite": (frozenset({"select", "with", "values", "explain", "pragma"}),
               "SELECT, WITH, VALUES, EXPLAIN or a read-only PRAGMA"),
    "duckdb": (frozenset({"select", "with", "values", "explain", "from", "describe",
                          "summarize", "show"}),
               "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN"),
}
#: statements that change something, in SQLite or DuckDB (refused as such, not as a typo;
#: any other word is not SQL here)
_WRITING_WORDS = frozenset({
    "insert", "update", "delete", "replace", "upsert", "create", "drop", "alter", "attach",
    "detach", "reindex", "analyze", "vacuum", "begin", "commit", "end", "rollback",
    "savepoint", "release", "copy", "export", "import", "install", "load", "set", "reset",
    "call", "checkpoint", "force", "use", "truncate", "merge", "abort", "start", "pragma",
})
#: read-only pragmas (also as table-valued functions, e.g. ``pragma_table_info('captures')``)
_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "collation_list", "function_list", "pragma_list", "compile_options",
    "database_list", "data_version",
})
#: functions never callable from lab.sql (pointer leak / code loading)
_FUNCTIONS_DENIED = frozenset({"fts3_tokenizer", "load_extension", "readfile", "writefile", "edit"})
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$)|\()*", re.S)
_ACTIONS = {
    getattr(sqlite3, f"SQLITE_{n}"): n.replace("_", " ").lower()
    for n in (
        "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER "
        "CREATE_TEMP_VIEW CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE "
        "DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER "
        "DROP_VIEW INSERT PRAGMA TRANSACTION UPDATE ATTACH DETACH ALTER_TABLE REINDEX "
        "ANALYZE CREATE_VTABLE DROP_VTABLE SAVEPOINT"
    ).split()
    if hasattr(sqlite3, f"SQLITE_{n}")
}


class ReadOnlyError(PermissionError):
    """``lab.sql`` refused a statement because it could change something."""


def check_statement(query: str, engine: str = "sqlite") -> str:
    """The statement's first word if ``lab.sql`` may run it on ``engine`` (``"sqlite"``, or
    ``"duckdb"`` for a Parquet dataset), else :class:`ReadOnlyError` naming what that engine
    runs: a statement that writes is refused as such, any other word as a typo.

    >>> check_statement("  (SELECT 1)"), check_statement("FROM captures", "duckdb")
    ('select', 'from')
    >>> check_statement("COPY captures TO 'x.csv'", "duckdb")
    Traceback (most recent call last):
    ...
    hooklab.explore.sql.ReadOnlyError: lab.sql is read-only: COPY statements are refused (use SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN)
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, not {type(query).__name__}")
    words, runs = _FIRST_WORDS[engine]
    m = _LEADING.match(query)
    rest = query[m.end():] if m else query
    word = re.match(r"[A-Za-z_]+", rest)
    first = word.group().lower() if word else ""
    if first not in words:
        if first in _WRITING_WORDS:
            raise ReadOnlyError(
                f"lab.sql is read-only: {first.upper()} statements are refused (use {runs})")
        if not rest.strip():
            raise ReadOnlyError(f"an empty statement: lab.sql runs {runs}")
        raise ReadOnlyError(
            f"lab.sql runs a statement that starts with {runs.replace(' a read-only ', ' ')}, "
            f"not {rest[:20]!r} (a typo?)"
        )
    return first


def _authorizer(refused: list[str]) -> Any:
    def auth(action: int, arg1: str | None, arg2: str | None, db: str | None, _src: str | None) -> int:
        if action in _ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in _FUNCTIONS_DENIED:
                refused.append(f"function {arg2}()")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _PRAGMAS and db in (None, "main", "temp"):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_temp_master"):
            # SQLite asks this when it sets up json_each / json_tree / pragma_* functions;
            # sqlite_master itself can never be written without writable_schema (refused)
            return sqlite3.SQLITE_OK
        what = _ACTIONS.get(action, f"action {action}")
        refused.append(what + (f" {arg1}" if arg1 else ""))
        return sqlite3.SQLITE_DENY

    return auth


def _allow_all(*_args: Any) -> int:
    """An authorizer that allows everything: what no authorizer is, said where Python cannot
    say it with ``None``."""
    return sqlite3.SQLITE_OK


#: what removes ``lab.sql``'s authorizer: ``set_authorizer(None)`` does since Python 3.11;
#: before, None was taken as an authorizer that refuses everything, so on 3.10 every
#: ``lab.sql`` failed in its own clean-up ("not authorized") and left an in-memory store's
#: connection, which also stores the webhooks, refusing them all (503)
_NO_AUTHORIZER = None if sys.version_info >= (3, 11) else _allow_all


def _undo(db: sqlite3.Connection, text_factory: Any) -> None:
    """Undo what :func:`run_sql` set on ``db``, each step tried even when one before failed:
    an in-memory store's connection is the one that stores the webhooks too, and a clean-up
    stopped half way left it read-only (``query_only``) or refusing every statement. The
    first failure is raised once every step was tried."""
    failed: list[Exception] = []
    steps = (
        # the authorizer and progress handler first: the two statements below run under them
        lambda: db.set_authorizer(_NO_AUTHORIZER),
        lambda: db.set_progress_handler(None, 0),
        lambda: setattr(db, "text_factory", text_factory),
        lambda: db.execute("PRAGMA query_only = 0"),
        lambda: db.execute("DROP VIEW IF EXISTS temp.captures"),
    )
    for step in steps:
        try:
            step()
        except Exception as exc:  # (every step gets its turn)
            failed.append(exc)
    if failed:
        raise failed[0]


#: a UTF-16 surrogate written as UTF-8 would write it (three bytes ED A0..BF 80..BF): what
#: SQLite's JSON functions make of a lone surrogate escape (``json_extract`` of ``"\ud800"``)
_SURROGATE_UTF8 = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")


def _decode(b: bytes) -> str:
    r"""A text SQLite gives ``lab.sql`` (``text_factory``): UTF-8, never failing (bytes that
    are no UTF-8 read as U+FFFD), and each surrogate SQLite wrote for a JSON escape of one
    (``json_extract(payload, '$.s')`` of ``{"s": "\ud800x"}``: no character) as JSON writes
    it, the six characters ``\ud800``, as ``schema()``, ``diff()`` and ``flatten=True`` show
    it (:func:`hooklab.explore.displayable`; it read as three U+FFFD). A pair written so, in
    two halves, is its character.

    >>> _decode("café".encode()), _decode(b"\xed\xa0\x80x"), _decode(b"\xff!")
    ('café', '\\ud800x', '\ufffd!')
    >>> _decode(b"\xed\xa0\xbd\xed\xb8\x80 \xed\xb8\x80\xed\xa0\xbd")  # a pair, then reversed
    '😀 \\ude00\\ud83d'
    """
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not _SURROGATE_UTF8.search(b):
        return b.decode("utf-8", "replace")
    from .payload import displayable

    parts, at = [], 0
    for m in _SURROGATE_UTF8.finditer(b):  # (bounded: one match per three bytes at most)
        parts.append(b[at : m.start()].decode("utf-8", "replace"))
        parts.append(m[0].decode("utf-8", "surrogatepass"))
        at = m.end()
    parts.append(b[at:].decode("utf-8", "replace"))
    # (UTF-16 joins the halves of a pair into their character; a lone one stays itself)
    text = "".join(parts).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return displayable(text)


def check_timeout(timeout: object) -> float | None:
    """``timeout`` of :func:`run_sql` and :func:`run_duckdb` as seconds: ``None`` (no limit)
    or a finite number above 0. Anything else is refused before a query runs: NaN ran with
    no limit at all (no time is past it), ``-1`` and ``0`` stopped the query at its first
    step ("stopped after -1 s"), infinity is what ``None`` says, and a bool or a text is no
    number of seconds (``TypeError``).

    >>> check_timeout(5), check_timeout(None)
    (5.0, None)
    >>> check_timeout(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: timeout must be a number of seconds above 0 (None: no limit), not nan
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds (None: no limit), not {timeout!r}")
    seconds = float(timeout)
    if not (math.isfinite(seconds) and 0 < seconds <= threading.TIMEOUT_MAX):
        raise ValueError(
            f"timeout must be a number of seconds above 0 (None: no limit), not {timeout!r}")
    return seconds


def time_param(value: Any, name: str = "parameter") -> Any:
    """A ``lab.sql`` query parameter as it is bound: a time as the ``captures`` view's
    ``received_at`` reads, so that the two compare right as text; any other value as it is.

    A ``datetime`` (``pandas.Timestamp`` too) is that instant in UTC, with microseconds
    (``2026-01-01T12:00:00.000123Z``; a Timestamp's nanoseconds dropped, as received times have
    none). One without a zone is read as UTC, as ``since=`` reads it: where the machine's local
    time is not UTC, a ``RuntimeWarning`` naming ``name`` says so (``datetime.now()`` is local
    time). A ``numpy.datetime64`` is a UTC time (what a frame's ``received_at.values`` hold),
    without a warning. A ``date`` is its ISO text (``2026-01-01``): it sorts before every time of
    that day, and equals SQLite's ``date(received_at)`` of one. ``NaT`` is NULL. (Without this,
    SQLite's own ``2026-01-01 12:00:00+00:00`` compared before every ``received_at`` of that day,
    and DuckDB refused to compare text with a TIMESTAMP.)

    >>> from datetime import datetime, timedelta, timezone
    >>> time_param(datetime(2026, 1, 1, 13, 0, 0, 123, tzinfo=timezone(timedelta(hours=1))))
    '2026-01-01T12:00:00.000123Z'
    >>> time_param(date(2026, 1, 1)), time_param(7), time_param("2026")
    ('2026-01-01', 7, '2026')
    """
    if isinstance(value, datetime):
        if value != value:  # (pandas.NaT is a datetime that equals nothing)
            return None
        if hasattr(value, "to_pydatetime"):  # (a Timestamp: astimezone() of a naive one raises)
            value = value.to_pydatetime(warn=False)
        if value.utcoffset() is None:
            warn_if_local_is_not_utc(name, value)
            value = value.replace(tzinfo=timezone.utc)
        try:
            utc = value.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise ValueError(f"{name}: {value.isoformat()} is outside the years 1 to 9999 "
                             "in UTC") from None
        return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
                f"{utc.second:02d}.{utc.microsecond:06d}Z")
    if isinstance(value, date):
        return value.isoformat()
    kind = type(value)
    if kind.__name__ == "datetime64" and kind.__module__ == "numpy":
        import pandas as pd

        try:
            stamp = pd.Timestamp(value)
        except (OverflowError, ValueError) as exc:  # (pandas' OutOfBoundsDatetime is one)
            raise ValueError(f"{name}: {value!r} is no time pandas can hold ({exc})") from None
        if stamp is pd.NaT:
            return None
        return time_param(stamp.tz_localize("UTC"), name)
    return value


def plain_param(value: Any, name: str = "parameter") -> Any:
    """A ``lab.sql`` query parameter as it is bound, alike on both engines: a NumPy integer,
    boolean or float (what a value read from ``lab.dataframe()`` is) as the ``int``, ``bool``
    or ``float`` it holds, a missing value (``pandas.NA``, ``NaT``, NaN) as NULL, a time as
    :func:`time_param` binds it; any other value as it is. (SQLite bound a ``numpy.int64`` as
    an 8-byte BLOB, which equals no id, and DuckDB refused it.)

    >>> import numpy as np
    >>> plain_param(np.int64(3)), plain_param(np.bool_(True)), plain_param(np.float32(0.5))
    (3, True, 0.5)
    >>> plain_param(float("nan")) is None, plain_param("x")
    (True, 'x')
    """
    return time_param(_python_value(value), name)


def _python_value(value: Any) -> Any:
    """``value`` with a NumPy integer, boolean or float as the Python value it holds, and a
    missing number (``pandas.NA``, NaN) as ``None``; any other value as it is."""
    kind = type(value)
    if kind.__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.integer):
            value = int(value)
        elif isinstance(value, np.bool_):
            value = bool(value)
        elif isinstance(value, np.floating):  # (float16 to longdouble)
            value = float(value)
    elif kind.__name__ == "NAType" and kind.__module__.startswith("pandas"):
        return None
    if type(value) is float and value != value:  # (NaN: a frame's missing number; SQLite
        return None  # binds it as NULL, DuckDB as a NaN that equals itself)
    return value


def _bound(params: Any, each: Any) -> Any:
    """``params`` with ``each(value, name)`` of every value: a mapping as a dict, a list, a
    tuple, a NumPy array or a pandas Series (``df.id[:2]``) as a list; anything else as it is
    (the engine says what it makes of it)."""
    if isinstance(params, Mapping):
        return {k: each(v, f"lab.sql parameter {k!r}") for k, v in params.items()}
    if not isinstance(params, (list, tuple)) and type(params).__module__.split(".")[0] in (
            "numpy", "pandas") and hasattr(params, "tolist"):
        params = params.tolist()
    if isinstance(params, (list, tuple)):
        return [each(v, f"lab.sql parameter {i + 1}") for i, v in enumerate(params)]
    return params


def run_sql(
    db: sqlite3.Connection,
    query: str,
    params: Sequence[Any] | dict[str, Any] = (),
    *,
    timeout: float | None = 30.0,
) -> pd.DataFrame:
    """Run one read-only ``query`` on connection ``db`` over the ``captures`` view.

    ``db`` may be a connection others use too (an in-memory store's): the caller holds its
    lock; everything set here (temporary view, authorizer, ``query_only``, text decoding,
    progress handler) is undone before returning.
    """
    import pandas as pd

    timeout = check_timeout(timeout)
    check_statement(query)
    bound = _bound(params, plain_param)
    refused: list[str] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    old_factory = db.text_factory
    have = {r[0] for r in db.execute("SELECT name FROM pragma_table_info('captures')")}
    # databases written before the handshake or trailers_at column are read as they are
    db.execute(view_sql(have))
    try:
        db.execute("PRAGMA query_only = 1")
        db.text_factory = _decode  # bodies can hold any bytes: never fail on decoding
        db.create_function("hooklab_payload", 3, _payload, deterministic=True)
        db.create_function("hooklab_utf8", 1, _utf8, deterministic=True)
        db.create_function("hooklab_escaped_key", 1, escaped_key, deterministic=True)
        db.set_authorizer(_authorizer(refused))
        if deadline is not None:
            db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cur = db.execute(query, bound)
            rows = cur.fetchall()
            names = [d[0] for d in cur.description or ()]
        except (sqlite3.ProgrammingError, sqlite3.Warning) as exc:
            # (Python 3.10 says "one statement at a time" with sqlite3.Warning, 3.11 with
            # ProgrammingError: on 3.10 a second statement escaped as that Warning)
            if "one statement" in str(exc):
                raise ReadOnlyError("lab.sql runs one statement at a time") from None
            raise
        except sqlite3.DatabaseError as exc:
            msg = str(exc)
            if refused or "not authorized" in msg or "authorization denied" in msg:
                what = ", ".join(dict.fromkeys(refused)) or msg
                raise ReadOnlyError(f"lab.sql is read-only: refused {what}") from None
            if "interrupted" in msg and deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"lab.sql query stopped after {timeout:g} s") from None
            if "readonly" in msg or "read-only" in msg or "cannot modify" in msg:
                raise ReadOnlyError(f"lab.sql is read-only: {msg}") from None
            raise
    finally:
        _undo(db, old_factory)
    return _typed_times(_exact_ints(pd.DataFrame.from_records(rows, columns=names), rows))


#: integers past this lose digits as float64
_FLOAT_EXACT = 2**53


def _exact_ints(df: pd.DataFrame, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """``df`` with each column pandas made float64 from integers (and NULLs) that hold one
    past 2**53 given those integers exactly: ``Int64`` (all integers), else object (integers
    and reals: each value as SQLite gave it). ``SELECT json_extract(payload, '$.id')`` over
    64-bit ids, some captures without one, gave 1234567890123456768 for 1234567890123456789.

    >>> import pandas as pd
    >>> rows = [(1234567890123456789,), (None,), (2.5,)]
    >>> _exact_ints(pd.DataFrame.from_records(rows[:2], columns=["a"]), rows[:2])["a"].tolist()
    [1234567890123456789, <NA>]
    >>> _exact_ints(pd.DataFrame.from_records(rows, columns=["a"]), rows)["a"].tolist()
    [1234567890123456789, None, 2.5]
    """
    import numpy as np
    import pandas as pd

    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != np.float64 or not len(col) or not (col.abs() >= _FLOAT_EXACT).any():
            continue
        values = [r[i] for r in rows]
        if not any(type(v) is int and abs(v) > _FLOAT_EXACT for v in values):
            continue  # (reals that big: float64 is what they are)
        exact = all(v is None or type(v) is int for v in values)  # (SELECT a, a: by place)
        df.isetitem(i, pd.array(values, dtype="Int64") if exact else
                    pd.Series(values, index=df.index, dtype=object))
    return df


#: characters of a query ``lab.sql`` takes on a Parquet dataset (DuckDB planned 20,000
#: ``UNION ALL`` parts, 380 KB, for 38 s and 11 GB, deaf to the timeout)
MAX_DUCKDB_QUERY = 100_000


def run_duckdb(
    con: Any,
    query: str,
    params: Sequence[Any] | dict[str, Any] = (),
    *,
    timeout: float | None = 30.0,
) -> pd.DataFrame:
    """``lab.sql`` of a Parquet dataset: one read-only ``query`` on DuckDB connection ``con``
    (``ParquetStore.duckdb()``: it reads the dataset's files and nothing else), closed after.

    Read-only as :func:`run_sql` is, in DuckDB's terms: the statement must start as
    :func:`check_statement` allows on DuckDB (``FROM``, ``DESCRIBE``, ``SUMMARIZE``, ``SHOW`` too; no ``PRAGMA``),
    DuckDB's own parser must find exactly one statement and call it a query (``SELECT``, or
    ``EXPLAIN`` of one), and the connection cannot touch another file. JSON values in the
    result come back as SQLite's ``json_extract`` gives them: numbers, text without quotes,
    ``true`` as 1, objects and arrays as JSON text; ``json_extract`` and ``json_type`` are
    SQLite's in the query too (``hooklab.store.parquet``'s macros), and ``->`` / ``->>``,
    whose DuckDB values differ from SQLite's, are refused (``ValueError``).

    >>> lab.export("exports/sql", fmt="parquet")
    1
    >>> run_duckdb(hooklab.open("exports/sql").store.duckdb(),
    ...            "SELECT json_extract(payload, '$.data.object.amount') AS amount FROM captures")
       amount
    0    2000
    """
    from decimal import Decimal

    from ..store import duckdb_module

    duckdb = duckdb_module()
    try:
        timeout = check_timeout(timeout)  # (in the try: the connection is closed after)
        if isinstance(query, str) and len(query) > MAX_DUCKDB_QUERY:
            raise ReadOnlyError(f"lab.sql takes a query of at most {MAX_DUCKDB_QUERY:,} "
                                f"characters on a Parquet dataset, not {len(query):,} (DuckDB "
                                "plans a huge query for minutes, past any timeout)")
        check_statement(query, "duckdb")
        if "->" in _code_of(query):
            raise ValueError(
                "lab.sql on a Parquet dataset takes no -> or ->> (DuckDB's give JSON and text "
                "where SQLite's give its JSON text and numbers: the same query would answer "
                "differently); write json_extract(payload, '$.field'), which answers as on "
                "SQLite, or lambda x: ... for a lambda")
        query = _total_calls(query)
        named = isinstance(params, Mapping)
        if named:  # (SQLite's :name is DuckDB's $name)
            query = _dollar_names(query, params)
        params = _bound(params, lambda v, _name: v)  # (an array or a Series: a list)
        items = list(params.items()) if named else list(enumerate(params or []))
        keys = [k for k, _ in items]
        # (each value as SQLite binds it; typed: a time as itself, for DuckDB's time functions)
        typed = [_exact_real(_python_value(v)) for _, v in items]
        texts = [_exact_real(plain_param(v, f"lab.sql parameter {k!r}" if named else
                                         f"lab.sql parameter {k + 1}")) for k, v in items]
        try:
            found = con.extract_statements(query)
        except duckdb.Error as exc:
            raise type(exc)(str(exc)) from None
        if len(found) != 1:
            raise ReadOnlyError("lab.sql runs one statement at a time")
        kind = found[0].type
        if kind == duckdb.StatementType.EXPLAIN:  # what is explained must be a query too
            inner = re.sub(r"^\s*explain(\s+analyze)?\b", "", found[0].query, flags=re.I)
            kinds = [st.type for st in con.extract_statements(inner)]
            if kinds != [duckdb.StatementType.SELECT]:
                raise ReadOnlyError(f"lab.sql is read-only: refused {inner.strip()[:40]!r}")
        elif kind != duckdb.StatementType.SELECT:
            raise ReadOnlyError(f"lab.sql is read-only: {kind.name} statements are refused "
                                f"(use {_FIRST_WORDS['duckdb'][1]})")
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, con.interrupt)
            timer.daemon = True
            timer.start()
        try:
            try:
                cur = con.execute(query, dict(zip(keys, texts, strict=True)) if named else texts)
            except duckdb.BinderException as exc:
                # a time parameter, bound as text, where only a time will do (? - INTERVAL
                # 1 HOUR, date_trunc('day', ?)): as it was given, as before
                if all(t is v for t, v in zip(texts, typed, strict=True)):
                    raise _time_hint(exc) from None
                try:
                    cur = con.execute(query, dict(zip(keys, typed, strict=True)) if named else typed)
                except duckdb.BinderException:
                    raise _time_hint(exc) from None
            names = [d[0] for d in cur.description or ()]
            json_cols = [i for i, d in enumerate(cur.description or ()) if str(d[1]) == "JSON"]
            variant_cols = [i for i, d in enumerate(cur.description or ()) if str(d[1]) == "VARIANT"]
            wide_cols = [i for i, d in enumerate(cur.description or ())
                         if str(d[1]) in ("HUGEINT", "UHUGEINT")]
            df = cur.df()
        except duckdb.InterruptException:
            raise TimeoutError(f"lab.sql query stopped after {timeout:g} s") from None
        except duckdb.PermissionException as exc:
            raise ReadOnlyError(f"lab.sql reads the dataset only: {exc}") from None
        except duckdb.ConversionException as exc:
            said = _variant_cast_error(exc)
            if said is None:
                raise
            raise said from None
        except (duckdb.InvalidInputException, duckdb.InvalidTypeException) as exc:
            mixed = _mixed_kinds_error(duckdb.__version__, exc)
            if mixed is None:
                raise
            raise mixed from None
        finally:
            if timer is not None:
                timer.cancel()
    finally:
        con.close()
    for i in json_cols:
        df[names[i]] = [_sqlite_json(v) for v in df[names[i]].tolist()]
    import pandas as pd

    for i in wide_cols:  # sum() of integers: 128 bits in DuckDB, float64 in its frame
        col = df.iloc[:, i]
        if (col.dtype.kind == "f" and col.notna().all() and (col.abs() < _FLOAT_EXACT).all()
                and (col == col.round()).all()):
            df.isetitem(i, col.astype("int64"))  # (whole and exact: integers, as from SQLite)
    for i in variant_cols:  # json_extract's values: missing ones None, as from SQLite
        values = [None if v is None or v is pd.NA else float(v) if type(v) is Decimal else v
                  for v in df.iloc[:, i].tolist()]  # (its REALs are DECIMALs here: floats)
        df.isetitem(i, pd.Series(values, index=df.index, dtype=object))
    return _typed_times(df)


#: DuckDB's words when a query compares text (``received_at``) with a time
_TEXT_AND_TIME = re.compile(r"type VARCHAR and type (?:TIMESTAMP|DATE)|type (?:TIMESTAMP[\w ]*|DATE) "
                            r"and type VARCHAR")


def _time_hint(exc: BaseException) -> BaseException:
    """DuckDB's ``exc`` with, when it refused to compare text with a time, how ``received_at``
    (text) compares with a time; else ``exc`` itself."""
    if not _TEXT_AND_TIME.search(str(exc)):
        return exc
    return type(exc)(
        f"{exc}\n(lab.sql: received_at is text in UTC, 2026-01-01T12:00:00.000123Z, on a Parquet "
        "dataset as on SQLite: compare it with a datetime parameter, received_at > ?, or with "
        "text in that form: received_at > strftime(now() - INTERVAL 1 HOUR, "
        "'%Y-%m-%dT%H:%M:%S.%fZ'))")


#: a named parameter as SQLite spells it, ``:name`` (not ``::`` DuckDB's cast)
_COLON_NAME = re.compile(r"(?<![\w:$]):([A-Za-z_]\w*)")


def _dollar_names(query: str, params: Mapping[str, Any]) -> str:
    """``query`` with each ``:name`` of ``params`` spelt ``$name``, as DuckDB names a
    parameter (outside string literals, quoted names and comments; other text as it is).

    >>> _dollar_names("SELECT :b, x::INT, ':b' FROM t WHERE y = :bb", {"b": 1})
    "SELECT $b, x::INT, ':b' FROM t WHERE y = :bb"
    """
    if not isinstance(query, str):
        return query

    def code(text: str) -> str:
        return _COLON_NAME.sub(lambda m: "$" + m[1] if m[1] in params else m[0], text)

    out, at = [], 0
    for m in _NOT_CODE.finditer(query):
        out += [code(query[at:m.start()]), m[0]]
        at = m.end()
    return "".join(out) + code(query[at:])


#: a call of ``total`` in a query's code; what may follow one: its FILTER, its window
_TOTAL_CALL = re.compile(r"(?<![\w.$])total\s*\(", re.I)
_FILTER_CLAUSE = re.compile(r"\s*filter\s*\(", re.I)
_OVER_CLAUSE = re.compile(r"\s*over\s*(?:\(|[A-Za-z_]\w*)", re.I)


def _closing(code: str, at: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``code[at]`` (-1 when none)."""
    depth = 0
    for i in range(at, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _total_calls(query: str) -> str:
    """``query`` with each ``total(DISTINCT x)``, ``total(x ORDER BY y)`` and ``total(x)
    FILTER (WHERE ...)`` spelt with ``hooklab.store.parquet``'s macros, which DuckDB takes
    (``total`` is a macro there, and a macro takes no DISTINCT, ORDER BY or FILTER): SQLite's
    total() of the same rows. DISTINCT keeps apart what SQLite's does (the text "7" and the
    number 7; 7 and 7.0 are one), so the values are collected, then read as numbers. Other
    calls, and text in literals, quoted names and comments, stay as they are. DISTINCT or
    ORDER BY with a window (OVER), which SQLite refuses, raises ``ValueError``.

    >>> _total_calls("SELECT total(x) FILTER (WHERE y), total(z), 'total(DISTINCT a)' FROM t")
    "SELECT coalesce(system.main.fsum(_hooklab_real(x)) FILTER (WHERE y), 0.0), total(z), ..."
    >>> _total_calls("SELECT total(DISTINCT x) FROM t GROUP BY y")
    'SELECT _hooklab_total_list(list(DISTINCT x)) FROM t GROUP BY y'
    """
    code = _NOT_CODE.sub(lambda m: " " * len(m[0]), query)  # (same places as in query)
    out, at = [], 0
    for call in _TOTAL_CALL.finditer(code):
        opening = call.end() - 1
        close = _closing(code, opening)
        if call.start() < at or close < 0:
            continue  # (inside a call rewritten already, or unclosed: DuckDB says so)
        end = close + 1
        clause = _FILTER_CLAUSE.match(code, end)
        filtered = clause is not None and _closing(code, clause.end() - 1) > 0
        if filtered:
            end = _closing(code, clause.end() - 1) + 1
        args = code[opening + 1:close]
        listed = bool(re.match(r"\s*distinct\b", args, re.I) or
                      re.search(r"\border\s+by\b", args, re.I))
        if not (filtered or listed):
            continue
        window = _OVER_CLAUSE.match(code, end)
        if window is not None and code[window.end() - 1] != "(":
            end = window.end()  # (OVER a named window)
        elif window is not None and _closing(code, window.end() - 1) > 0:
            end = _closing(code, window.end() - 1) + 1
        if window is not None and listed:  # (SQLite: "DISTINCT is not supported for window
            # functions")
            raise ValueError(
                "lab.sql takes no total(DISTINCT ...) OVER (...) or total(... ORDER BY ...) "
                "OVER (...), on a Parquet dataset as on SQLite: write total(DISTINCT ...) in a "
                "query of its own (GROUP BY what the window's PARTITION BY names) and join it, "
                "or total(...) OVER (...) without DISTINCT")
        inner, tail = query[opening + 1:close], query[close + 1:end]
        out += [query[at:call.start()],
                f"_hooklab_total_list(list({inner}){tail})" if listed else
                f"coalesce(system.main.fsum(_hooklab_real({inner})){tail}, 0.0)"]
        at = end
    return "".join(out) + query[at:]


#: DuckDB 1.x's words when it will not compare VARIANT values of different types
_MIXED_KINDS = re.compile(r"Can't compare values of type|Invalid type for BETWEEN")


def _mixed_kinds_error(version: str, exc: BaseException) -> TypeError | None:
    """The error ``lab.sql`` on a Parquet dataset gives for DuckDB error ``exc`` when
    DuckDB ``version`` (< 2) refused to compare ``json_extract`` values of different kinds
    (text with a number, a number with text); None for any other error.

    ``json_extract``'s macros give a VARIANT; DuckDB 2 orders VARIANTs of different types as
    SQLite orders its values, DuckDB 1.x raises "Can't compare values of type VARCHAR (7) and
    type INTEGER (100)" (Python 3.10 gets duckdb 1.x: DuckDB 2 has no 3.10 wheels).

    >>> _mixed_kinds_error("1.5.6", Exception("Can't compare values of type VARCHAR (7) and "
    ...                                      "type INTEGER (100)")).args[0][:52]
    'lab.sql on a Parquet dataset: duckdb 1.5.6 cannot co'
    >>> _mixed_kinds_error("2.0.1", Exception("Can't compare values of type ...")) is None
    True
    """
    major = version.split(".", 1)[0]
    if not (major.isdigit() and int(major) < 2) or not _MIXED_KINDS.search(str(exc)):
        return None
    return TypeError(
        f"lab.sql on a Parquet dataset: duckdb {version} cannot compare json_extract values of "
        "different kinds (text with a number: some rows hold the other kind); duckdb >= 2 "
        "(Python >= 3.11) compares them as SQLite does. Here, cast the value to the kind you "
        "compare with: json_type(payload, '$.n') IN ('integer', 'real') AND "
        "TRY_CAST(json_extract(payload, '$.n') AS DOUBLE) > 100, or json_type(payload, '$.n') "
        "= 'text' AND CAST(json_extract(payload, '$.n') AS VARCHAR) = '7' "
        f"(DuckDB said: {str(exc).splitlines()[0][:200]})")


#: DuckDB's words when a VARIANT (a ``json_extract`` value) does not fit the type it is read as
_VARIANT_CAST = re.compile(r"Can't convert VARIANT\((\w+)\) value '(.*)' to '(\w+)'", re.S)


def _variant_cast_error(exc: BaseException) -> ArithmeticError | TypeError | None:
    """The error ``lab.sql`` on a Parquet dataset gives for DuckDB's ConversionException
    ``exc`` when a ``json_extract`` value met ``sum()``, ``avg()`` or arithmetic and did not
    fit (None for any other error): DuckDB reads such a value as a whole number of the other
    side's type (BIGINT in ``sum()`` and ``avg()``, INTEGER in ``+ 1``), where SQLite reads an
    integer past 64 bits as a float and text as a number. ``OverflowError`` for a number, ``TypeError`` for
    text, each saying what to write instead.

    >>> str(_variant_cast_error(Exception("Conversion Error: Can't convert VARIANT(DECIMAL) "
    ...     "value '1180591620717411303424' to 'BIGINT'")))[:80]
    'lab.sql on a Parquet dataset: the json_extract value 1180591620717411303424 does'
    >>> _variant_cast_error(Exception("Could not convert string 'x' to INT32")) is None
    True
    """
    m = _VARIANT_CAST.search(str(exc))
    if m is None:
        return None
    kind, value, target = m[1], m[2], m[3]
    shown = value if len(value) <= 40 else value[:37] + "..."
    if kind == "VARCHAR":
        return TypeError(
            f"lab.sql on a Parquet dataset: the json_extract value {shown!r} is text, which "
            f"DuckDB does not read as a number in sum(), avg() or arithmetic (SQLite reads text as "
            "its leading number, or 0): write TRY_CAST(json_extract(payload, '$.field') AS "
            "DOUBLE) (NULL for text), total(json_extract(...)) for a float sum, or keep to "
            "numbers with json_type(payload, '$.field') IN ('integer', 'real')")
    return OverflowError(
        f"lab.sql on a Parquet dataset: the json_extract value {shown} does not fit {target}, "
        "the type DuckDB reads a json_extract value as in sum(), avg() and arithmetic "
        "(BIGINT in sum() and avg(), INTEGER beside a small integer such as + 1), where SQLite "
        "takes any number (an integer past 64 bits as a float): write CAST(json_extract(payload, '$.field') AS "
        "DOUBLE) there, or total(json_extract(...)) for a float sum")


#: what in a DuckDB query is not code: string literals, quoted names, comments
_NOT_CODE = re.compile(r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|--[^\n]*|/\*.*?(?:\*/|$)|\$\$.*?(?:\$\$|$)", re.S)


def _exact_real(value: Any) -> Any:
    """A query parameter for DuckDB: a float as the exact number ``json_extract``'s macros
    make of a JSON REAL (its value when whole, else its shortest digits), so ``= ?`` with
    19.99 finds the 19.99 in a body as on SQLite (a DOUBLE would compare after every JSON
    number: DuckDB's VARIANT compares floating numbers apart from exact ones); other values,
    and floats a DECIMAL cannot hold, as they are (DuckDB gives DECIMAL columns back as floats).
    A bool is the integer SQLite binds it as (``json_extract`` gives a JSON ``true`` as 1 on
    both engines: a BOOLEAN equalled none of them).

    >>> _exact_real(19.99), _exact_real(1e20), _exact_real(5), _exact_real(1e300)
    (Decimal('19.99'), Decimal('100000000000000000000'), 5, 1e+300)
    >>> _exact_real(True)
    1
    """
    from decimal import Decimal

    if type(value) is bool:
        return int(value)
    if type(value) is not float or not (value == 0 or 1e-20 <= abs(value) < 1e38):
        return value
    return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))


def _code_of(query: str) -> str:
    """``query`` without its string literals, quoted names and comments."""
    return _NOT_CODE.sub(" ", query)


def _typed_times(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``received_at`` column of ISO text (and NULLs: ``NaT``) as
    ``datetime64[ns, UTC]``, also when no row matched (an empty result's column was ``object``:
    ``.dt`` on it raised the day a query matched nothing). Another value there (``SELECT 1 AS
    received_at``) leaves the column as the engine gave it."""
    import pandas as pd

    if "received_at" in df.columns and isinstance(df["received_at"], pd.Series):
        col = df["received_at"]
        if col.map(lambda v: v is None or v != v or isinstance(v, str)).all():  # (NaN: NULL)
            df["received_at"] = pd.to_datetime(col.astype(object), utc=True,
                                               format="ISO8601").astype("datetime64[ns, UTC]")
    return df


def _sqlite_json(text: Any) -> Any:
    """A JSON value of DuckDB's as SQLite's ``json_extract`` gives it (text stays text)."""
    if not isinstance(text, str):
        return None if text is None or text != text else text
    if text[:1] in ("{", "["):  # an object or array: its JSON text, compact as SQLite's
        return text  # (not parsed: a body nested 1,000 deep raised RecursionError)
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return text
    return int(value) if isinstance(value, bool) else value
