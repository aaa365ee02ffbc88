"""Captures -> pandas DataFrame (pandas and pyarrow are imported only here, lazily).

>>> hooklab.send(lab.url_for("github"), provider="github", event="push").status
200
>>> df = captures_frame(lab.store)      # what lab.dataframe() returns
>>> df.groupby(["provider", "event_type"], observed=True).size()
provider  event_type
github    push                        1
stripe    payment_intent.succeeded    1
dtype: int64

The store hands over its captures as Arrow columns (``CaptureStore.columns``); they become
typed pandas columns without a Python object per value: ``received_at`` datetime64[ns, UTC],
categoricals for the few-valued columns, Arrow-backed strings. The ``json`` column holds each
payload, parsed when it is read (:class:`JsonArray`): the bodies are kept compressed, so a
million-row frame stays small, and ``df["json"][i]``, iteration, ``.apply`` and
``.astype(object)`` give the parsed objects as before. ``flatten=True`` parses all of them in
Arrow's JSON reader (multithreaded C++), into the ``payload.*`` columns that
``pandas.json_normalize`` would give.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .capture import decode_body
from .jsonread import MAX_TRANSFER_CODINGS, flat_name, json_text, loads_fast

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "COLUMNS",
    "FLAT_KIND",
    "FLAT_UNREADABLE",
    "JsonArray",
    "JsonDtype",
    "captures_frame",
    "flat_rows",
    "flatten_payloads",
    "frame_from_columns",
    "parse_payloads",
]

COLUMNS = (
    "id",
    "received_at",
    "kind",
    "bin",
    "method",
    "path",
    "provider",
    "event_type",
    "delivery_id",
    "content_type",
    "size",
    "status",
    "verified",
    "duplicate",
    "handshake",
    "remote_addr",
    "forward_status",
    "forward_latency_ms",
    "forward_error",
    "json",
)
_CATEGORICAL = ("kind", "bin", "method", "provider", "event_type", "content_type")
_STRINGS = ("path", "delivery_id", "remote_addr")
_MAX_NORMALIZE_DEPTH = 32


#: what the json column's parser raises for a body that is not JSON to ``Capture.json()``
_NOT_JSON_ERRORS = (ValueError, RecursionError)


#: ``encoded`` codes of a body once its header section's ``Content-Encoding`` is known
#: (:func:`_encoding_code`); 1 is the store's flag alone (a Content-Encoding, its value not
#: looked up): gzip or deflate guessed from the body's first bytes
_GZIP, _DEFLATE, _UNDECODABLE = 2, 3, 4
#: codes from here on: transfer codings (``Transfer-Encoding: gzip, chunked``, at most
#: :data:`_MAX_CHAIN` of gzip and deflate) before none, a gzip or a deflate Content-Encoding
#: (:func:`hooklab.jsonread.body_coding`); each code's coding is in :data:`_CHAIN_CODINGS`
_CHAIN_BASE, _MAX_CHAIN = 5, MAX_TRANSFER_CODINGS
_CHAINS = 2 ** (_MAX_CHAIN + 1) - 2  # (chains of 1 to _MAX_CHAIN codings of the two)


def _encoding_code(value: str | None) -> int:
    r"""The ``encoded`` code of a header section's ``Content-Encoding`` value, as
    :func:`hooklab.capture.decode_body` reads it: 0 for none, ``identity`` or an empty one
    (the body as is, parsed like any other), gzip, deflate, or one it cannot undo (``br``,
    ``x-custom``, a list such as ``gzip, identity``: no payload, as ``Capture.json()``);
    with transfer codings (:func:`hooklab.jsonread.body_coding`), a code of its own.

    >>> [_encoding_code(v) for v in (None, " Identity ", "", "x-gzip", "deflate", "br", "gzip, identity")]
    [0, 0, 0, 2, 3, 4, 4]
    >>> [_encoding_code(v) for v in ("\ngzip", "\nx-gzip", "gzip\ndeflate", "br\ngzip", "\ncompress")]
    [5, 5, 20, 4, 4]
    """
    if value is not None and "\n" in value:
        content, _, transfer = value.partition("\n")
        inner = _encoding_code(content)
        chain = transfer.split(", ")
        if inner == _UNDECODABLE or len(chain) > _MAX_CHAIN or any(
                c not in ("gzip", "x-gzip", "deflate") for c in chain):
            return _UNDECODABLE
        n = 0
        for c in chain:
            n = 2 * n + (c == "deflate")
        return _CHAIN_BASE + (0, -1, 1, 2)[inner] * _CHAINS + 2 ** len(chain) - 2 + n
    enc = (value or "").strip().lower()
    if enc in ("", "identity"):
        return 0
    if enc in ("gzip", "x-gzip"):
        return _GZIP
    return _DEFLATE if enc == "deflate" else _UNDECODABLE


#: the coding (as :func:`hooklab.jsonread.body_coding` writes it) of each transfer coding code
_CHAIN_CODINGS = {
    _encoding_code(v): v for v in (
        f"{content}\n{', '.join(chain)}" for content in ("", "gzip", "deflate")
        for k in range(1, _MAX_CHAIN + 1) for i in range(2 ** k)
        for chain in [["deflate" if i >> (k - 1 - j) & 1 else "gzip" for j in range(k)]])
}


def _store_encodings(store: Any) -> Callable[[list[int]], list[str | None]] | None:
    """For a SQLite store, whose ids are unique: the header section's ``Content-Encoding`` of
    captures (by id: ``""`` for one without, ``None`` for one not found), looked up for the
    few rows flagged as having one (:func:`hooklab.store.section_encodings`). A Parquet
    dataset's ``columns()`` give each row's own (``content_encoding``): ids repeat there."""
    from .store import section_encodings

    connection = getattr(store, "read_connection", None)
    if connection is None:
        return None

    def sqlite(ids: list[int]) -> list[str | None]:
        with connection() as db:
            found = section_encodings(db, ids)
        return [(found[i] or "") if i in found else None for i in ids]

    return sqlite


def _parse_one(body: bytes, enc: int, jsonish: bool) -> Any:
    """One payload, as :func:`parse_payloads` reads it (``enc``: 0, or a Content-Encoding:
    1 its value not known, else :func:`_encoding_code`'s code of it)."""
    if not body:
        return None
    loads, errors = loads_fast, _NOT_JSON_ERRORS
    if not enc:
        if body[:1] in b"{[" or jsonish or body.lstrip()[:1] in b"{[":
            try:
                return loads(body)
            except errors:
                return None
        return None
    if enc == _UNDECODABLE:  # (as Capture.json(): no payload from a body it cannot undo)
        return None
    try:  # Content-Encoding: parse the decoded view, as Capture.json() does (capped)
        body = bytes(body)
        if enc >= _CHAIN_BASE:  # (transfer codings, then the Content-Encoding)
            name = _CHAIN_CODINGS[enc]
        elif enc == 1:
            name = "gzip" if body[:2] == b"\x1f\x8b" else "deflate"
        else:
            name = "gzip" if enc == _GZIP else "deflate"
        raw = decode_body(body, name)
        return loads(raw)
    except (ValueError, *errors):
        return None


def parse_payloads(bodies: list[bytes], encoded: list[int], ctypes: list[str | None]) -> list[Any]:
    """Parsed JSON payloads (``None`` where a body is not JSON); gzip/deflate bodies decoded."""
    return [
        _parse_one(body, enc, bool(ct and "json" in ct))
        for body, enc, ct in zip(bodies, encoded, ctypes, strict=True)
    ]


def captures_frame(store: Any, *, flatten: bool = False, **filters: Any) -> pd.DataFrame:
    """One typed row per capture matching ``filters``; ``flatten=True`` adds ``payload.*``.

    ``store`` is anything with the store's read API (``columns``, ``forwards``): a
    :class:`~hooklab.store.CaptureStore` or a Parquet dataset opened with ``hooklab.open``.
    """
    return _frame(store, filters, flatten=flatten)


def _frame(
    store: Any, filters: dict[str, Any], *, flatten: bool, combined: bool = True
) -> pd.DataFrame:
    """``combined=False`` reads through SQL only (no column segments): the other path, for
    tests that both give the same frame. ``flatten`` makes a Python object of every item of
    every list and nested object in a list: the garbage collector is paused meanwhile (no
    cycles among them; its passes over them took most of the time of list-heavy payloads)."""
    if not flatten:
        return _frame_now(store, filters, flatten=False, combined=combined)
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        return _frame_now(store, filters, flatten=True, combined=combined)
    finally:
        if was:
            gc.enable()


def _frame_now(store: Any, filters: dict[str, Any], *, flatten: bool, combined: bool) -> pd.DataFrame:
    # only the bodies that may be JSON, as the store keeps them (compressed): the others are
    # None here, and reading them took memory of three times their bytes
    json_columns = getattr(store, "json_columns", None) if combined else None
    got = json_columns(**filters) if json_columns is not None else None
    if got is not None:
        table, packs = got
    elif combined:
        table, packs = store.columns(body=True, **filters), None
    else:
        table, packs = store.columns(body=True, segments=False, **filters), None
    return frame_from_columns(
        table, forwards=store.forwards, handshakes=getattr(store, "handshakes", None),
        flatten=flatten, packs=packs,
        encodings=None if "content_encoding" in table.column_names else _store_encodings(store),
        kept_in=store if (flatten and packs is not None and hasattr(store, "keep_summaries")) else None,
    )


def frame_from_columns(
    table: Any, *, forwards: Any = None, handshakes: Any = None, flatten: bool = False,
    packs: list[Any] | None = None, kept_in: Any = None,
    encodings: Callable[[list[int]], list[str | None]] | None = None,
) -> pd.DataFrame:
    """The DataFrame of an Arrow table in the shape ``CaptureStore.columns(body=True)`` gives.

    ``forwards()`` (optional) lists forwarding outcomes for the ``forward_*`` columns,
    ``handshakes()`` maps capture ids to the handshake answered (``handshake`` column).
    ``packs`` gives the bodies as ``CaptureStore.packed_columns`` does, instead of a ``body``
    column; with them, ``kept_in`` (the store) is where ``flatten=True`` finds the parsed
    payloads of column segments kept by an earlier call, and keeps those it parses
    (see :data:`FLAT_KIND`). ``encodings(ids)`` (optional) gives the header section's
    ``Content-Encoding`` of captures whose ``encoded`` flag is set, so that their bodies are
    read as ``Capture.json()`` reads them (``identity`` as is; one it cannot undo: none).
    A table with its rows' own ``content_encoding`` and ``handshake`` columns (a Parquet
    dataset's, whose ids repeat across labs) is read by row instead of by id.
    """
    import numpy as np
    import pandas as pd

    n = table.num_rows
    content_type = _categorical_of(table.column("content_type"))
    jsonish = _jsonish(content_type)
    encoded = _numpy(table.column("encoded"), np.int8)
    ids = _numpy(table.column("id"), np.int64)
    own = "content_encoding" in table.column_names
    if (own or encodings is not None) and encoded.any():  # (few rows: a lookup each)
        flagged = np.flatnonzero(encoded)
        values = (table.column("content_encoding").take(flagged).to_pylist() if own
                  else encodings(ids[flagged].tolist()))  # type: ignore[misc]
        encoded = encoded.copy()
        encoded[flagged] = [1 if v is None else _encoding_code(v) for v in values]
    bodies = table.column("body") if "body" in table.column_names else None
    kept = _Bodies.from_packs(packs, encoded, jsonish) if packs is not None else None
    # flatten=True: Arrow parses the bodies on other threads (without the GIL) while this one
    # builds the other columns
    early = None
    segments = None
    if flatten and n and kept is not None:
        segments = _KeptFlat(kept_in, ids, kept) if kept_in is not None else None
        early = _flatten_early(lambda stop: _flatten_blocks(kept, "payload.", segments, stop))
    elif flatten and n and bodies is not None:
        early = _flatten_early(lambda stop: _flatten_raw(bodies, encoded, jsonish, "payload.", stop))
    try:
        data: dict[str, Any] = {
            "id": pd.arrays.IntegerArray(ids, np.zeros(n, dtype=bool)),
            "received_at": _utc(_numpy(table.column("received_us"), np.int64)),
        }
        for name in ("kind", "bin", "method"):
            data[name] = _categorical_of(table.column(name))
        data["path"] = _strings(table.column("path"))
        for name in ("provider", "event_type"):
            data[name] = _categorical_of(table.column(name))
        data["delivery_id"] = _strings(table.column("delivery_id"))
        data["content_type"] = content_type
        data["size"] = pd.arrays.IntegerArray(_numpy(table.column("size"), np.int64), np.zeros(n, bool))
        data["status"] = pd.arrays.IntegerArray(
            _numpy(table.column("status"), np.int64), np.zeros(n, bool)
        )
        verified = _numpy(table.column("verified"), np.int8)
        data["verified"] = pd.arrays.BooleanArray(verified == 1, verified < 0)
        data["duplicate"] = _numpy(table.column("duplicate"), np.int8) != 0
        data["remote_addr"] = _strings(table.column("remote_addr"))
        df = pd.DataFrame(data)
        _add_forward_columns(df, ids, forwards, table)
        import pyarrow as pa

        if "handshake" in table.column_names:  # (each row's own: ids of several labs repeat)
            shake = table.column("handshake").cast(pa.large_string())
        else:
            shakes = handshakes() if (len(df) and handshakes is not None) else {}
            shake = pa.array([shakes.get(i) for i in ids.tolist()], pa.large_string()) if shakes else (
                pa.nulls(n, pa.large_string()))  # (no Python object per row when there are none)
        df.insert(df.columns.get_loc("duplicate") + 1, "handshake",
                  pd.array(shake, dtype=pd.StringDtype("pyarrow")))
        if kept is not None:
            payloads = _register()(kept, np.arange(kept.n, dtype=np.int64))
        else:
            payloads = _register()._from_bodies(bodies, encoded, jsonish)
        df["json"] = pd.Series(payloads, index=df.index)
        if flatten:
            flat = _flatten_result(early)
            if flat is None:  # (no rows; or types Arrow could not read in one go: the long way)
                codes = df["event_type"].cat.codes.to_numpy() if len(df) else None
                flat = _flatten_bodies(payloads, index=df.index, groups=codes, raw=bodies,
                                       refused=_refused_blocks(early, kept))
            flat.index = df.index
            flat = _without_null_objects(flat)  # (whichever way the bodies were read)
            df = pd.concat([df, _missing_as_none(_settled_ints(flat))], axis=1)
        return df
    except BaseException as exc:
        if early is not None and not isinstance(exc, Exception):  # interrupted (Ctrl-C): the
            early[2].set()  # flatten thread stops at its next step instead of going on alone
        raise  # (an error goes on: the segments it parses are kept, see _KeptFlat)
    finally:
        if segments is not None:  # the segments parsed now are packed and kept from here on,
            segments.released.set()  # not while the frame is made (0.5 s of CPU per million)


def _numpy(col: Any, dtype: Any) -> Any:
    import numpy as np

    if col.num_chunks == 1:
        return col.chunk(0).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    if col.num_chunks == 0:
        return np.empty(0, dtype)
    return np.concatenate([c.to_numpy(zero_copy_only=False) for c in col.chunks]).astype(
        dtype, copy=False
    )


def _utc(us: Any) -> Any:
    import pandas as pd

    return (
        pd.DatetimeIndex(us.astype("datetime64[us]")).as_unit("ns").tz_localize("UTC").array
    )


def _dictionary_parts(col: Any) -> list[tuple[list[Any], Any]]:
    """(dictionary values, codes with -1 for missing) of each chunk of a dictionary column."""
    import numpy as np
    import pyarrow as pa

    parts = []
    for chunk in col.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        codes = chunk.indices.to_numpy(zero_copy_only=False)
        if chunk.null_count:
            codes = np.where(chunk.is_null().to_numpy(zero_copy_only=False), -1, codes)
        parts.append((chunk.dictionary.to_pylist(), codes.astype(np.int64, copy=False)))
    return parts


def _categorical_of(col: Any) -> Any:
    """Like ``.astype("category")`` of the values: sorted categories of the values present,
    missing as NaN."""
    import numpy as np
    import pandas as pd

    parts = _dictionary_parts(col)
    every = sorted({v for values, _ in parts for v in values if v is not None})
    rank = {v: i for i, v in enumerate(every)}
    out = []
    for values, codes in parts:
        lut = np.array([rank.get(v, -1) for v in values] + [-1], dtype=np.int64)
        out.append(lut[codes])  # code -1 picks the trailing -1
    codes = np.concatenate(out) if out else np.empty(0, np.int64)
    used = np.bincount(codes + 1, minlength=len(every) + 1)[1:] > 0
    if not used.any():  # all missing (or no rows): exactly what astype gives
        return pd.Series([None] * len(codes), dtype=object).astype("category").array
    if not used.all():  # values only in rows filtered away: not categories
        keep = np.flatnonzero(used)
        remap = np.full(len(every) + 1, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        codes = remap[codes]  # -1 indexes the trailing -1
        every = [every[i] for i in keep.tolist()]
    return pd.Categorical.from_codes(codes, categories=pd.Index(every))


def _strings(col: Any) -> Any:
    """Arrow-backed pandas strings (``string`` dtype), decoded from the dictionary in C++."""
    import pandas as pd
    import pyarrow as pa

    plain = col.cast(pa.large_string()) if col.num_chunks else pa.chunked_array([], pa.large_string())
    return pd.array(plain, dtype=pd.StringDtype("pyarrow"))


def _jsonish(content_type: Any) -> Any:
    """Per row: the content type names JSON (a body then parses even if it is not ``{``/``[``)."""
    import numpy as np

    cats = content_type.categories
    lut = np.array([("json" in str(c)) for c in cats] + [False], dtype=bool)
    return lut[np.asarray(content_type.codes, dtype=np.int64)]


def _add_forward_columns(df: pd.DataFrame, ids: Any, forwards: Any, table: Any = None) -> None:
    """``forward_status``, ``forward_latency_ms``, ``forward_error``: the latest relay of each
    capture (``lab.forward``); all missing when nothing was forwarded. Taken from ``table``
    where its rows hold them (a Parquet dataset: ids of several labs' exports repeat there,
    and a lookup by id gave lab A's outcome of its capture 1 to lab B's capture 1 too)."""
    import numpy as np
    import pandas as pd

    own = table is not None and "forward_status" in table.column_names
    if own and (table.column("forward_status").null_count < len(df)
                or table.column("forward_error").null_count < len(df)):
        import pyarrow as pa

        def masked(name: str, kind: Any) -> tuple[Any, Any]:  # (values, mask): no object per row
            col = table.column(name).cast(kind)
            mask = np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
            return np.asarray(col.fill_null(0).to_numpy(zero_copy_only=False), kind.to_pandas_dtype()), mask

        df["forward_status"] = pd.arrays.IntegerArray(*masked("forward_status", pa.int64()))
        df["forward_latency_ms"] = pd.arrays.FloatingArray(*masked("forward_latency_ms", pa.float64()))
        df["forward_error"] = pd.array(table.column("forward_error").to_numpy(zero_copy_only=False),
                                       dtype="string")
        return
    latest = {} if own else (
        {f["capture_id"]: f for f in forwards()} if (len(df) and forwards) else {})
    if not latest:  # (from masks: two Series of pd.NA took ~50 ms per million rows)
        n = len(df)
        df["forward_status"] = pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
        df["forward_latency_ms"] = pd.arrays.FloatingArray(np.zeros(n), np.ones(n, bool))
        df["forward_error"] = pd.Series(pd.NA, index=df.index, dtype="string")
        return
    idl = ids.tolist()
    status = [latest[i]["status"] if i in latest else None for i in idl]
    latency = [latest[i]["latency_ms"] if i in latest else None for i in idl]
    error = [latest[i]["error"] if i in latest else None for i in idl]
    df["forward_status"] = pd.array(status, dtype="Int64")
    df["forward_latency_ms"] = pd.array(latency, dtype="Float64")
    df["forward_error"] = pd.array(error, dtype="string")


# -- the json column ---------------------------------------------------------------------------
_BLOCK = 4096  # bodies per compressed block


_CODEC = "lz4"  # fast both ways; JSON bodies shrink about 5 times
#: bytes of bodies that cannot be JSON in one block before they are dropped from the json column
_DROP_MIN = 1 << 20
#: first bytes a body the json column parses may start with (not encoded, no JSON type)
_MAY_START_JSON = tuple(b"{[ \t\r\n\x0b\x0c")


class _Bodies:
    """Bodies kept compressed (LZ4, a few thousand per block), read back one block at a time.

    Immutable once built; shared by every :class:`JsonArray` taken from the same frame.
    """

    def __init__(self) -> None:
        import threading

        import numpy as np

        self.blocks: list[Any] = []  # compressed pyarrow Buffers (or bytes)
        self.codecs: list[str] = []  # per block: "lz4", or "zlib" (kept as the store keeps it)
        self.raw_sizes: list[int] = []
        self.offsets: list[Any] = []  # per block: body offsets within the block (n+1)
        self.starts = np.zeros(1, np.int64)  # first body of each block, and the total at the end
        self.encoded = np.zeros(0, np.int8)
        self.jsonish = np.zeros(0, bool)
        self._na: Any = None
        self._lock = threading.Lock()
        self._cached: tuple[int, bytes] | None = None

    # pickling: the lock and the cache stay behind
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["blocks"] = [bytes(b) for b in self.blocks]
        state["_lock"] = None
        state["_cached"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import threading

        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def n(self) -> int:
        return int(self.starts[-1])

    @classmethod
    def build(cls, chunks: list[Any], encoded: Any, jsonish: Any, *, drop: bool = True) -> _Bodies:
        """From ``large_binary`` Arrow arrays (in order); ``drop``: empty the bodies that cannot
        be JSON (:meth:`_drop_unparsable`; not when ``chunks`` are only some of the rows that
        ``encoded`` and ``jsonish`` describe)."""
        import numpy as np
        import pyarrow as pa

        from .store import arrow_pool

        self = cls()
        codec = pa.Codec(_CODEC)
        arrow_mem = arrow_pool()
        parts = []
        for chunk in chunks:
            for at in range(0, len(chunk), _BLOCK):
                part = chunk.slice(at, _BLOCK)
                if len(part):
                    parts.append(part)

        def pack(part: Any) -> tuple[Any, int, Any]:
            m = len(part)
            offs = np.frombuffer(part.buffers()[1], np.int64, m + 1, part.offset * 8)
            lo, hi = int(offs[0]), int(offs[-1])
            data = part.buffers()[2]
            raw = data.slice(lo, hi - lo) if data is not None else pa.py_buffer(b"")
            return codec.compress(raw, memory_pool=arrow_mem), hi - lo, offs - lo

        if len(parts) > 8:  # the codec works without the GIL: use the cores
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=4) as pool:
                packed = list(pool.map(pack, parts))
        else:
            packed = [pack(p) for p in parts]
        starts = [0]
        for (blob, size, offs), part in zip(packed, parts, strict=True):
            self.blocks.append(blob)
            self.codecs.append(_CODEC)
            self.raw_sizes.append(size)
            self.offsets.append(offs)
            starts.append(starts[-1] + len(part))
        self.starts = np.array(starts, np.int64)
        self.encoded = np.asarray(encoded, np.int8)
        self.jsonish = np.asarray(jsonish, bool)
        if drop:
            self._drop_unparsable()
        return self

    def _drop_unparsable(self) -> None:
        """Empty the bodies that cannot be JSON (their value is ``None`` either way), in the
        blocks where they weigh: a megabyte-sized binary or text body, incompressible, was
        kept whole for a ``None`` (a long-running lab's frames of such bodies took gigabytes).

        Cannot be JSON, as :func:`_parse_one` reads: not encoded, a content type that does not
        name JSON, and a first byte that is neither ``{``, ``[`` nor white space. Only blocks
        where such candidates hold at least :data:`_DROP_MIN` bytes are decompressed to look
        (their offsets tell it without that)."""
        import numpy as np
        import pyarrow as pa

        for k in range(len(self.blocks)):
            first, last = int(self.starts[k]), int(self.starts[k + 1])
            offs = np.asarray(self.offsets[k], np.int64)
            lengths = np.diff(offs)
            cand = ~(self.jsonish[first:last] | (self.encoded[first:last] != 0)) & (lengths > 0)
            weight = int(lengths[cand].sum())
            if weight < _DROP_MIN:
                continue
            raw = np.frombuffer(self.raw_block(k), np.uint8)
            firsts = raw[offs[:-1][cand]]
            drop = np.zeros(len(lengths), bool)
            drop[np.flatnonzero(cand)[~np.isin(firsts, _MAY_START_JSON)]] = True
            if not drop.any():
                continue
            keep_len = np.where(drop, 0, lengths)
            new_offs = np.zeros(len(lengths) + 1, np.int64)
            np.cumsum(keep_len, out=new_offs[1:])
            kept = np.flatnonzero(~drop & (lengths > 0))
            data = b"".join(raw[offs[i] : offs[i + 1]].tobytes() for i in kept.tolist())
            self.blocks[k] = pa.Codec(_CODEC).compress(pa.py_buffer(data))
            self.codecs[k] = _CODEC
            self.raw_sizes[k] = len(data)
            self.offsets[k] = new_offs

    @classmethod
    def from_packs(cls, packs: list[Any], encoded: Any, jsonish: Any) -> _Bodies:
        """From the store's packed bodies (``CaptureStore.packed_columns``): zlib blocks are
        kept as they are (no decompressing and compressing again; but a block with bodies that
        cannot be JSON weighing in it is made again without them, LZ4), Arrow arrays packed."""
        import numpy as np

        # (the Arrow packs are some of the rows: bodies are dropped once all blocks are in
        # place, below, with each row's own flags -- review: the newest rows were judged by the
        # oldest rows' flags, and gzip JSON came out None)
        self = cls.build([p for p in packs if not isinstance(p, tuple)], encoded, jsonish, drop=False)
        if all(not isinstance(p, tuple) for p in packs):
            self._drop_unparsable()
            return self
        blocks, codecs, sizes, offsets, starts = [], [], [], [], [0]
        made = iter(zip(self.blocks, self.codecs, self.raw_sizes, self.offsets, strict=True))
        made_starts = iter(np.diff(self.starts).tolist())
        for p in packs:
            if isinstance(p, tuple):  # ("zlib" or "lz4", compressed bytes, offsets, size)
                codec, blob, offs, size = p
                blocks.append(blob)
                codecs.append(codec)
                sizes.append(size)
                offsets.append(offs)
                starts.append(starts[-1] + len(offs) - 1)
                continue
            left = len(p)
            while left > 0:  # the blocks build() made of this array
                blob, codec, size, offs = next(made)
                m = next(made_starts)
                blocks.append(blob)
                codecs.append(codec)
                sizes.append(size)
                offsets.append(offs)
                starts.append(starts[-1] + m)
                left -= m
        self.blocks, self.codecs, self.raw_sizes, self.offsets = blocks, codecs, sizes, offsets
        self.starts = np.array(starts, np.int64)
        self._drop_unparsable()
        return self

    def raw_block(self, b: int) -> Any:
        """Block ``b`` decompressed (a pyarrow Buffer)."""
        import pyarrow as pa

        codec = self.codecs[b] if getattr(self, "codecs", None) else _CODEC
        if codec == "zlib":  # (a segment's, as kept: its offsets are checked, its bytes are
            from .store import inflate  # checked here, never inflated past their size)

            return pa.py_buffer(inflate(self.blocks[b], self.raw_sizes[b]))
        return pa.Codec(codec).decompress(self.blocks[b], decompressed_size=self.raw_sizes[b])

    @classmethod
    def from_bytes(cls, bodies: list[bytes], encoded: Any = None, jsonish: Any = None) -> _Bodies:
        import numpy as np
        import pyarrow as pa

        n = len(bodies)
        return cls.build(
            [pa.array(bodies, pa.large_binary())],
            np.zeros(n, np.int8) if encoded is None else encoded,
            np.ones(n, bool) if jsonish is None else jsonish,
        )

    @classmethod
    def joined(cls, first: _Bodies, then: _Bodies) -> _Bodies:
        """The bodies of ``first`` and then those of ``then``, as one (body ``i`` of ``then``
        is body ``first.n + i``): their compressed blocks shared, nothing decompressed. What a
        json column's copy writes new values into (both stay as they are)."""
        import numpy as np

        self = cls()
        for b in (first, then):
            self.blocks.extend(b.blocks)
            self.codecs.extend(getattr(b, "codecs", None) or [_CODEC] * len(b.blocks))
            self.raw_sizes.extend(b.raw_sizes)
            self.offsets.extend(b.offsets)
        self.starts = np.concatenate([first.starts[:-1], then.starts + first.n]).astype(np.int64)
        self.encoded = np.concatenate([first.encoded, then.encoded]).astype(np.int8)
        self.jsonish = np.concatenate([first.jsonish, then.jsonish]).astype(bool)
        if first._na is not None and then._na is not None:
            self._na = np.concatenate([first._na, then._na])
        return self

    def _block(self, b: int) -> bytes:

        cached = self._cached
        if cached is not None and cached[0] == b:
            return cached[1]
        data = self.raw_block(b).to_pybytes()
        self._cached = (b, data)
        return data

    def body(self, i: int) -> bytes:
        import numpy as np

        b = int(np.searchsorted(self.starts, i, "right")) - 1
        data = self._block(b)
        k = i - int(self.starts[b])
        offs = self.offsets[b]
        return data[int(offs[k]) : int(offs[k + 1])]

    def value(self, i: int) -> Any:
        return _parse_one(self.body(i), int(self.encoded[i]), bool(self.jsonish[i]))

    def values(self, positions: Any) -> list[Any]:
        """Parsed payloads at ``positions`` (-1 gives None), decompressing each block once."""
        import numpy as np

        positions = np.asarray(positions, np.int64)
        out: list[Any] = [None] * len(positions)
        if not len(positions):
            return out
        order = np.argsort(positions, kind="stable")
        blocks = np.searchsorted(self.starts, positions, "right") - 1
        for j in order.tolist():
            i = int(positions[j])
            if i < 0:
                continue
            b = int(blocks[j])
            data = self._block(b)
            k = i - int(self.starts[b])
            offs = self.offsets[b]
            body = data[int(offs[k]) : int(offs[k + 1])]
            out[j] = _parse_one(body, int(self.encoded[i]), bool(self.jsonish[i]))
        return out

    def bodies(self, positions: Any) -> list[bytes]:
        """Raw bodies at ``positions`` (in that order)."""
        import numpy as np

        positions = np.asarray(positions, np.int64)
        out: list[bytes] = [b""] * len(positions)
        blocks = np.searchsorted(self.starts, positions, "right") - 1
        for j in np.argsort(positions, kind="stable").tolist():
            i = int(positions[j])
            if i < 0:
                continue
            b = int(blocks[j])
            data = self._block(b)
            k = i - int(self.starts[b])
            offs = self.offsets[b]
            out[j] = data[int(offs[k]) : int(offs[k + 1])]
        return out

    def isna(self) -> Any:
        """Per body: its payload is None (empty, not JSON...). Parsed once, a few thousand
        bodies at a time (``df.info()`` of a big frame held every payload at once), then
        remembered."""
        import numpy as np

        with self._lock:
            if self._na is None:
                na = np.empty(self.n, bool)
                step = 1024
                for at in range(0, self.n, step):
                    vals = self.values(np.arange(at, min(at + step, self.n)))
                    na[at : at + len(vals)] = [v is None for v in vals]
                self._na = na
            return self._na

    def isna_at(self, pos: Any) -> Any:
        """:meth:`isna` of the bodies at ``pos`` (no ``-1``): read from those bodies alone when
        they are few of many and the whole is not remembered yet (groupby's sort of 150 unique
        payloads parsed all 100,000 bodies of the frame they were taken from)."""
        import numpy as np

        if self._na is None and len(pos) * 4 < self.n:
            return np.fromiter((v is None for v in self.values(pos)), bool, len(pos))
        return self.isna()[pos]


#: characters of a payload pandas shows when ``repr`` could not write it (nested too deep)
SHOWN_CHARS = 10_000


def _shown_payload(value: Any) -> str:
    """A json column value as pandas shows it: ``repr(value)``; for a payload nested so deep
    that ``repr`` recursed past the limit (JSON reads 1,024 levels: 950 raised RecursionError
    in pandas' printer, 900 under IPython's display), the same text built without recursion,
    cut at :data:`SHOWN_CHARS` characters (``…`` at the cut). The value itself is unchanged.

    >>> _shown_payload({"a": [1, None]}), _shown_payload(loads_fast(b"[" * 1024 + b"]" * 1024))[:5]
    ("{'a': [1, None]}", '[[[[[')
    """
    try:
        return repr(value)
    except RecursionError:  # (unwound: this frame has the stack that repr had)
        return json_text(value, SHOWN_CHARS, style="repr")


def _register() -> Any:
    """Define (once) the pandas extension type of the json column."""
    import numpy as np
    from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype

    global JsonDtype, JsonArray
    done = globals().get("JsonArray")
    if done is not None:
        return done

    @register_extension_dtype
    class _JsonDtype(ExtensionDtype):
        """``json``: parsed JSON payloads, stored compressed, parsed when read."""

        name = "json"
        type = object
        kind = "O"
        na_value = None

        @classmethod
        def construct_array_type(cls) -> type:
            return _JsonArray

    class _JsonArray(ExtensionArray):
        """The ``json`` column: each capture's payload (``None`` when the body is not JSON).

        >>> df["json"][0]["data"]["object"]["amount"]      # doctest: +SKIP
        >>> df["json"].apply(lambda p: p["type"])           # doctest: +SKIP
        >>> plain = df["json"].astype(object)  # an ordinary object column  # doctest: +SKIP
        >>> df["json"].where(df["bin"] == "stripe")         # doctest: +SKIP
        >>> df.loc[0, "json"] = {"note": 1}  # this frame's value, not the capture's  # doctest: +SKIP

        Values are parsed from the kept (compressed) body each time they are read: changing
        a returned dict changes nothing in the frame. Writes (``df.loc[0, "json"] = ...``,
        ``where``, ``mask``, ``fillna``, ``replace``, ``explode``...) take new JSON values as an
        object column would: new values get bodies of their own, the bodies read from the
        store are shared and never changed (nor the captures, nor another frame).
        """

        _dtype = _JsonDtype()

        def __init__(self, bodies: _Bodies, positions: Any) -> None:
            self._bodies = bodies
            self._pos = np.asarray(positions, np.int64)

        # construction
        @classmethod
        def _from_bodies(cls, chunked: Any, encoded: Any, jsonish: Any) -> _JsonArray:
            chunks = list(chunked.chunks) if chunked is not None else []
            if chunked is None:
                import pyarrow as pa

                chunks = [pa.array([b""] * len(encoded), pa.large_binary())]
            bodies = _Bodies.build(chunks, encoded, jsonish)
            return cls(bodies, np.arange(bodies.n, dtype=np.int64))

        @classmethod
        def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> _JsonArray:
            if isinstance(scalars, cls):
                return scalars.copy() if copy else scalars
            values = list(scalars)
            missing = np.array([_missing(v) for v in values], bool)
            raw = [b"" if m else _json_body(v) for v, m in zip(values, missing, strict=True)]
            bodies = _Bodies.from_bytes(raw)
            pos = np.arange(len(raw), dtype=np.int64)
            pos[missing] = -1
            return cls(bodies, pos)

        @classmethod
        def _from_scalars(cls, scalars: Any, *, dtype: Any) -> _JsonArray:
            # (what map/apply gave: numpy's numbers and booleans, as pandas' arrays of them,
            # stay pandas' int64, float64 and bool columns)
            if isinstance(scalars, np.ndarray) and scalars.dtype != object:
                raise TypeError("not payloads")
            # (objects and arrays stay payloads; text, numbers, booleans: pandas' own column
            # of them, where .str, sums and comparisons work, as on an object column)
            if not all(v is None or isinstance(v, (dict, list)) for v in scalars):
                raise TypeError("not payloads")
            return cls._from_sequence(scalars, dtype=dtype)

        @classmethod
        def _from_factorized(cls, values: Any, original: Any) -> _JsonArray:
            # (each unique as it first came in ``original``: its keys in their order, NaN
            # as NaN; the canonical text only says which values are equal)
            canon = getattr(original, "_canon", None)
            if canon is not None and len(canon) == len(original):
                first: dict[Any, int] = {}
                for i, c in enumerate(canon):
                    first.setdefault(c, i)
                if all(v is None or v in first for v in values):
                    return original.take(np.array([-1 if v is None else first[v] for v in values],
                                                  np.int64), allow_fill=True)
            return cls._from_sequence([None if v is None else json.loads(v) for v in values])

        @classmethod
        def _concat_same_type(cls, to_concat: Any) -> _JsonArray:
            arrays = list(to_concat)
            if arrays and all(a._bodies is arrays[0]._bodies for a in arrays):
                return cls(arrays[0]._bodies, np.concatenate([a._pos for a in arrays]))
            # (two labs' frames: their compressed blocks joined, nothing decompressed; each
            # set of bodies once, however many of the arrays share it)
            bodies: _Bodies | None = None
            base: dict[int, int] = {}
            for a in arrays:
                if id(a._bodies) not in base:
                    base[id(a._bodies)] = 0 if bodies is None else bodies.n
                    bodies = a._bodies if bodies is None else _Bodies.joined(bodies, a._bodies)
            pos = np.concatenate([np.where(a._pos < 0, -1, a._pos + base[id(a._bodies)])
                                  for a in arrays]) if arrays else np.empty(0, np.int64)
            if bodies is None:
                return cls._from_sequence([])
            return cls(bodies, pos.astype(np.int64))

        # the ExtensionArray interface
        @property
        def dtype(self) -> _JsonDtype:
            return self._dtype

        def __len__(self) -> int:
            return len(self._pos)

        def __getitem__(self, key: Any) -> Any:
            if isinstance(key, (int, np.integer)):
                i = int(self._pos[key])
                return None if i < 0 else self._bodies.value(i)
            if isinstance(key, tuple) and len(key) == 1:
                key = key[0]
            from pandas.api.indexers import check_array_indexer

            if not isinstance(key, slice):
                key = check_array_indexer(self, key)
            return type(self)(self._bodies, self._pos[key])

        def __iter__(self) -> Any:
            step = 65536
            for at in range(0, len(self._pos), step):
                yield from self._bodies.values(self._pos[at : at + step])

        def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
            out = np.empty(len(self._pos), dtype=object)
            out[:] = self._bodies.values(self._pos)
            return out

        def __arrow_array__(self, type: Any = None) -> Any:  # noqa: A002 - pyarrow's name
            import orjson
            import pyarrow as pa

            def text(v: Any) -> str:
                try:
                    return orjson.dumps(v).decode()
                except TypeError:  # (an integer past 64 bits: written whole)
                    return json.dumps(v, ensure_ascii=False)

            texts = [None if v is None else text(v) for v in self]
            return pa.array(texts, pa.large_string())

        def __eq__(self, other: Any) -> Any:  # type: ignore[override]
            mine = self.__array__()
            if isinstance(other, (_JsonArray, list, np.ndarray)):
                theirs = np.asarray(other, dtype=object) if not isinstance(other, _JsonArray) else other.__array__()
                return np.array([a == b for a, b in zip(mine, theirs, strict=True)], bool)
            return np.array([a == other for a in mine], bool)

        @property
        def nbytes(self) -> int:
            b = self._bodies
            return int(
                sum(len(x) for x in b.blocks) + sum(o.nbytes for o in b.offsets)
                + b.encoded.nbytes + b.jsonish.nbytes + self._pos.nbytes
            )

        def isna(self) -> Any:
            out = self._pos < 0
            if len(self._pos):
                ok = ~out
                out[ok] = self._bodies.isna_at(self._pos[ok])
            return out

        def take(self, indices: Any, *, allow_fill: bool = False, fill_value: Any = None) -> _JsonArray:
            indices = np.asarray(indices, np.int64)
            if allow_fill:
                if fill_value is not None:
                    raise TypeError("the json column fills missing rows with None only")
                if (indices < -1).any():
                    raise ValueError("invalid take indices")
                safe = np.where(indices < 0, 0, indices)
                picked = self._pos[safe] if len(self._pos) else np.full(len(indices), -1)
                pos = np.where(indices < 0, -1, picked)
            else:
                pos = self._pos[indices]
            return type(self)(self._bodies, np.asarray(pos, np.int64))

        def copy(self) -> _JsonArray:
            return type(self)(self._bodies, self._pos.copy())

        def _values_for_factorize(self) -> tuple[Any, Any]:
            # (equal payloads, keys in any order, give one text; NaN and the infinities keep
            # their own, not null's: {"a": NaN} and {"a": null} are two groups)
            vals = np.empty(len(self._pos), dtype=object)
            vals[:] = [None if v is None else _canonical(v) for v in self]
            self._canon = vals
            return vals, None

        # (value_counts, unique, nunique, duplicated, drop_duplicates and mode count payloads
        # by their canonical JSON text, as factorize and groupby do. pandas' own versions hash
        # the parsed values: a dict has no hash, pandas took 0 for every one, and counting
        # compared each payload with all before it, quadratic: 4,000 rows took a second)
        def _groups(self, dropna: bool = True) -> tuple[Any, Any]:
            """Each row's group (``-1`` for a missing one when ``dropna``) and each group's
            first row, groups numbered in the order they first come."""
            import pandas as pd

            texts, _ = self._values_for_factorize()
            codes, _ = pd.factorize(texts, use_na_sentinel=dropna)
            codes = np.asarray(codes, np.int64)
            first = np.full(int(codes.max(initial=-1)) + 1, len(codes), np.int64)
            np.minimum.at(first, codes[codes >= 0], np.flatnonzero(codes >= 0))
            return codes, first

        def value_counts(self, dropna: bool = True) -> Any:
            import pandas as pd

            codes, first = self._groups(dropna)
            counts = np.bincount(codes[codes >= 0], minlength=len(first)).astype(np.int64)
            return pd.Series(counts, index=pd.Index(self.take(first)), name="count", copy=False)

        def unique(self) -> _JsonArray:
            return self.take(self._groups(dropna=False)[1])

        def duplicated(self, keep: Any = "first") -> Any:
            import pandas as pd

            return pd.Index(self._groups(dropna=False)[0]).duplicated(keep=keep)

        def _mode(self, dropna: bool = True) -> _JsonArray:
            codes, first = self._groups(dropna)
            counts = np.bincount(codes[codes >= 0], minlength=len(first))
            top = first[counts == counts.max()] if len(first) else first
            # (several: in the order of their JSON text, as groupby sorts them)
            texts = self._canon[top]
            return self.take(top[np.argsort(np.where(texts == None, "", texts), kind="stable")])  # noqa: E711

        def _values_for_argsort(self) -> Any:
            # (payloads in the order of their canonical JSON text: objects, arrays and
            # scalars have no order of their own; groupby sorts its keys by this)
            out = np.empty(len(self._pos), dtype=object)
            out[:] = ["" if v is None else _canonical(v) for v in self]
            return out

        def _formatter(self, boxed: bool = False) -> Any:
            return _shown_payload

        def astype(self, dtype: Any, copy: bool = True) -> Any:
            from pandas.api.types import pandas_dtype

            dtype = pandas_dtype(dtype)
            if isinstance(dtype, _JsonDtype):
                return self.copy() if copy else self
            if dtype == np.dtype(object):
                return self.__array__()
            return super().astype(dtype, copy=copy)

        def _where(self, mask: Any, value: Any) -> _JsonArray:
            # (a dict is one value for every row left out, not one value per row: pandas
            # reads a dict as list-like)
            if isinstance(value, dict):
                result = self.copy()
                result[~np.asarray(mask, bool)] = value
                return result
            return super()._where(mask, value)

        def _explode(self) -> tuple[_JsonArray, Any]:
            # (a batch webhook's top-level array: one row per item, as an object column gives;
            # an empty list one missing row)
            values: list[Any] = []
            counts = np.ones(len(self._pos), dtype=np.uint64)
            for i, v in enumerate(self):
                if isinstance(v, list):
                    values.extend(v if v else [None])
                    counts[i] = max(len(v), 1)
                else:
                    values.append(v)
            return type(self)._from_sequence(values), counts

        def __setitem__(self, key: Any, value: Any) -> None:
            if isinstance(key, tuple) and len(key) == 1:
                key = key[0]
            one = isinstance(key, (int, np.integer))
            if not one and not isinstance(key, slice):
                from pandas.api.indexers import check_array_indexer

                key = check_array_indexer(self, key)
            at = np.arange(len(self._pos))[key]
            at = np.atleast_1d(at)
            if isinstance(value, _JsonArray):
                new = value
            elif one or not _many(value):  # one value for every row: kept once
                new = _JsonArray._from_sequence([value])
                new = type(new)(new._bodies, np.repeat(new._pos, len(at)))
            else:
                new = _JsonArray._from_sequence(list(value))
            if len(new) != len(at):
                raise ValueError(f"cannot set {len(new)} values into {len(at)} rows")
            bodies = _Bodies.joined(self._bodies, new._bodies)
            pos = self._pos.copy()  # (never written in place: views of it may be others')
            pos[at] = np.where(new._pos < 0, -1, new._pos + self._bodies.n)
            self._bodies, self._pos = bodies, pos
            self.__dict__.pop("_canon", None)  # (factorize's texts were of the old values)

        def __getstate__(self) -> dict[str, Any]:
            return {"bodies": self._bodies, "pos": self._pos}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self._bodies = state["bodies"]
            self._pos = state["pos"]

    _JsonDtype.__name__ = _JsonDtype.__qualname__ = "JsonDtype"
    _JsonArray.__name__ = _JsonArray.__qualname__ = "JsonArray"
    _JsonDtype.__module__ = _JsonArray.__module__ = __name__
    JsonDtype, JsonArray = _JsonDtype, _JsonArray  # type: ignore[misc]
    return _JsonArray


def _canonical(value: Any) -> str:
    """One text for equal JSON values (keys sorted), NaN and infinities as themselves.

    >>> _canonical({"b": 1, "a": float("nan")}), _canonical({"a": None, "b": 1})
    ('{"a": NaN, "b": 1}', '{"a": null, "b": 1}')
    """
    return json.dumps(value, sort_keys=True, allow_nan=True, ensure_ascii=False)


def _missing(value: Any) -> bool:
    """Whether ``value`` is a missing value of the json column (None, NaN, ``pd.NA``, NaT)."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    if isinstance(value, (dict, list, tuple, str, bytes, int, bool)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _many(value: Any) -> bool:
    """Whether ``value``, set into several rows of a json column, gives one value per row (an
    array, a Series, a list or tuple) rather than being each row's value (a dict, text...)."""
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "__len__") and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 1)


