"""Column segments: the captures' scalar columns, a few thousand rows per blob, for bulk reads.

SQLite stores rows; reading one column of a million rows through Python costs a Python object
per value (seconds). So the store also keeps the columns that DataFrames need (no
bodies) in ``segments``: one row per :data:`SEG_ROWS` captures, holding each column as a
plain array (integers) or as codes into a dictionary of strings. Reading a million captures
is then a few hundred blobs turned into Arrow arrays without copying.

A segment covers the captures with ids ``first_id .. last_id``; captures are never changed
after they are stored, and whatever deletes captures deletes the segments that cover them (in
the same transaction), so a segment is always exactly the rows it covers. Rows no segment
covers (the newest ones, or those next to a deletion) are read from ``captures`` directly.

A segment also keeps its captures' bodies, zlib-compressed one after another (a fifth or
less of their size for JSON): a DataFrame of a million reads them as a few hundred blobs
instead of a million rows of the table. Not all of them (:func:`keep_flag`): a binary body
(an image, random bytes: not JSON, not text) is not kept (a DataFrame's value is ``None``
either way), nor one with a ``Content-Encoding`` (compressed already), nor the bodies of a
segment where zlib would not shrink them by a tenth; those are read from ``captures`` when a
body is needed (a flag per row says which). A copy of every body made the file 2.5 times the
body bytes for binary webhooks. Segments written before kept every body (and no flags);
they read as before.

Older hooklabs read these segments too (two notebooks of different versions can share a
folder's ``.hooklab/captures.sqlite3``), and they take a ``"z"`` entry of the header's
``cols`` for every body of the segment: the Parquet export of one that knew no flags wrote
empty bodies for the binary captures. So the kept bodies and their flags are described by the
header's own ``"bodies"`` entry, which older readers never look at; ``cols`` lists them as
well (the layout of before: 5 items, no flags) only when the segment keeps every body, byte
for byte. Where it does not, an older reader finds no bodies in the segment and reads them
from ``captures``, as it does for a segment sealed without bodies (:func:`encode`).

Encoding uses only the standard library (on the store's upkeep thread, or its writer for an
in-memory store); decoding uses numpy and pyarrow, in the reading thread (zlib works without
the GIL).
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from typing import Any

from ..capture import trailers_start
from ..filters import is_text
from ..jsonread import section_coding

__all__ = ["BodyPack", "DamagedSegment", "inflate"]

#: captures per segment
SEG_ROWS = 4096

_MAGIC = b"HLS1"

#: (name, kind): "q" int64, "b" int8 (None -> -1), "s" string (dictionary-encoded, None ok)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "q"),
    ("received_us", "q"),
    ("size", "q"),
    ("status", "q"),
    ("verified", "b"),
    ("duplicate", "b"),
    ("encoded", "b"),
    ("kind", "s"),
    ("bin", "s"),
    ("method", "s"),
    ("provider", "s"),
    ("event_type", "s"),
    ("content_type", "s"),
    ("path", "s"),
    ("delivery_id", "s"),
    ("remote_addr", "s"),
)
NAMES = tuple(name for name, _ in COLUMNS)

#: SQL over ``captures``: whether a row's header section names a ``Content-Encoding`` (the
#: ``encoded`` column; a trailer field's, after a chunked body, is none of the body's). A row
#: without trailers (``trailers_at`` NULL: nearly all) costs one ``instr`` as before; only a
#: row with both a match and trailers has its header section's names read. The match is of a
#: name only: in the stored JSON pairs a name is followed by a comma, a value by ``]`` (a
#: header value "content-encoding" made the body read as compressed). As
#: :func:`encoded_flag` reads it from the stored text in Python.
ENCODED = (
    "((instr(lower(headers), '\"content-encoding\",') > 0 AND CASE"
    " WHEN trailers_at IS NULL THEN 1"
    " WHEN typeof(trailers_at) <> 'integer' OR trailers_at < 0 OR NOT json_valid(headers)"
    " OR trailers_at >= json_array_length(headers) THEN 1"
    " ELSE EXISTS (SELECT 1 FROM json_each(headers) WHERE key < trailers_at"
    " AND lower(json_extract(headers, '$[' || key || '][0]')) = 'content-encoding') END)"
    # or a Transfer-Encoding of the header section naming more than chunked (gzip, chunked:
    # jsonread.body_coding); only a row that names the field has its fields read
    " OR (instr(lower(headers), '\"transfer-encoding\",') > 0 AND CASE"
    " WHEN NOT json_valid(headers) THEN 0"
    " ELSE EXISTS (SELECT 1 FROM json_each(headers) WHERE (trailers_at IS NULL"
    " OR typeof(trailers_at) <> 'integer' OR trailers_at < 0"
    " OR trailers_at >= json_array_length(headers) OR key < trailers_at)"
    " AND lower(json_extract(value, '$[0]')) = 'transfer-encoding'"
    " AND lower(trim(json_extract(value, '$[1]'))) NOT IN ('chunked', 'identity', '')) END))"
)

#: what :data:`ENCODED` looks for first, in the lower-cased text of the headers
ENCODED_NAME = b'"content-encoding",'
#: and the other name it looks for (a transfer coding besides chunked)
TRANSFER_NAME = b'"transfer-encoding",'


def _not_word(word: str) -> str:
    """A regular expression (RE2: no look-ahead) for the text of a JSON string that is not
    exactly ``word``: a proper prefix of it, a first character that differs, or more after
    it (an escaped quote ends it early: still not ``word``)."""
    alts = [word[:i] for i in range(len(word))]
    alts += [f'{word[:i]}[^"{word[i]}][^"]*' for i in range(len(word))]
    return "(?:" + "|".join([*alts, f'{word}[^"]+']) + ")"


#: a ``Transfer-Encoding`` field of a row's headers (JSON text) whose value is anything but
#: ``chunked`` (any case), for RE2 (Arrow, DuckDB): a row it does not match has no transfer
#: coding to undo, so search and ``lab.sql`` over a Parquet dataset need not read its
#: header section (plain ``chunked``, most of those that name the field); a superset of
#: what :func:`encoded_flag` reads as coded
TRANSFER_CODED = r'(?i)"transfer-encoding",\s*"' + _not_word("chunked") + '"'


def encoded_flag(headers: str, trailers_at: Any) -> int:
    """:data:`ENCODED` of one row, from its stored ``headers`` (JSON text) and ``trailers_at``
    (the store seals imported rows from the values in memory, as a segment reads them back).

    >>> h = '[["Transfer-Encoding","chunked"],["Content-Encoding","gzip"]]'
    >>> encoded_flag(h, None), encoded_flag(h, 1), encoded_flag(h, 2)
    (1, 0, 1)
    >>> encoded_flag('[["X-A","content-encoding"]]', None)   # a value, not a name
    0
    >>> [encoded_flag(f'[["Transfer-Encoding","{v}"]]', None) for v in ("gzip, chunked", " Chunked")]
    [1, 0]
    """
    # (SQLite's lower() changes ASCII letters only: bytes, as it reads them)
    low = headers.encode("utf-8", "replace").lower()
    if ENCODED_NAME not in low:
        return _transfer_flag(headers, trailers_at) if TRANSFER_NAME in low else 0
    if trailers_at is None:
        return 1
    try:
        pairs = json.loads(headers)
    except ValueError:
        return 1
    if not isinstance(pairs, list) or trailers_start(trailers_at, len(pairs)) is None:
        return 1
    for pair in pairs[:trailers_at]:
        name = pair[0] if isinstance(pair, list) and pair else None
        if isinstance(name, str) and name.lower() == "content-encoding":
            return 1
    return _transfer_flag(headers, trailers_at) if TRANSFER_NAME in low else 0


def _transfer_flag(headers: str, trailers_at: Any) -> int:
    """The second half of :data:`ENCODED`: 1 if the header section has a
    ``Transfer-Encoding`` field whose value (stripped, any case) is not ``chunked``,
    ``identity`` or empty."""
    try:
        pairs = json.loads(headers)
    except ValueError:
        return 0
    if not isinstance(pairs, list):
        return 0
    at = trailers_start(trailers_at, len(pairs))
    for pair in pairs if at is None else pairs[:at]:
        if (isinstance(pair, list) and len(pair) > 1 and isinstance(pair[0], str)
                and pair[0].lower() == "transfer-encoding" and isinstance(pair[1], str)
                and pair[1].strip().lower() not in ("chunked", "identity", "")):
            return 1
    return 0


def header_section_text(headers: str | None, trailers_at: Any) -> str | None:
    """A row's stored ``headers`` (JSON text) cut to its header section where ``trailers_at``
    names one of its fields (as ``Capture.header_section``), else as given: for the SQL
    views' ``payload``, which reads the body's ``Content-Encoding`` from the text it is given.

    >>> header_section_text('[["A","1"],["Content-Encoding","gzip"]]', 1)
    '[["A", "1"]]'
    >>> header_section_text('[["A","1"]]', 5), header_section_text("not JSON", 0)
    ('[["A","1"]]', 'not JSON')
    """
    if trailers_at is None or headers is None:
        return headers
    try:
        pairs = json.loads(headers)
    except ValueError:
        return headers
    if not isinstance(pairs, list) or trailers_start(trailers_at, len(pairs)) is None:
        return headers
    return json.dumps(pairs[:trailers_at])


def section_encoding(headers: str | None, trailers_at: Any = None,
                     name: str = "content-encoding") -> str | None:
    """The first ``Content-Encoding`` (or field ``name``, lower-case) of a row's header section
    (its stored ``headers`` JSON text cut where ``trailers_at`` names a field, as
    ``Capture.header_section``): a trailer field's is none of the body's. ``None`` when it
    has none, or the text is no field list. ``Content-Encoding`` is read with the transfer
    codings the section names, as :func:`hooklab.jsonread.section_coding` reads them (what
    ``decode_body`` undoes).

    >>> section_encoding('[["Content-Encoding","gzip"]]'), section_encoding('[["Content-Encoding","gzip"]]', 0)
    ('gzip', None)
    >>> section_encoding('[["Content-Type","text/plain; charset=cp1252"]]', None, "content-type")
    'text/plain; charset=cp1252'
    """
    try:
        pairs = json.loads(headers) if isinstance(headers, str) else []
        at = trailers_start(trailers_at, len(pairs))
        section = pairs if at is None else pairs[:at]
        if name == "content-encoding":  # (with the transfer codings: jsonread.body_coding)
            return section_coding((k, v) for k, v in section)
        return next((str(v) for k, v in section if str(k).lower() == name), None)
    except (ValueError, TypeError):
        return None


def section_encodings(db: Any, ids: list[int], name: str = "content-encoding",
                      like: str | None = None) -> dict[int, str | None]:
    """:func:`section_encoding` (of field ``name``) of the captures ``ids`` (those found, and
    of them those whose stored ``headers`` are ``LIKE`` the pattern ``like``, when given) on
    the connection ``db`` (SQLite's or DuckDB's), 500 ids a statement (under SQLite's oldest
    limit of 999); a database of an older hooklab opened read-only has no ``trailers_at``
    column (no capture of it has trailers)."""
    found: dict[int, str | None] = {}
    trail = "trailers_at"
    for j in range(0, len(ids), 500):
        few: list[Any] = ids[j : j + 500]
        where = f" FROM captures WHERE id IN ({','.join('?' * len(few))})"
        if like is not None:
            where, few = where + " AND headers LIKE ?", [*few, like]
        try:
            rows = db.execute(f"SELECT id, headers, {trail}{where}", few).fetchall()
        except Exception as exc:  # (sqlite3's or DuckDB's error: the column, or raised)
            if "trailers_at" not in str(exc):
                raise
            trail = "NULL"
            rows = db.execute(f"SELECT id, headers, NULL{where}", few).fetchall()
        found.update((r[0], section_encoding(r[1], r[2], name)) for r in rows)
    return found


#: the SELECT list producing :data:`COLUMNS` from ``captures``
SELECT = (
    "id, received_us, length(body), status, verified, duplicate,"
    f" {ENCODED}, kind, bin, method, provider,"
    " event_type, content_type, path, delivery_id, remote_addr"
)

#: SQL over ``captures``: whether a row's body may be JSON as a DataFrame's ``json`` column
#: reads it (``hooklab.frame``): empty, a content type naming JSON, a ``Content-Encoding``,
#: or a first byte ``{``, ``[`` or white space; other bodies are ``None`` there
MAY_BE_JSON = (
    "(length(body) = 0 OR instr(content_type, 'json') > 0"
    f" OR {ENCODED}"
    " OR CAST(substr(body, 1, 1) AS BLOB) IN"
    " (x'7b', x'5b', x'20', x'09', x'0a', x'0b', x'0c', x'0d'))"
)
#: the body of a segment's row is: in the segment / not kept, binary (cannot be JSON) / not
#: kept, may be JSON (read it from ``captures``)
KEPT, NOT_JSON, ELSEWHERE = 1, 0, 2
#: bytes of a body that tell whether it is text
_PEEK = 4096
#: first bytes of a body that may be JSON (with white space before it)
_JSON_START = frozenset(b"{[ \t\r\n\x0b\x0c")
#: kept bodies are stored only if zlib makes them at most this much of their size
_SHRINKS = 0.9
#: ...below this many bytes they are kept whatever zlib does (a few small bodies)
_SMALL = 4096
#: a segment keeps its bodies only if they come to at most this many bytes (uncompressed;
#: :class:`BodyPack`): sealing holds at most this much of zlib's output, reading a segment
#: inflates at most this much, and its blob stays under the size readers take whole
#: (``_columns._WHOLE``, 32 MiB). 8 KiB a capture, 4,096 of them: Stripe-like events (300 B)
#: take 1.2 MiB, GitHub's pushes (about 8 KiB) fit; 4,096 bodies of 100 KiB (any sender's,
#: no token needed) are read from ``captures``, as binary ones are
KEEP_MAX = 32 << 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    first_id INTEGER PRIMARY KEY,
    last_id INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def keep_flag(row: Sequence[Any], body: bytes | None) -> int:
    """Whether a segment keeps a row's body (:data:`KEPT`), or where it is instead: kept if
    a DataFrame may parse it as JSON (:data:`MAY_BE_JSON`) or it is text (a form, a log
    line: ``schema()`` reads those; ``filters.is_text`` of its first 4 KiB), unless it has a
    ``Content-Encoding`` (compressed already). Binary bodies are not kept (``None``: not
    read)."""
    if row[6]:  # a Content-Encoding: compressed already, zlib would not shrink it
        return ELSEWHERE
    if body is None:
        return NOT_JSON
    ctype = row[12] or ""
    if not body or body[0] in _JSON_START or "json" in ctype:
        return KEPT
    if is_text(bytes(body[:_PEEK]), ctype, cut=len(body) > _PEEK):
        return KEPT
    return NOT_JSON


class BodyPack:
    """The bodies a segment keeps, packed as they come: one row's body at a time is given
    (:meth:`add`), its flag taken (:func:`keep_flag`) and, kept, compressed at once
    (``zlib.compressobj``: the same zlib stream as one ``zlib.compress`` of them all, which
    every hooklab reads), so sealing holds one body and what zlib made of the others, never
    a segment's bodies together (4,096 webhooks of 100 KiB, any sender's, took 1 GB).

    A segment keeps its bodies only if they come to at most :data:`KEEP_MAX` bytes: past that
    (and where zlib would not shrink them: :data:`_SHRINKS`) it keeps none, its rows flagged
    :data:`ELSEWHERE` (read from ``captures`` when needed, as every reader does for a segment
    that does not keep every body they want), so that reading a segment inflates at most that.

    >>> row = (1, 0, 2, 200, 1, 0, 0, "http", "b", "POST", None, None, None, "/b", None, None)
    >>> pack = BodyPack()
    >>> pack.add(row, b"{}"); pack.add(row, b"[1]")
    >>> pack.rows, pack.kept_bytes, inflate(pack.finish()[0], 5)
    (2, 5, b'{}[1]')
    """

    __slots__ = ("_flags", "_offsets", "_z", "_out", "kept_bytes", "over")

    def __init__(self) -> None:
        self._flags = array("b")
        self._offsets = array("q", [0])
        self._z: Any = zlib.compressobj(1)
        self._out: list[bytes] = []
        #: bytes of the bodies kept so far (uncompressed)
        self.kept_bytes = 0
        #: whether the bodies came to more than KEEP_MAX (then none is kept)
        self.over = False

    @property
    def rows(self) -> int:
        """Rows given so far."""
        return len(self._flags)

    def add(self, row: Sequence[Any], body: bytes | None) -> None:
        """Take the next row (in :data:`COLUMNS` order) and its body (``None``: not read, as
        :func:`keep_flag` allows for a body it does not keep)."""
        flag = keep_flag(row, body)
        self._flags.append(flag)
        if flag == KEPT and not self.over:
            size = len(body)  # type: ignore[arg-type]
            if self.kept_bytes + size > KEEP_MAX:  # (none kept: what zlib made is let go)
                self.over, self._z, self._out = True, None, []
            else:
                self.kept_bytes += size
                if size:
                    out = self._z.compress(body)
                    if out:
                        self._out.append(out)
        self._offsets.append(self.kept_bytes)

    def finish(self) -> tuple[bytes, array, array, int]:
        """``(compressed bytes, offsets, flags, kept bytes)`` of the rows given, with no body
        kept where they are too many bytes or zlib does not shrink them (see the class)."""
        flags, offsets, total = self._flags, self._offsets, self.kept_bytes
        packed = b""
        if not self.over:
            self._out.append(self._z.flush())
            packed = b"".join(self._out)
            self._out = []
        # (random bytes that start with {: zlib would not shrink them)
        if self.over or (total >= _SMALL and len(packed) > _SHRINKS * total):
            flags = array("b", [ELSEWHERE if f == KEPT else f for f in flags])
            offsets = array("q", bytes(8 * len(offsets)))
            total, packed = 0, zlib.compress(b"", 1)
        self._z = None
        return packed, offsets, flags, total


def encode(rows: Sequence[tuple], bodies: Sequence[bytes | None] | BodyPack | None = None) -> bytes:
    """One blob holding ``rows`` (tuples in :data:`COLUMNS` order) and, if given, those of
    their ``bodies`` it keeps, compressed (:func:`keep_flag`; ``None`` for a body not read
    because it is not kept; see the module's notes): a list of them, or a :class:`BodyPack`
    they were given to one at a time (the store's way: a segment's bodies are never held
    together).

    The kept bodies are described by the header's ``"bodies"`` entry (with the flags), and by
    a ``"z"`` entry of ``cols`` (as every hooklab reads it) only if every body is kept: an
    older hooklab takes that entry for every body of the segment (see the module's notes).

    >>> row = (1, 0, 2, 200, 1, 0, 0, "http", "b", "POST", None, None, None, "/b", None, None)
    >>> bodies(encode([row], [b"{}"])).to_pylist()
    [b'{}']
    >>> binary = encode([row, row], [b"{}", None])  # (the second not kept: read elsewhere)
    >>> bodies(binary) is None, [e[1] for e in header_of(binary)["cols"]].count("z")
    (True, 0)
    """
    if bodies is not None and not isinstance(bodies, BodyPack):
        pack = BodyPack()
        for row, body in zip(rows, bodies, strict=True):
            pack.add(row, body)
        bodies = pack
    if bodies is not None and bodies.rows != len(rows):
        raise ValueError(f"{bodies.rows} bodies for {len(rows)} rows")
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    parts: list[bytes] = []
    pos = 0
    directory: list[list[Any]] = []

    def put(data: bytes) -> list[int]:
        nonlocal pos
        at = pos
        parts.append(data)
        parts.append(_pad(len(data)))
        pos += len(data) + (-len(data) % 8)
        return [at, len(data)]

    for (name, kind), values in zip(COLUMNS, cols, strict=True):
        if kind == "q":
            directory.append([name, kind, put(array("q", values).tobytes())])
        elif kind == "b":
            data = array("b", [-1 if v is None else int(v) for v in values]).tobytes()
            directory.append([name, kind, put(data)])
        else:
            # (codes in order of first appearance, in C: a dict of the distinct values, then
            # one lookup per value; a Python loop of setdefault was most of a seal's time)
            seen = dict.fromkeys(values)
            seen.pop(None, None)
            index: dict[Any, int] = {v: i for i, v in enumerate(seen)}
            index[None] = -1
            codes = array("i", map(index.__getitem__, values))
            words = [str(v).encode("utf-8", "replace") for v in seen]
            offsets = array("q", [0])
            total = 0
            for w in words:
                total += len(w)
                offsets.append(total)
            directory.append(
                [name, kind, put(codes.tobytes()), put(offsets.tobytes()), put(b"".join(words)),
                 len(words)]
            )
    if bodies is not None:
        packed, offsets, flags, total = bodies.finish()
        kept_entry = ["body", "z", put(packed), put(offsets.tobytes()), total, put(flags.tobytes())]
        del packed
        if all(f == KEPT for f in flags):  # (older hooklabs read this one: every body, exact)
            directory.append(kept_entry[:5])
    fields: dict[str, Any] = {"n": len(rows), "order": sys.byteorder, "cols": directory}
    if bodies is not None:
        fields["bodies"] = kept_entry
    header = json.dumps(fields).encode()
    head = _MAGIC + struct.pack("<I", len(header)) + header
    head += _pad(len(head))
    parts.insert(0, head)
    blob = b"".join(parts)
    parts.clear()
    return blob


class DamagedSegment(ValueError):
    """A segment blob that does not read as one: a length, offset or count in it does not
    fit the blob (a damaged file, or a database someone crafted). Readers treat the segment
    as absent and read its rows from ``captures``."""


def _header(blob: bytes) -> tuple[dict[str, Any], int, str, int]:
    """``(header, data offset, byte order, rows)`` of a segment, checked: every number the
    readers below take from it is a non-negative integer (a JSON header can hold anything)."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or bytes(blob[:4]) != _MAGIC:
        raise DamagedSegment("not a hooklab column segment")
    if len(blob) < 8:
        raise DamagedSegment("a segment shorter than its header")
    (hlen,) = struct.unpack_from("<I", blob, 4)
    if 8 + hlen > len(blob):
        raise DamagedSegment("a segment's header runs past its end")
    try:
        header = json.loads(bytes(blob[8 : 8 + hlen]))
    except (ValueError, RecursionError) as exc:
        raise DamagedSegment(f"a segment's header is not JSON: {exc}"[:200]) from None
    if not isinstance(header, dict) or not isinstance(header.get("cols"), list):
        raise DamagedSegment("a segment's header has no columns")
    n = header.get("n")
    # (every row takes at least 8 bytes of the blob: its id)
    if type(n) is not int or not 0 <= n <= len(blob) // 8:
        raise DamagedSegment(f"a segment's row count is not one: {n!r}"[:200])
    if header.get("order") not in ("little", "big"):
        raise DamagedSegment("a segment's byte order is not one")
    base = 8 + hlen
    base += -base % 8
    return header, base, "<" if header["order"] == "little" else ">", n


def _span(blob: bytes, base: int, where: Any, size: int | None = None) -> tuple[int, int]:
    """``(at, length)`` of a directory entry, checked to lie inside ``blob`` (and, given
    ``size``, to be exactly that long)."""
    if (type(where) is not list or len(where) != 2 or type(where[0]) is not int
            or type(where[1]) is not int):
        raise DamagedSegment("a segment's directory entry is not a place")
    at, length = where
    if at < 0 or length < 0 or base + at + length > len(blob):
        raise DamagedSegment(f"a segment's column at {at} ({length} bytes) runs past its end")
    if size is not None and length != size:
        raise DamagedSegment(f"a segment's column holds {length} bytes, not {size}")
    return at, length


def _offsets(blob: bytes, end: str, count: int, base: int, where: Any, last: int) -> Any:
    """``count + 1`` int64 offsets (native order), checked to start at 0, never go back and
    end at ``last``: pyarrow's ``from_buffers`` checks only the first and the last, so one
    offset in between past the data would read foreign memory."""
    import numpy as np

    at, _ = _span(blob, base, where, 8 * (count + 1))
    offsets = np.frombuffer(blob, np.dtype(end + "i8"), count + 1, base + at).astype(np.int64, copy=False)
    if offsets[0] != 0 or offsets[-1] != last or (count and bool((np.diff(offsets) < 0).any())):
        raise DamagedSegment("a segment's offsets do not add up")
    return offsets


def decode(blob: bytes, first: int | None = None, last: int | None = None,
           rows: int | None = None) -> Any:
    """A ``pyarrow.Table`` of a segment (int64/int8 columns, dictionary<int32, large_string>).

    Every length, offset and count in the blob is checked before Arrow sees it
    (:class:`DamagedSegment` if one does not fit), and, given ``first``/``last``/``rows``
    (its row of ``segments``), that it holds exactly ``rows`` captures, ids ``first`` to
    ``last`` in increasing order.

    >>> decode(encode([(1, 0, 2, 200, 1, 0, 0, "http", "b", "POST", None, None, None, "/b",
    ...                 None, None)])).column("bin").to_pylist()
    ['b']
    """
    import numpy as np
    import pyarrow as pa

    header, base, end, n = _header(blob)
    kinds = [(e[0], e[1]) if isinstance(e, list) and len(e) >= 2 else None for e in header["cols"]]
    if [k for k in kinds if k is None or k[1] != "z"] != list(COLUMNS):
        raise DamagedSegment("a segment's columns are not hooklab's")
    buf = pa.py_buffer(blob)
    arrays = {}
    for entry in header["cols"]:
        name, kind = entry[0], entry[1]
        if kind == "z":  # the bodies: see bodies()
            continue
        if kind in ("q", "b"):
            if len(entry) != 3:
                raise DamagedSegment(f"a segment's column {name} is not one")
            width = 8 if kind == "q" else 1
            at, _ = _span(blob, base, entry[2], width * n)
            dtype = np.dtype(end + ("i8" if kind == "q" else "i1"))
            values = np.frombuffer(blob, dtype, n, base + at).astype(dtype.newbyteorder("="), copy=False)
            if kind == "b" and n and (int(values.min()) < -1 or int(values.max()) > 1):
                raise DamagedSegment(f"a segment's column {name} holds flags that are not ones")
            arrays[name] = pa.array(values)
            continue
        if len(entry) != 6 or type(entry[5]) is not int or not 0 <= entry[5] <= n:
            raise DamagedSegment(f"a segment's column {name} is not one")
        k = entry[5]  # (distinct words: at most one a row)
        c_at, _ = _span(blob, base, entry[2], 4 * n)
        d_at, d_len = _span(blob, base, entry[4])
        offsets = _offsets(blob, end, k, base, entry[3], d_len)
        codes = np.frombuffer(blob, np.dtype(end + "i4"), n, base + c_at).astype(np.int32, copy=False)
        if n and (int(codes.min()) < -1 or int(codes.max()) >= k):
            raise DamagedSegment(f"a segment's column {name} has codes past its words")
        words = pa.Array.from_buffers(
            pa.large_string(), k, [None, pa.py_buffer(offsets), buf.slice(base + d_at, d_len)]
        )
        try:
            words.validate(full=True)  # (the words are UTF-8: a few dozen, checked in microseconds)
        except pa.ArrowInvalid as exc:
            raise DamagedSegment(f"a segment's column {name}: {exc}"[:200]) from None
        indices = pa.array(codes, mask=codes < 0)
        arrays[name] = pa.DictionaryArray.from_arrays(indices, words)
    table = pa.table(arrays)
    if first is not None or last is not None or rows is not None:
        _check_ids(table, first, last, rows)
    return table


def _check_ids(table: Any, first: int | None, last: int | None, rows: int | None) -> None:
    """That a decoded segment holds the captures its row of ``segments`` says it covers."""
    import numpy as np

    ids = table.column("id").to_numpy()
    if rows is not None and len(ids) != rows:
        raise DamagedSegment(f"a segment holds {len(ids)} captures, not {rows}")
    if not len(ids):
        return
    if ((first is not None and ids[0] != first) or (last is not None and ids[-1] != last)
            or bool((np.diff(ids) <= 0).any())):
        raise DamagedSegment(f"a segment's ids are not those of captures {first} to {last}")


def bodies(blob: bytes) -> Any:
    """The bodies a segment keeps, as a ``large_binary`` array (``None`` if it does not keep
    every one of its rows'); :class:`DamagedSegment` if they are not what the segment says."""
    import pyarrow as pa

    found = _packed(blob)
    if found is None or not _every_body(found[3]):
        return None
    data, offsets, total, _ = found
    return pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(inflate(data, total))]
    )


