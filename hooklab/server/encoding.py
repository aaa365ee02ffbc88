"""Captures as JSON for ``/_hooklab/``, built a slice at a time, off the capture server's loop.

A 16 MiB body (``max_body``) is ~123 MB of JSON: ``body_b64`` and ``body_text`` with every
control character written ``\\u00XX``. ``json.dumps``/``orjson.dumps``, ``base64.b64encode``
and ``bytes.decode`` each hold the GIL for the whole string, so even on a worker thread one
call stalled the loop that answers webhooks for a second or more. Here the big strings are
made and encoded in slices of :data:`SLICE` characters: between slices the loop gets the GIL.
The bytes are exactly those of ``json.dumps(d)`` / ``orjson.dumps(d)`` of the same dict
(escaping is character by character, so the slices' encodings joined are the string's).

:data:`ENCODING` runs the builds: at most :data:`BUILDERS` at a time, so that concurrent
readers of big captures do not each hold a ~123 MB string being built at once.
"""

from __future__ import annotations

import base64
import codecs
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from ..capture import Capture, capture_to_dict

__all__ = ["BUILDERS", "ENCODING", "SLICE", "capture_json", "dumps_sliced"]

#: characters (or bytes) encoded per call: a few milliseconds of holding the GIL
SLICE = 256 * 1024
#: captures built into JSON at once by :data:`ENCODING` (bounds the memory of big reads)
BUILDERS = 2
ENCODING = ThreadPoolExecutor(max_workers=BUILDERS, thread_name_prefix="hooklab-json")

_JSON_ITEM, _JSON_KEY = ", ", ": "  # json.dumps's default separators


def _big_body(d: dict[str, Any], cap: Capture) -> None:
    """``body_b64`` and ``body_text`` of ``capture_to_dict(cap)``, made a slice at a time."""
    body = bytes(cap.body or b"")
    step = SLICE - SLICE % 3  # (base64 of slices of 3n bytes joined is the whole's)
    d["body_b64"] = "".join(
        base64.b64encode(body[i:i + step]).decode() for i in range(0, len(body), step))
    decoder = codecs.getincrementaldecoder("utf-8")()  # strict, as bytes.decode("utf-8")
    try:
        parts = [decoder.decode(body[i:i + SLICE]) for i in range(0, len(body), SLICE)]
        parts.append(decoder.decode(b"", final=True))
        d["body_text"] = "".join(parts)
    except UnicodeDecodeError:
        d["body_text"] = None


def _dumps_str(s: str, dumps: Callable[[Any], bytes]) -> list[bytes]:
    if len(s) <= SLICE:
        return [dumps(s)]
    out = [b'"']
    out.extend(dumps(s[i:i + SLICE])[1:-1] for i in range(0, len(s), SLICE))
    out.append(b'"')
    return out


def _pieces(value: Any, dumps: Callable[[Any], bytes], item: bytes, key: bytes) -> list[bytes]:
    if isinstance(value, str) and len(value) > SLICE:
        return _dumps_str(value, dumps)
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        out = [b"{"]
        for n, (k, v) in enumerate(value.items()):
            if n:
                out.append(item)
            out.append(dumps(k))
            out.append(key)
            out.extend(_pieces(v, dumps, item, key))
        out.append(b"}")
        return out
    if isinstance(value, (list, tuple)) and value:
        out = [b"["]
        for n, v in enumerate(value):
            if n:
                out.append(item)
            out.extend(_pieces(v, dumps, item, key))
        out.append(b"]")
        return out
    return [dumps(value)]


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def dumps_sliced(value: Any, *, compact: bool = True) -> bytes:
    """``orjson.dumps(value)`` (``compact``) or ``json.dumps(value).encode()``, byte for byte,
    with long strings encoded a slice at a time (see the module's docstring)."""
    if compact:
        return b"".join(_pieces(value, orjson.dumps, b",", b":"))
    return b"".join(_pieces(value, _json_dumps, _JSON_ITEM.encode(), _JSON_KEY.encode()))


def capture_json(cap: Capture, *, body: bool = True, compact: bool = True,
                 extra: Callable[[Capture], dict[str, Any]] | None = None) -> bytes:
    """``capture_to_dict(cap, body=body)`` (updated with ``extra(cap)``) as JSON bytes, the
    same as :func:`dumps_sliced` of it; a big body's fields are made a slice at a time."""
    big = body and cap.size > SLICE
    d = capture_to_dict(cap, body=body and not big)
    if big:
        _big_body(d, cap)
    if extra is not None:
        d.update(extra(cap))
    return dumps_sliced(d, compact=compact)
