"""Captures as a Parquet dataset: the file layout, and a read-only store over such a dataset.

``lab.export(path, fmt="parquet")`` (:mod:`hooklab.export.parquet`) writes a dataset that
DuckDB, pyarrow, polars, Dask and Spark read as they are::

    captures/
      day=2026-01-01/provider=stripe/part-<source>-<first id>-<last id>-0.parquet
      day=2026-01-01/provider=unknown/...      (no provider detected: "unknown" in the files)

Hive partitions by day (UTC) and provider; one row per capture with the DataFrame's columns
(``received_at`` as microseconds, UTC; categorical columns as strings), the exact ``body``
(binary), and ``url``, ``query``/``headers`` (JSON text), ``verify_reason`` and
``trailers_at`` (where the trailer fields that followed a chunked body start in ``headers``;
null when none came) so that every capture comes back whole. A file of an older hooklab
lacks the later columns (``handshake``, ``trailers_at``): they read as null. Files are only ever added, named by the exporting database (a
random ``source``) and the id range, so several labs can export into one dataset.

``hooklab.open(path)`` of such a dataset gives a lab whose store is a :class:`ParquetStore`:
``dataframe``, ``captures``, ``query``, ``count``, ``search`` and the bulk ``columns`` read it
in place, without importing it into SQLite.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from ..capture import ESCAPED_KEY_RE, Capture, trailers_start
from ..filters import FIELD_KEYS, NO_PROVIDER, matches_text, provider_wanted, search_words, validate
from ..providers import provider_refusal
from . import _segments as S
from ._arrow import arrow_pool
from ._parquet_values import check_headers, check_values
from ._sql import other_bin

__all__ = ["NO_PROVIDER", "PARQUET_COLUMNS", "ParquetStore", "is_parquet_dataset"]

#: the columns of every file (besides the ``day`` and ``provider`` partitions)
PARQUET_COLUMNS = (
    "id", "received_at", "kind", "bin", "method", "path", "event_type", "delivery_id",
    "content_type", "size", "status", "verified", "duplicate", "handshake", "remote_addr", "forward_status",
    "forward_latency_ms", "forward_error", "url", "query", "headers", "verify_reason", "body",
    "trailers_at",  # (last: added after the others, it ends the files that have it)
)  # fmt: skip
# NO_PROVIDER ("unknown"): the provider partition of captures whose provider was not detected
# (a real value rather than Hive's null partition, so every engine reads the column even when
# all are unknown); the provider filter's word for them too


def file_schema() -> Any:
    """The Arrow schema of the files' columns (partition columns excluded)."""
    import pyarrow as pa

    s, i64 = pa.string(), pa.int64()
    types = {
        "id": i64, "received_at": pa.timestamp("us", tz="UTC"), "size": i64, "status": i64,
        "verified": pa.bool_(), "duplicate": pa.bool_(), "forward_status": i64,
        "forward_latency_ms": pa.float64(), "body": pa.binary(), "trailers_at": i64,
    }  # fmt: skip
    return pa.schema([pa.field(c, types.get(c, s)) for c in PARQUET_COLUMNS])


def partitioning() -> Any:
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([("day", pa.string()), ("provider", pa.string())]), flavor="hive")


def is_parquet_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a Parquet file or a folder holding some (at any depth)."""
    p = os.fspath(path)
    if os.path.isfile(p):
        return p.endswith(".parquet")
    return os.path.isdir(p) and next(_walk_parquet(p), None) is not None


#: the columns every capture export has had (later ones may be missing from older files)
_CORE = frozenset({"id", "received_at", "method", "path", "headers", "body"})


def _parquet_files(path: str) -> list[str]:
    """The ``.parquet`` files of a dataset folder (any depth; names starting with ``.`` or
    ``_`` left out, as Arrow, Spark and Dask leave them out: an export's unfinished files),
    sorted; other files (a README) are no part of it. ``[path]`` for a file."""
    return sorted(_walk_parquet(path)) if os.path.isdir(path) else [path]


def _walk_parquet(folder: str) -> Iterator[str]:
    """The dataset's ``.parquet`` files under ``folder``, as they are found (the one rule of
    :func:`is_parquet_dataset` and :func:`_parquet_files`)."""
    for where, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for n in names:
            if n.endswith(".parquet") and not n.startswith((".", "_")):
                yield os.path.join(where, n)


def _check_files(files: Sequence[str], path: str) -> None:
    """``ValueError`` naming the first of ``files`` that is not a capture export's (its
    columns are not :data:`PARQUET_COLUMNS`, of their types): a folder that holds other
    Parquet files too would otherwise be read as captures with made-up values."""
    import pyarrow.parquet as pq

    want = file_schema()
    for f in files:
        try:
            got = pq.read_schema(f)
        except Exception as exc:  # noqa: BLE001 - unreadable: said as such
            raise ValueError(f"{f!r} in {path!r} cannot be read as Parquet ({exc}): an export "
                             "stopped part-way? Remove the file, then open the folder (or "
                             "export into it) again") from None
        # (an export of an older hooklab lacks some columns, e.g. "handshake": read as empty)
        missing = [c.name for c in want
                   if (got.get_field_index(c.name) < 0 and c.name in _CORE)
                   or (got.get_field_index(c.name) >= 0 and not got.field(c.name).type.equals(c.type))]
        if missing:
            raise ValueError(
                f"{f!r} in {path!r} is not a hooklab capture export (its columns lack or differ "
                f"in {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); open the "
                "folder lab.export(..., fmt='parquet') wrote, or move the other files out")


#: a folder of the partitions: the key (``day``, ``provider``) and its value
_PARTITION = re.compile(r"(day|provider)=(.*)")


def _partition_base(path: str, files: Sequence[str]) -> str | None:
    """The folder whose files' paths below it name their partitions: ``path`` (a folder), or
    the export's folder above it where ``path`` is one of its partition folders
    (``captures/day=.../provider=stripe``: its captures are stripe's, as DuckDB reads the
    names) or a file in one; ``None`` for a file in no partition folder. Only keys the
    folders below do not name are read from above (a folder of the user's named
    ``provider=x`` that holds a whole export is no partition of it).

    >>> import os; p = os.path.join("ds", "day=2026-01-01", "provider=stripe")
    >>> _partition_base(p, [os.path.join(p, "part-a-1-2-0.parquet")])
    'ds'
    >>> _partition_base("ds", [os.path.join("ds", "day=2026-01-01", "provider=x", "f.parquet")])
    'ds'
    >>> f = os.path.join(p, "part-a-1-2-0.parquet"); _partition_base(f, [f]), _partition_base("f.parquet", ["f.parquet"])
    ('ds', None)
    """
    is_dir = list(files) != [path]  # (_parquet_files: [path] for a file)
    folder = path if is_dir else os.path.dirname(path)
    below = {m.group(1) for f in (files if is_dir else ())
             for part in os.path.relpath(os.path.dirname(f), folder).split(os.sep)
             if (m := _PARTITION.fullmatch(part))}
    head, base = folder.rstrip(os.sep), None
    while head:  # (up over the partition folders it is in)
        parent, name = os.path.split(head)
        m = _PARTITION.fullmatch(name)
        if m is None or m.group(1) in below:
            break
        below.add(m.group(1))
        head, base = parent, parent or os.curdir
    if base is None:  # (in no partition folder: as it is)
        return path if is_dir else None
    return base


_PART = re.compile(r"part-([0-9a-z]+)-\d+-\d+-\d+\.parquet")
#: a capture's latest forwarding outcome, as each row holds it
_FORWARD_COLUMNS = ("forward_status", "forward_latency_ms", "forward_error")


def _source_of(file: str, base: str) -> str:
    """The exporting database's name in ``file``'s name (``part-<source>-<ids>-<n>``), or
    the file's path under ``base`` when its name does not say (a renamed file)."""
    m = _PART.fullmatch(os.path.basename(file))
    if m:
        return m.group(1)
    return os.path.relpath(file, base) if os.path.isdir(base) else os.path.basename(file)