_NOT_JSON = ("the json column holds JSON values, not {}: make it an ordinary column first: "
             "df['json'] = df['json'].astype(object)")


def _json_body(value: Any) -> bytes:
    """``value`` as the JSON text the json column keeps (and reads back as ``value``): NaN and
    infinities as the standard library writes them, numpy's numbers as Python's. A value
    JSON has no text for raises ``TypeError`` (pandas then makes the column objects)."""
    import orjson

    if not isinstance(value, (dict, list, tuple, str, int, float, bool)) and not hasattr(value, "item"):
        raise TypeError(_NOT_JSON.format(type(value).__name__))
    if not _python_only(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
        except (TypeError, orjson.JSONEncodeError):
            pass
    def plain(v: Any) -> Any:
        if hasattr(v, "item") and not isinstance(v, (int, float, str, bool)):
            return v.item()
        raise TypeError(_NOT_JSON.format(type(v).__name__))

    try:
        return json.dumps(value, default=plain, allow_nan=True).encode()
    except (ValueError, RecursionError) as exc:
        raise TypeError(_NOT_JSON.format(exc)) from None


def __getattr__(name: str) -> Any:
    if name in ("JsonArray", "JsonDtype"):
        _register()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# -- flatten=True ------------------------------------------------------------------------------
def _all_bodies(payloads: Any) -> Any:
    """The raw bodies of a json column's rows as one ``large_binary`` array, row order."""
    import numpy as np
    import pyarrow as pa

    b = payloads._bodies
    pos = payloads._pos
    if len(pos) == b.n and np.array_equal(pos, np.arange(b.n)):
        datas = []
        offsets = [np.zeros(1, np.int64)]
        total = 0
        for k in range(len(b.blocks)):
            datas.append(b.raw_block(k))
            offsets.append(b.offsets[k][1:] + total)
            total += b.raw_sizes[k]
        joined = pa.py_buffer(b"".join(d.to_pybytes() for d in datas)) if datas else pa.py_buffer(b"")
        offs = np.concatenate(offsets)
        return pa.Array.from_buffers(pa.large_binary(), len(pos), [None, pa.py_buffer(offs), joined])
    return pa.array(b.bodies(pos), pa.large_binary())


class _Stopped(Exception):
    """The call waiting for a flatten thread was interrupted (Ctrl-C, a kernel interrupt):
    the thread's work ends at its next step, nobody would take its frame."""


def _go_on(stop: Any) -> None:
    """Raise :class:`_Stopped` if ``stop`` (a ``threading.Event`` or None) is set: called
    between the steps of a flatten thread (a block, a chunk, a phase)."""
    if stop is not None and stop.is_set():
        raise _Stopped


def _flatten_early(job: Any) -> Any:
    """Start ``job(stop)`` (flattening the bodies: :func:`_flatten_raw`,
    :func:`_flatten_blocks`) on a thread of its own; :func:`_flatten_result` waits for it.
    Returns ``(thread, box, stop)``: setting the event ``stop`` ends the job at its next step
    (the waiting call sets it when it is interrupted; a kernel interrupt reaches only the main
    thread, and this one went on alone: 4.8 s of CPU in the next 5 idle seconds)."""
    import threading

    box: dict[str, Any] = {"done": threading.Event()}
    stop = threading.Event()

    def run() -> None:
        try:
            box["flat"] = job(stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        finally:
            box["done"].set()

    thread = threading.Thread(target=run, name="hooklab-flatten", daemon=True)
    thread.start()
    return thread, box, stop


def _flatten_result(early: Any) -> Any:
    """The frame :func:`_flatten_early` made (index 0..n-1), or None if Arrow could not read
    the bodies in one go (then :func:`_flatten_bodies` takes the long way)."""
    import pyarrow as pa

    if early is None:
        return None
    thread, box, stop = early
    try:  # (in short waits: a kernel interrupt landed in one long join() only after the
        while not box["done"].wait(0.05):  # whole flatten, now and then; not Thread.join
            pass  # either: on 3.11 an interrupted join marks a running thread stopped)
        thread.join()
    except BaseException:  # KeyboardInterrupt: the thread is told to stop, not left running
        stop.set()  # (so is it by frame_from_columns, interrupted before it waits)
        raise
    error = box.get("error")
    if error is not None:
        if isinstance(error, (pa.ArrowInvalid, pa.ArrowTypeError, ValueError)):
            return None
        raise error
    return box["flat"]


class _NotOneTable(ValueError):
    """The objects of a frame's blocks (:func:`_flatten_blocks`) do not read as one table: a
    block's objects disagree on a field's type, or two blocks' tables do not combine. Arrow's
    pass over the same blocks in the long way (:func:`_flatten_bodies`) would meet the same."""


def _refused_blocks(early: Any, kept: _Bodies | None) -> bool:
    """Whether the flatten thread ``early`` failed as :class:`_NotOneTable` over blocks that
    are the chunks :func:`_flatten_bodies` makes of the same rows (``_BLOCK`` rows each): its
    first step, Arrow's reading of those chunks, would fail again and is not tried."""
    import numpy as np

    if early is None or kept is None or not isinstance(early[1].get("error"), _NotOneTable):
        return False
    n = kept.n
    chunks = np.append(np.arange(0, n, _BLOCK, dtype=np.int64), n)
    return bool(n) and np.array_equal(np.asarray(kept.starts, np.int64), chunks)


def _flatten_raw(raw: Any, encoded: Any, jsonish: Any, prefix: str, stop: Any = None) -> Any:
    """``payload.*`` columns of the bodies ``raw``, through Arrow's JSON reader (the rows it
    cannot read as they are are parsed as the json column parses them); raises if the bodies'
    types do not agree. ``stop`` set: :class:`_Stopped` at the next chunk or step."""

    n = len(encoded)
    chunks = [c for c in raw.chunks if len(c)]
    tasks = []
    base = 0
    slow: dict[int, Any] = {}
    for chunk in chunks:
        _go_on(stop)
        m = len(chunk)
        rows, lines, odd = _classify_raw(chunk, encoded[base : base + m], jsonish[base : base + m], base)
        slow.update(odd)
        tasks.append((chunk, rows, lines, base))
        base += m
    flat = _flatten_chunks(tasks, prefix, slow, stop)
    flat = _with_slow(flat, slow, n, prefix, stop)
    return flat


def _with_slow(flat: Any, slow: dict[int, Any], n: int, prefix: str, stop: Any = None) -> Any:
    """``flat`` with the rows Arrow could not take (``slow``: row -> object) flattened by
    :func:`flatten_payloads` and filled in (``stop``: see :func:`_flatten_early`)."""
    if not slow:
        return flat
    import numpy as np
    import pandas as pd

    _go_on(stop)
    extra = _exact_ints(_flatten_exact(list(slow.values()), prefix=prefix))
    extra.index = pd.Index(np.fromiter(slow, np.int64, len(slow)))
    objects = _objects_of(flat, extra)  # (Arrow's objects may be null in Python's rows)
    if not len(flat.columns):
        out = extra.reindex(pd.RangeIndex(n))
        out.attrs["objects"] = objects
        return out
    _go_on(stop)
    flat, extra = _harmonized([_exact_ints(flat), extra])
    _go_on(stop)
    try:
        out = _combined(flat, extra, stop)
    except UnicodeEncodeError:  # lone surrogates: no Arrow-backed strings for these columns
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pd.option_context("future.infer_string", False):
                out = _combined(flat, extra, stop)
    _settled_bools(out, extra)
    out.attrs["objects"] = objects
    return out


def _settled_bools(out: Any, extra: Any) -> None:
    """The columns of ``out`` (Arrow's rows combined with ``extra``, the rows Python read)
    that hold a boolean in every row made ``bool``, as one reading of all the rows gives
    them: Arrow's part is ``None`` in Python's rows, which made its booleans objects
    (``{"b": true, "f": NaN}`` then ``{"b": false}`` gave an object column of ``True``,
    ``False``; without the NaN, a ``bool`` one). Only the columns ``extra`` holds as
    ``bool`` (a boolean in each of its rows) are looked at."""
    import numpy as np

    names = [name for name, t in zip(extra.columns, extra.dtypes.tolist(), strict=True)
             if t == np.dtype(bool)]
    for name in names:
        at = out.columns.get_loc(name)
        if not isinstance(at, int) or out.dtypes.iloc[at] != np.dtype(object):
            continue
        values = out.iloc[:, at].to_numpy(object)
        if all(type(v) is bool for v in values.tolist()):
            out.isetitem(at, out.iloc[:, at].astype(bool))


def _combined(flat: Any, extra: Any, stop: Any = None) -> Any:
    """``flat.combine_first(extra)`` as pandas 3 gives it on every pandas the package allows.

    pandas 2 (what Python 3.10 gets) fills an ``Int64`` column's missing rows through float64
    (the snowflake 1234567890123456789 from ``extra`` came back 1234567890123456768) and sorts
    the columns (the new ``payload.*`` columns of the rows Python read landed among Arrow's,
    so one store's flat frame had another column order than its Parquet export's). Here the
    columns keep ``flat``'s order, ``extra``'s new ones after, and each ``Int64`` column of
    the result is filled again exactly from the two frames' own values.

    >>> import pandas as pd
    >>> flat = pd.DataFrame({"b": pd.array([5, None], dtype="Int64")})
    >>> extra = pd.DataFrame({"b": pd.array([1234567890123456789], dtype="Int64"), "a": [1]}, index=[1])
    >>> out = _combined(flat, extra)
    >>> list(out.columns), out["b"].tolist()
    (['b', 'a'], [5, 1234567890123456789])
    """
    import numpy as np
    import pandas as pd

    out = flat.combine_first(extra)
    order = list(flat.columns) + [c for c in extra.columns if c not in flat.columns]
    if list(out.columns) != order:
        out = out[order]
    _go_on(stop)  # (``stop``: see :func:`_flatten_early`)
    only = None  # rows ``extra`` lacks: ``flat``'s own values there
    for name, dtype in zip(out.columns, out.dtypes.tolist(), strict=True):
        if dtype == np.dtype(object) and name in flat.columns and name in extra.columns:
            # (combine_first made a None of ``flat`` NaN where ``extra`` has no row: a null
            # beside an integer past int64 read NaN, as if the field were missing)
            if only is None:
                only = ~out.index.isin(extra.index)
            if only.any():
                values = out[name].to_numpy(object).copy()
                values[only] = flat[name].reindex(out.index).to_numpy(object)[only]
                out[name] = pd.Series(values, dtype=object, index=out.index)
            continue
        if not isinstance(dtype, pd.Int64Dtype):
            continue
        _go_on(stop)
        exact = _exact_part(flat, name, out.index)
        gaps = exact.isna()
        if gaps.any() and name in extra.columns:
            exact[gaps] = _exact_part(extra, name, out.index)[gaps]
        out[name] = exact
    return out


def _exact_part(frame: Any, name: str, index: Any) -> Any:
    """Column ``name`` of ``frame`` as an exact ``Int64`` array over ``index`` (missing where
    ``frame`` lacks the row or the column). Only for columns that ``combine_first`` made
    ``Int64``: their values here are integers or missing (:func:`_harmonized`)."""
    import pandas as pd

    if name not in frame.columns:
        return pd.array([None] * len(index), dtype="Int64")
    col = frame[name]
    if not isinstance(col.dtype, pd.Int64Dtype):
        col = col.astype(object).astype(pd.Int64Dtype())  # (int64 or all-missing; no float step)
    return col.reindex(index).array.copy()


def _classify_raw(
    chunk: Any, encoded: Any, jsonish: Any, base: int
) -> tuple[Any, dict[int, bytes], dict[int, Any]]:
    """:func:`_classify` from the raw bodies: the rows that need Python are parsed as the json
    column parses them (:func:`_parse_one`)."""
    import numpy as np

    def values(odd: Any, offs: Any, buf: Any) -> list[Any]:
        return [
            _parse_one(buf.slice(int(offs[i]), int(offs[i + 1] - offs[i])).to_pybytes(),
                       int(encoded[i]), bool(jsonish[i]))
            for i in odd.tolist()
        ]

    return _split_rows(chunk, np.asarray(encoded) != 0, values, base)


def _split_rows(
    chunk: Any, enc: Any, values: Callable[[Any, Any, Any], list[Any]], base: int
) -> tuple[Any, dict[int, bytes], dict[int, Any]]:
    """The rows of ``chunk`` (bodies) Arrow reads as they are (those starting with ``{`` and
    ending with ``}``, not ``enc``oded: see :func:`_objects` for why both ends), and the
    objects among the others, made compact JSON by Python (``values(rows, offsets, buffer)``
    gives them) or, where even that fails, kept whole."""
    import numpy as np

    n = len(chunk)
    offs = np.frombuffer(chunk.buffers()[1], np.int64, n + 1, chunk.offset * 8)
    buf = chunk.buffers()[2]
    data = np.frombuffer(buf, np.uint8) if buf is not None else np.zeros(0, np.uint8)
    nonempty = offs[1:] > offs[:-1]
    first = np.zeros(n, np.uint8)
    first[nonempty] = data[offs[:-1][nonempty]]
    last = np.zeros(n, np.uint8)
    last[nonempty] = data[offs[1:][nonempty] - 1]
    brace = (first == ord("{")) & ~enc
    white = np.frombuffer(b" \t\r\n", np.uint8)
    simple = brace & (last == ord("}"))
    for i in np.flatnonzero(brace & np.isin(last, white)).tolist():  # e.g. a final newline
        simple[i] = bytes(data[offs[i] : offs[i + 1]]).rstrip(b" \t\r\n")[-1:] == b"}"
    for i in np.flatnonzero(simple & (offs[1:] - offs[:-1] > 2 * _ARROW_DEPTH)).tolist():
        simple[i] = not _maybe_deep(bytes(data[offs[i] : offs[i + 1]]))
    spaced = np.isin(first, white) | (first == 0xEF)  # (0xEF: a UTF-8 byte order mark)
    # UTF-16 and UTF-32 (which Capture.json() reads): a byte order mark (FF FE, FE FF) or a
    # zero among the first two bytes (no ASCII JSON text has one)
    two = offs[1:] - offs[:-1] > 1
    second = np.zeros(n, np.uint8)
    second[two] = data[offs[:-1][two] + 1]
    wide = two & ((first == 0) | (first == 0xFE) | (first == 0xFF) | (second == 0))
    odd = np.flatnonzero(nonempty & ~simple & (enc | spaced | brace | wide))
    lines: dict[int, bytes] = {}
    slow: dict[int, Any] = {}
    if len(odd):
        _sort_objects(zip(odd.tolist(), values(odd, offs, buf), strict=True), base, lines, slow)
    return np.flatnonzero(simple), lines, slow


def _sort_objects(
    found: Iterable[tuple[int, Any]], base: int, lines: dict[int, bytes], slow: dict[int, Any]
) -> None:
    """Of the parsed values ``(row, value)``, the objects: as compact JSON for Arrow into
    ``lines`` (local rows), or into ``slow`` (global rows) where only Python holds them
    exactly (see :func:`_python_only`: NaN and infinities, which orjson would write as null,
    integers outside int64, keys with a dot)."""
    import orjson

    for i, value in found:
        if isinstance(value, dict):
            try:
                if _python_only(value):
                    raise TypeError("NaN, infinity, an integer past int64 or a dotted key")
                line = orjson.dumps(value)
                if len(line) > 2 * _ARROW_DEPTH and _maybe_deep(line):
                    raise TypeError("nested too deep for Arrow")
                lines[i] = line
            except (TypeError, orjson.JSONEncodeError, RecursionError):
                slow[i + base] = value


#: objects nested deeper than this stay with Python: a body nested 20,000 levels deep crashed
#: the process inside Arrow's reader (its recursion, on a worker thread's stack)
_ARROW_DEPTH = 512


def _maybe_deep(body: bytes) -> bool:
    """Whether ``body`` may nest deeper than :data:`_ARROW_DEPTH` (it has more brackets)."""
    return body.count(b"{") + body.count(b"[") > _ARROW_DEPTH


def _flatten_bodies(
    payloads: Any, *, index: Any, groups: Any = None, raw: Any = None, prefix: str = "payload.",
    refused: bool = False,
) -> Any:
    """``payload.*`` columns of a json column, through Arrow's JSON reader; the same columns
    ``flatten_payloads`` (``pandas.json_normalize``) gives, much faster.

    ``raw`` may hand over the bodies as Arrow arrays already (row order); ``groups`` (codes
    of the event types) splits the rows if their field types disagree. ``refused``: Arrow
    already failed to read these rows' chunks as one table (:func:`_refused_blocks`), so
    that reading is not tried again (the frame is the one the failed try leads to).
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n = len(payloads)
    if n == 0:
        return pd.DataFrame(index=index)
    if raw is not None and raw.num_chunks:
        chunks = [c for c in raw.chunks if len(c)]
    else:
        whole = _all_bodies(payloads)
        chunks = [whole.slice(at, _BLOCK) for at in range(0, n, _BLOCK)]
    # per chunk: the rows Arrow reads as they are, the ones Python reads first
    tasks = []
    base = 0
    slow: dict[int, Any] = {}
    for chunk in chunks:
        rows, lines, odd = _classify(chunk, payloads, base)
        slow.update(odd)
        tasks.append((chunk, rows, lines, base))
        base += len(chunk)
    try:
        if refused:
            raise _NotOneTable("read as one table before, refused")
        flat = _flatten_chunks(tasks, prefix, slow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        arr = pa.concat_arrays(chunks) if len(chunks) > 1 else chunks[0]
        rows = np.concatenate([t[1] + t[3] for t in tasks])
        lines = {k + t[3]: v for t in tasks for k, v in t[2].items()}
        flat = _arrow_flatten(arr, rows, lines, payloads, {}, groups, prefix)
    flat = _with_slow(flat, slow, n, prefix)
    flat.index = index
    return flat


def _classify(chunk: Any, payloads: Any, base: int) -> tuple[Any, dict[int, bytes], dict[int, Any]]:
    """(rows whose body starts with ``{``, {row: compact JSON} of objects that need Python
    first (compressed, spaces first), {row: object} Arrow cannot take) - rows local to the
    chunk, except the last (global)."""
    import numpy as np

    n = len(chunk)
    pos = payloads._pos[base : base + n]
    enc = np.zeros(n, bool)
    ok = pos >= 0
    enc[ok] = payloads._bodies.encoded[pos[ok]] != 0
    return _split_rows(
        chunk, enc, lambda odd, _offs, _buf: payloads[odd + base].__array__().tolist(), base
    )


def _flatten_chunks(
    tasks: list[tuple[Any, Any, dict[int, bytes], int]], prefix: str, slow: dict[int, Any],
    stop: Any = None,
) -> Any:
    """Read each chunk's objects on a worker thread (Arrow works without the GIL), each with
    the types inferred from its own objects; one table of all rows (their types unified; rows
    without an object stay empty). Objects only Python reads are added to ``slow``. ``stop``
    set: the chunks not begun are not read (:class:`_Stopped`)."""
    from concurrent.futures import ThreadPoolExecutor

    def read(task: tuple[Any, Any, dict[int, bytes], int]) -> Any:
        _go_on(stop)
        return _read_checked(task)

    total = sum(len(t[0]) for t in tasks)
    with ThreadPoolExecutor(max_workers=4) as pool:
        out = list(pool.map(read, tasks))
    for _, odd in out:
        slow.update(odd)
    _go_on(stop)
    return _assemble([r for r, _ in out], total, prefix, stop)


def _read_checked(task: tuple[Any, Any, dict[int, bytes], int]) -> tuple[tuple[Any, Any, Any], dict[int, Any]]:
    """:func:`_read_task`, and if Arrow refuses the chunk (a body that starts like an object
    but is not valid JSON, an integer outside int64, a key with a dot), again with each body
    parsed by Python first: ``((table, rows, exact lists), {row: object only Python reads})``.
    Raises only if the chunk's objects disagree on a field's type."""
    import numpy as np
    import pyarrow as pa

    try:
        return _read_shallow(task)
    except (pa.ArrowInvalid, ValueError):  # (even "changed from number to object" may be a
        pass  # broken body that swallowed the next one: each body is looked at alone)
    chunk, rows, lines, base = task
    offs = np.frombuffer(chunk.buffers()[1], np.int64, len(chunk) + 1, chunk.offset * 8)
    buf = chunk.buffers()[2]
    data = memoryview(buf) if buf is not None else memoryview(b"")
    checked = dict(lines)
    slow: dict[int, Any] = {}
    parsed = ((i, _parse_one(bytes(data[int(offs[i]) : int(offs[i + 1])]), 0, True))
              for i in rows.tolist())
    _sort_objects(parsed, base, checked, slow)
    read, deep = _read_shallow((chunk, np.zeros(0, np.int64), checked, base))
    slow.update(deep)
    return read, slow


class _TooDeep(Exception):  # noqa: N818 - a signal, not an error the user sees
    """Arrow read objects nested deeper than ``json_normalize``'s columns go (see
    :func:`_deep_rows`): ``rows`` (positions in the table read) go to Python instead."""

    def __init__(self, rows: Any) -> None:
        super().__init__("objects nested deeper than the columns go")
        self.rows = rows


def _read_shallow(task: tuple[Any, Any, dict[int, bytes], int]) -> tuple[tuple[Any, Any, Any], dict[int, Any]]:
    """:func:`_read_task`, the objects nested deeper than :data:`_MAX_NORMALIZE_DEPTH`
    levels taken out first: ``(read, {row: object only Python reads})``. A 450-deep body
    made Arrow's table 450 structs deep, and every later step (this module's and pandas')
    recursed over it; Python cuts such a body at the depth ``flatten_payloads`` does."""
    import numpy as np

    try:
        return _read_task(task), {}
    except _TooDeep as deep:
        chunk, rows, lines, base = task
        moved = np.unique(np.asarray(deep.rows, np.int64))
    offs = np.frombuffer(chunk.buffers()[1], np.int64, len(chunk) + 1, chunk.offset * 8)
    buf = chunk.buffers()[2]
    data = memoryview(buf) if buf is not None else memoryview(b"")
    loads = loads_fast
    slow: dict[int, Any] = {}
    for i in moved.tolist():
        line = lines.get(i)
        slow[base + i] = loads(line) if line is not None else _parse_one(
            bytes(data[int(offs[i]) : int(offs[i + 1])]), 0, True)
    gone = set(moved.tolist())
    rest = (chunk, np.setdiff1d(rows, moved), {k: v for k, v in lines.items() if k not in gone}, base)
    return _read_task(rest), slow  # (none of these is that deep: no second round)


def _python_only(value: Any) -> bool:
    """Whether a parsed payload holds what Arrow's columns would not give back as
    ``json_normalize`` does: a NaN or an infinity, an integer outside int64 (Arrow reads
    it as a float), or a key with a dot in an object that is not in a list (its column
    name would be another field's), or an empty one there (Arrow names the field under an
    empty key ``.e``, json_normalize ``e`` when the key leads the path: :func:`flat_name`;
    that name may be another field's too). A float of 2**63 or more in size (``1e19``) is Python's
    too: :func:`_checked` refuses such a float in Arrow's column, where it may be an integer
    outside int64."""
    todo = [(value, True)]
    while todo:
        v, named = todo.pop()
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")) or abs(v) >= _PAST_INT64:
                return True
        elif isinstance(v, int):
            if not -(1 << 63) <= v < 1 << 63:
                return True
        elif isinstance(v, dict):
            if named and any("." in k or not k for k in v):
                return True
            todo.extend((x, named) for x in v.values())
        elif isinstance(v, list):
            todo.extend((x, False) for x in v)
    return False


#: a float of this size or more in Arrow's column may be an integer outside int64 (or one
#: near its ends) that Arrow read as a float: :func:`_checked`, :func:`_python_only`
_PAST_INT64 = float(1 << 63)


def _flatten_blocks(b: Any, prefix: str, segments: _KeptFlat | None = None, stop: Any = None) -> Any:
    """:func:`_flatten_raw` of a json column's compressed blocks: each worker thread
    decompresses a block, picks its rows and reads them (Arrow and zlib without the GIL).
    A block that is a column segment whose parsed payloads ``segments`` holds is not read
    again; the ones read are handed to ``segments`` to keep. A segment whose objects do not
    read as one table is marked so (:data:`FLAT_UNREADABLE`, as a helper in quiet moments
    marks it) and not read by the next call either: the frame takes the long way
    (:class:`_NotOneTable`). ``stop`` set: the blocks not begun are not read, those read are
    kept (:class:`_Stopped`)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from .store import DamagedSegment

    n = b.n
    starts = b.starts.tolist()

    def run(k: int) -> Any:
        if stop is not None and stop.is_set():
            return _Stopped(), None
        base = starts[k]
        key = segments.key(k) if segments is not None else None
        if key is not None and segments.refused(key):  # (marked: its objects disagree)
            return _NotOneTable("a segment marked as not one table"), None
        got = segments.get(key) if key is not None else None
        if got is not None:  # parsed by an earlier call
            table, order, odd, values, exact = got
            if values is not None:
                return (table, order + base, exact), dict(zip((odd + base).tolist(), values, strict=True))
            return (table, order + base, exact), _slow_rows(b, k, odd)
        try:
            (table, order, exact), slow = _read_block(b, k)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
            if isinstance(exc, DamagedSegment):  # (not inflated: an error, never marked)
                return exc, None
            if key is not None:  # objects that disagree on a field's type: the long way,
                segments.made_refused(key)  # now and in every later call
            return _NotOneTable(str(exc)), None
        except Exception as exc:  # noqa: BLE001 - raised below, once the others are kept
            return exc, None
        if key is not None:
            segments.made(key, base, table, order, slow, exact)
        return (table, order, exact), slow

    with ThreadPoolExecutor(max_workers=4) as pool:
        out = list(pool.map(run, range(len(b.blocks))))
    if segments is not None:  # (each segment read alone: kept even if they do not combine,
        segments.keep_later()  # or the call was interrupted: the next call reads fewer)
    _go_on(stop)
    for result, _ in out:
        if isinstance(result, BaseException):
            raise result
    slow = {i: v for _, odd in out for i, v in odd.items()}
    try:
        flat = _assemble([r for r, _ in out], n, prefix, stop)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # (tables whose types do not combine)
        raise _NotOneTable(str(exc)) from exc
    _go_on(stop)
    return _with_slow(flat, slow, n, prefix, stop)


def _read_block(b: Any, k: int) -> tuple[tuple[Any, Any, Any], dict[int, Any]]:
    """Block ``k`` of bodies ``b`` (:class:`_Bodies`) read: ``((table, rows, exact lists),
    {row: object only Python reads})`` as :func:`_read_checked` gives them (rows global)."""
    import numpy as np
    import pyarrow as pa

    offs = np.ascontiguousarray(b.offsets[k], np.int64)
    m = len(offs) - 1
    arr = pa.Array.from_buffers(pa.large_binary(), m, [None, pa.py_buffer(offs), b.raw_block(k)])
    base = int(b.starts[k])
    rows, lines, slow = _classify_raw(arr, b.encoded[base : base + m], b.jsonish[base : base + m], base)
    read, odd = _read_checked((arr, rows, lines, base))
    slow.update(odd)
    return read, slow


def flat_rows(db: Any, key: tuple[int, int, int]) -> bytes | None:
    """The parsed payloads ``flatten=True`` keeps for the column segment ``key`` =
    ``(first_id, last_id, rows)`` of the capture database open as ``db`` (a
    ``sqlite3.Connection``), packed as the first ``flatten=True`` keeps them
    (:data:`FLAT_KIND`), or ``None`` when no segment is exactly that. What a helper process
    runs in a serving lab's quiet moments (:func:`hooklab.explore.keep_summaries_up`), so
    that a first ``flatten=True`` reads kept tables instead of parsing every body;
    :data:`FLAT_UNREADABLE` when Arrow cannot read the segment's objects in one table (a
    frame then takes the long way, as its first call would: kept so as not to try again)."""
    import zlib

    import numpy as np
    import pyarrow as pa

    from .store import read_segment

    found = read_segment(db, *key, json=True)  # (as a frame reads it)
    if found is None:
        return None  # (not the segment asked for: the store would not keep it)
    part, pack = found
    if not isinstance(pack, tuple):  # bodies not kept as one zlib block (a segment sealed by
        return FLAT_UNREADABLE  # an older hooklab): a frame never keeps those either
    jsonish = _jsonish(_categorical_of(part.column("content_type")))
    b = _Bodies.from_packs([pack], _numpy(part.column("encoded"), np.int8), jsonish)
    if len(b.blocks) != 1 or b.codecs[0] != "zlib":
        return FLAT_UNREADABLE
    try:
        (table, order, exact), slow = _read_block(b, 0)  # (a helper: no collector)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, zlib.error):
        return FLAT_UNREADABLE  # (objects that disagree on a field's type, a damaged block:
        # read the long way by a frame, as its first call would)
    return _pack_read(key, 0, table, order, slow, exact)


def _pack_read(key: tuple[int, int, int], base: int, table: Any, order: Any,
               slow: dict[int, Any], exact: dict[str, list[tuple[int, Any]]]) -> bytes:
    """:func:`_pack_flat` of segment ``key`` as :func:`_read_block` read it (``order`` and the
    ``slow`` rows global, the segment's first row at ``base``)."""
    import numpy as np

    local = np.zeros(0, np.int64) if order is None else np.asarray(order) - base
    odd = np.fromiter(slow, np.int64, len(slow)) - base
    return _pack_flat(table, local, odd, key, list(slow.values()), exact)


def _slow_rows(b: Any, k: int, rows: Any) -> dict[int, Any]:
    """{row: object} of block ``k``'s ``rows`` (local) that only Python reads (objects Arrow
    cannot take), parsed from the block as the json column parses them."""
    if not len(rows):
        return {}
    raw = memoryview(b.raw_block(k))
    offs = b.offsets[k]
    base = int(b.starts[k])
    got = {}
    for i in rows.tolist():
        body = bytes(raw[int(offs[i]) : int(offs[i + 1])])
        got[base + i] = _parse_one(body, int(b.encoded[base + i]), bool(b.jsonish[base + i]))
    return got


#: the kind under which ``flatten=True`` keeps a column segment's parsed payloads
#: (``CaptureStore.keep_summaries``): an Arrow IPC stream (LZ4) of the objects Arrow read
#: (``flat-1`` tables were read without the borders between bodies checked, see :func:`_objects`;
#: ``flat-2`` ones lack the exact values of lists, see :func:`_exact_lists`; ``flat-3`` ones
#: lack the integers past 2**53 of columns Arrow made floats and may hold objects nested
#: deeper than the columns go, see :func:`_nested_past`; ``flat-4`` ones hold no payload for
#: a body sent with ``Content-Encoding: identity``, and one decoded by a guess for a body whose
#: encoding is none hooklab undoes, see :func:`_encoding_code`; ``flat-5`` ones lack an integer
#: that a float column rounded to 2**53 exactly, such as 2**53 + 1, see :func:`_inexact_columns`;
#: ``flat-6`` ones hold a float for an integer past 64 bits, see :func:`_checked`; ``flat-7``
#: ones name a field under a leading empty key ``..e`` where json_normalize says ``e``, see
#: :func:`_python_only`; ``flat-8`` ones hold no payload for a body sent with a transfer
#: coding, ``Transfer-Encoding: gzip, chunked``, see :func:`_encoding_code`)
FLAT_KIND = "flat-9"
_FLAT_KEEP_BATCH = 16  # segments per write: the writer's transaction stays short
#: seconds the segments a frame parsed wait to be kept until that frame is made (it always
#: is, or fails, long before: a bound, not a wait anyone meets)
_KEEP_WAIT = 600.0
# LZ4: read back 5x faster than zstd (0.3 against 1.8 ms a segment), kept twice the size
# (about 65 MB per million Stripe-like captures, against 33)
_FLAT_CODEC = "lz4"


def _pack_flat(
    table: Any, order: Any, slow: Any, key: tuple[int, int, int], values: list[Any] | None = None,
    exact: dict[str, list[tuple[int, Any]]] | None = None,
) -> bytes:
    """Segment ``key``'s parsed payloads as kept: ``table`` (or None: no objects) of the rows
    ``order`` (local, in table order) and the ``slow`` rows (local) only Python reads, with
    their ``values`` as the standard library's JSON (exact: integers past 64 bits, NaN)
    where it can write them, and the ``exact`` lists of :func:`_exact_lists`."""
    import zlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc as ipc

    if table is None or table.num_columns == 0:  # (Arrow IPC keeps no row count without columns)
        table, order = pa.table({}), np.zeros(0, np.int64)
    meta = {
        b"hooklab.rows": zlib.compress(np.asarray(order, "<i4").tobytes()),
        b"hooklab.slow": zlib.compress(np.asarray(slow, "<i4").tobytes()),
        b"hooklab.segment": _segment_name(key),
    }
    if exact:
        meta[_EXACT] = _packed_lists(exact)
    if values:
        try:
            meta[b"hooklab.slowjson"] = zlib.compress(json.dumps(values).encode())
        except (ValueError, TypeError, RecursionError):  # read from the bodies then
            pass
    codec = _FLAT_CODEC if pa.Codec.is_available(_FLAT_CODEC) else None
    sink = pa.BufferOutputStream()
    table = table.replace_schema_metadata(meta)
    with ipc.new_stream(sink, table.schema, options=ipc.IpcWriteOptions(compression=codec)) as w:
        w.write_table(table)
    stream = sink.getvalue().to_pybytes()
    return _FLAT_MAGIC + _flat_check(key, stream).to_bytes(4, "little") + stream


_FLAT_MAGIC = b"HLF1"
#: what is kept for a segment whose objects Arrow cannot read in one table (their types
#: disagree): never unpacked (no magic), only there so quiet-moment work does not try again
FLAT_UNREADABLE = b"HLF0"


def _flat_check(key: tuple[int, int, int], stream: bytes) -> int:
    """CRC-32 of a kept stream and its segment's name: LZ4 frames in Arrow IPC carry no
    checksum, so a damaged byte would otherwise be read as other values."""
    import zlib

    return zlib.crc32(stream, zlib.crc32(_segment_name(key)))


def _unpack_flat(blob: bytes, key: tuple[int, int, int]) -> tuple[Any, Any, Any, Any, Any]:
    """``(table or None, rows, slow rows, their values or None, exact lists)`` of segment
    ``key`` as kept; ``ValueError`` if the blob is not that (damaged, another segment's): the
    segment is then read again."""
    import zlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc as ipc

    if (blob[:4] != _FLAT_MAGIC
            or int.from_bytes(blob[4:8], "little") != _flat_check(key, memoryview(blob)[8:])):
        raise ValueError("not a kept segment of these rows, or damaged")
    try:
        stream = pa.py_buffer(blob)[8:]
        table = ipc.open_stream(stream, options=ipc.IpcReadOptions(use_threads=False)).read_all()
        meta = table.schema.metadata or {}
        rows = _positions(meta[b"hooklab.rows"], key[2])
        slow = _positions(meta[b"hooklab.slow"], key[2])
        of = meta[b"hooklab.segment"]
        values = None
        if b"hooklab.slowjson" in meta:
            values = json.loads(zlib.decompress(meta[b"hooklab.slowjson"]))
            if not isinstance(values, list) or len(values) != len(slow):
                raise ValueError("slow rows and their values differ")
        table.validate(full=True)
    except (pa.ArrowException, KeyError, zlib.error, ValueError, TypeError, OSError,
            RecursionError) as exc:
        raise ValueError(f"not a kept segment: {exc}") from exc
    both = np.concatenate([rows, slow])
    m = key[2]
    if (of != _segment_name(key) or len(rows) != table.num_rows or _nested_past(table.schema)
            or (len(both) and (both.min() < 0 or both.max() >= m))
            or any(_has_timestamps(f.type) for f in table.schema)):
        raise ValueError("a kept segment does not describe its rows")
    seen = np.zeros(m, bool)
    seen[both] = True
    if int(seen.sum()) != len(both):  # a row twice
        raise ValueError("a kept segment names a row twice")
    exact = _unpacked_lists(meta[_EXACT], table) if _EXACT in meta else {}
    table = table.replace_schema_metadata(None)
    return (table if table.num_rows else None), rows, slow, values, exact


def _segment_name(key: tuple[int, int, int]) -> bytes:
    return "-".join(map(str, key)).encode()


def _positions(packed: bytes, m: int) -> Any:
    """Row positions kept zlib-compressed as int32 (at most ``m`` of them: a damaged blob
    cannot make it inflate further)."""
    import zlib

    import numpy as np

    z = zlib.decompressobj()
    raw = z.decompress(packed, 4 * m + 4)
    if len(raw) % 4 or len(raw) > 4 * m or not z.eof:
        raise ValueError("row positions do not add up")
    return np.frombuffer(raw, "<i4").astype(np.int64)


class _KeptFlat:
    """The parsed payloads ``flatten=True`` keeps per column segment in a store (under
    :data:`FLAT_KIND`): a segment's rows never change, so the objects Arrow read from them
    stay true for as long as it exists (the store drops them with it). Blocks of a frame's
    bodies that are segments use them; the ones read now are kept on a thread of their own
    after the frame is made."""

    def __init__(self, store: Any, ids: Any, b: Any) -> None:
        """``ids``: the frame's capture ids (int64 numpy), ``b``: its bodies (``_Bodies``)."""
        import threading

        self.store = store
        try:
            self.kept = store.summaries(FLAT_KIND)
        except Exception:  # noqa: BLE001 - e.g. closed meanwhile: read everything
            self.kept = {}
        self.ids = ids
        self.b = b
        self.new: dict[tuple[int, int, int], tuple[Any, ...] | None] = {}
        #: set once the frame is made: only then are the segments read now packed and kept
        #: (packing them took 0.5 s of CPU per million captures from the frame on two cores)
        self.released = threading.Event()

    def key(self, k: int) -> tuple[int, int, int] | None:
        """``(first id, last id, rows)`` of block ``k`` if it is a column segment's."""
        codecs = getattr(self.b, "codecs", None)
        if not codecs or codecs[k] != "zlib":
            return None
        lo, hi = int(self.b.starts[k]), int(self.b.starts[k + 1])
        if hi <= lo:
            return None
        key = (int(self.ids[lo]), int(self.ids[hi - 1]), hi - lo)
        return key if key in self.kept else None

    def refused(self, key: tuple[int, int, int]) -> bool:
        """Whether segment ``key`` is marked :data:`FLAT_UNREADABLE` (its objects are not one
        table: a frame of it takes the long way, without trying Arrow on it again)."""
        return self.kept.get(key) == FLAT_UNREADABLE

    def get(self, key: tuple[int, int, int]) -> tuple[Any, Any, Any, Any, Any] | None:
        blob = self.kept.get(key)
        if blob is None or blob == FLAT_UNREADABLE:
            return None
        try:
            return _unpack_flat(blob, key)
        except ValueError:  # read again, and kept again
            return None

    def made(self, key: tuple[int, int, int], base: int, table: Any, order: Any,
             slow: dict[int, Any], exact: dict[str, list[tuple[int, Any]]]) -> None:
        self.new[key] = (base, table, order, slow, exact)  # (a worker thread a key)

    def made_refused(self, key: tuple[int, int, int]) -> None:
        """Segment ``key``'s objects do not read as one table: kept as :data:`FLAT_UNREADABLE`,
        what a helper keeps for it in quiet moments (:func:`flat_rows`), so that no later
        call, in this process or another, reads it again before taking the long way."""
        self.new[key] = None

    def keep_later(self) -> None:
        if not self.new or getattr(self.store, "readonly", False):
            return
        import threading

        new, self.new = self.new, {}
        # (not a daemon: a script that exits right after its frame still keeps them)
        threading.Thread(target=self._keep, args=(new,), name="hooklab-keep-flat").start()

    def _keep(self, new: dict[tuple[int, int, int], tuple[Any, ...] | None]) -> None:
        self.released.wait(_KEEP_WAIT)
        items = []
        try:
            for key, read in new.items():
                try:
                    items.append((*key, FLAT_UNREADABLE if read is None else _pack_read(key, *read)))
                except Exception:  # noqa: BLE001 - that one is read again next time, not the rest
                    continue
                if len(items) >= _FLAT_KEEP_BATCH:
                    self.store.keep_summaries(FLAT_KIND, items)
                    items = []
            self.store.keep_summaries(FLAT_KIND, items)
        except Exception:  # noqa: BLE001 - best effort: the next call reads them again
            pass


def _read_task(task: tuple[Any, Any, dict[int, bytes], int]) -> tuple[Any, Any, Any]:
    """(table of the task's objects, their global rows, its exact lists: :func:`_exact_lists`),
    or (None, None, {}) if it has none; the types are Arrow's inference from these objects,
    timestamps read as strings."""
    import pyarrow as pa
    import pyarrow.json as pj

    chunk, rows, lines, base = task
    if not len(rows) and not lines:
        return None, None, {}
    buf, order, _, joined = _objects(chunk, rows, lines)
    want = None
    again = True
    for _ in range(4):
        table = pj.read_json(
            pa.BufferReader(buf),
            read_options=pj.ReadOptions(use_threads=False, block_size=buf.size + 1),
            parse_options=pj.ParseOptions(
                explicit_schema=want, unexpected_field_behavior="infer",
                newlines_in_values=True,
            ),
        )
        if table.num_rows != len(order):
            raise ValueError("not one object per body")
        if _nested_past(table.schema):
            raise _TooDeep(order[_deep_rows(table)])
        if _dotted(table.schema):  # each body read by Python then (_read_checked)
            raise ValueError("a key with a dot, or empty: its column would be another field's")
        try:
            if not any(_has_timestamps(f.type) for f in table.schema):
                try:
                    return _checked(table), order + base, _exact_lists(table, joined)
                except pa.ArrowInvalid as exc:  # pyarrow 26 makes a list that starts with
                    if not again or "NaN" in str(exc):  # null invalid (apache/arrow#51305):
                        raise  # with the types it inferred, it reads it right
                    again, want = False, table.schema
                    continue
            want = pa.schema([pa.field(f.name, _strings_for_timestamps(f.type)) for f in table.schema])
        except RecursionError:  # nested deeper than Python looks: pandas' long way
            raise ValueError("objects nested too deep for Arrow's columns") from None
    raise ValueError("could not read timestamps as strings")


def _assemble(results: list[tuple[Any, Any, Any]], total: int, prefix: str, stop: Any = None) -> Any:
    """One frame of all rows from the tables :func:`_read_task` gave (in row order);
    ``stop``: see :func:`_flatten_early`."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    results = [r for r in results if r[0] is not None]
    if not results:
        return pd.DataFrame(index=pd.RangeIndex(total))
    tables = [t for t, _, _ in results]
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    exact: dict[str, dict[int, Any]] = {}
    unified = _list_columns(table.schema)
    for t, o, patches in results:  # their rows in the frame
        for name, items in patches.items():
            exact.setdefault(name, {}).update((int(o[i]), v) for i, v in items)
        if t.schema == table.schema:
            continue
        own = _list_columns(t.schema)
        for name, kind in unified.items():  # types unified: [1] would read as [1.0] in a
            if name in own and own[name] != kind:  # list of floats; keep this table's
                col = _flat_column(t, name)
                values = _lists(col, patches.get(name))
                exact.setdefault(name, {}).update(
                    (int(o[i]), v) for i, v in enumerate(values) if v is not None)
    order = np.concatenate([o for _, o, _ in results])
    if len(order) != total or not np.array_equal(order, np.arange(total)):
        at = np.full(total, -1, np.int64)
        at[order] = np.arange(len(order))
        table = table.take(pa.array(at, mask=at < 0))
    return _normalize_like(table, prefix, {k: list(v.items()) for k, v in exact.items()}, stop)


def _flat_column(table: Any, name: str) -> Any:
    """Column ``name`` of ``table`` as ``Table.flatten`` names the fields of its structs."""
    import pyarrow as pa

    while name not in table.column_names and any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table.column(name)


def _objects(arr: Any, rows: Any, lines: dict[int, bytes]) -> tuple[Any, Any, int, Any]:
    """(the bodies of ``rows`` and the compact JSON of ``lines`` as one buffer in the order of
    their rows, each followed by a newline; those rows; where the first bodies up to about
    1 MiB end: a sample for the schema; the bodies as an array). In row order, the payload
    columns come in the order their fields first appear, however the rows were split.

    Arrow's reader takes the objects of the buffer one after another, so a body alone must
    not decide where an object ends: ``{"a": "`` next to ``{\\"z\\": 1}"}`` would read as one
    object, and a body of two objects beside them would keep the count of objects right
    while every later row took its neighbour's values. Each body here starts with ``{`` and
    ends with ``}`` (:func:`_split_rows`), and a newline follows it. If Arrow reads the
    buffer, every body ends where an object at the top level ends: a body ending inside a
    string would put the raw newline into that string (refused), and one ending inside an
    object would be followed by the next body's ``{`` where a comma or a closing bracket must
    come (refused). With as many objects as bodies, each body is exactly one object.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    if not lines and len(rows) == n:  # every row
        joined = arr
        order = rows
    elif not lines:
        joined = arr.take(pa.array(rows))
        order = rows
    else:  # in the order of the rows, so that Arrow meets the fields as they come
        keys = np.fromiter(lines, np.int64, len(lines))
        order = np.concatenate([rows, keys])
        sort = np.argsort(order, kind="stable")
        order = order[sort]
        where = np.concatenate([np.asarray(rows, np.int64), np.arange(n, n + len(keys))])[sort]
        extra = pa.array([lines[k] for k in keys.tolist()], arr.type)
        joined = pa.concat_arrays([arr, extra]).take(pa.array(where))
    if len(joined):
        kind = joined.type
        joined = pc.binary_join_element_wise(
            joined, pa.scalar(b"\n", kind), pa.scalar(b"", kind))
    m = len(joined)
    offs = np.frombuffer(joined.buffers()[1], np.int64, m + 1, joined.offset * 8)
    buf = joined.buffers()[2]
    if buf is None:
        return pa.py_buffer(b""), order, 0, joined
    return buf.slice(int(offs[0]), int(offs[-1] - offs[0])), order, _cut(offs), joined


def _cut(offs: Any) -> int:
    import numpy as np

    rel = offs - offs[0]
    k = int(np.searchsorted(rel, 1 << 20, "right")) - 1
    return int(rel[max(k, 1)]) if len(rel) > 1 else 0


def _dotted(fields: Any) -> bool:
    """Whether a field with a dot in its name, or an empty name (see :func:`_python_only`),
    is among ``fields`` or their structs'."""
    import pyarrow as pa

    todo = list(fields)  # (a loop, not recursion: a struct may nest hundreds deep)
    while todo:
        f = todo.pop()
        if "." in f.name or not f.name:
            return True
        if pa.types.is_struct(f.type):
            todo.extend(f.type)
    return False


def _nested_past(fields: Any, level: int = 0) -> bool:
    """Whether objects nest deeper among ``fields`` (a schema's, at ``level``) than the
    columns of ``json_normalize`` go: a struct at level :data:`_MAX_NORMALIZE_DEPTH` (0: a
    top-level field), which :func:`flatten_payloads` keeps whole as one value."""
    import pyarrow as pa

    todo = [(f, level) for f in fields]
    while todo:
        f, level = todo.pop()
        if pa.types.is_struct(f.type):
            if level >= _MAX_NORMALIZE_DEPTH:
                return True
            todo.extend((g, level + 1) for g in f.type)
    return False


def _deep_rows(table: Any) -> Any:
    """Positions of the rows of ``table`` with an object at level
    :data:`_MAX_NORMALIZE_DEPTH` (see :func:`_nested_past`)."""
    import numpy as np
    import pyarrow as pa

    deep = np.zeros(table.num_rows, bool)
    todo = [(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col, 0)
            for col in table.columns]
    while todo:
        arr, level = todo.pop()
        if not pa.types.is_struct(arr.type) or not _nested_past([pa.field("", arr.type)], level):
            continue  # (no deeper object under this one)
        if level >= _MAX_NORMALIZE_DEPTH:
            deep |= np.asarray(arr.is_valid())
        else:  # (flatten: each field's nulls include its parent's)
            todo.extend((child, level + 1) for child in arr.flatten())
    return np.flatnonzero(deep)


def _checked(table: Any) -> Any:
    """``table`` as Arrow read it, if it holds what the bodies hold for Python too: its strings
    valid UTF-8 (Arrow keeps invalid bytes, and the cell would raise when read), no NaN or
    infinity (Arrow reads ``Inf`` and ``-NaN``, which are not JSON for Python; the block
    is then read by Python). Raises ``pyarrow.ArrowInvalid`` otherwise."""
    import pyarrow as pa

    table.validate(full=True)
    todo = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in table.columns]
    while todo:
        arr = todo.pop()
        t = arr.type
        if pa.types.is_floating(t):
            import pyarrow.compute as pc

            if pc.any(pc.and_(pc.invert(pc.is_finite(arr)), arr.is_valid())).as_py():
                raise pa.ArrowInvalid("NaN or infinity: read by Python")
            # (an integer outside int64, 2**63 or more, below -2**63, is exact for the json
            # column, a float here: Arrow's reader cannot tell it from a float written so)
            if pc.any(pc.greater_equal(pc.abs(arr), _PAST_INT64)).as_py():
                raise pa.ArrowInvalid("an integer past int64 read as a float: read by Python")
        elif pa.types.is_struct(t):
            todo.extend(arr.flatten())
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            todo.append(arr.values)
    return table


def _strings_for_timestamps(t: Any) -> Any:
    """``t`` with every timestamp (Arrow infers them from ISO strings) read as a string.
    (A loop, not recursion: lists may nest hundreds deep.)"""
    import pyarrow as pa

    if not _has_timestamps(t):
        return t
    done: list[Any] = []  # the types made, in the order the loop finishes them
    todo: list[tuple[Any, bool]] = [(t, False)]
    while todo:
        u, ready = todo.pop()
        if pa.types.is_timestamp(u) or pa.types.is_date(u) or pa.types.is_time(u):
            done.append(pa.string())
        elif pa.types.is_struct(u):
            if not ready:  # its fields first (last one on top), then the struct
                todo.append((u, True))
                todo.extend((f.type, False) for f in reversed(list(u)))
            else:
                k = u.num_fields
                kids, done[len(done) - k:] = done[len(done) - k:], []
                done.append(pa.struct([pa.field(f.name, kid) for f, kid in zip(u, kids, strict=True)]))
        elif pa.types.is_list(u) or pa.types.is_large_list(u):
            if not ready:
                todo.append((u, True))
                todo.append((u.value_type, False))
            else:
                done.append(pa.list_(done.pop()))
        else:
            done.append(u)
    return done[0]


def _has_timestamps(t: Any) -> bool:
    import pyarrow as pa

    todo = [t]
    while todo:
        u = todo.pop()
        if pa.types.is_timestamp(u) or pa.types.is_date(u) or pa.types.is_time(u):
            return True
        if pa.types.is_struct(u):
            todo.extend(f.type for f in u)
        elif pa.types.is_list(u) or pa.types.is_large_list(u):
            todo.append(u.value_type)
    return False


def _read_objects(buf: Any, count: int, cut: int) -> Any:
    """Arrow's JSON reader over objects one after another, strings kept as strings: the schema
    is inferred from a sample with any timestamp read as a string, then everything is read
    with it (again if a field outside the sample was taken for a timestamp)."""
    import pyarrow as pa
    import pyarrow.json as pj

    sample = pj.read_json(
        pa.BufferReader(buf.slice(0, cut)),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(cut, 1) + 1),
        parse_options=pj.ParseOptions(newlines_in_values=True),
    ) if 0 < cut < buf.size else None
    fields = sample.schema if sample is not None else pa.schema([])
    if _nested_past(fields):  # (read whole: the rows that deep are found there)
        fields = pa.schema([])
    schema = pa.schema([pa.field(f.name, _strings_for_timestamps(f.type)) for f in fields])
    for _ in range(3):
        whole = pa.BufferReader(buf)
        table = pj.read_json(  # (one block: Arrow's chunker aborted the process on a broken
            whole,  # body just before a block's end)
            read_options=pj.ReadOptions(use_threads=False, block_size=buf.size + 1),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer", newlines_in_values=True
            ),
        )
        if table.num_rows != count:
            raise ValueError("not one object per body")
        if _nested_past(table.schema):
            raise _TooDeep(_deep_rows(table))
        if not any(_has_timestamps(f.type) for f in table.schema):
            return _checked(table)
        schema = pa.schema([pa.field(f.name, _strings_for_timestamps(f.type)) for f in table.schema])
    raise ValueError("could not read timestamps as strings")


