"""Import JSON Lines exports (``lab.export(path, fmt="jsonl")``) back into a lab, streaming.

>>> lab.export("captures.jsonl")
1
>>> old = hooklab.load_jsonl("captures.jsonl")
>>> old.dataframe()["event_type"].tolist()
['payment_intent.succeeded']
>>> old.stop()

One capture per line, as the export writes it (``body_b64`` holds the exact body; a line
written by hand may give ``body`` as text instead, stored as UTF-8, and ``url`` without
``path``: the capture's path is then the URL's, ``/github/push`` for
``http://host/github/push?a=1``; given both, ``path`` is the capture's, while its query is
always the URL's, the one replay sends); a UTF-8 byte order mark before the first line is
skipped. The file is read a line at a time and stored thousands of rows per transaction, so
a million captures import in seconds with memory that does not grow with the file.
``received_at`` and ``status`` are read as a HAR entry's time and status are
(:func:`read_jsonl`): what is wrong refuses the file, naming the line; a line without them is
imported (at the time of the import; a time without its UTC offset as UTC; status 0) and one
warning names those lines. Captures keep their provider, event type, status, verification,
the handshake answered, where their trailer fields start (``trailers_at``: signatures are
checked in the header section before them), their forwarding outcomes and, in a line the lab exported (it has the capture's ``id``), the method as sent (``get``; a line
written by hand has it upper-cased): every column of ``lab.dataframe()`` but ``id`` and
``duplicate``, which are the importing store's own.

A big file (:data:`HELPER_BYTES` or more) on a machine with CPUs to spare is read by helper
processes too (:mod:`hooklab.explore.parallel`): each prepares the rows of byte ranges of the
file while the caller stores the ranges before, in file order. The store ends up the same,
and a bad line raises the same error after storing the same captures as when one process
reads it all. A big HAR file as hooklab writes it (one entry a line) is read the same way by
:func:`load_har` (``hooklab.load_har``).
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import marshal
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..capture import (
    EARLIEST,
    LATEST,
    MAX_HEAD,
    TIME_RANGE,
    check_header_count,
    check_header_limits,
    check_import,
    check_request_syntax,
    keep_imported,
    new_record,
    parse_iso,
    parse_query,
    session_credentials,
    shown_value,
    status_number,
    status_ok,
    user_stacklevel,
)
from . import (
    NAIVE,
    REDACTED_NOTE,
    UNANSWERED,
    UNTIMED,
    _open_regular,
    redactions_said,
    stand_ins_said,
)

if TYPE_CHECKING:
    from ..explore.parallel import Helpers
    from ..store import CaptureStore, RowMaker

__all__ = ["ANSWER_BYTES", "HAR_LAST", "HAR_LINES", "HELPER_BYTES", "JSONL", "MAX_LINE",
           "RANGE_BYTES", "har_lines", "load", "load_har", "prepare_range", "ranges",
           "read_jsonl"]

#: files at least this big are read by helper processes too (starting one costs about half a
#: second; 64 MiB is some 70,000 captures)
HELPER_BYTES = 64 * 2**20
#: bytes of the file in one helper's piece of work (about 4,000 captures)
RANGE_BYTES = 4 * 2**20
#: bytes of helpers' answers waiting for the caller at most (more wait in the helpers)
ANSWER_BYTES = 64 * 2**20
#: bytes a line of a JSON Lines file may hold at most (its line end included); a longer one
#: is refused, naming it, before it is parsed (an endless line took memory until MemoryError).
#: The longest an export writes: a body of ``max_body`` bytes (16 MiB by default) as base64
#: (4/3 of it: 21.3 MiB) and what its request head makes (headers, URL and query, at most the
#: server's 1 MiB head, escaped: under 10 MiB), about 32 MiB. Raise it to import the export of
#: a lab whose ``max_body`` is over 40 MiB. (A big HAR file's entry lines: one past it is read
#: with the rest of the file, as a whole.)
MAX_LINE = 64 * 2**20
#: what a range holds (the third number of its key): JSON Lines, or the entry lines of a HAR
#: file as hooklab writes it (one entry a line, each but the last followed by a comma)
JSONL, HAR_LINES, HAR_LAST = 0, 1, 2
#: added to a range's kind when the import keeps credentials (``redact_credentials=False``)
KEEP_CREDENTIALS = 4
#: a UTF-8 byte order mark, which Windows tools write before a file's first line: skipped
_BOM = b"\xef\xbb\xbf"
#: the path of a line's ``url`` (absolute, or the relative one of a capture stored without a
#: Host: ``//github/push`` is then a path), percent-escapes and all
_URL_PATH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)?(/[^?#]*)?")


_fromiso = parse_iso
_b64decode = base64.b64decode


def _text(value: Any, what: str, default: str = "") -> str:
    if value is None:
        return default
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _pairs(headers: Any) -> list[tuple[str, str]]:
    out = []
    for h in headers:
        if type(h) is not list or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
            raise TypeError("headers must be [name, value] string pairs")
        out.append((h[0], h[1]))
    return out


class _Untimed(Exception):
    """A line without ``received_at`` where no "now" may be given it (a helper's range)."""


def _record(d: Any, now: bool = True, notes: list[str] | None = None,
            redact_credentials: bool = True) -> dict[str, Any]:
    """One line's capture record; every field is checked (the file is untrusted), in the order
    the error messages name them. Written out inline: it runs once per line of a large file.

    ``received_at`` and ``status`` follow the rules of a HAR entry's ``startedDateTime`` and
    status (:func:`hooklab.export.read_har`): present but wrong (a time that is no ISO 8601
    string or outside what a DataFrame holds, :data:`~hooklab.capture.EARLIEST` to
    :data:`~hooklab.capture.LATEST`, a status that is no whole number or out of range) raises,
    naming the field; missing, a stand-in is given and noted in ``notes``:
    :data:`~hooklab.export.UNTIMED` (no time, ``null`` or ``""``: stamped now, or with
    ``now=False`` :class:`_Untimed` is raised), :data:`~hooklab.export.NAIVE` (a time without
    its UTC offset: read as UTC), :data:`~hooklab.export.UNANSWERED` (no status, or ``null``:
    0, as a request that got no answer). ``200.0`` and ``"404"`` are read as statuses.
    Each header value ``redact_credentials`` stores as ``[redacted]`` (as on arrival) is
    noted :data:`~hooklab.export.REDACTED_NOTE`.

    >>> notes = []
    >>> r = _record({"path": "/a", "received_at": "2024-05-01T10:00:00", "status": "404"}, True, notes)
    >>> r["received_at"], r["status"], notes
    (datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc), 404, ['naive'])
    >>> _record({"path": "/a", "received_at": 1714557600})
    Traceback (most recent call last):
    ...
    TypeError: received_at must be a string (an ISO 8601 time), got int
    """
    if type(d) is not dict:
        raise TypeError("a line is not an object")
    get = d.get
    if type(get("log")) is dict:  # (a HAR file written on one line: see _not_a_capture)
        raise ValueError("a HAR file's log, no capture")
    when = get("received_at")
    if type(when) is str and when:
        try:
            received = _fromiso(when)
        except ValueError:
            raise ValueError(f"received_at {shown_value(when)} is not an ISO 8601 time") from None
        if received.tzinfo is None:
            if notes is not None:
                notes.append(NAIVE)
            received = received.replace(tzinfo=timezone.utc)
        if not EARLIEST <= received <= LATEST:  # (said with the time as the line gives it)
            raise ValueError(f"received_at {shown_value(when)} is {TIME_RANGE}")
    elif when is not None and when != "":
        raise TypeError("received_at must be a string (an ISO 8601 time), got "
                        f"{type(when).__name__}")
    elif now:  # (as a HAR entry without startedDateTime: the time it is read, and said)
        if notes is not None:
            notes.append(UNTIMED)
        received = datetime.now(timezone.utc)
    else:
        raise _Untimed
    query = get("query") or {}
    if type(query) is not dict:
        raise TypeError("query must be an object")
    if query:
        for k, vs in query.items():
            if type(vs) is not list or not all(type(v) is str for v in vs):
                raise TypeError(f"query {k!r} must be a list of strings")
    # (an export always writes the status, 0 for a request that got no answer, a WebSocket
    # recording's failed connect: none is 0 too, and said; 200 made an answer up)
    status = get("status")
    if type(status) is not int:
        if status is None:
            if notes is not None:
                notes.append(UNANSWERED)
            status = 0
        else:  # (200.0, "404": read; 200.9, true, "OK": ValueError, naming it)
            status = status_number(status, "status")
    if not status_ok(status, get("kind")):
        ws = get("kind") == "ws"
        raise ValueError(f"status {status} is not an HTTP status "
                         f"({'a WebSocket close code, ' if ws else ''}0 to {4999 if ws else 999})")
    method = get("method")
    method = "GET" if method is None else _text(method, "method")
    path = get("path")
    if path is None:  # (a line written by hand may give the url alone: its path is the url's;
        url = get("url")  # given both, the line's path is the capture's)
        given = _URL_PATH.match(url) if type(url) is str else None
        path = (given[1] if given else None) or "/"
    path = _text(path, "path") or "/"
    headers = get("headers") or ()
    # (the server's limits: check_header_limits, inline)
    check_header_count(len(headers), get("trailers_at"))
    pairs = []
    size = 0
    for h in headers:
        if type(h) is not list or len(h) != 2 or type(h[0]) is not str or type(h[1]) is not str:
            raise TypeError("headers must be [name, value] string pairs")
        pairs.append((h[0], h[1]))
        size += len(h[0]) + len(h[1]) + 4
    if size > MAX_HEAD:  # (the header section and the trailer fields each within the limit:
        check_header_limits(pairs, get("trailers_at"))  # the server's; raises, saying so)
    # (an imported file is untrusted, as a HAR file is: a method such as "GET /admin" or a CR
    # in a header would become another request line or header when the capture is replayed)
    check_request_syntax(method.upper(), path, pairs)
    if "id" not in d:  # a line written by hand: "post" is POST; a capture the lab exported
        method = method.upper()  # (it has its id) keeps the method it was sent with ("get")
    url = get("url")
    url = "" if url is None else _text(url, "url")
    if "id" not in d and not (path + url).isascii():
        # a line written by hand is text (an IRI: "?q=ü" is the character, not the byte 0xFC
        # a received target would store it as), as another tool's HAR URL is: its characters
        # past ASCII percent-encoded as UTF-8 (RFC 3987 section 3.1), so that replay, forward
        # and copy-as-curl send what a browser sends. An exported line (its id) keeps its
        # target's bytes, a character each.
        from ..outbound.sender import ascii_url, iri_escaped

        with suppress(UnicodeEncodeError, ValueError):  # (a lone surrogate: refused below)
            (path + url).encode("utf-8")
            # (the URL's host as written, as the HAR import keeps it: only what is sent moves)
            path, url = iri_escaped(path), ascii_url(url) if url else url
    kind = get("kind")
    kind = ("http" if kind is None else _text(kind, "kind")) or "http"
    check_import(path, url, received, kind)
    if "?" in url:  # (the query replay and copy-as-curl send is the URL's: the capture shows it)
        try:
            query = parse_query(urlsplit(url).query)
        except ValueError:  # (a Host such as "[x": replay takes the query after the "?")
            query = parse_query(url.split("?", 1)[1].split("#", 1)[0])
    elif url:
        query = {}
    b64, text = get("body_b64"), get("body")
    if text is not None:  # (a line written by hand: the body as text; an export writes base64)
        if b64 is not None:
            raise ValueError("give body_b64 or body, not both")
        body = _text(text, "body").encode("utf-8")
    else:
        try:
            body = _b64decode("" if b64 is None else _text(b64, "body_b64"), validate=True)
        except binascii.Error as exc:  # ("Only base64 data is allowed": say which field)
            raise ValueError(f"body_b64 is not base64 ({exc})") from None
    remote = get("remote_addr")
    if redact_credentials and notes is not None:
        notes.extend([REDACTED_NOTE] * session_credentials(pairs))
    from ..server.guard import jupyter_tokens_now

    record = new_record(  # (Jupyter's cookie and token headers scrubbed, as on arrival; and
        method, path, pairs, body,  # your Jupyter servers' tokens, as on arrival)
        remote_addr="" if remote is None else _text(remote, "remote address"),
        url=url, received_at=received, status=status, kind=kind, query=query,
        redact_credentials=redact_credentials, secrets=jupyter_tokens_now(),
    )
    return keep_imported(record, d)  # type: ignore[arg-type,return-value]


_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, binascii.Error)


