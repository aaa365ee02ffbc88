"""Captures -> pandas DataFrame (pandas is imported only here, lazily).

>>> df = captures_frame(store)                  # doctest: +SKIP
>>> df.groupby("event_type", observed=True).size()  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import json
from typing import TYPE_CHECKING, Any

from .capture import decode_body

if TYPE_CHECKING:
    import pandas as pd

    from .store import CaptureStore

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
    "remote_addr",
    "forward_status",
    "forward_latency_ms",
    "forward_error",
    "json",
)
_SQL_COLS = (
    "id, received_us, kind, bin, method, path, provider, event_type, delivery_id, content_type,"
    " length(body), status, verified, duplicate, remote_addr, body,"
    " instr(lower(headers), '\"content-encoding\"') > 0"
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
        return _frame(store, flatten=flatten, **filters)
    finally:
        if gc_was_enabled:
            gc.enable()


def _frame(store: CaptureStore, *, flatten: bool, **filters: Any) -> pd.DataFrame:
    import pandas as pd

    rows = store.rows(_SQL_COLS, **filters)
    cols = list(zip(*rows, strict=False)) if rows else [()] * 17
    payloads = parse_payloads(list(cols[15]), list(cols[16]), list(cols[9]))
    data: dict[str, Any] = {
        "id": pd.array(cols[0], dtype="Int64"),
        "received_at": pd.to_datetime(pd.Series(cols[1], dtype="int64"), unit="us", utc=True)
        .astype("datetime64[ns, UTC]")
        .array,
        "kind": cols[2],
        "bin": cols[3],
        "method": cols[4],
        "path": pd.array(cols[5], dtype="string"),
        "provider": cols[6],
        "event_type": cols[7],
        "delivery_id": pd.array(cols[8], dtype="string"),
        "content_type": cols[9],
        "size": pd.array(cols[10], dtype="Int64"),
        "status": pd.array(cols[11], dtype="Int64"),
        "verified": pd.array([None if v is None else bool(v) for v in cols[12]], dtype="boolean"),
        "duplicate": pd.array([bool(v) for v in cols[13]], dtype="bool"),
        "remote_addr": pd.array(cols[14], dtype="string"),
    }
    for name in _CATEGORICAL:
        data[name] = _categorical(data[name])
    df = pd.DataFrame(data)
    _add_forward_columns(df, store)
    df["json"] = pd.Series(payloads, dtype="object", index=df.index)
    if flatten:
        df = pd.concat([df, flatten_payloads(payloads, index=df.index)], axis=1)
    return df


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