def _arrow_flatten(
    arr: Any, rows: Any, lines: dict[int, bytes], payloads: Any, slow: dict[int, Any],
    groups: Any, prefix: str,
) -> Any:
    """The flattened frame for all rows (rows not in ``rows``/``lines``/``slow`` stay empty)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n = len(arr)
    pieces: list[tuple[Any, Any]] = []  # (row numbers, DataFrame of those rows)
    todo: list[tuple[Any, dict[int, bytes], bool]] = [(rows, lines, False)]
    split = False
    parsed: dict[int, Any] = {}  # row -> payload: each body is parsed once here

    def values(at: Any) -> list[Any]:
        new = [i for i in at.tolist() if i not in parsed]
        if new:
            parsed.update(zip(new, payloads[np.asarray(new, np.int64)].__array__().tolist(),
                              strict=True))
        return [parsed[i] for i in at.tolist()]

    while todo:
        part, extra, refused = todo.pop()
        if not len(part) and not extra:
            continue
        buf, order, cut, joined = _objects(arr, part, extra)
        try:
            if refused:  # (these very objects, read again: refused again)
                raise ValueError("the same objects as before")
            table = _read_objects(buf, len(order), cut)
            pieces.append((order, _normalize_like(table, prefix, _exact_lists(table, joined))))
        except _TooDeep as deep:  # those rows to Python (cut where json_normalize's columns end)
            moved = order[np.asarray(deep.rows, np.int64)]
            slow.update(zip(moved.tolist(), values(moved), strict=True))
            gone = set(moved.tolist())
            todo.append((np.setdiff1d(part, moved), {k: v for k, v in extra.items() if k not in gone},
                         False))
        except (pa.ArrowInvalid, ValueError):
            valid = _valid_objects(part, values(part))
            if len(valid) < len(part):  # some were not JSON objects after all
                todo.append((valid, extra, False))
            elif groups is not None and not split:  # types differ between event types
                split = True
                codes = np.asarray(groups)
                kinds = np.unique(codes[order])
                for g in kinds:  # (one group: the objects just refused)
                    todo.append((part[codes[part] == g], {k: v for k, v in extra.items() if codes[k] == g},
                                 len(kinds) == 1))
            else:  # the types differ inside one group: pandas, the slow way
                pieces.append((order, _flatten_exact(values(order), prefix=prefix)))
    if slow:
        at = np.fromiter(slow, np.int64, len(slow))
        pieces.append((at, _flatten_exact(list(slow.values()), prefix=prefix)))
    if not pieces:
        return pd.DataFrame(index=pd.RangeIndex(n))
    if len(pieces) == 1 and len(pieces[0][0]) == n and np.array_equal(pieces[0][0], np.arange(n)):
        frame = pieces[0][1]
        frame.index = pd.RangeIndex(n)
        return frame
    objects = _objects_of(*(frame for _, frame in pieces))  # (an object in one piece may be
    frames = []  # null in another)
    for at, frame in pieces:
        frame.index = pd.Index(at)
        frames.append(_exact_ints(frame))
    frames = _harmonized(frames)
    whole = pd.concat(frames, axis=0, sort=False) if len(frames) > 1 else frames[0]
    whole = whole.reindex(pd.RangeIndex(n))
    whole.attrs["objects"] = objects
    return whole


def _valid_objects(part: Any, vals: list[Any]) -> Any:
    """Those of ``part`` whose payload (``vals``, in that order) really is a JSON object."""
    import numpy as np

    keep = [i for i, v in zip(part.tolist(), vals, strict=True) if isinstance(v, dict)]
    return np.array(keep, np.int64)


def _normalize_like(
    table: Any, prefix: str, exact: dict[str, list[tuple[int, Any]]] | None = None, stop: Any = None,
) -> Any:
    """An Arrow table of objects -> the columns ``json_normalize`` makes of them: nested
    objects become dotted columns, lists stay lists, integers with missing rows floats
    (pandas' nullable ``Int64`` where a value is past 2**53, which a float would change; the
    frame's ``attrs["ints"]`` names the others, for :func:`_harmonized`). A list is the one in the body,
    and so is an integer past 2**53 in a column Arrow made floats (it met a float there):
    ``exact`` (:func:`_exact_lists`) gives the values of the rows where Arrow's would
    differ. ``stop`` (:func:`_flatten_early`) is looked at before each column."""
    import pandas as pd
    import pyarrow as pa

    objects = _struct_paths(table.schema, prefix)
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    cols: dict[str, Any] = {}
    ints = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        _go_on(stop)
        t = col.type
        if pa.types.is_null(t):
            cols[prefix + name] = pd.Series([None] * len(col), dtype=object)
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t):
            cols[prefix + name] = pd.Series(_lists(col, (exact or {}).get(name)), dtype=object)
        elif col.null_count and pa.types.is_integer(t) and _past_float(col):
            cols[prefix + name] = col.to_pandas(types_mapper={t: pd.Int64Dtype()}.get)
        elif col.null_count and pa.types.is_integer(t):  # (float64 is quicker than Int64 and
            cols[prefix + name] = col.to_pandas()  # settling it: 12 ms a 1M-row column)
            ints.append(prefix + name)
        elif pa.types.is_floating(t) and (exact or {}).get(name):
            cols[prefix + name] = _exact_floats(col, exact[name])  # type: ignore[index]
        else:
            cols[prefix + name] = col.to_pandas()
    frame = pd.DataFrame(cols)
    frame.attrs["ints"] = _Names(ints)
    frame.attrs["objects"] = objects
    return frame


def _struct_paths(fields: Any, prefix: str) -> _Names:
    """The columns (``prefix`` + dotted path) of the fields among ``fields`` (a schema's) that
    are objects: their nulls give no column of their own (:func:`_without_null_objects`)."""
    import pyarrow as pa

    out = []
    todo = [(f.name, f.type) for f in fields]  # (a loop: structs may nest 32 deep)
    while todo:
        path, t = todo.pop()
        if pa.types.is_struct(t):
            out.append(prefix + path)
            todo.extend((f"{path}.{f.name}", f.type) for f in t)
    return _Names(out)


def _objects_of(*frames: Any) -> _Names:
    """The object columns (:func:`_struct_paths`) that ``frames``, parts of one flat frame,
    note in their ``attrs["objects"]``, all of them."""
    seen: dict[str, None] = {}
    for f in frames:
        seen.update(dict.fromkeys(f.attrs.get("objects", ())))
    return _Names(seen)


def _without_null_objects(flat: Any) -> Any:
    """``flat`` (a frame's ``payload.*`` columns, as made) without the column of a field
    that is an object in some bodies and ``null`` (or an object with no fields) wherever
    else it is present: ``json_normalize`` adds such an empty column for the nulls, Arrow's
    reader does not (README), and the frame must not depend on which of them read the
    nulls. A field that is a scalar in some body keeps its column (the scalars in it).

    >>> import pandas as pd
    >>> flat = pd.DataFrame({"payload.b.c": [1.0, None], "payload.b": [None, None]})
    >>> flat.attrs["objects"] = _Names(["payload.b"])
    >>> list(_without_null_objects(flat).columns)
    ['payload.b.c']
    """
    objects = set(flat.attrs.pop("objects", ()))
    if not objects:
        return flat
    names = list(flat.columns)
    drop = [i for i, name in enumerate(names)
            if name in objects and not flat.iloc[:, i].notna().any()]
    if not drop:
        return flat
    gone = set(drop)
    return flat.take([i for i in range(len(names)) if i not in gone], axis=1)  # (a new frame)


class _Names(tuple):  # type: ignore[type-arg]
    """The column names of a frame's ``attrs["ints"]`` note. pandas deep-copies a frame's
    ``attrs`` into every column it hands out (``frame[name]``, and ``combine_first`` or
    ``astype`` inside): a plain list of 2,000 names made each read copy 2,000 strings, and a
    frame of 20,000 columns took minutes. Immutable, so every copy can be this one."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Names:
        return self


#: integers a float64 holds exactly are those of at most this magnitude
_FLOAT_EXACT = 1 << 53


def _exact_floats(col: Any, exact: list[tuple[int, Any]]) -> Any:
    """Float column ``col`` (Arrow's) as objects, the rows of ``exact`` holding the integers
    of their bodies (past 2**53: a float would change them)."""
    values = col.to_pandas().astype(object)
    for i, v in exact:
        values.iat[i] = v
    return values


def _past_float(col: Any) -> bool:
    """Whether Arrow integer column ``col`` holds a value a float64 would change (past 2**53).
    One vectorised pass."""
    import pyarrow.compute as pc

    low, high = pc.min_max(col).values()
    return low.is_valid and (low.as_py() < -_FLOAT_EXACT or high.as_py() > _FLOAT_EXACT)


def _big(col: Any) -> bool:
    """Whether pandas integer column ``col`` (int64 or ``Int64``) holds a value a float64
    would change (past 2**53: Discord's and Twitter's snowflake ids, 64-bit keys)."""
    if not len(col) or not col.notna().any():
        return False
    return int(col.max()) > _FLOAT_EXACT or int(col.min()) < -_FLOAT_EXACT


def _exact_ints(frame: Any) -> Any:
    """``frame`` with each int64 column made pandas' nullable ``Int64``, before rows are added
    to it (``reindex``, ``concat``, ``combine_first`` turn an int64 column with missing rows
    into float64, which would change a value past 2**53; :func:`_settled_ints` makes the
    columns with none such floats again at the end)."""
    import numpy as np
    import pandas as pd

    # (the dtypes read once, the columns changed by position: one ``frame[name]`` per column
    # was the quadratic part of a wide frame, and names may repeat)
    at = [i for i, t in enumerate(frame.dtypes.tolist()) if t == np.int64]
    for i in at:
        frame.isetitem(i, frame.iloc[:, i].astype(pd.Int64Dtype()))
    return frame


def _harmonized(frames: list[Any]) -> list[Any]:
    """``frames`` (parts of one frame, their rows to be combined) with the columns they share
    made to combine as one body-by-body read would: integers and floats give floats, or
    objects holding both exactly if an integer is past 2**53 (pandas would make the
    integers nullable floats, changing it); a column that is ``None`` in every row of a part
    gives way to the other parts' type (as Arrow's null type does), unless every other part
    is objects too (integers past int64: its ``None`` is the body's ``null``)."""
    import numpy as np
    import pandas as pd

    where: dict[Any, list[int]] = {}
    marked: set[tuple[int, Any]] = set()  # float columns of integers (:func:`_normalize_like`)
    kinds: list[dict[Any, Any]] = []
    gone: dict[int, list[Any]] = {}
    for k, f in enumerate(frames):
        marked.update((k, name) for name in f.attrs.get("ints", ()))
        kinds.append(dict(zip(f.columns, f.dtypes.tolist(), strict=True)))
        for name in f.columns:
            where.setdefault(name, []).append(k)
    for name, ks in where.items():
        if len(ks) < 2 or not _to_harmonize([kinds[k][name] for k in ks]):
            continue  # (most columns: no column read, so a wide frame stays linear)
        cols = {k: frames[k][name] for k in ks}
        nones = [k for k, c in cols.items() if c.dtype == object and not c.notna().any()]
        if nones and len(nones) < len(ks) and any(
                cols[k].dtype != object for k in ks if k not in nones):  # (beside objects,
            # such as integers past int64, its None is what the body has: it stays)
            for k in nones:  # (dropped together at the end: one drop a column is quadratic)
                gone.setdefault(k, []).append(name)
        ints = [k for k, c in cols.items() if isinstance(c.dtype, pd.Int64Dtype) or c.dtype == np.int64]
        floats = [k for k, c in cols.items() if c.dtype == np.float64 and (k, name) not in marked]
        whole = [k for k, c in cols.items() if c.dtype == np.float64 and (k, name) in marked]
        if (ints or floats or whole) and any(
                k not in nones and k not in ints and k not in floats and k not in whole
                for k in ks):
            # text, booleans or lists beside the numbers: an object column, which holds each
            # value as its body has it (json_normalize's); 52703 had become 52703.0 there
            # and True 1.0, only when integers met floats in the same frame
            for k in ints + floats + whole:
                frames[k][name] = _as_objects(cols[k], whole=k in whole)
            continue
        if whole and ints and not floats:
            # integers all: Int64 (these are within 2**53, exact as floats), settled at the end
            # as one reading of all the rows gives them (:func:`_settled_ints`): int64 where
            # every body has the field. A float part's NaN may be a row another part holds
            # (the rows Python read, beside Arrow's: {"n": 1, "f": NaN} then {"n": 2} had
            # made payload.n float64 [1.0, 2.0], int64 without the NaN)
            for k in whole:
                frames[k][name] = cols[k].astype(pd.Int64Dtype())
            continue
        floats += whole
        if ints and floats:
            exact = any(_big(cols[k]) for k in ints)
            for k in ints + floats:
                c = cols[k]
                frames[k][name] = c.astype(object) if exact else c.astype(np.float64)
    for k, names in gone.items():
        frames[k] = frames[k].drop(columns=names)
    return frames


def _as_objects(column: Any, *, whole: bool) -> Any:
    """A numeric part of a column as Python objects, missing values NaN (json_normalize's):
    ``int``/``float`` as read; ``whole``, a float column of integers (:func:`_normalize_like`),
    gives its integers back."""
    import numpy as np
    import pandas as pd

    out = column.astype(object)
    missing = column.isna()
    if whole:  # (not ``map``: it infers float64 again from [nan, 1], and 1 came back 1.0)
        out = pd.Series([int(v) if v == v else v for v in out.tolist()], dtype=object,
                        index=out.index, name=out.name)
    if missing.any():
        out = out.where(~missing, np.nan)
    return out


def _to_harmonize(dtypes: list[Any]) -> bool:
    """Whether a column whose parts have ``dtypes`` may need :func:`_harmonized`: one is an
    object column (maybe ``None`` everywhere), or integers meet floats."""
    import numpy as np
    import pandas as pd

    if any(t == np.dtype("O") for t in dtypes):
        return True
    ints = any(isinstance(t, pd.Int64Dtype) or t == np.int64 for t in dtypes)
    return ints and any(t == np.float64 for t in dtypes)


def _settled_ints(frame: Any) -> Any:
    """``frame`` with its ``Int64`` columns in the dtype ``json_normalize`` gives: int64 where
    no value is missing, float64 where one is (pandas' NaN) unless a value is past 2**53 (a
    float would change it: then ``Int64`` stays, exact, ``<NA>`` where missing)."""
    import numpy as np
    import pandas as pd

    frame.attrs.pop("ints", None)  # (:func:`_normalize_like`'s note, for combining only)
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.Int64Dtype):
            if not col.isna().any():
                frame[name] = col.to_numpy(np.int64)
            elif not _big(col):
                frame[name] = col.to_numpy(np.float64, na_value=np.nan)
    return frame


def _missing_as_none(frame: Any) -> Any:
    """``frame`` (``payload.*`` columns as made) with ``None``, not NaN, where a body lacks
    the field in an object column of text, booleans or a mix holding either (or of nothing
    but ``null``), as a ``null`` reads there (README). Every way of reading the bodies left
    NaN there: ``json_normalize`` for the rows Python read, pandas' joining of the parts
    (pieces, kept segments, Python's rows) for the rows a part has no such column in. A
    column of numbers only (integers past int64, or past 2**53 beside floats) keeps NaN
    there, as a float column has it; so does one of lists or of objects cut at 32 levels.

    >>> import pandas as pd
    >>> flat = pd.DataFrame({"b": [True, float("nan"), False], "n": [2**64, float("nan"), 1]})
    >>> _missing_as_none(flat)["b"].tolist(), _missing_as_none(flat)["n"].tolist()
    ([True, None, False], [18446744073709551616, nan, 1])
    """
    import numpy as np
    import pandas as pd

    for at, dtype in enumerate(frame.dtypes.tolist()):
        if dtype != np.dtype(object):
            continue
        values = frame.iloc[:, at].to_numpy(object)
        missing = pd.isna(values)  # (C speed: a frame of a million rows has many columns)
        if not missing.any():
            continue
        present = values[~missing]
        kind = pd.api.types.infer_dtype(present, skipna=False)
        if kind not in ("string", "boolean", "empty") and not (
                kind in ("mixed", "mixed-integer")
                and any(isinstance(v, (str, bool)) for v in present.tolist())):
            continue
        values = values.copy()
        values[missing] = None  # (NaN, and the None already there: no value is looked at)
        frame.isetitem(at, pd.Series(values, dtype=object, index=frame.index))
    return frame


def _lists(col: Any, exact: list[tuple[int, Any]] | None) -> list[Any]:
    """The Python values of list column ``col``, the rows of ``exact`` from there (Arrow's
    values of those rows are not made: nested lists cost the most to make)."""
    import numpy as np
    import pyarrow as pa

    if not exact:
        return col.to_pylist()
    values: list[Any] = [None] * len(col)
    done = np.zeros(len(col), bool)
    for i, v in exact:
        values[i] = v
        done[i] = True
    rest = np.flatnonzero(~done & np.asarray(col.is_valid()))
    for i, v in zip(rest.tolist(), col.take(pa.array(rest)).to_pylist(), strict=True):
        values[i] = v
    return values


_EXACT = b"hooklab.lists"  # a kept table's metadata: the lists of :func:`_exact_lists`


def _exact_lists(table: Any, bodies: Any) -> dict[str, list[tuple[int, Any]]]:
    """The values of ``table``'s list columns (read by Arrow from ``bodies``, one object each)
    in the rows where Arrow's would differ from the body's: ``{dotted column: [(table row,
    list), ...]}``. Arrow gives the items of one list column one type, so ``[1]`` next to
    ``[1.5]`` reads as ``[1.0]`` and ``[{"q": 1}]`` next to ``[{"r": 2}]`` as ``[{"q": 1,
    "r": None}]``. Those rows (an item struct with a field missing or null, a float item
    that is a whole number) are parsed by Python, as the json column parses them. So are the
    rows of a float column (not in a list) holding a whole number past 2**53: Arrow makes
    ``1234567890123456789`` next to ``1.5`` a float, changing it; the body's integer is kept
    (:func:`_exact_floats`)."""
    found = _inexact_columns(table)
    patches: dict[str, list[tuple[int, Any]]] = {}
    parsed: dict[int, Any] = {}
    for path, rows, kind in found:
        items = []
        for i in rows.tolist():
            value = parsed.get(i)
            if value is None:
                value = parsed[i] = loads_fast(bodies[i].as_py())
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            # (a float stays as Arrow has it; bool is not int; 2**53 itself is a float exactly,
            # and the long way leaves it one: only an integer past it is kept)
            if type(value) is kind and (kind is not int or abs(value) > _FLOAT_EXACT):
                items.append((i, value))
        if items:
            patches[".".join(path)] = items
    return patches


def _packed_lists(exact: dict[str, list[tuple[int, Any]]]) -> bytes:
    """:func:`_exact_lists`' values as kept: LZ4 of their JSON (no NaN, infinity or integer
    outside int64 can be among them: they stay with Python), its size first."""
    import orjson
    import pyarrow as pa

    try:
        raw = orjson.dumps(exact)
    except orjson.JSONEncodeError:  # (nested past orjson's 255 levels)
        raw = json.dumps(exact).encode()
    return len(raw).to_bytes(8, "little") + pa.compress(raw, "lz4", asbytes=True)


#: LZ4's largest compression ratio (a run of one byte): kept lists claiming more are damaged
_LZ4_RATIO = 255


def _unpacked_lists(packed: bytes, table: Any) -> dict[str, list[tuple[int, Any]]]:
    """The lists :func:`_packed_lists` kept, checked against ``table`` (``ValueError`` if
    they do not fit it)."""
    import orjson
    import pyarrow as pa

    try:
        size = int.from_bytes(packed[:8], "little")
        if size > _LZ4_RATIO * len(packed) + 64:
            raise ValueError("larger than it can inflate to")
        raw = pa.decompress(packed[8:], size, "lz4", asbytes=True)
        # (LZ4 does not say how much it made: past a stream shorter than claimed, the bytes are
        # not written. The parsers take the whole of them as one JSON object, which ends in "}")
        if raw[-1:] != b"}":
            raise ValueError("not the size it claims")
        try:
            got = orjson.loads(raw)
        except orjson.JSONDecodeError:
            got = json.loads(raw)
    except (pa.ArrowException, OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"kept lists do not read: {exc}") from exc
    if not isinstance(got, dict):
        raise ValueError("kept lists are not by column")
    names = set(_list_columns(table.schema))
    floats = set(_float_columns(table.schema))  # (their integers past 2**53: _exact_floats)
    n = table.num_rows
    out: dict[str, list[tuple[int, Any]]] = {}
    for name, items in got.items():
        if (name not in names and name not in floats) or not isinstance(items, list):
            raise ValueError("kept lists of a column the table does not have")
        fixed = []
        for item in items:
            if (not isinstance(item, list) or len(item) != 2 or type(item[0]) is not int
                    or not 0 <= item[0] < n
                    or not (isinstance(item[1], list) if name in names else type(item[1]) is int)):
                raise ValueError("kept lists of rows the table does not have")
            fixed.append((item[0], item[1]))
        out[name] = fixed
    return out


def _scalar_columns(fields: Any, test: Callable[[Any], bool]) -> dict[str, Any]:
    """{dotted name: type} of the columns ``Table.flatten`` makes of these fields whose type
    passes ``test`` (structs are looked into, lists are not)."""
    import pyarrow as pa

    out = {}
    todo = [((f.name,), f.type) for f in fields]
    while todo:
        path, t = todo.pop()
        if pa.types.is_struct(t):
            todo.extend(((*path, f.name), f.type) for f in t)
        elif test(t):
            out[".".join(path)] = t
    return out


def _float_columns(fields: Any) -> dict[str, Any]:
    import pyarrow as pa

    return _scalar_columns(fields, pa.types.is_floating)


def _list_columns(fields: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """{dotted name: type} of the list columns ``Table.flatten`` makes of these fields."""
    import pyarrow as pa

    out = {}
    for f in fields:
        if pa.types.is_struct(f.type):
            out.update(_list_columns(list(f.type), (*path, f.name)))
        elif pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            out[".".join((*path, f.name))] = f.type
    return out


def _inexact_columns(table: Any) -> list[tuple[tuple[str, ...], Any, type]]:
    """``(path, table rows, kind)`` of the columns (inside structs too) whose Python values in
    those rows may differ from the bodies', in one walk of the table: the list columns
    (``list``: see :func:`_exact_lists`), then the float columns not in lists with a whole
    number past 2**53 (``int``: maybe an integer of the body Arrow made a float)."""
    import numpy as np
    import pyarrow as pa

    lists: list[tuple[tuple[str, ...], Any, type]] = []
    floats: list[tuple[tuple[str, ...], Any, type]] = []
    todo = [((name,), col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
            for name, col in zip(table.column_names, table.columns, strict=True)]
    while todo:
        path, arr = todo.pop()
        t = arr.type
        if pa.types.is_struct(t):
            todo.extend(((*path, t.field(k).name), child) for k, child in enumerate(arr.flatten()))
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            mask = _inexact_items(arr)
            if mask is not None:
                lists.append((path, np.flatnonzero(mask), list))
        elif pa.types.is_floating(t):
            v = arr.to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):  # (>=: 2**53 + 1 reads as the float 2**53)
                rows = np.flatnonzero((np.abs(v) >= _FLOAT_EXACT) & (v == np.floor(v)))
            if len(rows):
                floats.append((path, rows, int))
    return lists + floats


def _inexact_items(arr: Any) -> Any:
    """Bool mask of the values of ``arr`` whose Python value may not be the JSON's (None: none)."""
    import numpy as np
    import pyarrow as pa

    t = arr.type
    n = len(arr)
    if pa.types.is_floating(t):
        v = arr.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            m = np.isfinite(v) & (v == np.floor(v))
        return m if m.any() else None
    if pa.types.is_struct(t):
        valid = np.asarray(arr.is_valid())
        mask = None
        for child in arr.flatten():
            m = np.asarray(child.is_null()) & valid
            sub = _inexact_items(child)
            if sub is not None:
                m |= sub
            if m.any():
                mask = m if mask is None else mask | m
        return mask
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offs = np.asarray(arr.offsets)
        values = arr.values.slice(int(offs[0]), int(offs[-1] - offs[0]))
        sub = _inexact_items(values)
        if sub is None:
            return None
        rows = np.searchsorted(offs - offs[0], np.flatnonzero(sub), side="right") - 1
        mask = np.zeros(n, bool)
        mask[rows] = True
        return mask
    return None


def flatten_payloads(payloads: list[Any], *, index: Any = None, prefix: str = "payload.") -> pd.DataFrame:
    """``payload.*`` columns from parsed payloads (non-dict payloads give empty rows): the
    columns ``pandas.json_normalize`` gives, with integers past 2**53 kept exact.

    >>> df = flatten_payloads([{"a": {"b": 1}, "id": 1234567890123456789}, {"c": None}])
    >>> df.dtypes.astype(str).to_dict()
    {'payload.id': 'Int64', 'payload.a.b': 'float64', 'payload.c': 'object'}
    >>> df["payload.id"].tolist(), df["payload.c"].tolist()
    ([1234567890123456789, <NA>], [None, None])

    An object nested deeper than 32 levels is one value (a ``dict``) in the column of its
    path, as ``json_normalize(max_level=32)`` keeps it, however deep it goes.
    """
    return _missing_as_none(_settled_ints(_flatten_exact(payloads, index=index, prefix=prefix)))


def _flat_record(obj: dict[str, Any], objects: set[str] | None = None) -> dict[str, Any]:
    """One object as ``json_normalize`` makes it a record (its keys in pandas' order: the
    top level's values that are not objects, then the objects' fields, depth first), in a
    loop rather than pandas' recursion: an object at level :data:`_MAX_NORMALIZE_DEPTH`
    stays whole, so that a body nested 1,000 deep is one value, not a RecursionError.
    ``objects`` (optional) gets the keys of the objects it goes into (their columns are the
    fields'; see :func:`_without_null_objects`)."""
    record = {k: v for k, v in obj.items() if not isinstance(v, dict)}
    stack = [("", 0, iter([(k, v) for k, v in obj.items() if isinstance(v, dict)]))]
    while stack:  # (at most _MAX_NORMALIZE_DEPTH + 1 deep)
        prefix, level, items = stack[-1]
        for k, v in items:
            key = flat_name((prefix, k))
            if isinstance(v, dict) and level < _MAX_NORMALIZE_DEPTH:
                if objects is not None:
                    objects.add(key)
                stack.append((key, level + 1, iter(v.items())))
                break
            record[key] = v
        else:
            stack.pop()
    return record


def _displayable(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``dicts`` with their lone surrogates escaped (:func:`hooklab.explore.displayable`):
    the list itself when none has any (orjson, which writes none, writes them all)."""
    import orjson

    try:
        orjson.dumps(dicts)
        return dicts
    except TypeError:  # (a lone surrogate, an integer past 64 bits, nesting past 254 levels)
        from .explore.payload import displayable

        return [displayable(d) for d in dicts]


def _flatten_exact(payloads: list[Any], *, index: Any = None, prefix: str = "payload.") -> pd.DataFrame:
    """:func:`flatten_payloads` before :func:`_settled_ints`: an integer column with missing
    rows is ``Int64`` (so that it combines with other parts exactly, see :func:`_harmonized`).
    The rows Arrow cannot take come here (it reads every other one): a lone surrogate in a
    key or a string is written as JSON escapes it (``\\ud83d``: see
    :func:`hooklab.explore.displayable`), so that the frame can be shown (a notebook's
    output is UTF-8) and the column's strings become Arrow strings."""
    import pandas as pd

    dicts = [p if isinstance(p, dict) else {} for p in payloads]
    if not any(dicts):
        return pd.DataFrame(index=index)
    dicts = _displayable(dicts)
    objects: set[str] = set()
    records = [_flat_record(d, objects) for d in dicts]
    try:
        flat = pd.DataFrame(records)
    except UnicodeEncodeError:  # lone surrogates: no Arrow-backed strings for these columns
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pd.option_context("future.infer_string", False):
                flat = pd.DataFrame(records)
    _exact_numbers(flat, records)
    flat.columns = [f"{prefix}{c}" for c in flat.columns]
    if index is not None:
        flat.index = index
    flat.attrs["objects"] = _Names(sorted(prefix + k for k in objects))
    return flat


_MISSING = object()


def _exact_numbers(flat: Any, records: list[dict[str, Any]]) -> None:
    """The float64 columns pandas made of ``records`` (flat objects) as Arrow's reading gives
    them: integers with missing rows ``Int64`` (a float changes one past 2**53), integers
    past 2**53 among floats objects holding each exactly, a field that is ``null`` wherever
    it is present ``None`` (an object column). Only columns that may be such are looked at
    again, and in them only the rows that hold a number (a sparse column of 20,000 rows
    was 20,000 lookups: 3x ``json_normalize``'s time for 300 such columns). An integer
    int64 cannot hold (2**63 to 2**64 - 1, which the json column reads exactly) makes its
    column objects holding each value as read, whatever is beside it (pandas made uint64 of
    it alone, which any missing row turned into floats).

    >>> import pandas as pd
    >>> recs = [{"a": 1, "b": 0.5}, {"c": None}, {"a": 2**60, "b": 1.5}]
    >>> flat = pd.json_normalize(recs)
    >>> _exact_numbers(flat, recs)
    >>> flat.dtypes.astype(str).to_dict(), flat["a"].tolist(), flat["c"].tolist()
    ({'a': 'Int64', 'b': 'float64', 'c': 'object'}, [1, <NA>, 1152921504606846976], [None, None, None])
    >>> recs = [{"id": 2**64 - 1, "x": 2**53 + 1}, {"id": 1, "x": 0.5}]
    >>> flat = pd.json_normalize(recs)
    >>> _exact_numbers(flat, recs)
    >>> flat.dtypes.astype(str).to_dict(), flat["id"].tolist(), flat["x"].tolist()
    ({'id': 'object', 'x': 'object'}, [18446744073709551615, 1], [9007199254740993, 0.5])
    """
    import numpy as np
    import pandas as pd

    for name in flat.columns:
        col = flat[name]
        if col.dtype == np.uint64:  # (all present, some past int64: Python's ints, exact)
            flat[name] = pd.Series(col.tolist(), dtype=object, index=flat.index)
            continue
        if col.dtype != np.float64:
            continue
        v = col.to_numpy()
        nan = np.isnan(v)
        with np.errstate(invalid="ignore"):  # (>=: 2**53 + 1 is the float 2**53 here)
            big = np.abs(v) >= _FLOAT_EXACT
        if not nan.any() and not big.any():
            continue
        rows = np.flatnonzero(~nan)
        if not len(rows):  # (a column of only null, or of missing and null: null wherever
            flat[name] = pd.Series([None] * len(v), dtype=object, index=flat.index)  # present)
            continue
        if not big.any() and (v[rows] != np.floor(v[rows])).any():
            continue  # (a fraction among them, none past 2**53: floats, as pandas made them)
        present = [records[i].get(name) for i in rows]
        if all(type(x) is int and -(1 << 63) <= x < 1 << 63 for x in present):
            data, mask = np.zeros(len(v), np.int64), np.ones(len(v), bool)
            data[rows], mask[rows] = present, False
            flat[name] = pd.arrays.IntegerArray(data, mask)
        elif any(type(x) is int and abs(x) > _FLOAT_EXACT for x in present):
            values = [r.get(name, _MISSING) for r in records]  # (floats and such integers:
            flat[name] = pd.Series([np.nan if x is _MISSING else x for x in values],  # exact)
                                   dtype=object, index=flat.index)
