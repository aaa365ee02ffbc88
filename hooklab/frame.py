"""Captures -> pandas DataFrame (pandas is imported only here, lazily).

>>> hooklab.send(lab.url_for("github"), provider="github", event="push").status
200
>>> df = captures_frame(lab.store)      # what lab.dataframe() returns
>>> df.groupby(["provider", "event_type"], observed=True).size()
provider  event_type
github    push                        1
stripe    payment_intent.succeeded    1
dtype: int64
"""

from __future__ import annotations

import gc
import json
from typing import TYPE_CHECKING, Any

from .capture import decode_body

if TYPE_CHECKING:
    import pandas as pd

    from .store.store import CaptureStore

__all__ = ["COLUMNS", "captures_frame", "flatten_payloads"]

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
_ENCODED = "instr(lower(headers), '\"content-encoding\"') > 0"
_SQL_COLS = (
    "id, received_us, kind, bin, method, path, provider, event_type, delivery_id, content_type,"
    f" length(body), status, verified, duplicate, remote_addr, body, {_ENCODED}"
)
# the low-cardinality text columns as one JSON array per row: one string per row to fetch and
# one dict lookup to number it, instead of six of each (SQLite's JSON1 functions)
_SQL_COMBINED = (
    "id, received_us, json_array(kind, bin, method, provider, event_type, content_type), path,"
    f" delivery_id, length(body), status, verified, duplicate, remote_addr, body, {_ENCODED}"
)
_CATEGORICAL = ("kind", "bin", "method", "provider", "event_type", "content_type")
_MAX_NORMALIZE_DEPTH = 32


def _loads() -> Any:
    try:
        import orjson

        return orjson.loads, (orjson.JSONDecodeError, ValueError, RecursionError)
    except ImportError:  # pragma: no cover - orjson is a dependency; stay correct without it
        return json.loads, (ValueError, RecursionError)


def parse_payloads(bodies: list[bytes], encoded: list[int], ctypes: list[str | None]) -> list[Any]:
    """Parsed JSON payloads (``None`` where a body is not JSON); gzip/deflate bodies decoded."""
    loads, errors = _loads()
    out: list[Any] = []
    append = out.append
    for body, enc, ct in zip(bodies, encoded, ctypes, strict=True):
        if not body:
            append(None)
            continue
        if not enc:
            if body[:1] in b"{[" or (ct and "json" in ct) or body.lstrip()[:1] in b"{[":
                try:
                    append(loads(body))
                    continue
                except errors:
                    pass
            append(None)
            continue
        try:  # Content-Encoding: parse the decoded view, as Capture.json() does (capped)
            body = bytes(body)
            raw = decode_body(body, "gzip" if body[:2] == b"\x1f\x8b" else "deflate")
            append(loads(raw))
        except (ValueError, *errors):
            append(None)
    return out