def _too_long() -> str:
    """Why a line longer than :data:`MAX_LINE` is not read (the same words on every path)."""
    return (f"longer than {MAX_LINE:,} bytes, the most a line may hold: "
            "hooklab.export.jsonl.MAX_LINE")


#: how a HAR file starts (after a byte order mark): an object whose first member is "log"
_HAR_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:')


def _not_a_capture(name: str, f: Any, number: int, why: str, first: bool) -> ValueError:
    """The error of a line that is not a capture: ``number`` and ``why``; when it is the
    file's first (``first``) and the file ``f`` starts as a HAR file does, one saying so and
    naming the loader that reads it, as ``hooklab.open`` does."""
    if first:
        f.seek(0)
        if _HAR_START.match(f.read(512).removeprefix(_BOM)):
            return ValueError(f"{name!r} is a HAR file, not JSON Lines: import it with "
                              "hooklab.load_har(path)")
    return ValueError(f"{name!r}: line {number} is not a capture ({why})")


class _Told:
    """What an import gave lines that did not say it (:func:`_record`'s notes): per note, how
    many lines and where the first few are (their line numbers, or on the helper path
    ``(range start, line in the range)``, made line numbers at the end). Memory stays the
    same however many lines there are."""

    SHOWN = 5

    def __init__(self, har: bool = False) -> None:
        #: the entry lines of a HAR file (:func:`load_har`): told as entries, from 0, as
        #: :func:`hooklab.export.read_har` tells them (its first line opens the entries)
        self.har = har
        # note: [how many lines, [where of the first few], how many notes, where of the last]
        # (a line notes each header value redacted: REDACTED_NOTE)
        self.seen: dict[str, list[Any]] = {}

    def add(self, what: str, where: Any) -> None:
        seen = self.seen.setdefault(what, [0, [], 0, None])
        seen[2] += 1
        if seen[3] == where:  # (notes of one line come together)
            return
        seen[0] += 1
        seen[3] = where
        if len(seen[1]) < self.SHOWN:
            seen[1].append(where)

    def __bool__(self) -> bool:
        return bool(self.seen)

    def text(self, name: str) -> str:
        """The one line an import says of them (as :func:`hooklab.export.read_har` says of
        entries, with line numbers from 1, as its errors name them).

        >>> told = _Told()
        >>> for what, line in [(UNTIMED, 1), (UNTIMED, 4), (NAIVE, 3), (UNANSWERED, 7)]:
        ...     told.add(what, line)
        >>> print(told.text("x.jsonl"))
        hooklab: 'x.jsonl': 2 lines have no received_at (lines 1, 4): stamped with the time of this import; 1 line's received_at names no UTC offset (line 3): read as UTC; 1 line has no status (line 7): imported with status 0, as requests that got no answer
        >>> told = _Told()
        >>> for line in (2, 2, 5):
        ...     told.add(REDACTED_NOTE, line)
        >>> print(told.text("x.jsonl"))
        hooklab: 'x.jsonl': 3 header values (Cookie, X-XSRFToken, Authorization: token ...) in 2 lines (lines 2, 5) stored as [redacted], as the lab stores them on arrival; hooklab.load_jsonl(path, redact_credentials=False) keeps them
        """
        def which(n: int, lines: list[int]) -> str:
            return (f"line{'' if n == 1 else 's'} " + ", ".join(map(str, lines))
                    + (", ..." if n > len(lines) else ""))

        said = stand_ins_said({k: (n, which(n, lines)) for k, (n, lines, *_) in self.seen.items()},
                              ("line", "lines"), "received_at", "status")
        if REDACTED_NOTE in self.seen:
            lines, shown, values, _ = self.seen[REDACTED_NOTE]
            if self.har:
                shown = [line - 2 for line in shown]
                where = which(lines, shown).replace("lines", "entries").replace("line", "entry")
                said.append(redactions_said(values, lines, where, ("entry", "entries"),
                                            "hooklab.load_har"))
            else:
                said.append(redactions_said(values, lines, which(lines, shown),
                                            ("line", "lines"), "hooklab.load_jsonl"))
        return f"hooklab: {name!r}: " + "; ".join(said)

    def warn(self, name: str) -> None:
        if self.seen:
            import warnings

            warnings.warn(self.text(name), UserWarning, stacklevel=user_stacklevel())