def inflate(data: Any, size: int) -> bytes:
    """``data`` (zlib) decompressed, checked to be exactly ``size`` bytes; never more than
    that is made (a damaged or crafted block cannot inflate to gigabytes first).

    >>> inflate(zlib.compress(b"abc"), 3)
    b'abc'
    """
    z = zlib.decompressobj()
    try:
        out = z.decompress(data, size + 1)  # (room for one byte more: the stream's end)
    except zlib.error as exc:
        raise DamagedSegment(f"a segment's bodies do not decompress: {exc}") from None
    if len(out) != size or not z.eof:
        raise DamagedSegment("a segment's bodies do not decompress to their size")
    return out


#: zlib's largest compression ratio (a block of zeros): a size claimed past it is not true
_ZLIB_RATIO = 1032


def packed(blob: bytes) -> tuple[str, bytes, Any, int] | None:
    """The bodies a segment keeps as they are kept: ``("zlib", compressed bytes, offsets
    (n + 1 int64, from 0), decompressed size)``; ``None`` if it keeps none. The offsets and
    sizes are checked (:class:`DamagedSegment`), the compressed bytes are not decompressed
    (see :func:`inflate`)."""
    found = _packed(blob)
    if found is None or not _every_body(found[3]):
        return None
    return ("zlib", bytes(found[0]), found[1], found[2])