def captures_frame(store: CaptureStore, *, flatten: bool = False, **filters: Any) -> pd.DataFrame:
    """One typed row per capture matching ``filters``; ``flatten=True`` adds ``payload.*``."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # building ~1e5 payload dicts would trigger many useless collections
    try:
        return _frame(store, filters, flatten=flatten)
    finally:
        if gc_was_enabled:
            gc.enable()


def _frame(
    store: CaptureStore, filters: dict[str, Any], *, flatten: bool, combined: bool = True
) -> pd.DataFrame:
    import pandas as pd

    cols = _fetch(store, filters) if combined else None
    if cols is None:  # an SQLite without JSON functions: one column each
        rows = store.rows(_SQL_COLS, **filters)
        got = list(zip(*rows, strict=False)) if rows else [()] * 17
        names = ("id", "received_us", *_CATEGORICAL[:3], "path", *_CATEGORICAL[3:5], "delivery_id",
                 "content_type", "size", "status", "verified", "duplicate", "remote_addr", "body",
                 "encoded")  # fmt: skip
        cols = dict(zip(names, got, strict=True))
        ctypes = list(cols["content_type"])
        for name in _CATEGORICAL:
            cols[name] = _categorical(cols[name])
    else:
        ctypes = cols.pop("ctypes")
    payloads = parse_payloads(list(cols["body"]), list(cols["encoded"]), ctypes)
    data: dict[str, Any] = {
        "id": pd.array(cols["id"], dtype="Int64"),
        "received_at": pd.to_datetime(pd.Series(cols["received_us"], dtype="int64"), unit="us", utc=True)
        .astype("datetime64[ns, UTC]")
        .array,
        "kind": cols["kind"],
        "bin": cols["bin"],
        "method": cols["method"],
        "path": pd.array(cols["path"], dtype="string"),
        "provider": cols["provider"],
        "event_type": cols["event_type"],
        "delivery_id": pd.array(cols["delivery_id"], dtype="string"),
        "content_type": cols["content_type"],
        "size": pd.array(cols["size"], dtype="Int64"),
        "status": pd.array(cols["status"], dtype="Int64"),
        "verified": pd.array([None if v is None else bool(v) for v in cols["verified"]], dtype="boolean"),
        "duplicate": pd.array([bool(v) for v in cols["duplicate"]], dtype="bool"),
        "remote_addr": pd.array(cols["remote_addr"], dtype="string"),
    }
    df = pd.DataFrame(data)
    _add_forward_columns(df, store)
    shakes = store.handshakes() if len(df) else {}
    df.insert(df.columns.get_loc("duplicate") + 1, "handshake", pd.array(
        [shakes.get(i) for i in df["id"].tolist()] if shakes else [None] * len(df), dtype="string"))
    df["json"] = pd.Series(payloads, dtype="object", index=df.index)
    if flatten:
        df = pd.concat([df, flatten_payloads(payloads, index=df.index)], axis=1)
    return df


def _fetch(store: CaptureStore, filters: dict[str, Any]) -> dict[str, Any] | None:
    """The frame's columns, the categorical ones already built; None if SQLite lacks JSON."""
    import sqlite3

    import numpy as np
    import orjson
    import pandas as pd

    try:
        rows = store.rows(_SQL_COMBINED, **filters)
    except sqlite3.OperationalError:
        return None
    got = list(zip(*rows, strict=False)) if rows else [()] * 12
    names = ("id", "received_us", "combined", "path", "delivery_id", "size", "status", "verified",
             "duplicate", "remote_addr", "body", "encoded")  # fmt: skip
    cols: dict[str, Any] = dict(zip(names, got, strict=True))
    numbers: dict[str, int] = {}
    codes = np.fromiter(
        (numbers.setdefault(k, len(numbers)) for k in cols.pop("combined")), np.intp, len(rows)
    )
    combos = [orjson.loads(k) for k in numbers]  # the few distinct combinations
    for j, name in enumerate(_CATEGORICAL):
        values = [c[j] for c in combos]
        present = sorted({v for v in values if v is not None})
        if not present:  # all missing (or no rows): exactly what astype gives
            cols[name] = pd.Series([None] * len(rows), dtype=object).astype("category").array
            continue
        rank = {v: i for i, v in enumerate(present)}
        lut = np.array([-1 if v is None else rank[v] for v in values], dtype=np.intp)
        cols[name] = pd.Categorical.from_codes(lut[codes], categories=pd.Index(present))
    ct = _CATEGORICAL.index("content_type")
    per_combo = [c[ct] for c in combos]
    cols["ctypes"] = [per_combo[i] for i in codes.tolist()]
    return cols


def _categorical(values: Any) -> Any:
    """Like ``.astype("category")`` (sorted categories, missing as NaN), several times faster
    for the few distinct values these columns hold: one dict lookup per row."""
    import pandas as pd

    seen: dict[Any, int] = {}
    codes = [-1 if v is None else seen.setdefault(v, len(seen)) for v in values]
    if not seen:  # all missing (or no rows): exactly what astype gives
        return pd.Series(values).astype("category").array
    order = sorted(seen, key=seen.__getitem__)  # categories in first-seen order
    ranked = sorted(order)
    if ranked != order:  # renumber so the codes follow the sorted categories
        rank = {v: i for i, v in enumerate(ranked)}
        remap = [rank[v] for v in order]
        codes = [-1 if c < 0 else remap[c] for c in codes]
    return pd.Categorical.from_codes(codes, categories=pd.Index(ranked))


def _add_forward_columns(df: pd.DataFrame, store: CaptureStore) -> None:
    """``forward_status``, ``forward_latency_ms``, ``forward_error``: the latest relay of each
    capture (``lab.forward``); all missing when nothing was forwarded."""
    import pandas as pd

    latest = {f["capture_id"]: f for f in store.forwards()} if len(df) else {}
    if not latest:
        df["forward_status"] = pd.Series(pd.NA, index=df.index, dtype="Int64")
        df["forward_latency_ms"] = pd.Series(pd.NA, index=df.index, dtype="Float64")
        df["forward_error"] = pd.Series(pd.NA, index=df.index, dtype="string")
        return
    ids = df["id"].tolist()
    status = [latest[i]["status"] if i in latest else None for i in ids]
    latency = [latest[i]["latency_ms"] if i in latest else None for i in ids]
    error = [latest[i]["error"] if i in latest else None for i in ids]
    df["forward_status"] = pd.array(status, dtype="Int64")
    df["forward_latency_ms"] = pd.array(latency, dtype="Float64")
    df["forward_error"] = pd.array(error, dtype="string")


def flatten_payloads(payloads: list[Any], *, index: Any = None, prefix: str = "payload.") -> pd.DataFrame:
    """``payload.*`` columns from parsed payloads (non-dict payloads give empty rows).

    Nesting deeper than 32 levels is kept as objects rather than exploded.
    """
    import pandas as pd

    dicts = [p if isinstance(p, dict) else {} for p in payloads]
    if not any(dicts):
        return pd.DataFrame(index=index)
    try:
        flat = pd.json_normalize(dicts)  # pandas' fast path (no max_level)
    except RecursionError:
        flat = pd.json_normalize(dicts, max_level=_MAX_NORMALIZE_DEPTH)
    flat.columns = [f"{prefix}{c}" for c in flat.columns]
    if index is not None:
        flat.index = index
    return flat