def read_jsonl(path: str | os.PathLike[str], *, redact_credentials: bool = True
               ) -> Iterator[dict[str, Any]]:
    """Capture records from a JSON Lines export, one line at a time (blank lines skipped).

    ``received_at`` and ``status`` are read as a HAR entry's time and status are
    (:func:`hooklab.export.read_har`): as they are or not at all. A time that is no ISO 8601
    string (a number, ``"yesterday"``) or outside what a DataFrame holds (1677-09-21T00:12:43.145225Z
    to 2262-04-11T23:47:16.854775Z), a status that is no whole number
    (``200.9``, ``true``, ``"OK"``; ``200.0`` and ``"404"`` are read) or out of range (0-999;
    a WebSocket message's close code to 4999) is refused, naming the line. A line without
    them is read: without a time (``null`` or ``""`` too) at the time it is read, with a time
    that names no UTC offset as UTC, without a status (or ``null``) with status 0, as a request
    that got no answer; once the last line is read, one warning names those lines.
    ``Cookie``, ``X-XSRFToken`` and Jupyter's ``Authorization: token ...`` are stored as
    ``[redacted]``, as a live request's are (the warning says how many);
    ``redact_credentials=False`` keeps them as the file has them.

    Raises ``ValueError`` naming the file and line when a line is malformed or longer than
    :data:`MAX_LINE`, or naming the file when it is not a regular file, or is a HAR file
    (``hooklab.load_har`` reads it).

    >>> lab.export("captures.jsonl")
    1
    >>> [r["status"] for r in read_jsonl("captures.jsonl")]
    [200]
    """
    yield from _read(path, redact_credentials=redact_credentials)