def _every_body(flags: Any) -> bool:
    """Whether a segment with these body flags keeps every one of its rows' bodies."""
    return flags is None or bool((flags == KEPT).all())


def json_packed(blob: bytes) -> tuple[tuple[str, bytes, Any, int], Any] | None:
    """The bodies a segment keeps for a DataFrame's ``json`` column: ``(("zlib", compressed
    bytes, offsets, size), flags)``; ``flags`` per row (int8 numpy: :data:`KEPT`,
    :data:`NOT_JSON` or :data:`ELSEWHERE`; the bodies not kept are empty in the pack), or
    ``None`` for a segment written before (it keeps every body). ``None`` when it keeps no
    bodies at all."""
    found = _packed(blob)
    if found is None:
        return None
    return ("zlib", bytes(found[0]), found[1], found[2]), found[3]


def _packed(blob: bytes) -> tuple[memoryview, Any, int, Any] | None:
    """:func:`json_packed`, the compressed bytes a view of ``blob``."""
    import numpy as np

    found = _bodies_entry(blob)
    if found is None:
        return None
    base, n, end, entry, every = found
    if len(entry) not in (5, 6) or type(entry[4]) is not int:
        raise DamagedSegment("a segment's bodies are not described")
    total = entry[4]
    z_at, z_len = _span(blob, base, entry[2])
    if not 0 <= total <= _ZLIB_RATIO * z_len + 64:
        raise DamagedSegment(f"a segment's bodies cannot decompress to {total} bytes")
    offsets = _offsets(blob, end, n, base, entry[3], total)
    flags = None
    if len(entry) == 6:  # (which rows' bodies it keeps: a segment of this version)
        f_at, _ = _span(blob, base, entry[5], n)
        flags = np.frombuffer(blob, np.int8, n, base + f_at)
        if n and (int(flags.min()) < 0 or int(flags.max()) > ELSEWHERE):
            raise DamagedSegment("a segment's body flags are not ones")
        if bool((np.diff(offsets)[flags != KEPT] != 0).any()):
            raise DamagedSegment("a segment keeps a body it says it does not")
        if every and not _every_body(flags):  # (older hooklabs would take it for every body)
            raise DamagedSegment("a segment lists for older readers bodies it does not keep")
    return memoryview(blob)[base + z_at : base + z_at + z_len], offsets, total, flags


