"""The values of a Parquet dataset's rows, checked as an import checks a file's.

A shared Parquet folder is as untrusted as a HAR file: its schema being right
(``_check_files``) says nothing of its values. A time in the year 2500 made every frame fail
with pandas' ``OutOfBoundsDatetime``; headers that were not ``[name, value]`` pairs made
``captures`` fail with "too many values to unpack"; a method holding CRLF, a status of -5 or
a ``kind`` no filter selects were served as they were, and ``lab.export(fmt="jsonl")`` of
them wrote a file ``hooklab.load_jsonl`` refuses. The rules the imports apply
(:func:`~hooklab.capture.check_request_syntax`, :func:`~hooklab.capture.check_import`,
:func:`~hooklab.capture.check_header_limits`, :func:`~hooklab.capture.status_ok`,
:func:`~hooklab.capture.check_provider`) apply here, with a ``ValueError`` naming the file
and the row:

- :func:`check_values`, when the dataset is opened: every column but ``headers`` (and the
  body), of every row;
- :func:`check_headers`, where captures are made of rows (``captures``, ``get``, ``query``,
  ``search``, the JSON Lines and HAR exports): their ``headers``. The frame, ``count`` and
  SQL never parse them (the frame looks for ``content-encoding`` in the text), and checking
  them at open cost more than the rest together (their regular expression over 200,000 rows'
  headers, read once more: +55 % on ``hooklab.open(folder).dataframe()``).

>>> import pyarrow.dataset as ds
>>> lab.export("exports/captures", fmt="parquet")
1
>>> check_values(ds.dataset("exports/captures", partitioning="hive"), "exports/captures")

Why refuse the dataset rather than skip such rows with a warning: every way of reading it
must then agree (``count()`` reads the files' statistics, ``lab.sql`` reads the files
through DuckDB), an import refuses the same capture in a JSON Lines or HAR file, and a
dataset that silently lacks some captures answers questions wrongly. The error says which
file to remove.

Cost: the checks are vectorised (Arrow compute; the JSON columns are matched by RE2
patterns that every export's text fits), and only a row they cannot vouch for is checked
one by one in Python, with the rules' own words for the error.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from ..capture import (
    EARLIEST,
    KINDS,
    LATEST,
    MAX_FIELDS,
    TIME_RANGE,
    check_header_count,
    check_header_limits,
    check_import,
    check_provider,
    check_request_syntax,
    micros,
    status_ok,
)

__all__ = ["check_headers", "check_values"]

#: the columns :func:`check_values` reads (of a file of an older hooklab, a missing one is null)
COLUMNS = ("id", "received_at", "kind", "method", "path", "size", "status", "forward_status",
           "forward_latency_ms", "url", "query", "provider")
#: the text columns among them read as dictionaries (``provider`` is a folder name)
_WORDS = ("kind", "method", "path", "url", "query")
#: rows checked at a time (memory: their columns but ``headers`` and ``body``)
_BATCH = 65_536

_EARLIEST_US, _LATEST_US = micros(EARLIEST), micros(LATEST)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# RE2 patterns (Arrow's regular expressions) a row's text fits whenever the row is fine as
# it is written by hooklab (orjson's compact JSON, or json.dumps' ", " separators). Text
# they do not match is not wrong: that row is checked in Python.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: a character of a header value in JSON text: no control character but tab (escaped), no
#: DEL; \u escapes of characters past ASCII (not of surrogates: a pair is checked in Python)
_VALUE_CHAR = (r'(?:[^"\\\x00-\x1f\x7f]|\\[t"\\/]|\\u(?:00[89a-fA-F][0-9a-fA-F]'
               r"|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-cA-CeEfF][0-9a-fA-F]{3}))")
_PAIR = rf'\["{_TOKEN}", ?"{_VALUE_CHAR}*"\]'
_HEADERS = rf"^\[(?:{_PAIR}(?:, ?{_PAIR})*)?\]$"
#: headers' JSON text this short holds at most MAX_FIELDS pairs (``["a",""],`` is the
#: shortest one) of at most MAX_HEAD bytes; longer text is counted in Python
_SHORT_HEADERS = 9 * MAX_FIELDS
#: a JSON string of the query: any character (a decoded %0A is a line feed), no surrogate
_STRING = (r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-CeEfF][0-9a-fA-F]{3}'
           r'|[dD][0-7][0-9a-fA-F]{2}))*"')
_VALUES = rf"\[(?:{_STRING}(?:, ?{_STRING})*)?\]"
_QUERY = rf"^\{{(?:{_STRING}: ?{_VALUES}(?:, ?{_STRING}: ?{_VALUES})*)?\}}$"
_METHOD = rf"^{_TOKEN}$"
_PATH = r"^(?:/[^\x00-\x20\x7f?#]*|\*)$"  # (CONNECT's host:port: checked in Python)
_URL = r"^(?:(?i:https?)://[^\x00-\x1f\x7f]*)?$"  # (a relative one, ws(s): in Python)
_PROVIDER = r"^[a-z][a-z0-9_]{0,63}$"


def _refused(file: str, path: str, row: int, why: str) -> ValueError:
    return ValueError(f"{file!r} in {path!r}: row {row} (0-based) is not a capture hooklab "
                      f"could have stored, as an import would say ({why}): remove the file, "
                      "or open a folder without it")


def check_values(dataset: Any, path: str) -> None:
    """``ValueError`` naming the file and row (counted from 0, as Arrow counts) of the first
    row of ``dataset`` (a ``pyarrow.dataset`` of hooklab's layout) that an import of the same
    capture would refuse, its headers aside (:func:`check_headers`); ``path`` is the
    dataset's, for the message."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    have = set(dataset.schema.names)
    columns = [c for c in COLUMNS if c in have]
    # the text columns read as Parquet keeps them, a dictionary of the values a file holds
    # and an index per row: each value is checked once (an export's are few: "POST", "{}")
    # and no string is made of each row (the scan and checks took 45 % less time)
    words = [c for c in _WORDS if c in have]
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=words))
    schema = pa.schema([f.with_type(pa.dictionary(pa.int32(), f.type)) if f.name in words else f
                        for f in dataset.schema])
    fragments = [fmt.make_fragment(f.path, f.filesystem, partition_expression=f.partition_expression)
                 for f in dataset.get_fragments()]
    coded = ds.FileSystemDataset(fragments, schema, fmt)
    # every file at once, checked _BATCH rows at a time (a scan of each file, or a check of
    # each file's batch, cost 2 ms a file: a second for a folder of 500 small ones); a
    # problem's row in its file is then counted in that file alone
    for table in _gathered(coded.to_batches(columns=[*columns, "__filename"], batch_size=_BATCH)):
        found = _first_problem(table.drop_columns(["__filename"]))
        if found is None:
            continue
        file = table.column("__filename")[found[0]].as_py()
        for fragment in dataset.get_fragments():
            if fragment.path != file:
                continue
            row = 0  # (the file again, read by one thread: its batches in file order)
            scanner = ds.Scanner.from_fragment(fragment, schema=dataset.schema, columns=columns,
                                               batch_size=_BATCH, use_threads=False)
            for part in scanner.to_batches():
                again = _first_problem(part)
                if again is not None:
                    raise _refused(file, path, row + again[0], again[1])
                row += part.num_rows
        raise _refused(file, path, -1, found[1])  # (not found again: the file changed)