def _read(path: str | os.PathLike[str], skip: int = 0, redact_credentials: bool = True
          ) -> Iterator[dict[str, Any]]:
    """:func:`read_jsonl`; its warning names none of the first ``skip`` records' lines (an
    earlier import stored them)."""
    import orjson

    name = os.fspath(path)
    told = _Told()
    noted: list[str] = []
    records = 0
    with _open_regular(path) as f:
        limit = MAX_LINE
        # (read at most a line's limit and one byte more: a longer line is never held whole;
        # the file's size bounds the loop, each turn taking at least one byte of it)
        for number, line in enumerate(iter(lambda: f.readline(limit + 1), b""), 1):
            if len(line) > limit:
                raise ValueError(f"{name!r}: line {number} is not a capture ({_too_long()})")
            if number == 1 and line.startswith(_BOM):  # (as a HAR file's is: Windows tools)
                line = line[len(_BOM):]
            if not line.strip():
                continue
            try:
                record = _record(orjson.loads(line), True, noted, redact_credentials)
            except _ERRORS as exc:  # (orjson.JSONDecodeError is a ValueError)
                raise _not_a_capture(name, f, number, str(exc), records == 0) from None
            if noted:
                if records >= skip:
                    for what in noted:
                        told.add(what, number)
                noted.clear()
            records += 1
            yield record
    told.warn(name)