def prefix_size(head: bytes) -> int | None:
    """How many first bytes of a segment blob hold its columns (all of them but the bodies),
    from its first bytes ``head`` (at least its header; ``None`` when it keeps no bodies): a
    big segment's columns are read without its bodies."""
    if len(head) < 8 or bytes(head[:4]) != _MAGIC:
        raise DamagedSegment("not a hooklab column segment")
    (hlen,) = struct.unpack_from("<I", head, 4)
    if 8 + hlen > len(head):
        raise DamagedSegment("a segment's header runs past its end")
    try:
        header = json.loads(bytes(head[8 : 8 + hlen]))
    except (ValueError, RecursionError):
        raise DamagedSegment("a segment's header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("cols"), list):
        raise DamagedSegment("a segment's header has no columns")
    entry, _ = _entry_of(header)
    if entry is None:
        return None
    if len(entry) < 3 or type(entry[2]) is not list or not entry[2] or type(entry[2][0]) is not int:
        raise DamagedSegment("a segment's bodies are not described")
    base = 8 + hlen
    base += -base % 8
    return base + max(0, entry[2][0])


def header_of(blob: bytes) -> dict[str, Any]:
    """The header of a segment blob, checked as every reader here checks it
    (:class:`DamagedSegment` if it is not one).

    >>> sorted(header_of(encode([], []))), header_of(encode([]))["n"]
    (['bodies', 'cols', 'n', 'order'], 0)
    """
    return _header(blob)[0]


def _entry_of(header: dict[str, Any]) -> tuple[list[Any] | None, bool]:
    """``(entry, every)``: the directory entry of a segment's kept bodies, and whether it
    must keep every body (``cols`` lists them too, for older hooklabs: see the module's
    notes). The header's ``"bodies"`` entry (with flags) comes first; a segment without one
    has its bodies in ``cols`` if anywhere (sealed by an older hooklab: every body, 5 items;
    or by the version just before this layout: 6 items, flags included, which the oldest
    readers misread)."""
    listed = next((e for e in header["cols"]
                   if isinstance(e, list) and len(e) >= 2 and e[1] == "z"), None)
    if "bodies" not in header:
        return listed, False
    entry = header["bodies"]
    if type(entry) is not list or len(entry) != 6 or entry[:2] != ["body", "z"]:
        raise DamagedSegment("a segment's bodies are not described")
    if listed is not None and listed != entry[:5]:  # (both are read: by older hooklabs and here)
        raise DamagedSegment("a segment describes its bodies twice, not alike")
    return entry, listed is not None


def _bodies_entry(blob: bytes) -> tuple[int, int, str, list[Any], bool] | None:
    """Where a segment's bodies are: (data offset, rows, byte order, directory entry, whether
    it must keep every body: see :func:`_entry_of`)."""
    header, base, end, n = _header(blob)
    entry, listed = _entry_of(header)
    if entry is None:
        return None
    return base, n, end, entry, listed


def empty() -> Any:
    """A table with the segment columns and no rows."""
    return decode(encode([]))