def _gathered(batches: Any) -> Any:
    """Tables of :data:`_BATCH` rows or so from ``batches`` (of any sizes), in order."""
    import pyarrow as pa

    held: list[Any] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        rows += batch.num_rows
        if rows >= _BATCH:  # (one chunk: each compute call costs as much again per chunk)
            yield pa.Table.from_batches(held).combine_chunks()
            held, rows = [], 0
    if held:
        yield pa.Table.from_batches(held).combine_chunks()


def _first_problem(batch: Any) -> tuple[int, str] | None:
    """``(row, what is wrong)`` of the first row of ``batch`` that is not fine, or ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = batch.schema.names

    def col(name: str) -> Any:
        return batch.column(names.index(name)) if name in names else None

    def fine_or_null(name: str, test: Any) -> Any:
        c = col(name)
        if c is None:
            return None
        if pa.types.is_dictionary(c.type):  # (each value tested once, then each row's)
            chunks = c.chunks if isinstance(c, pa.ChunkedArray) else [c]
            c = pa.chunked_array([pc.take(test(k.dictionary), k.indices) for k in chunks],
                                 pa.bool_())
        else:
            c = test(c)
        return pc.fill_null(c, True)

    def matches(pattern: str) -> Any:
        return lambda c: pc.match_substring_regex(c, pattern)

    def between(low: float, high: float) -> Any:
        return lambda c: pc.and_(pc.greater_equal(c, low), pc.less_equal(c, high))

    checks = [
        pc.is_valid(col("id")),
        pc.fill_null(between(_EARLIEST_US, _LATEST_US)(col("received_at").cast(pa.int64())), False),
        fine_or_null("kind", lambda c: pc.is_in(c, pa.array(KINDS))),
        fine_or_null("method", matches(_METHOD)),
        fine_or_null("path", matches(_PATH)),
        fine_or_null("size", lambda c: pc.greater_equal(c, 0)),
        fine_or_null("status", between(0, 999)),  # (a WebSocket close code: in Python)
        fine_or_null("forward_status", between(0, 999)),
        fine_or_null("forward_latency_ms",  # (NaN compares false: not fine)
                     lambda c: pc.and_(pc.greater_equal(c, 0), pc.less(c, float("inf")))),
        fine_or_null("url", matches(_URL)),
        fine_or_null("query", matches(_QUERY)),
        fine_or_null("provider", lambda c: pc.or_(pc.equal(c, "unknown"),
                                                  pc.match_substring_regex(c, _PROVIDER))),
    ]
    fine = None
    for check in checks:
        if check is not None:
            fine = check if fine is None else pc.and_(fine, check)
    if fine is None or pc.all(fine).as_py():
        return None
    suspects = pc.indices_nonzero(pc.invert(fine))
    rows = batch.take(suspects)
    if "received_at" in names:  # (as microseconds: a time past 9999 is no datetime)
        at = names.index("received_at")
        rows = rows.set_column(at, "received_at", rows.column(at).cast(pa.int64()))
    for at, row in zip(suspects.to_pylist(), rows.to_pylist(), strict=True):
        why = _problem(_check, row)
        if why is not None:
            return at, why
    return None


def _problem(check: Any, value: Any) -> str | None:
    """What ``check(value)`` raises (the rules' own words), or ``None`` when it passes."""
    try:
        check(value)
    except (ValueError, TypeError, OverflowError) as exc:
        return str(exc)
    return None


def _check(r: dict[str, Any]) -> None:
    """Raise what an import raises for a capture with the values of row ``r`` but its headers
    (``received_at`` in microseconds; read as :func:`hooklab.store.parquet._capture` reads
    them: a null method is GET, ...)."""
    if r.get("id") is None:
        raise ValueError("id is missing")
    us = r.get("received_at")
    if us is None:
        raise ValueError("received_at is missing")
    if not _EARLIEST_US <= us <= _LATEST_US:
        try:
            when = (_EPOCH + timedelta(microseconds=us)).isoformat()
        except OverflowError:
            when = f"{us:,} microseconds after 1970"
        raise ValueError(f"received_at {when} is {TIME_RANGE}")
    kind = r.get("kind") or "http"
    for key in ("status", "forward_status"):
        status = r.get(key)
        if status is not None and not status_ok(status, kind if key == "status" else "http"):
            raise ValueError(f"{key} {status!r} is not an HTTP status (nor a WebSocket close code)")
    size = r.get("size")
    if size is not None and size < 0:
        raise ValueError(f"size {size!r} is negative")
    latency = r.get("forward_latency_ms")
    if latency is not None and not 0 <= latency < float("inf"):
        raise ValueError(f"forward_latency_ms {latency!r} is not a duration")
    method, path = r.get("method") or "GET", r.get("path") or "/"
    # (the method as written, in the message; CONNECT's target is one in any case)
    check_request_syntax("CONNECT" if method.upper() == "CONNECT" else method, path, [])
    _query(r.get("query"))
    check_import(path, r.get("url") or "", _EPOCH + timedelta(microseconds=us), kind)
    provider = r.get("provider")
    if provider not in (None, "unknown"):
        check_provider(provider)


def check_headers(table: Any, dataset: Any, path: str) -> None:
    """``ValueError`` naming the file and row of the first row of ``table`` (rows of
    ``dataset``, about to become captures) whose ``headers`` an import would refuse: not
    JSON ``[name, value]`` string pairs, more or longer than the server takes (the header
    section and the trailer fields each, where the row's ``trailers_at`` says they start), a
    name that is no token, a control character in a value."""
    import pyarrow.compute as pc

    if "headers" not in table.column_names or not table.num_rows:
        return
    text = table.column("headers")
    fine = pc.fill_null(pc.and_(pc.less_equal(pc.binary_length(text), _SHORT_HEADERS),
                                pc.match_substring_regex(text, _HEADERS)), True)
    if pc.all(fine).as_py():
        return
    suspects = pc.indices_nonzero(pc.invert(fine))
    ids = (table.column("id").take(suspects).to_pylist() if "id" in table.column_names
           else [None] * len(suspects))
    ats = (table.column("trailers_at").take(suspects).to_pylist()
           if "trailers_at" in table.column_names else [None] * len(suspects))
    for cid, given, at in zip(ids, text.take(suspects).to_pylist(), ats, strict=True):
        why = _problem(functools.partial(_headers, trailers_at=at), given)
        if why is not None:
            where = _locate(dataset, cid, given)
            if where is None:  # (a file changed since it was read)
                raise ValueError(f"capture id {cid} in {path!r} is not a capture hooklab could "
                                 f"have stored, as an import would say ({why})")
            raise _refused(*where[:1], path, where[1], why)


def _headers(text: str, trailers_at: Any = None) -> None:
    """Raise what an import raises for a capture with these headers (JSON text), its trailer
    fields starting at ``trailers_at`` (as read back: one naming no field is none)."""
    given = _json_column(text, "headers")
    if type(given) is not list:
        raise ValueError("headers must be a list of [name, value] string pairs")
    check_header_count(len(given), trailers_at)  # (before a tuple is made of each)
    pairs = []
    for h in given:
        if type(h) is not list or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
            raise ValueError("headers must be [name, value] string pairs")
        _unicode(h[0] + h[1], f"header {h[0]!r}")
        pairs.append((h[0], h[1]))
    check_header_limits(pairs, trailers_at)
    check_request_syntax("GET", "/", pairs)


def _locate(dataset: Any, capture_id: int | None, headers: str) -> tuple[str, int] | None:
    """The file and row (0-based) of the row with id ``capture_id`` and these ``headers``
    (several labs' exports may repeat an id): the error's place, found once it is known."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    for fragment in dataset.get_fragments():
        row = 0
        scanner = ds.Scanner.from_fragment(fragment, schema=dataset.schema,
                                           columns=["id", "headers"], use_threads=False)
        for batch in scanner.to_batches():  # (in file order)
            hit = pc.equal(batch.column(1), headers)
            if capture_id is not None:
                hit = pc.and_(hit, pc.equal(batch.column(0), capture_id))
            found = pc.indices_nonzero(pc.fill_null(hit, False))
            if len(found):
                return fragment.path, row + found[0].as_py()
            row += batch.num_rows
    return None


def _query(text: str | None) -> None:
    """``ValueError`` unless the ``query`` column's JSON text is an object of lists of
    strings (``Capture.query``)."""
    if text is None:
        return
    given = _json_column(text, "query")
    if type(given) is not dict:
        raise ValueError("query must be an object")
    for k, vs in given.items():
        if type(vs) is not list or not all(type(v) is str for v in vs):
            raise ValueError(f"query {k!r} must be a list of strings")
        _unicode(k + "".join(vs), f"query {k!r}")


def _json_column(text: str, column: str) -> Any:
    """The JSON text of a row's ``column``, parsed; ``ValueError`` naming it when it is none."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{column} is not JSON ({exc})") from None


def _unicode(text: str, what: str) -> None:
    """``ValueError`` when ``text`` holds a lone surrogate (JSON's ``"\\ud800"``), which no
    export could write back."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{what} is not valid Unicode") from None