def load(store: CaptureStore, path: str | os.PathLike[str], *, skip: int = 0,
         redact_credentials: bool = True) -> int:
    """Import the JSON Lines export ``path`` into ``store``; returns how many captures.
    ``skip``: the first records of the file are read (and checked) but not stored, those an
    interrupted import stored (:class:`~hooklab.store.ImportInterrupted` says how many).
    ``redact_credentials``: as :func:`read_jsonl`.

    What ``store.add_many(read_jsonl(path))`` does, with helper processes preparing the rows of
    a big file (see the module's text). A store that verifies signatures (it has secrets)
    reads it in this process. A big file is read as far as it reached when the import
    started: finish writing it first.

    >>> from hooklab.store import CaptureStore
    >>> lab.export("captures.jsonl")
    1
    >>> store = CaptureStore(":memory:")
    >>> load(store, "captures.jsonl")
    1
    >>> store.close()
    """
    from itertools import islice

    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ValueError(f"skip must be a number of records (0 or more), got {skip!r}")
    name = os.fspath(path)
    with _open_regular(path) as f:  # (a FIFO, a device: refused here, naming it)
        size = os.fstat(f.fileno()).st_size
    if store.secrets or store.readonly or size < HELPER_BYTES:
        return store.add_many(islice(_read(path, skip, redact_credentials), skip, None))
    keys = ranges(path, kind=JSONL if redact_credentials else JSONL | KEEP_CREDENTIALS)
    with _helpers(path, keys) as helpers:
        if helpers is None:
            return store.add_many(islice(_read(path, skip, redact_credentials), skip, None))
        return store.add_rows(islice(_rows(name, path, keys, helpers, skip), skip, None))