def _outcome_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """``[the latest forwarding outcome]`` a capture's row holds, or ``[]``."""
    if row.get("forward_status") is None and row.get("forward_error") is None:
        return []
    return [{"capture_id": row.get("id"), "at": None, "target": None,
             "status": row.get("forward_status"), "latency_ms": row.get("forward_latency_ms"),
             "error": row.get("forward_error")}]


class ParquetStore:
    """A read-only capture store over a Parquet dataset written by ``lab.export(fmt="parquet")``.

    >>> lab.export("exports/captures", fmt="parquet")
    1
    >>> store = ParquetStore("exports/captures")
    >>> store.count(provider="stripe"), store.columns(body=True).num_rows
    (1, 1)

    Ids are those of the exporting databases: a dataset made by several labs can hold the
    same id more than once (``get`` returns the first).
    """

    readonly = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import pyarrow.dataset as ds

        self.path = os.fspath(path)
        if not is_parquet_dataset(self.path):
            raise FileNotFoundError(f"no Parquet dataset at {self.path!r}")
        import pyarrow as pa

        files = _parquet_files(self.path)
        _check_files(files, self.path)
        self._files = files  # (a cut or foreign .parquet file: said by name)
        #: the exporting databases' names, from the files' names (part-<source>-<ids>-<n>)
        self.sources = frozenset(m.group(1) for m in map(_PART.fullmatch, map(os.path.basename, files)) if m)
        #: whether an id may name more than one capture here: the files of several databases,
        #: or a file whose name does not say which database wrote it
        self.ids_repeat = len(self.sources) > 1 or (len(files) > 1 and any(
            _PART.fullmatch(os.path.basename(f)) is None for f in files))
        # the export's schema, not the first file's: a file of an older hooklab that lacks a
        # later column ("handshake") reads it as empty
        full = pa.schema([*file_schema(), *partitioning().schema])
        #: the folder the partitions are read from: the dataset's, or the export's above it
        #: where the dataset is one of its day= or provider= folders (or a file in one), whose
        #: values its path holds (as DuckDB reads them for lab.sql)
        self._base = _partition_base(self.path, files)
        self._ds = ds.dataset(files if self._base is not None else self.path,
                              format="parquet", partitioning=partitioning(), schema=full,
                              partition_base_dir=self._base)
        # (its values too: a shared folder is as untrusted as an imported file)
        check_values(self._ds, self.path)
        self._closed = False
        self._sources_ds: dict[str, Any] | None = None  # (see _by_source)
        self._row_groups: list[tuple[Any, float, float, int]] | None = None  # (see _pieces)

    # -- the read API of CaptureStore -------------------------------------------------------
    def _expr(self, filters: dict[str, Any]) -> Any:
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        expr = None

        def both(e: Any) -> None:
            nonlocal expr
            expr = e if expr is None else expr & e

        for key, value in filters.items():
            if key in FIELD_KEYS:
                wanted = value if isinstance(value, list) else [value]
                if key == "provider":  # ("unknown": none detected, as the files say it, or a
                    # null: a file of no provider= folder, Hive's null partition)
                    names, none = provider_wanted(value)
                    if none:
                        named = ds.field("provider").isin(names) if names else None
                        unknown = ((ds.field("provider") == NO_PROVIDER)
                                   | ds.field("provider").is_null())
                        both(unknown if named is None else named | unknown)
                        continue
                if key == "method":  # (stored as sent, matched in any case)
                    both(pc.ascii_upper(ds.field("method")).isin(wanted))
                else:
                    both(ds.field(key).isin(wanted))
            elif key == "verified":  # (null: not checked, neither)
                both(ds.field("verified") == value)
            elif key == "since" and isinstance(value, datetime):
                both(ds.field("received_at") > _ts(value))
            elif key == "since":
                both(ds.field("id") > value)
            elif key == "until" and isinstance(value, datetime):
                both(ds.field("received_at") <= _ts(value))
            elif key == "until":
                both(ds.field("id") <= value)
            elif key == "search":  # a cheap superset first: every word, anywhere (a
                # long word's first letters: its pattern grows with it, and Arrow refused
                # one of 40,000 letters, "pattern too large", where SQLite answered)
                for word in search_words(value)[:8]:
                    both(_contains(word[:_PREFILTER_LETTERS]))
        return expr

    def _table(self, filters: dict[str, Any], columns: Sequence[str] | None = None,
               ids: tuple[int, int] | None = None, *, pieces: Sequence[Any] | None = None,
               where: Any = None, with_file: bool = False) -> Any:
        """Matching rows (``columns`` plus what the search check needs), oldest first; only
        those with an id in ``ids`` (first, last) if given, of the row groups ``pieces``
        (:meth:`_pieces`; every file's when ``None``) and matching ``where`` too; with
        ``with_file``, the file each row is of (``__filename``)."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        filters = validate(filters, provider_check=self.provider_check)
        need = list(columns) if columns is not None else None
        search = filters.get("search")
        if need is not None and search:
            need = list(dict.fromkeys([*need, "path", "query", "headers", "body",
                                       *(["trailers_at"] if "trailers_at" in self._ds.schema.names
                                         else [])]))
        if with_file:
            need = [*(need if need is not None else self._ds.schema.names), "__filename"]
        pool = arrow_pool()
        expr = self._expr(filters)
        if ids is not None:
            span = (ds.field("id") >= ids[0]) & (ds.field("id") <= ids[1])
            expr = span if expr is None else expr & span
        if where is not None:
            expr = where if expr is None else expr & where
        source = self._ds if pieces is None else self._of(pieces)
        table = source.to_table(columns=need, filter=expr, memory_pool=pool)
        if "provider" in table.column_names:
            import pyarrow.compute as pc

            col = table.column("provider")
            known = pc.if_else(pc.equal(col, NO_PROVIDER), pa.scalar(None, col.type), col)
            table = table.set_column(table.column_names.index("provider"), "provider", known)
        if table.num_rows and "id" in table.column_names:  # oldest first (files come by partition)
            import pyarrow.compute as pc

            ids = table.column("id").to_numpy()
            # (an id repeated, of several labs: by time too, as a page of query() orders it)
            if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
                keys = [("id", "ascending")]  # as the database had them (several labs: interleaved)
                if "received_at" in table.column_names:
                    keys.append(("received_at", "ascending"))
                order = pc.sort_indices(table, sort_keys=keys, memory_pool=pool)
                table = pc.take(table, order, memory_pool=pool)
        if search and table.num_rows:
            # (trailers_at too: the headers' check reads the trailer fields apart)
            keep = [
                matches_text(_capture(row), search)
                for row in self._rows(table.select([c for c in ("path", "query", "headers", "body",
                                                                "trailers_at")
                                                    if c in table.column_names]))
            ]
            table = table.filter(pa.array(keep, pa.bool_()))
        return table

    def _rows(self, table: Any) -> list[dict[str, Any]]:
        """The rows of ``table`` to make captures of (:func:`_capture`), their headers checked
        first as an import checks them (a ``ValueError`` names the file and row)."""
        check_headers(table, self._ds, self.path)
        return table.to_pylist()

    def count(self, **filters: Any) -> int:
        filters = validate(filters, provider_check=self.provider_check)
        if "search" in filters:
            return self._table(filters, ["id"]).num_rows
        return self._ds.count_rows(filter=self._expr(filters))

    def query(
        self, *, limit: int | None = None, offset: int = 0, newest_first: bool = False, **filters: Any
    ) -> list[Capture]:
        """Matching captures, oldest (or newest) first, ``limit`` of them from ``offset``.

        A page costs what its rows cost, not the dataset: the row groups are visited in the
        order of their id statistics (the newest first for ``newest_first``), the ids and
        times alone read until no row group left can hold a row of the page, then the page's
        rows read whole (``lab.captures[-1]`` reads one row group of a million captures).

        >>> [c.path for c in store.query(limit=1, newest_first=True, provider="stripe")]
        ['/stripe']
        """
        if limit is None or int(limit) < 0 or int(offset) < 0:  # (every row, or a slice's
            rows = self._rows(self._table(filters))  # negative ends: as a list slices)
            if newest_first:
                rows.reverse()
            end = None if limit is None else offset + int(limit)
            return [_capture(r) for r in rows[offset:end]]
        offset, end = int(offset), int(offset) + int(limit)
        if end <= offset:
            return []
        filters = validate(filters, provider_check=self.provider_check)
        return self._page(filters, self._first_keys(filters, end, newest_first)[offset:])

    def _pieces(self) -> list[tuple[Any, float, float, int]]:
        """The dataset's row groups in its order, each ``(a fragment of it alone, least id,
        greatest id, rows)`` (``-inf``, ``inf`` where its file keeps no statistics), read from the
        files' footers once (the files are those the store opened with)."""
        if self._row_groups is None:
            out = []
            for fragment in self._ds.get_fragments():
                meta = fragment.metadata
                at = meta.schema.names.index("id")
                for i in range(meta.num_row_groups):
                    stats = meta.row_group(i).column(at).statistics
                    known = stats is not None and stats.has_min_max
                    out.append((fragment.subset(row_group_ids=[i]),
                                stats.min if known else -math.inf,
                                stats.max if known else math.inf,
                                meta.row_group(i).num_rows))
            self._row_groups = out
        return self._row_groups

    def _of(self, pieces: Sequence[Any]) -> Any:
        """A dataset of the row groups ``pieces`` (fragments of :meth:`_pieces`)."""
        import pyarrow.dataset as ds

        return ds.FileSystemDataset(list(pieces), self._ds.schema, self._ds.format)

    def _holding(self, lo: int, hi: int) -> list[Any]:
        """The row groups whose ids may lie in ``lo``..``hi``, in the dataset's order."""
        return [f for f, first, last, _rows in self._pieces() if first <= hi and last >= lo]

    def _first_keys(self, filters: dict[str, Any], n: int, newest_first: bool) -> Any:
        """The first ``n`` matching rows' keys (a table: ``id``, ``received_us``, ``file``:
        its place in the dataset's files), in the order of ``query``: by id, then time, then
        file, oldest first (newest first: the reverse).

        Row groups are read in the order of their least id (of their greatest, newest first):
        while fewer than ``n`` rows are found, as many as may hold the rest (and at least as
        many rows as were read: a filter few rows match costs few reads); then one at a time,
        those that may hold an id before the ``n``-th one's. Only ``id`` and ``received_at``
        are read (and what a search checks)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        pieces = self._pieces()
        if newest_first:
            order = sorted(range(len(pieces)), key=lambda k: -pieces[k][2])
        else:
            order = sorted(range(len(pieces)), key=lambda k: pieces[k][1])
        files = pa.array(self._files_read())
        direction = "descending" if newest_first else "ascending"
        sort = [("id", direction), ("received_us", direction), ("file", direction)]
        found = pa.table({"id": pa.array([], pa.int64()), "received_us": pa.array([], pa.int64()),
                          "file": pa.array([], pa.int32())})
        at = read = 0
        while at < len(order):
            group: list[Any] = []
            rows = 0
            if found.num_rows >= n:  # no row of a row group past the n-th id could come first
                bound = found.column("id")[n - 1].as_py()
                _piece, first, last, _rows = pieces[order[at]]
                if (last < bound) if newest_first else (first > bound):
                    break
                group.append(_piece)
                at += 1
            else:
                while at < len(order) and (not group or rows < max(n - found.num_rows, read)):
                    piece = pieces[order[at]]
                    group.append(piece[0])
                    rows += piece[3]
                    at += 1
            read += rows
            table = self._table(filters, ["id", "received_at"], pieces=group, with_file=True)
            keys = pa.table({
                "id": table.column("id"),
                "received_us": table.column("received_at").cast(pa.int64()),
                "file": pc.index_in(table.column("__filename"), value_set=files),
            })
            found = pa.concat_tables([found, keys])
            found = found.take(pc.sort_indices(found, sort_keys=sort)).slice(0, n)
        return found

    def _files_read(self) -> list[str]:
        """The dataset's files as Arrow names them (``__filename``), in its order."""
        return self._ds.files if os.path.isdir(self.path) else [self.path]

    def _page(self, filters: dict[str, Any], keys: Any) -> list[Capture]:
        """The captures of ``keys`` (:meth:`_first_keys`), in their order: read whole from
        the row groups that may hold their ids alone."""
        import collections

        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        if not keys.num_rows:
            return []
        ids = keys.column("id").to_pylist()
        wanted = pa.array(sorted(set(ids)), pa.int64())
        lo, hi = wanted[0].as_py(), wanted[-1].as_py()
        table = self._table(filters, ids=(lo, hi), pieces=self._holding(lo, hi),
                            where=ds.field("id").isin(wanted), with_file=True)
        files = pa.array(self._files_read())
        where = zip(table.column("id").to_pylist(),
                    table.column("received_at").cast(pa.int64()).to_pylist(),
                    pc.index_in(table.column("__filename"), value_set=files).to_pylist(),
                    strict=True)
        rows: dict[tuple[Any, ...], collections.deque[int]] = collections.defaultdict(collections.deque)
        for k, key in enumerate(where):
            rows[key].append(k)
        picked = [rows[key].popleft() for key in zip(
            ids, keys.column("received_us").to_pylist(), keys.column("file").to_pylist(),
            strict=True) if rows.get(key)]
        page = table.drop_columns(["__filename"]).take(pa.array(picked, pa.int64()))
        return [_capture(r) for r in self._rows(page)]

    def iter_captures(self, *, chunk: int = 1_000, **filters: Any) -> Iterator[Capture]:
        """Captures matching ``filters``, oldest first, read ``chunk`` ids at a time (what the
        JSON Lines and HAR exports read), so every body is never held at once.

        >>> [c.path for c in store.iter_captures(provider="stripe")]
        ['/stripe']
        """
        for c, _outcomes in self.iter_with_forwards(chunk=chunk, **filters):
            yield c

    def iter_with_forwards(self, *, chunk: int = 1_000, **filters: Any
                           ) -> Iterator[tuple[Capture, list[dict[str, Any]]]]:
        """``(capture, [its latest forwarding outcome] or [])`` as :meth:`iter_captures`
        gives the captures: each outcome read from the capture's own row, where a lookup by
        id (:meth:`forwards`) cannot tell apart the captures of several labs that share it.

        >>> lab.export("exports/captures", fmt="parquet")
        1
        >>> [(c.id, outcomes) for c, outcomes in ParquetStore("exports/captures").iter_with_forwards()]
        [(1, [])]
        """
        import numpy as np

        filters = validate(filters, provider_check=self.provider_check)
        chunk = max(1, int(chunk))
        ids = np.unique(self._table(filters, ["id"]).column("id").to_numpy())
        for i in range(0, len(ids), chunk):
            part = ids[i : i + chunk]
            table = self._table(filters, ids=(int(part[0]), int(part[-1])))
            for r in self._rows(table):
                yield _capture(r), _outcome_of(r)

    @staticmethod
    def shown(capture: Capture | None) -> Capture | None:
        """``capture`` as views, wait messages and exports show it: as written (a dataset
        holds no lab's secrets to hide; :meth:`CaptureStore.shown` is the lab's)."""
        return capture

    @staticmethod
    def shown_text(text: str) -> str:
        """``text`` as views show it: as written (see :meth:`shown`)."""
        return text

    @staticmethod
    def shown_forwards(forwards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Forwarding outcomes as views and exports show them: as written (see :meth:`shown`;
        :meth:`CaptureStore.shown_forwards` is the lab's)."""
        return forwards

    def get(self, capture_id: int) -> Capture | None:
        """The capture of id ``capture_id`` (None if there is none). In a folder of several
        labs' exports an id may name one capture of each: then ``ValueError`` says so (which
        one was meant cannot be told; ``lab.diff(1, 2)`` picked one of each id at random)."""
        cid = int(capture_id)  # (the row groups' id statistics skip the rest: no file opened)
        pieces = self._holding(cid, cid)
        rows = self._rows(self._table({}, ids=(cid, cid), pieces=pieces)) if pieces else []
        if len(rows) > 1:
            bins = ", ".join(sorted({str(r.get("bin")) for r in rows}))
            raise ValueError(
                f"capture id {cid} names {len(rows)} captures in {self.path!r} (bins: {bins}): "
                f"it holds the exports of {len(self.sources)} databases, whose ids repeat. "
                "Pass the Capture itself (from lab.query(bin=...) or lab.captures), or open "
                "one database's files")
        return _capture(rows[0]) if rows else None

    def export_source(self) -> str:
        """This dataset's name in the file names of an export of it: made from its folder,
        the database that wrote it and its first capture, the same in every process (so
        exporting it again adds nothing it added before). Not the database's own name: a
        copy may hold part of its captures, and its progress would skip the rest of the
        database's. A folder of several databases' exports is refused: their ids repeat,
        and which capture an id names cannot be told."""
        import hashlib

        if len(self.sources) > 1:
            raise ValueError(
                f"{self.path!r} holds the exports of {len(self.sources)} databases, whose ids "
                "repeat: a Parquet export of it cannot tell their captures apart. Export from "
                "each database, or copy the folder's files")

        table = self._table({}, ["id", "received_at"])
        first = None
        if table.num_rows:
            first = (table.column("id")[0].as_py(), str(table.column("received_at")[0].as_py()))
        seed = f"{os.path.realpath(self.path)}|{sorted(self.sources)}|{first}".encode()
        return "pq" + hashlib.sha256(seed).hexdigest()[:8]

    def extra_columns(self, ids: Any) -> dict[str, list[Any]]:
        """``url``, ``query``, ``headers`` (JSON text, as stored), ``verify_reason``,
        ``handshake``, ``trailers_at`` of the captures ``ids`` (``CaptureStore.extra_columns``:
        an export of an opened dataset read them one capture at a time, a scan of every file
        each)."""
        wanted = [int(i) for i in ids]
        names = ("url", "query", "headers", "verify_reason", "handshake", "trailers_at")
        if not wanted:
            return {n: [] for n in names}
        import collections

        have = set(self._ds.schema.names)
        table = self._table({}, ["id", "received_at", *(n for n in names if n in have)],
                            ids=(min(wanted), max(wanted)))
        cols = {n: table.column(n).to_pylist() if n in have else [None] * table.num_rows
                for n in names}
        # rows of one id in the order columns() gives them (id, then time: several labs'
        # exports in one folder repeat ids), taken in turn
        at: dict[int, collections.deque[int]] = collections.defaultdict(collections.deque)
        for k, i in enumerate(table.column("id").to_pylist()):
            at[i].append(k)
        blank = {"url": "", "query": "{}", "headers": "[]", "verify_reason": None, "handshake": None,
                 "trailers_at": None}
        rows = [at[i].popleft() if at.get(i) else None for i in wanted]
        return {n: [blank[n] if k is None else cols[n][k] for k in rows] for n in names}

    def columns(self, *, body: bool = False, segments: bool = True, **filters: Any) -> Any:
        """Matching captures in the shape of ``CaptureStore.columns`` (oldest first)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        want = ["id", "received_at", "size", "status", "verified", "duplicate", "headers", "kind",
                "bin", "method", "provider", "event_type", "content_type", "path", "delivery_id",
                "remote_addr", "handshake", *_FORWARD_COLUMNS,
                *(["trailers_at"] if "trailers_at" in self._ds.schema.names else [])]  # fmt: skip
        table = self._table(filters, [*want, "body"] if body else want)
        pool = arrow_pool()
        verified = table.column("verified")
        out = {
            "id": table.column("id"),
            "received_us": table.column("received_at").cast(pa.int64()),
            "size": table.column("size"),
            "status": table.column("status"),
            "verified": pc.if_else(pc.is_null(verified), -1, pc.cast(verified, pa.int8())).cast(pa.int8()),
            "duplicate": pc.cast(table.column("duplicate"), pa.int8()),
            "encoded": _encoded(table),
        }
        # each row's own Content-Encoding and handshake note (the frame takes these rather
        # than looking them up by id: in a folder of several labs' exports lab B's gzip
        # capture 1 was read with lab A's capture 1's headers, and its JSON lost)
        out["content_encoding"] = _row_encodings(table, out["encoded"])
        out["handshake"] = pc.cast(table.column("handshake"), pa.large_string(), memory_pool=pool)
        for name in ("kind", "bin", "method", "provider", "event_type", "content_type", "path",
                     "delivery_id", "remote_addr"):  # fmt: skip
            text = pc.cast(table.column(name), pa.large_string(), memory_pool=pool)
            out[name] = pc.dictionary_encode(text, memory_pool=pool)
        if body:
            out["body"] = pc.cast(table.column("body"), pa.large_binary(), memory_pool=pool)
        # each row's own forwarding outcome (the frame takes these rather than joining
        # forwards() by id: in a folder of several labs' exports lab A's outcome of its
        # capture 1 showed on lab B's capture 1 too)
        for name in _FORWARD_COLUMNS:
            out[name] = table.column(name)
        return pa.table(out)

    def forwards(self, capture_id: int | None = None, *,
                 ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """The latest forwarding outcome of each capture that has one (what was exported):
        all, of one capture, or of the captures ``ids`` (an export's page of them). Each
        says the ``source`` of its capture, the exporting database's name in its file's name
        (``part-<source>-...``; the file's own path where the name does not say): in a folder
        of several labs' exports, ``capture_id`` 1 may be one capture of each.

        >>> lab.export("exports/captures", fmt="parquet")
        1
        >>> ParquetStore("exports/captures").forwards()       # (none of its captures was forwarded)
        []
        """
        import pyarrow.dataset as ds

        # only the rows that have one are read (a whole dataset's rows were 0.6 s per million)
        expr = ds.field("forward_status").is_valid() | ds.field("forward_error").is_valid()
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            if not wanted:
                return []
            # (the span lets the files' id statistics skip files; isin alone reads them all)
            expr = (expr & (ds.field("id") >= wanted[0]) & (ds.field("id") <= wanted[-1])
                    & ds.field("id").isin(wanted))
        elif capture_id is not None:
            expr = expr & (ds.field("id") == capture_id)
        columns = ["id", "received_at", *_FORWARD_COLUMNS]
        out = []
        for source, files in self._by_source().items():
            table = files.to_table(columns=columns, filter=expr)
            out += [(r["id"], r["received_at"], {
                "capture_id": r["id"], "at": None, "target": None,
                "status": r["forward_status"], "latency_ms": r["forward_latency_ms"],
                "error": r["forward_error"], "source": source,
            }) for r in table.to_pylist()]  # fmt: skip
        out.sort(key=lambda x: (x[0], x[1], x[2]["source"]))  # (oldest first, as the store lists them)
        return [f for _i, _at, f in out]

    def _by_source(self) -> dict[str, Any]:
        """``{source: a dataset of its files}`` (made once): the exporting databases' files
        apart, each read as the whole dataset is (in parallel, files skipped by their id
        statistics), so that what is read says which database it is of."""
        if self._sources_ds is None:
            import pyarrow.dataset as ds

            files = self._ds.files if os.path.isdir(self.path) else [self.path]
            groups: dict[str, list[str]] = {}
            for f in files:
                groups.setdefault(_source_of(f, self.path), []).append(f)
            if len(groups) == 1:
                self._sources_ds = {next(iter(groups)): self._ds}
            else:
                self._sources_ds = {
                    source: ds.dataset(group, format="parquet", partitioning=partitioning(),
                                       schema=self._ds.schema, partition_base_dir=self._base)
                    for source, group in groups.items()}
        return self._sources_ds

    def handshakes(self) -> dict[int, str]:
        """``{capture id: handshake answered}`` of the captures that were handshakes."""
        import pyarrow.dataset as ds

        table = self._ds.to_table(columns=["id", "handshake"], filter=ds.field("handshake").is_valid())
        return dict(zip(table.column("id").to_pylist(), table.column("handshake").to_pylist(), strict=True))

    def provider_check(self, name: str) -> str | None:
        """As :meth:`hooklab.store.CaptureStore.provider_check`, of these files' captures."""
        import pyarrow.dataset as ds

        return provider_refusal(name, lambda p: p != NO_PROVIDER and self._ds.count_rows(
            filter=ds.field("provider") == p) > 0)

    def distinct(self, column: str) -> list[str]:
        import pyarrow.compute as pc

        if column not in FIELD_KEYS:
            raise ValueError(column)
        values = pc.unique(self._ds.to_table(columns=[column]).column(column)).to_pylist()
        drop = {None, NO_PROVIDER} if column == "provider" else {None}
        return sorted(v for v in values if v not in drop)

    # -- what exploration (schema, sql) reads: the dataset through DuckDB, in place ------------
    _SQLISH = ("id", "received_at", "kind", "method", "path", "bin", "query", "headers", "body",
               "remote_addr", "url", "status", "provider", "event_type", "delivery_id", "verified",
               "verify_reason", "duplicate", "content_type", "handshake", "forward_status",
               "forward_latency_ms", "forward_error")  # fmt: skip

    def _sqlish(self, filters: dict[str, Any]) -> Any:
        """Matching rows with the columns of the SQLite ``captures`` table (``received_us``)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        trail = "trailers_at" in self._ds.schema.names
        t = self._table(filters, [*self._SQLISH, *(["trailers_at"] if trail else [])])
        if not trail:  # (files of an older hooklab: no capture of them has trailers)
            t = t.append_column("trailers_at", pa.nulls(t.num_rows, pa.int64()))
        t = t.append_column("received_us", t.column("received_at").cast(pa.int64()))
        verified = t.column("verified")
        t = t.set_column(t.column_names.index("verified"), "verified", pc.cast(verified, pa.int8()))
        return t.set_column(
            t.column_names.index("duplicate"), "duplicate", pc.cast(t.column("duplicate"), pa.int8())
        )

    def _connect(self, table: Any) -> Any:
        from ._arrow import duckdb_module
        from ._search import register_duckdb

        duckdb = duckdb_module()

        con = duckdb.connect()
        con.register("captures", table)
        con.execute("CREATE MACRO likelihood(x, p) AS x")  # SQLite's planner hint
        register_duckdb(con)
        return con

    def iter_rows(self, columns: str, *, chunk: int = 32_768, **filters: Any) -> Any:
        """Rows ``(id, <columns>)`` (SQL over the ``captures`` table's columns), oldest first,
        ``chunk`` at a time, as ``CaptureStore.iter_rows`` gives them."""
        import re

        columns = re.sub(r"(?<![A-Za-z_])LIKE(?![A-Za-z_])", "ILIKE", columns)  # SQLite's LIKE ignores case
        con = self._connect(self._sqlish(filters))
        try:
            cur = con.execute(f"SELECT id, {columns} FROM captures ORDER BY id")
            while True:
                rows = cur.fetchmany(chunk)
                if not rows:
                    return
                yield rows
        finally:
            con.close()

    def read_connection(self) -> Any:
        """A DuckDB connection whose ``captures`` table has the SQLite store's columns (read-only
        work written for ``CaptureStore.read_connection``: counts, ``where_clause`` filters)."""
        import contextlib

        @contextlib.contextmanager
        def connection() -> Any:
            con = self._connect(self._sqlish({}))
            try:
                yield con
            finally:
                con.close()

        return connection()

    def duckdb(self) -> Any:
        """A DuckDB connection with a ``captures`` view over the dataset (``payload``: the body
        as text), for ``lab.sql`` over the files in place (:func:`hooklab.explore.run_duckdb`).

        The connection reads the dataset's own files and nothing else: no other file, no
        extension download, no setting changed afterwards (``enable_external_access`` off
        with the dataset as its only allowed place, configuration locked). The files are
        those the store found when it opened, as for every other read (open the folder again
        to see a later export); times are UTC whatever the machine's zone.
        """
        from ._arrow import duckdb_module

        duckdb = duckdb_module()
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        try:
            here = os.path.realpath(self.path)
            # the files this store opened with, as its other reads see them (a glob would
            # take an export that landed since: lab.sql counting 5 where dataframe() said 3)
            files = ([os.path.join(here, os.path.relpath(f, self.path)) for f in self._files]
                     if os.path.isdir(here) else [here])
            _register_payload(con)
            for macro in _MACROS:
                con.execute(macro)
            # (files of an older hooklab have no trailers_at column: none has trailers)
            trail = "trailers_at" if "trailers_at" in self._ds.schema.names else "NULL::BIGINT"
            con.execute(_VIEW.replace("{files}", "[" + ", ".join(map(_literal, files)) + "]")
                        .replace("{trailers_at}", trail))
            # times as UTC, as SQLite's are: strftime of a TIMESTAMPTZ writes the session's
            # zone, which DuckDB takes from the machine (UTC+14 moved a capture a day on)
            con.execute("SET TimeZone = 'UTC'")
            # no spill folder (DuckDB would allow its default, ./.tmp, to every query), and
            # half the memory it would take by itself: a query too big for that fails with
            # DuckDB's OutOfMemoryException instead of taking the kernel's machine
            con.execute("SET temp_directory = ''")
            # NULL is the smallest value to SQLite: first in ORDER BY, last in ORDER BY ... DESC
            con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
            con.execute(f"SET memory_limit = '{_memory_limit()}'")
            if os.path.isdir(here):
                con.execute("SET allowed_directories = [" + _literal(here + os.sep) + "]")
            else:
                con.execute("SET allowed_paths = [" + _literal(here) + "]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except duckdb.Error as exc:
            con.close()
            if "allowed_" in str(exc) or "lock_configuration" in str(exc):
                raise RuntimeError(f"SQL over a Parquet dataset needs duckdb >= 1.3 ({exc})") from None
            raise
        except BaseException:
            con.close()
            raise
        return con

    @property
    def last_id(self) -> int:
        import pyarrow.compute as pc

        pieces = self._pieces()
        if all(last != math.inf for _f, _first, last, _rows in pieces):  # (the footers say)
            return max((int(last) for _f, _first, last, _rows in pieces), default=0)
        ids = self._ds.to_table(columns=["id"]).column("id")
        return int(pc.max(ids).as_py() or 0) if len(ids) else 0

    # -- what a read-only store does with writes and events ---------------------------------
    def subscribe(self, callback: Callable[..., Any], on_clear: Any = None, on_forward: Any = None,
                  on_delete: Any = None, on_status: Any = None) -> Callable[[], None]:
        return lambda: None

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        return bool(predicate())

    def flush(self, timeout: float = 30.0) -> None:
        return None

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        from .store import StoreError

        raise StoreError(f"{self.path!r} is a Parquet dataset: read-only")

    add = submit = add_sync = add_many = clear = record_forward = _refuse

    def close(self) -> None:
        self._closed = True

    def __repr__(self) -> str:
        return f"<ParquetStore {self.path!r}>"


#: what ``_segments.ENCODED`` looks for in a row's headers (a name: a comma follows it)
_ENCODED_NAME = S.ENCODED_NAME.decode()
_TRANSFER_NAME = S.TRANSFER_NAME.decode()


def _encoded(table: Any) -> Any:
    """The ``encoded`` column of ``columns()``: whether a row's header section names a
    ``Content-Encoding`` (``_segments.ENCODED``, as the SQLite store reads it: a name, not a
    value, and none of the trailer fields), or a ``Transfer-Encoding`` naming more than
    ``chunked``. One substring match over the column; the few rows that match and have
    trailers (``trailers_at``), or name a ``Transfer-Encoding``, have their header section read."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    headers = table.column("headers")
    found = pc.fill_null(pc.match_substring(headers, _ENCODED_NAME, ignore_case=True), False)
    # (a Transfer-Encoding, read where it names more than chunked, as rows with trailers)
    check = pc.fill_null(pc.match_substring(headers, _TRANSFER_NAME, ignore_case=True), False)
    if "trailers_at" in table.column_names and table.num_rows:
        check = pc.or_(check, pc.and_(found, pc.is_valid(table.column("trailers_at"))))
    at = np.flatnonzero(check.to_numpy(zero_copy_only=False)).tolist() if table.num_rows else []
    if at:
        flags = found.to_numpy(zero_copy_only=False).astype(np.int8)
        texts = headers.take(at).to_pylist()
        trailers = (table.column("trailers_at").take(at).to_pylist()
                    if "trailers_at" in table.column_names else [None] * len(at))
        for i, text, t in zip(at, texts, trailers, strict=True):
            flags[i] = S.encoded_flag(text or "", t)
        return pa.chunked_array([pa.array(flags, pa.int8())])
    return pc.cast(found, pa.int8())


def _row_encodings(table: Any, encoded: Any) -> Any:
    """The ``content_encoding`` column of ``columns()``: the header section's
    ``Content-Encoding`` of each row ``encoded`` flags (``""`` where its header section names
    none after all), null for the others; read from the row's own ``headers``, a few rows."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    at = np.flatnonzero(encoded.to_numpy()) if n else np.empty(0, np.int64)
    if not len(at):  # (no Python object per row)
        return pa.nulls(n, pa.large_string())
    headers = table.column("headers").take(at).to_pylist()
    trailers = (table.column("trailers_at").take(at).to_pylist()
                if "trailers_at" in table.column_names else [None] * len(at))
    found = pa.array([S.section_encoding(text, t) or "" for text, t in zip(headers, trailers, strict=True)],
                     pa.large_string())
    where = np.full(n, -1, np.int64)
    where[at] = np.arange(len(at))
    return found.take(pa.array(where, mask=where < 0))


#: the columns of hooklab's SQL view (hooklab.explore.sql), over the files
_VIEW = r"""CREATE VIEW captures AS SELECT id,
    strftime(received_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS received_at, kind, bin, method, path,
    NULLIF(provider, 'unknown') AS provider, event_type, delivery_id, content_type, size,
    status, CAST(verified AS INTEGER) AS verified, CAST(duplicate AS INTEGER) AS duplicate,
    handshake, remote_addr, forward_status, forward_latency_ms, forward_error,
    CASE WHEN NOT {encoded}
              AND json_valid(try(decode(body)))
              AND NOT regexp_matches(try(decode(body)),
                  '(?:^|[,:\[])\s*-?(?:[nN][aA]|[iI][nN])|,\s*[\]}]|^\x{FEFF}|\x00|{escaped_key}')
              AND (octet_length(body) < 2050
                   OR strlen(try(decode(body)))
                      - strlen(replace(replace(try(decode(body)), '[', ''), '{', '')) <= 1024
                   OR NOT hooklab_too_deep(body))
         THEN try(decode(body))
         WHEN octet_length(body) > 0
              AND ({encoded} OR json_valid(try(decode(body)))
                   OR try(decode(body)) IS NULL OR contains(try(decode(body)), chr(0))
                   OR starts_with(try(decode(body)), chr(65279))
                   OR regexp_matches(try(decode(body)), '\\u[dD][89a-fA-F]'))
         THEN hooklab_payload(body, headers, {trailers_at}) END AS payload,
    headers, query, {trailers_at} AS trailers_at, day
FROM read_parquet({files}, hive_partitioning = true, union_by_name = true)""".replace(
    "{escaped_key}", ESCAPED_KEY_RE).replace(
    # (the header section's Content-Encoding, a name: _segments.ENCODED; only a row with
    # trailers and a match, or a Transfer-Encoding naming more than chunked, has its header
    # section read, by hooklab_encoded)
    "{encoded}", """(CASE WHEN contains(lower(headers), '"content-encoding",')
                       AND {trailers_at} IS NULL THEN true
                  WHEN NOT contains(lower(headers), '"content-encoding",')
                       AND NOT regexp_matches(headers, '{transfer_coded}') THEN false
                  ELSE hooklab_encoded(headers, {trailers_at}) END)""").replace(
    "{transfer_coded}", S.TRANSFER_CODED)
"""(``payload``: UTF-8 bodies DuckDB's ``json_valid`` takes, but for what it takes and Python
does not (a trailing comma, ``nan``, ``inf``, any depth), are their own JSON text; the others
that may be JSON, and those with more than 1,024 brackets (which may nest deeper than
``Capture.json()`` reads), go through ``hooklab.capture.payload_text``, as on SQLite.)"""

#: ``json_extract`` and ``json_type`` as SQLite's (a DuckDB macro shadows its built-in of the
#: same name): ``json_extract`` gives a VARIANT that compares and sorts as SQLite's value
#: does (text for a JSON string, so ``= '5'`` matches the string "5" and not the number 5;
#: 1/0 for true/false; an object or array as its JSON text), ``json_type`` SQLite's names.
#: (DuckDB's ``sum``, ``avg`` and arithmetic read a VARIANT as a whole number of the other
#: side's type, BIGINT in ``sum``, INTEGER in ``+ 1``: a REAL needs ``CAST(... AS DOUBLE)``
#: there, as the README says, and a value that does not fit is refused:
#: ``hooklab.explore.run_duckdb`` says what to write.)
#:
#: Numbers: DuckDB compares a VARIANT's exact numbers (integers, decimals) with each other by
#: value, but its floating ones apart from them, after every exact one (a DOUBLE 1.0 was
#: greater than the integer 100, and 100.0 not equal to it). SQLite compares INTEGER and REAL
#: by value, so every JSON number becomes an exact one here: an integer in 64 bits stays a
#: BIGINT (exact, as SQLite keeps it); any other number is SQLite's REAL (integers past 64
#: bits too: SQLite's json_extract gives them as REAL), held as a DECIMAL whose value is that
#: double's (:func:`_real_macro`). ``hooklab.explore.run_duckdb`` gives DECIMALs back as
#: Python floats, as SQLite gives REAL.
def _real_macro() -> str:
    """``_hooklab_sqlite_real(x)``: JSON number ``x`` as SQLite's REAL, a VARIANT DECIMAL that
    compares with integers and decimals by value.

    A whole double (every one past 2**53 is) is its exact value; any other its shortest digits
    (``19.99``, equal to the literal ``19.99`` as on SQLite; no whole number lies between a
    non-whole double and its shortest digits, so no comparison with an integer changes). The
    scale follows the magnitude, two decades a branch, so the unscaled value stays under
    10**18: DuckDB compares a VARIANT DECIMAL past that about 100 times slower (5 s instead of
    50 ms for 100,000 rows). Past DECIMAL's 38 digits (1e38 and more, under 1e-20, infinities)
    a number stays a DOUBLE, which sorts after every exact number. The lambdas evaluate the
    double once (a macro repeats its argument in every branch).
    """
    branches = []
    for k in range(14, -22, -2):  # |d| in [10**k, 10**(k+2)): 17 digits, 16 - k decimals
        scale = 16 - k
        branches.append(f"WHEN v >= 1e{k} THEN d::VARCHAR::DECIMAL({18 if scale <= 18 else 38}, "
                        f"{scale})::VARIANT")
    return ("CREATE MACRO _hooklab_sqlite_real(x) AS list_transform([x::DOUBLE], lambda d: "
            "list_transform([abs(d)], lambda v: CASE WHEN NOT (v < 1e38) THEN d::VARIANT "
            "WHEN d = trunc(d) THEN CASE WHEN v < 1e18 THEN d::DECIMAL(18, 0)::VARIANT "
            "ELSE d::HUGEINT::DECIMAL(38, 0)::VARIANT END "
            + " ".join(branches) + " ELSE d::VARIANT END)[1])[1]")


#: SQLite's number of text (CAST(... AS REAL), what total() and avg() add up): its longest
#: leading decimal number after ASCII whitespace (" 4" 4, "4e2x" 400, "-.5" -0.5, "1e" 1),
#: 0.0 when none ("abc", "0x10": SQLite reads no hex, "inf", "\u00a07"), an infinity past
#: a double's range ("1e400"), as https://sqlite.org/lang_expr.html#castexpr says.
_LEADING_REAL_MACRO = (
    "CREATE MACRO _hooklab_leading_real(s) AS list_transform([regexp_extract(s, "
    r"'^[\t\n\v\f\r ]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)', 1)], "
    "lambda m: CASE WHEN m = '' THEN 0.0 ELSE TRY_CAST(m AS DOUBLE) END)[1]")


_MACROS = (
    _real_macro(),
    r"""CREATE MACRO _hooklab_sqlite_value(x) AS CASE system.main.json_type(x)
        WHEN 'VARCHAR' THEN (x ->> '$')::VARIANT
        WHEN 'BOOLEAN' THEN (CASE WHEN x::VARCHAR = 'true' THEN 1 ELSE 0 END)::VARIANT
        WHEN 'BIGINT' THEN x::BIGINT::VARIANT
        WHEN 'UBIGINT' THEN CASE WHEN x::UBIGINT <= 9223372036854775807 THEN x::BIGINT::VARIANT
                                 ELSE _hooklab_sqlite_real(x) END
        WHEN 'DOUBLE' THEN _hooklab_sqlite_real(x)
        WHEN 'OBJECT' THEN x::VARCHAR::VARIANT
        WHEN 'ARRAY' THEN x::VARCHAR::VARIANT END""",
    "CREATE MACRO json_extract(j, p) AS _hooklab_sqlite_value(system.main.json_extract(j, p))",
    # SQLite's total(): a float sum (0.0 of no row), whatever the values' size, of each value
    # as SQLite's CAST(... AS REAL) reads it (_hooklab_real). (FILTER and DISTINCT, which a
    # macro cannot take: hooklab.explore.sql rewrites those calls with these macros.)
    _LEADING_REAL_MACRO,
    # (typeof is the column's type, settled once: a column of numbers is only cast)
    r"""CREATE MACRO _hooklab_real(x) AS CASE
        WHEN typeof(x) IN ('VARCHAR', 'BLOB') THEN _hooklab_leading_real(x::VARCHAR)
        WHEN typeof(x) <> 'VARIANT' THEN TRY_CAST(x AS DOUBLE)
        WHEN variant_typeof(x::VARIANT) IN ('VARCHAR', 'BLOB')
            THEN _hooklab_leading_real(x::VARCHAR)
        ELSE TRY_CAST(x AS DOUBLE) END""",
    "CREATE MACRO total(x) AS coalesce(system.main.fsum(_hooklab_real(x)), 0.0)",
    "CREATE MACRO _hooklab_total_list(l) AS coalesce(list_aggregate(list_transform(l, "
    "lambda v: _hooklab_real(v)), 'fsum'), 0.0)",
    r"""CREATE MACRO _hooklab_sqlite_type(x, t) AS CASE t
        WHEN 'NULL' THEN 'null' WHEN 'BOOLEAN' THEN trim(x::VARCHAR)
        WHEN 'BIGINT' THEN 'integer' WHEN 'UBIGINT' THEN 'integer'
        WHEN 'DOUBLE' THEN CASE WHEN regexp_full_match(trim(x::VARCHAR), '-?[0-9]+')
                                THEN 'integer' ELSE 'real' END
        WHEN 'VARCHAR' THEN 'text' WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'object' END""",
    "CREATE MACRO json_type(j) AS _hooklab_sqlite_type(j, system.main.json_type(j)),"
    " (j, p) AS _hooklab_sqlite_type(system.main.json_extract(j, p), system.main.json_type(j, p))",
)


#: a ``\u`` escape of a surrogate (one of a pair, or lone) in JSON text
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _duckdb_json(text: str | None) -> str | None:
    r"""``payload`` JSON text as DuckDB takes it: DuckDB's JSON refuses a lone surrogate
    escape (``"\ud800"``: valid JSON, what ``JSON.stringify`` writes for a string cut inside an
    emoji), so such a string holds the six characters ``\ud800`` instead, as ``lab.sql`` on
    SQLite, ``schema()`` and ``diff()`` show it (the view gave such a body no payload at all).
    Only those strings are written again: numbers stay as sent (``1e400`` made the whole
    text be left as it was, which DuckDB refused, failing every query that read it), and so
    does a key written twice.

    >>> _duckdb_json('{"a": "x\\ud800", "b": "\\ud83d\\ude00", "n": 1e400}')
    '{"a": "x\\\\ud800", "b": "😀", "n": 1e400}'
    >>> _duckdb_json('{"a": 1}')
    '{"a": 1}'
    """
    if text is None or "\\u" not in text or not _SURROGATE_ESCAPE.search(text):
        return text

    def one(m: re.Match[str]) -> str:
        word = m.group()
        if not _SURROGATE_ESCAPE.search(word):
            return word
        out = json.dumps(json.loads(word), ensure_ascii=False)
        return _LONE_SURROGATE.sub(lambda c: f"\\\\u{ord(c.group()):04x}", out)

    try:
        return _JSON_STRING.sub(one, text)
    except ValueError:  # (not JSON: as it is, DuckDB's json_valid says so)
        return text


#: a JSON string in JSON text
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _register_payload(con: Any) -> None:
    """``hooklab_payload(body, headers, trailers_at)`` on DuckDB connection ``con``: the view's ``payload``
    of a body its SQL alone cannot settle (``hooklab.capture.payload_text``)."""
    from ..capture import payload_text
    from ..jsonread import json_too_deep
    from ._arrow import duckdb_module

    duckdb = duckdb_module()
    types = getattr(duckdb, "sqltypes", None) or duckdb.typing  # (renamed in DuckDB 2)
    def payload(body: bytes | None, headers: str | None, trailers_at: int | None) -> str | None:
        # (the header section's Content-Encoding: a trailer field's is none of the body's)
        return _duckdb_json(payload_text(body, headers if trailers_at is None else
                                         S.header_section_text(headers, trailers_at)))

    def encoded(headers: str | None, trailers_at: int | None) -> bool:
        return bool(S.encoded_flag(headers or "", trailers_at))

    con.create_function("hooklab_payload", payload, [types.BLOB, types.VARCHAR, types.BIGINT],
                        types.VARCHAR, null_handling="special", side_effects=False)
    con.create_function("hooklab_encoded", encoded, [types.VARCHAR, types.BIGINT],
                        types.BOOLEAN, null_handling="special", side_effects=False)
    # (a body of more than 1,024 brackets: its depth read in C-speed passes, not a parse)
    con.create_function("hooklab_too_deep", json_too_deep, [types.BLOB], types.BOOLEAN,
                        side_effects=False)


def _memory_limit() -> str:
    """DuckDB's memory limit for ``lab.sql``: 40 % of the machine's memory (DuckDB's own
    default is 80 %), at least 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1 << 30, int(total * 0.4)) >> 20}MB"


def _literal(text: str) -> str:
    """An SQL string literal (DuckDB cannot take a parameter in CREATE VIEW)."""
    return "'" + text.replace("'", "''") + "'"


def _ts(value: datetime) -> Any:
    import pyarrow as pa

    return pa.scalar(value.astimezone(timezone.utc), pa.timestamp("us", tz="UTC"))


#: the start of a body that may be UTF-16 or UTF-32 text (Arrow reads a binary column's
#: bytes as Latin-1: ``\xff`` is the byte 0xFF)
_WIDE_START = r"^(?:\xff\xfe|\xfe\xff|[\s\S]{0,3}\x00)"


_LEGACY_CHARSET = r"(?i)charset\s*=\s*[\"']?(?:[^u\"'\s]|u[^t]|ut[^f])"


#: letters of a search word the Arrow prefilter looks for (:func:`_contains`); the exact
#: check reads the rest
_PREFILTER_LETTERS = 64


def _contains(word: str) -> Any:
    """Rows that may hold ``word`` (a superset: the exact check follows). Bodies are binary
    (Arrow's regular expressions read them byte by byte), so a letter beyond ASCII is looked
    for as each of its cases' UTF-8 bytes; and where the word has such a letter, text that
    may hold it escaped (JSON's ``\\u00e8``, a form's or a path's ``%C3%A8``; ``query`` and
    ``headers`` are JSON text with such escapes), or in a declared charset that is no UTF,
    stays a candidate too. A body that may be
    UTF-16 or UTF-32 (a byte order mark, or a zero byte in its first four: see
    ``filters._text_of``) holds its words in other bytes: it stays a candidate."""
    import re

    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    def one(c: str) -> str:
        if c.isascii() and c.isalnum():  # (or escaped: a JSON string's \u0064, a form's %64)
            forms = dict.fromkeys((c.lower(), c.upper()))
            hexes = [h for f in forms for h in dict.fromkeys((f"{ord(f):02x}", f"{ord(f):02X}"))]
            escaped = "|".join([f"\\\\u00{h}" for h in hexes] + [f"%{h}" for h in hexes])
            return f"(?:[{''.join(forms)}]|{escaped})"
        if c.isascii():
            return re.escape(c)
        return "(?:" + "|".join(re.escape(v) for v in dict.fromkeys((c, c.lower(), c.upper()))) + ")"

    pattern = "".join(one(c) for c in word)
    found = [pc.match_substring_regex(ds.field(c), pattern) for c in ("path", "query", "headers", "body")]
    # a compressed body (or one with a transfer coding) may hide the word: it stays a candidate
    found.append(pc.match_substring(ds.field("headers"), "content-encoding", ignore_case=True))
    found.append(pc.match_substring_regex(ds.field("headers"), S.TRANSFER_CODED))
    found.append(pc.match_substring_regex(ds.field("body"), _WIDE_START))
    if not word.isascii():
        found += [pc.match_substring(ds.field(c), "\\u") for c in ("path", "query", "headers", "body")]
        found += [pc.match_substring(ds.field(c), "%") for c in ("path", "body")]
        # a body in a declared charset other than UTF (Latin-1 "garçon"): other bytes
        found.append(pc.match_substring_regex(ds.field("headers"), _LEGACY_CHARSET))
    out = found[0]
    for f in found[1:]:
        out = out | f
    return out


def _capture(r: dict[str, Any]) -> Capture:
    received = r.get("received_at")
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=timezone.utc)
    headers = [(k, v) for k, v in json.loads(r.get("headers") or "[]")]
    return Capture(
        id=int(r.get("id") or 0),
        received_at=received or datetime(1970, 1, 1, tzinfo=timezone.utc),
        kind=r.get("kind") or "http",
        method=r.get("method") or "GET",
        path=r.get("path") or "/",
        query=json.loads(r.get("query") or "{}"),
        headers=headers,
        body=bytes(r.get("body") or b""),
        remote_addr=r.get("remote_addr") or "",
        url=r.get("url") or "",
        status=int(r.get("status") or 200),
        provider=r.get("provider"),
        event_type=r.get("event_type"),
        delivery_id=r.get("delivery_id"),
        verified=r.get("verified"),
        verify_reason=r.get("verify_reason"),
        duplicate=bool(r.get("duplicate")),
        handshake=r.get("handshake"),
        stored_bin=other_bin(r.get("bin"), r.get("path") or "/"),
        # (kept where it names one of the capture's fields, as the SQLite store keeps it: a
        # shared folder may be crafted; a file of an older hooklab has none, null)
        trailers_at=trailers_start(r.get("trailers_at"), len(headers)),
    )