@contextmanager
def _helpers(path: str | os.PathLike[str], keys: list[tuple[int, int, int]]
             ) -> Iterator[Helpers | None]:
    """Helper processes for ``keys`` of the file (or ``None``), ended when the block ends;
    killed at once if it ends by an error (an interrupt, too)."""
    from ..explore import parallel

    parallel.register_task("jsonl", __name__, "prepare_range", "file")
    helpers = None
    try:
        helpers = parallel.start(os.path.abspath(os.fsdecode(path)), keys, task="jsonl",
                                 newest_first=False, ahead=2, ahead_bytes=ANSWER_BYTES,
                                 least=HELPER_BYTES // RANGE_BYTES, per=4, spare=0)
        yield helpers
    except BaseException:
        if helpers is not None:
            helpers.kill()
        raise
    finally:
        if helpers is not None:
            helpers.close()


def ranges(path: str | os.PathLike[str], size: int | None = None, *, first: int = 0,
           end: int | None = None, kind: int = JSONL) -> list[tuple[int, int, int]]:
    """The file (bytes ``first`` to ``end``) cut into pieces of about ``size``
    (:data:`RANGE_BYTES`) bytes at line ends: ``(start, stop, kind)`` each (:data:`JSONL`; the
    entry lines of a HAR file are :data:`HAR_LINES`, their last piece :data:`HAR_LAST`; with
    :data:`KEEP_CREDENTIALS` added to ``kind``, to each)."""
    size = RANGE_BYTES if size is None else size
    out = []
    with open(path, "rb") as f:
        end = os.fstat(f.fileno()).st_size if end is None else end
        start = first
        while start < end:
            f.seek(min(start + size, end))
            # (to the end of the line the cut falls in, or MAX_LINE past the cut: a piece
            # then holds a line longer than that, which _prepare says, with its number)
            f.readline(MAX_LINE + 1)
            stop = min(f.tell(), end)
            out.append((start, stop, kind))
            start = stop
    if kind & ~KEEP_CREDENTIALS == HAR_LINES and out:
        out[-1] = (*out[-1][:2], HAR_LAST | kind & KEEP_CREDENTIALS)
    return out


def _rows(name: str, path: str | os.PathLike[str], keys: Sequence[tuple[int, int, int]],
          helpers: Helpers, skip: int = 0) -> Iterator[list[Any]]:
    """Every row of the file in order: each range's from its helper (or made here when no
    helper gives it), raising where :func:`read_jsonl` and ``add_many`` would, and after the
    last row warning as it does (of the lines of records from the ``skip``-th on)."""
    from ..store import RowMaker

    records = 0  # before this range
    make = RowMaker()
    told = _Told(har=bool(keys) and keys[0][2] & ~KEEP_CREDENTIALS != JSONL)
    with open(path, "rb") as f:
        for key in keys:
            notes: list[tuple[str, int, int]] = []
            rows = _unpack(helpers.take(key), key, notes)
            error = None
            if rows is None:  # (no helper gave it, or one found something only this process says)
                notes.clear()
                rows, error = _prepare(f, key, make, False, notes)
            for what, number, index in notes:
                if records + index >= skip:
                    told.add(what, (key[0], number))
            yield from rows
            if error is not None:
                kind, at, text = error
                if kind == "layout":
                    raise _NotThisWay(text)
                if kind == "line":
                    first = records == 0 and not rows
                    at += _lines_before(f, key[0])
                    raise _not_a_capture(name, f, at, text, first)
                raise ValueError(f"record {records + at}: cannot be stored ({text})")
            records += len(rows)
        if told:  # (the first few lines of each note: line numbers, counted in one pass)
            before = _lines_at(f, [start for _, wheres, *_ in told.seen.values()
                                   for start, _ in wheres])
            for seen in told.seen.values():
                seen[1] = [before[start] + number for start, number in seen[1]]
    told.warn(name)


def _lines_at(f: Any, starts: list[int]) -> dict[int, int]:
    """Lines of ``f`` before each byte of ``starts`` (line starts), reading the file once."""
    out: dict[int, int] = {}
    f.seek(0)
    at = lines = 0
    for start in sorted(set(starts)):
        while at < start:
            block = f.read(min(start - at, 1 << 20))
            if not block:
                break
            lines += block.count(b"\n")
            at += len(block)
        out[start] = lines
    return out


def _lines_before(f: Any, end: int) -> int:
    """Lines of ``f`` before byte ``end`` (a line start): for an error's line number."""
    f.seek(0)
    n = 0
    while end > 0:
        block = f.read(min(end, 1 << 20))
        if not block:
            break
        n += block.count(b"\n")
        end -= len(block)
    return n


def _unpack(packed: bytes | None, key: tuple[int, int, int],
            notes: list[tuple[str, int, int]] | None = None) -> list[list[Any]] | None:
    """The rows of a helper's answer for ``key``, or ``None`` when it is not a whole one: no
    answer, not this range's, a row whose values are not of their column's types, notes that
    are not :func:`_prepare`'s, or a range the helper could not finish (an error, a capture
    without its time). This process then makes that range itself (and says what is wrong,
    with the line number). The helper's notes of its lines go in ``notes``."""
    if not packed:
        return None
    try:
        got = marshal.loads(packed)
    except (ValueError, EOFError, TypeError):
        return None
    if (type(got) is not tuple or len(got) != 3 or got[0] != key or got[2] is True
            or type(got[1]) is not list):
        return None
    rows = got[1]
    if got[2] is not False and not _notes_of(got[2], len(rows)):
        return None
    for row in rows:
        if type(row) is not list:
            return None
        if len(row) != _VALUES:  # (rare: an imported capture's forwarding outcomes follow)
            if len(row) != _VALUES + 1 or not _outcomes(row[_VALUES]):
                return None
            row = row[:_VALUES]
        if tuple(map(type, row)) not in _SHAPES:
            return None
    if got[2] is not False and notes is not None:
        notes.extend(got[2])
    return rows


def _notes_of(given: Any, rows: int) -> bool:
    """Whether what a helper answered beside ``rows`` rows is notes of its lines as
    :func:`_prepare` makes them: ``(note, line in the range from 1, index of its row)`` each,
    in line order (a time without its offset, no status: a time it could not give is the
    caller's to give)."""
    if type(given) is not tuple or not given:
        return False
    last = 0
    for note in given:
        if (type(note) is not tuple or len(note) != 3
                or note[0] not in (NAIVE, UNANSWERED, REDACTED_NOTE)
                or type(note[1]) is not int or type(note[2]) is not int
                or not last <= note[1] or not 0 <= note[2] < rows):
            return False
        last = note[1]
    return True


def _outcomes(given: Any) -> bool:
    """Whether what follows a helper's row is a list of forwarding outcomes, as
    :class:`~hooklab.store.RowMaker` puts it there (marshal keeps tuples tuples)."""
    return type(given) is list and bool(given) and all(
        type(f) is tuple and len(f) == 5
        and all(type(v) in kinds for v, kinds in zip(f, _OUTCOME, strict=True)) for f in given)


_S, _I, _N = str, int, type(None)
#: the types a row's values may have, column by column (what RowMaker makes, the last
#: ``trailers_at``): 256 shapes (an imported capture's forwarding outcomes may follow them:
#: :func:`_outcomes`)
_SHAPES = frozenset(itertools.product(
    (_I,), (_S,), (_S,), (_S,), (_S,), (_S,), (_S,), (bytes,), (_S,), (_S,), (_I,),
    (_S, _N), (_S, _N), (_S, _N), (_I, _N), (_S, _N), (_I,), (_S, _N), (_S, _N), (_I, _N)))
#: values of a row (``hooklab.store._sql.VALUES``)
_VALUES = 20

#: the types of a forwarding outcome's values (what keep_imported makes), one by one
_OUTCOME = ((_I,), (_S,), (_I, _N), (float, _N), (_S, _N))


_MAKE: RowMaker | None = None  # a helper process's (it remembers what repeats)


def prepare_range(f: Any, key: tuple[int, int, int]) -> bytes:
    """A helper's work: the rows of the byte range ``key`` of the open file ``f``, packed
    (:mod:`marshal`) with the key and whether the caller must make this range itself
    (``True``: an error, or a capture without a time: the caller's clock gives those, in
    order), else ``False`` or the notes of its lines (:func:`_prepare`), which the caller's
    warning tells."""
    global _MAKE
    if _MAKE is None:
        from ..store import RowMaker

        _MAKE = RowMaker()
    notes: list[tuple[str, int, int]] = []
    rows, error = _prepare(f, key, _MAKE, True, notes)
    if error is not None:
        return marshal.dumps((key, [], True))
    return marshal.dumps((key, rows, tuple(notes) or False))


def _prepare(f: Any, key: tuple[int, int, int], make: RowMaker, timed: bool = False,
             notes: list[tuple[str, int, int]] | None = None
             ) -> tuple[list[list[Any]], tuple[str, int, str] | None]:
    """The rows of the lines in bytes ``key[0]`` to ``key[1]`` of ``f``, and the first error:
    ``("line", number in the range from 1, text)`` for a line that is not a capture,
    ``("record", index among the range's captures, text)`` for a capture that cannot be
    stored (``("untimed", ...)`` with ``timed``: a capture without its time). The rows stop
    at the error. What :func:`_record` notes of a line goes in ``notes`` as ``(note, number
    in the range, index of its row)``."""
    import orjson

    start, end, kind = key
    redact = not kind & KEEP_CREDENTIALS
    kind &= ~KEEP_CREDENTIALS
    f.seek(start)
    pieces = io.BytesIO(f.read(end - start)).readlines()  # (cut as read_jsonl's file is)
    if kind != JSONL:
        return _prepare_har(pieces, kind, make, redact, notes)
    rows: list[list[Any]] = []
    noted: list[str] = []
    for number, line in enumerate(pieces, 1):
        if len(line) > MAX_LINE:
            return rows, ("line", number, _too_long())
        if start == 0 and number == 1 and line.startswith(_BOM):  # (as read_jsonl skips it)
            line = line[len(_BOM):]
        if not line.strip():
            continue
        try:
            record = _record(orjson.loads(line), not timed, noted, redact)
        except _Untimed:
            return rows, ("untimed", number, "")
        except _ERRORS as exc:
            return rows, ("line", number, str(exc))
        if noted:
            if notes is not None:
                notes.extend((what, number, len(rows)) for what in noted)
            noted.clear()
        try:
            rows.append(make(record))
        except (TypeError, ValueError, OverflowError) as exc:
            return rows, ("record", len(rows), str(exc))
    return rows, None


def _prepare_har(pieces: list[bytes], kind: int, make: RowMaker, redact: bool = True,
                 notes: list[tuple[str, int, int]] | None = None
                 ) -> tuple[list[list[Any]], tuple[str, int, str] | None]:
    """The rows of HAR entry lines: each line one entry followed by a comma, but the file's
    last. Any line that is not (another layout, a broken file, an entry not stored as it is)
    is an error: the caller then reads the file as a whole, as :func:`read_har` does. Header
    values ``redact`` stores as ``[redacted]`` go in ``notes``, as :func:`_prepare` puts them."""
    import orjson

    from . import _har_record

    rows: list[list[Any]] = []
    last = len(pieces) if kind == HAR_LAST else -1
    for number, line in enumerate(pieces, 1):
        if len(line) > MAX_LINE:  # (read as a whole then, as another layout is)
            return rows, ("layout", number, _too_long())
        text = line.rstrip(b" \t\r\n")
        if number == last:
            if text.endswith(b","):
                return rows, ("layout", number, "a comma after the last entry")
        elif text.endswith(b","):
            text = text[:-1]
        else:
            return rows, ("layout", number, "no comma after an entry")
        try:
            entry = orjson.loads(text)
            if type(entry) is not dict:
                raise TypeError("entry is not an object")
            # (an entry to skip, a body not in the file or beside it, one without its time or
            # a time without its offset, no response status: ValueError, and the file is
            # read as a whole, which tells them; an entry without its time then gets the
            # time it is read, in entry order)
            noted: list[str] = []
            record = _har_record(entry, noted, redact_credentials=redact)
            if record is None or any(what != REDACTED_NOTE for what in noted):
                raise ValueError("an entry skipped or told of")
            if noted and notes is not None:
                notes.extend((what, number, len(rows)) for what in noted)
            rows.append(make(record))
        except Exception as exc:  # noqa: BLE001 - read as a whole then, which says what it is
            return rows, ("layout", number, str(exc))
    return rows, None


def har_lines(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """Where the entry lines of a HAR file written as hooklab writes it are (bytes ``start``
    to ``end``), or ``None`` for a file of another layout: a first line that opens
    ``log.entries`` of a valid HAR, and a last one that closes it."""
    import json

    with open(path, "rb") as f:
        head = f.readline(1 << 16)
        size = os.fstat(f.fileno()).st_size
        f.seek(max(len(head), size - 64))
        tail = f.read()
    if not head.endswith(b"\n") or re.search(rb'"entries"\s*:\s*\[\s*$', head) is None:
        return None  # (the line must open log.entries, not some other list)
    try:
        har = json.loads(head.decode("utf-8") + "]}}")
    except (UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(har, dict) and isinstance(har.get("log"), dict)
            and har["log"].get("entries") == []):
        return None
    body = tail.rstrip(b" \t\r\n")
    if not body.endswith(b"\n]}}"):  # (CRLF too)
        return None
    end = size - (len(tail) - len(body)) - len(b"]}}")
    if end <= len(head):
        return None
    return len(head), end


def load_har(store: CaptureStore, path: str | os.PathLike[str], *,
             redact_credentials: bool = True) -> int | None:
    """Import a big HAR file written as hooklab writes it with helper processes (as
    :func:`load` does a JSON Lines file); returns how many captures, or ``None`` when this
    cannot read it: then nothing or some of it was stored, and the caller reads the file as a
    whole (:func:`hooklab.export.read_har`) into a new store, which says what is wrong.

    >>> from hooklab.store import CaptureStore
    >>> lab.export_har("captures.har")
    1
    >>> store = CaptureStore(":memory:")
    >>> load_har(store, "captures.har") is None  # (a small file: read as a whole)
    True
    >>> store.close()
    """
    with _open_regular(path) as f:  # (a FIFO, a device: refused here, naming it)
        size = os.fstat(f.fileno()).st_size
    if store.secrets or store.readonly or size < HELPER_BYTES:
        return None
    where = har_lines(path)
    if where is None:
        return None
    keys = ranges(path, first=where[0], end=where[1],
                  kind=HAR_LINES if redact_credentials else HAR_LINES | KEEP_CREDENTIALS)
    try:
        with _helpers(path, keys) as helpers:
            if helpers is None:
                return None
            return store.add_rows(_rows(os.fspath(path), path, keys, helpers))
    except _NotThisWay:
        return None


class _NotThisWay(Exception):
    """A HAR file's lines are not one entry each after all."""
