"""Export captures (HAR 1.2, JSON Lines, CSV, copy-as-curl) and import HAR files.

>>> lab.export_har("captures.har")
1
>>> old = hooklab.load_har("captures.har")
>>> old.captures[-1].body == lab.captures[-1].body
True
>>> old.dataframe().groupby("event_type", observed=True).size()
event_type
payment_intent.succeeded    1
dtype: int64
>>> old.stop()
>>> print(to_curl(lab.captures[-1], url=app_url))
curl --globoff -X POST http://127.0.0.1:.../webhook --proto =http,https -H ... --data-binary '{...}'

Bodies round-trip byte for byte: HAR keeps text bodies as text, in the charset their
``Content-Type`` declares, and others as base64 (``"encoding": "base64"``); JSON Lines always
carries ``body_b64``. Exports contain exactly what
was stored: secrets, Jupyter's cookie and the lab's read token never are (see
:func:`hooklab.capture.redact_record`); a secret given with ``lab.secret`` after a capture was
stored is written as ``[secret]`` all the same, by the secrets the store's lab holds when the
export is made (:meth:`hooklab.signatures.book.SecretBook.scrubbed`).

Imported HAR files are untrusted: methods, header names and values must pass the server's own
rules, and URLs must be http(s). CSV cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are written with a leading ``'``, and
so is such a start after a ``;``, tab or line break inside a cell (a spreadsheet that splits
cells at ``;``, as Excel does in many locales, would make it a cell of its own).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import io
import itertools
import json
import os
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..capture import (
    EARLIEST,
    LATEST,
    REDACTED,
    TIME_RANGE,
    Capture,
    CaptureRecord,
    capture_to_dict,
    charset_param,
    check_header_count,
    check_header_limits,
    check_import,
    check_request_syntax,
    keep_imported,
    new_record,
    not_a_request,
    parse_iso,
    parse_query,
    session_credentials,
    shown_value,
    status_number,
    status_ok,
    text_codec,
)
from ..filters import validate
from ._scrub import book_of, scrubbed_columns

if TYPE_CHECKING:
    from ..store import CaptureStore

__all__ = ["BROWSER_SCHEMES", "DEFAULT_BASE", "FORMATS", "MAX_ATTACHED", "MAX_ATTACHED_TOTAL",
           "MAX_UNZIPPED", "export", "export_format", "har_entry", "read_har", "to_curl"]

FORMATS = ("har", "jsonl", "csv", "parquet")
_EXT = {".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "har",
        ".parquet": "parquet"}


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _url(c: Capture) -> str:
    """The URL a HAR entry gives a capture: the one it was stored with when :func:`read_har`
    takes it back as it is (an absolute URL of the capture's schemes, no spaces or controls,
    its host read as the host). Otherwise one made with ``localhost`` and the capture's
    request target; nothing is lost, as the headers keep the ``Host`` as it was sent. That is
    a URL stored without one (an import's relative ``/b/x?a=1``), or stored before the server
    checked the sender's ``Host``: pasted in, ``a b`` or ``[::1`` made no URL, and ``a/b?c``
    before the target ``/z`` one that reads as host ``a`` and query ``c/z``.

    A host that holds a mark of what the lab hides (``[secret]``, ``[redacted]``: a Host
    of ``<secret>.example.com``) keeps it, percent-encoded (a host holds no brackets but an
    IPv6 address's), rather than ``localhost``.

    >>> from hooklab.capture import Capture
    >>> odd = Capture(1, datetime.now(timezone.utc), "POST", "/z", {}, [("Host", "a/b?c")],
    ...               b"", "", url="http://a/b?c/z")
    >>> _url(odd), _url(cap) == cap.url
    ('http://localhost/z', True)
    >>> marked = Capture(1, datetime.now(timezone.utc), "POST", "/z", {},
    ...                  [("Host", "[secret].example.com:8443")], b"", "",
    ...                  url="http://[secret].example.com:8443/z")
    >>> _url(marked)
    'http://%5Bsecret%5D.example.com:8443/z'
    """
    url = _marks_encoded(c.url or "")
    schemes = ("ws", "wss") if c.kind == "ws" else ("http", "https")
    host = _host_field(c)
    if host is not None and url != c.url:
        host = _marks_encoded(host, authority=True)
    scheme, sep, rest = url.partition("://")
    # the request target after a Host pasted in front of it (origin form: "/..."; "*": none)
    target = rest[len(host):] if host is not None and sep and rest.startswith(host) else None
    if target is not None and target[:1] not in ("", "/"):
        target = None  # (another host that starts with the same characters)
    if _loadable(url, schemes) and (target is None or urlsplit(url).netloc == host):
        return url
    scheme = scheme.lower() if sep and scheme.lower() in schemes else schemes[0]
    if target is None:
        if url.startswith("/"):  # (a relative URL: the request target as received)
            target = url
        else:
            target = c.path if c.path.startswith("/") else ""  # (not "*", "host:port")
            if c.query:
                target += "?" + urlencode(c.query, doseq=True)
    made = f"{scheme}://localhost{target}"
    return made if _loadable(made, schemes) else f"{scheme}://localhost/"


#: what the lab writes in place of what it hides (``[secret]``: ``lab.secret``; ``[redacted]``:
#: a Jupyter token, the read token)
_MARKS = ("[secret]", "[redacted]")


def _marks_encoded(url: str, *, authority: bool = False, back: bool = False) -> str:
    """``url`` with the marks of :data:`_MARKS` in its authority percent-encoded
    (``%5Bsecret%5D``); ``authority``: ``url`` is an authority (a ``Host``) itself.
    ``back``: the other way, as an import of hooklab's own HAR reads its URL, so that the
    capture's URL is the one exported (JSON Lines keeps ``[secret]`` as it is); the path and
    query are never touched.

    >>> _marks_encoded("http://%5bsecret%5D.example.com:8443/a/%5Bsecret%5D", back=True)
    'http://[secret].example.com:8443/a/%5Bsecret%5D'
    """
    spelt = [(m, f"%5B{m[1:-1]}%5D") for m in _MARKS]
    if not any((enc.lower() if back else m) in (url.lower() if back else url) for m, enc in spelt):
        return url
    scheme, sep, rest = ("", "", url) if authority else url.partition("://")
    if not authority and not sep:
        return url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    host = rest[:end]
    # (back: the host alone, after any userinfo: a WebSocket recording keeps its URL's
    # credentials written %5Bsecret%5D@, as stored, and a HAR round trip must keep them so)
    user, at, host = host.rpartition("@") if back else ("", "", host)
    for mark, enc in spelt:
        host = re.sub(re.escape(enc), mark, host, flags=re.IGNORECASE) if back \
            else host.replace(mark, enc)
    return scheme + sep + user + at + host + rest[end:]


def _host_field(c: Capture) -> str | None:
    """A capture's ``Host`` as the server read it (repeats joined by ``,``, as it did)."""
    hosts = [v for k, v in c.headers if k.lower() == "host"]
    return ",".join(hosts) if hosts else None


def _loadable(url: str, schemes: tuple[str, str]) -> bool:
    """Whether :func:`read_har` takes ``url`` (see :func:`_har_record`)."""
    try:
        split = urlsplit(url)
    except ValueError:
        return False
    return (split.scheme in schemes and bool(split.netloc)
            and not any(ch <= " " or ch == "\x7f" for ch in url))


def _outcomes(forwards: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A capture's forwarding outcomes (``lab.forwards()``'s dicts) as an export writes them:
    ``at`` (ISO 8601; ``None`` from a Parquet export, which keeps no time), ``target``,
    ``status``, ``latency_ms``, ``error``."""
    return [{"at": None if f.get("at") is None else _iso(f["at"]), "target": f.get("target"),
             "status": f.get("status"), "latency_ms": f.get("latency_ms"), "error": f.get("error")}
            for f in forwards]


#: captures whose forwarding outcomes an export looks up at once (one IN (...) of the store;
#: half iter_captures' chunk: the page held meanwhile adds at most that many captures)
_PAGE = 500


def _with_forwards(store: Any, filters: dict[str, Any]
                   ) -> Iterator[tuple[Capture, list[dict[str, Any]]]]:
    """``(capture, its forwarding outcomes, oldest first)`` for each capture matching
    ``filters`` (``store.iter_captures``: by id, as OFFSET pages were quadratic; what the
    frame's ``forward_*`` columns show the latest of), the outcomes read a page of captures
    at a time: only the exported captures' (reading the whole table first cost an export of
    one capture of 200,000 forwarded ones 0.75 s and 122 MB, where it streamed before).
    Each capture as the lab stores one now: its secrets as ``[secret]``
    (``store.shown``: one stored after every secret was given as it is), and so its
    outcomes' targets and errors (``store.shown_forwards``: the target holds its path)."""
    if book_of(store) is None:
        yield from _stored_with_forwards(store, filters)
        return
    for c, forwards in _stored_with_forwards(store, filters):
        yield store.shown(c), store.shown_forwards(forwards)


def _stored_with_forwards(store: Any, filters: dict[str, Any]
                          ) -> Iterator[tuple[Capture, list[dict[str, Any]]]]:
    """:func:`_with_forwards`, each capture as stored."""
    if getattr(store, "ids_repeat", False):  # (a folder of several labs' exports: an id
        yield from store.iter_with_forwards(**filters)  # names one capture of each, and a
        return  # lookup by id gave each the outcomes of all: read from each capture's row)
    captures = store.iter_captures(**filters)
    look_up = getattr(store, "forwards", None)
    for page in iter(lambda: list(itertools.islice(captures, _PAGE)), []):  # (ends with them)
        of: dict[int, list[dict[str, Any]]] = {}
        for f in look_up(ids=[c.id for c in page]) if look_up is not None else ():
            of.setdefault(f["capture_id"], []).append(f)
        for c in page:
            yield c, of.get(c.id, [])


def har_entry(c: Capture, forwards: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """One HAR 1.2 entry for a capture (the request as received; our answer's status).

    ``_hooklab`` holds what HAR has no field for, so that :func:`read_har` gives the capture
    back whole: its id, bin, detection, verification, the handshake answered,
    ``trailers_at`` (where its trailer fields start in ``request.headers``; left out when
    none came) and ``forwards``, its forwarding outcomes (``lab.forwards(c.id)``; left out
    when none).

    >>> har_entry(cap)["_hooklab"]["event_type"]
    'payment_intent.succeeded'
    """
    request: dict[str, Any] = {
        "method": c.method,
        "url": _url(c),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in c.headers],
        "queryString": [{"name": k, "value": v} for k, vs in c.query.items() for v in vs],
        "headersSize": -1,
        "bodySize": len(c.body),
    }
    if c.body:
        request["postData"] = _post_data(c, request)
    return {
        "startedDateTime": _iso(c.received_at),
        "time": 0,
        "request": request,
        "response": {
            "status": c.status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
            "headersSize": -1, "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_hooklab": {
            "id": c.id, "kind": c.kind, "path": c.path, "bin": c.bin, "status": c.status,
            "provider": c.provider, "event_type": c.event_type, "delivery_id": c.delivery_id,
            "verified": c.verified, "verify_reason": c.verify_reason,
            "remote_addr": c.remote_addr, "duplicate": c.duplicate, "handshake": c.handshake,
            # (where the trailer fields start in request.headers: read as headers otherwise)
            **({"trailers_at": c.trailers_at} if c.trailers_at is not None else {}),
            **({"forwards": _outcomes(forwards)} if forwards else {}),
        },
    }


def _post_data(c: Capture, request: dict[str, Any]) -> dict[str, Any]:
    """A capture's ``postData``: its body as the text of the posted data (HAR 1.2), read in
    the charset its ``Content-Type`` declares, as :attr:`Capture.text` reads it (UTF-8 where
    none, or none Python knows as text, is declared), so that another tool shows what was
    sent; ``_charset`` names that charset when it is not UTF-8. A body that text cannot give
    back byte for byte as another tool's HAR is read (:func:`_posted_bytes`: bytes the
    charset does not hold, ``utf-16`` bytes in the other byte order) is written in base64.

    >>> from hooklab.capture import Capture
    >>> latin = Capture(1, datetime.now(timezone.utc), "POST", "/x", {},
    ...                 [("Content-Type", "text/plain; charset=iso-8859-1")], b"caf\\xe9", "")
    >>> _post_data(latin, {"headers": []})
    {'mimeType': 'text/plain; charset=iso-8859-1', 'text': 'café', '_charset': 'iso8859-1'}
    """
    # (the header section's: a Content-Type sent as a trailer field describes no body)
    mime = c.header("content-type", trailers=False) or "application/octet-stream"
    codec = _charset_of(mime)  # (None: UTF-8)
    post: dict[str, Any] = {"mimeType": mime}
    try:
        text = c.body.decode(codec or "utf-8")
    except (UnicodeError, LookupError):
        text = None
    if text is not None and _posted_bytes(text, post, request, {}) == c.body:
        post["text"] = text
        if codec is not None:  # (hooklab's own import reads the text in it: an older
            post["_charset"] = codec  # export's text was UTF-8 whatever the charset)
        return post
    post["encoding"] = "base64"
    post["text"] = base64.b64encode(c.body).decode("ascii")
    return post


def _jsonl_record(c: Capture, forwards: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    d = capture_to_dict(c, body=False)
    d["received_at"] = _iso(c.received_at)
    d["body_b64"] = base64.b64encode(c.body).decode()
    if forwards:  # (the frame's forward_* columns; an older hooklab's import ignores them)
        d["forwards"] = _outcomes(forwards)
    return d


#: a spreadsheet runs a cell starting with one of these as a formula (CSV injection); the
#: full-width and small forms too (a locale may read them as the ASCII ones)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20",
                  "\ufe66", "\ufe62", "\ufe63", "\ufe6b")
#: blanks a spreadsheet may trim from a cell before it looks for a formula
_BLANKS = " \u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\x0b\x0c"


#: a formula start after a character a spreadsheet may split cells at (``;`` in many locales,
#: tab, a line break) with quotes or spaces between: ``x;=cmd`` is a cell of its own there
_FORMULA_AFTER_SPLIT = re.compile(
    "([;\t\r\n\x0b\x0c\u2028\u2029][\"'" + _BLANKS + "]*)([" + re.escape("".join(_FORMULA_START[:4] + _FORMULA_START[6:])) + "])")


def _defuse(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if any(ch in value for ch in ";\t\r\n\x0b\x0c\u2028\u2029"):
        value = _FORMULA_AFTER_SPLIT.sub(r"\1'\2", value)
    if value.lstrip(_BLANKS).startswith(_FORMULA_START):  # (" =cmd": a trimmed cell)
        return "'" + value
    return value


def _defused(df: Any) -> Any:
    """Text cells of a DataFrame with formula starts neutralised by a leading ``'`` (OWASP)."""
    import pandas as pd

    for col in df.columns:
        dtype = df[col].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            df[col] = df[col].astype(object).map(_defuse)
    return df


def _csv_frame(store: Any, filters: dict[str, Any]) -> Any:
    """The DataFrame's columns but ``json``: what a CSV holds (no bodies, no headers), read
    without the bodies (building the json column first took three times the bodies' bytes
    of memory, for a column the CSV leaves out)."""
    from ..frame import frame_from_columns

    table = store.columns(**filters)
    book = book_of(store)
    if book is not None:  # (a capture stored before its secret was given: see _with_forwards)
        table = scrubbed_columns(table, book, store)

    def shown_forwards() -> list[dict[str, Any]]:  # (a forward_error may quote the target)
        return store.shown_forwards(store.forwards())
    df = frame_from_columns(table, forwards=store.forwards if book is None else shown_forwards,
                            handshakes=getattr(store, "handshakes", None))
    return df.drop(columns=["json"])


#: why a temporary file may not be made beside a file that can be written: its folder takes
#: no new files (no write permission on it; a file bind-mounted writable into a read-only
#: tree). Only then is an export written in place. A full disk (ENOSPC, also when no inode is
#: left), a quota (EDQUOT), EIO, too many open files (EMFILE, ENFILE)...: refused, the
#: earlier file kept (writing in place on a full disk cut it to what fitted)
_IN_PLACE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


@contextlib.contextmanager
def _open(target: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    """``target`` opened for writing text. A regular file (or a new one) is written beside
    it and put in its place once complete: an export that fails (a full disk, an error
    half way) leaves the earlier file as it was, never a cut one. Other files (a pipe,
    ``/dev/stdout``) are written as they are.

    Only where the folder takes no new files (:data:`_IN_PLACE_ERRNOS`) but the file may be
    written is it written in place; an export that fails then empties it and says so (see
    :func:`_in_place`)."""
    if hasattr(target, "write"):
        yield target  # type: ignore[misc]
        target.flush()  # type: ignore[union-attr]
        return
    import stat

    given = os.fspath(target)  # type: ignore[arg-type]
    try:
        st: os.stat_result | None = os.stat(given)  # (through links: /dev/stdout is a pipe)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):  # a pipe, a terminal, a device
        with open(given, "w", encoding="utf-8", newline="") as f:
            yield f
        return
    path = os.path.realpath(given)  # (a link to a file: the file is replaced, not the link)
    if st is None:
        umask = os.umask(0)
        os.umask(umask)
        perms = 0o666 & ~umask
    else:
        if not os.access(path, os.W_OK):  # (replacing it would get round its permissions)
            raise PermissionError(13, "Permission denied", given)
        perms = stat.S_IMODE(st.st_mode)
    import secrets

    # the name first, then the file, inside the try: a signal at any moment (SIGTERM, Ctrl-C)
    # leaves no temporary file (tempfile.mkstemp could be stopped after making it)
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".hooklab-export-{secrets.token_hex(6)}.tmp")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o600)
        except OSError as exc:
            if exc.errno in _IN_PLACE_ERRNOS:  # a writable file in a folder that is not
                fd = None
            elif exc.errno in (errno.ENOENT, errno.ENOTDIR):  # no such folder: it is said
                raise OSError(exc.errno, exc.strerror, given) from None  # (of the file)
            else:  # (the temporary file's name would puzzle: the target's is said)
                raise OSError(exc.errno, f"{exc.strerror} (making the temporary file the "
                              f"export is written to in {folder!r}"
                              + ("; the earlier file was left as it was" if st else "")
                              + ")", given) from None
        if fd is None:
            with _in_place(path, given, st) as f:
                yield f
            return
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            # through the descriptor, never the name: whoever may write the folder could have
            # put a link to any file at that name meanwhile, and chmod/chown follow links (a
            # root export gave the old export's owner and mode to the file linked to)
            if st is not None and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):  # (its owner stays, where this user may say so)
                    os.fchown(fd, st.st_uid, st.st_gid)
            os.fchmod(fd, perms)  # (after chown, which may clear the set-id bits)
            _still_ours(fd, tmp, given)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _still_ours(fd: int, tmp: str, given: str) -> None:
    """``OSError`` unless the name ``tmp`` still names the file open as ``fd``: another user
    who may write the folder replaced it (a link to another file, a file of theirs) while the
    export was written, and putting it in the export's place would put theirs there."""
    mine, there = os.fstat(fd), os.lstat(tmp)
    if (mine.st_dev, mine.st_ino) != (there.st_dev, there.st_ino):
        raise OSError(errno.EEXIST, f"the temporary file {tmp!r} was replaced while the export "
                      "was written (does another user write to that folder?); the earlier file "
                      "was left as it was", given)


#: how an export opens a file it writes in place: never through a link (``path`` is the file
#: itself, links resolved: one there now was put there meanwhile), never cut before it is
#: known to be the file that was looked at, and without waiting for a reader (a FIFO put there)
_IN_PLACE_FLAGS = (os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                   | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))


@contextlib.contextmanager
def _in_place(path: str, given: str, st: os.stat_result | None = None) -> Iterator[IO[str]]:
    """``path`` written in place (its folder takes no new files). Opening it cuts the earlier
    file; an export that then fails (a full disk, an error, Ctrl-C) empties it, so that no
    file that ends mid-record passes for a whole export (a CSV cut at a row reads as a
    shorter table), and says so: an ``OSError`` of the same errno with those words, other
    errors after a warning with them.

    The file is opened without following a link, checked to be ``st`` (what ``given`` named
    when the export began) and a regular file before it is cut, and emptied through its own
    descriptor: whoever may rename files in that folder could put a link to another file at
    its name meanwhile, and the emptying, done by name, emptied that file."""
    import stat

    try:
        fd = os.open(path, _IN_PLACE_FLAGS, 0o666)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise OSError(errno.ELOOP, f"{given!r} was replaced by a link while the export began "
                      "(does another user rename files in that folder?); nothing was written",
                      given) from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (
                st is not None and (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino)):
            raise OSError(errno.EEXIST, f"{given!r} was replaced by another file while the "
                          "export began (does another user rename files in that folder?); "
                          "nothing was written", given)
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)  # (the earlier export is gone from here)
        keep = os.dup(fd)  # (to empty it by, once the file object is closed: below)
    except BaseException:
        os.close(fd)
        raise
    try:
        f = os.fdopen(fd, "w", encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        os.close(keep)
        raise
    try:
        yield f
        f.close()  # (inside: a full disk may be said only when the last bytes are written)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # (its last buffered bytes may still go out here:
            f.close()  # the emptying comes after)
        with contextlib.suppress(OSError):
            os.ftruncate(keep, 0)
        said = (f"{given!r} was being written in place (its folder takes no new files, so the "
                "export could not be written beside it first) and was emptied rather than "
                "left cut short: the earlier file there is lost")
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, f"{exc.strerror or exc}; {said}") from exc
        import warnings

        warnings.warn(f"hooklab: the export failed; {said}", stacklevel=3)
        raise
    finally:
        os.close(keep)


def _not_the_database(store: Any, target: str) -> None:
    """``ValueError`` when ``target`` is the store's database file or one of its companions
    (``-wal``, ``-shm``, ``-journal``): an export there destroyed the captures it read."""
    db = getattr(store, "path", None)
    if isinstance(db, str) and db != ":memory:" and os.path.exists(db):
        real = os.path.realpath(target)
        for companion in ("", "-wal", "-shm", "-journal"):
            name = db + companion
            if real == os.path.realpath(name) or (os.path.exists(target) and os.path.exists(name)
                                                  and os.path.samefile(target, name)):
                raise ValueError(f"{target!r} is the capture database"
                                 f"{companion and ' ' + companion[1:] + ' file'} "
                                 "the export reads: choose another file")
    _not_a_database(target)  # (whatever the store is: an import's lab is in memory)


def _not_a_database(target: str) -> None:
    """``ValueError`` when ``target`` is an SQLite database (another lab's captures, a typo for
    ``--db``): an export there replaced it with the export's text, silently. An export
    overwrites an earlier export, never a database; remove the file first if that is wanted.

    >>> import sqlite3, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sqlite3.connect(f"{tmp}/b.db").execute("CREATE TABLE t (x)").connection.close()
    ...     _not_a_database(f"{tmp}/b.db")
    Traceback (most recent call last):
    ValueError: '.../b.db' is an SQLite database (another capture database?): an export would replace it; choose another file, or remove it first
    """
    import stat

    try:
        if not stat.S_ISREG(os.stat(target).st_mode):  # (a FIFO, where an open would wait)
            return
        with open(target, "rb") as f:
            head = f.read(16)
    except OSError:
        return
    if head == b"SQLite format 3\x00":
        raise ValueError(f"{target!r} is an SQLite database (another capture database?): an "
                         "export would replace it; choose another file, or remove it first")


def export(store: CaptureStore, path_or_textfile: str | os.PathLike[str] | IO[str],
           fmt: str | None = None, **filters: Any) -> int:
    """Write captures matching ``filters`` to a path or text file; returns how many.

    ``fmt`` is ``"har"``, ``"jsonl"``, ``"csv"`` or ``"parquet"`` (a folder, see
    :mod:`hooklab.export.parquet`); ``None`` picks it from the file extension (``.har``/``.json``,
    ``.jsonl``/``.ndjson``, ``.csv``, ``.parquet``; HAR for open files). A path starting
    with ``~`` is in the home folder, as a lab's ``db`` (and pandas' ``to_csv``) reads it.
    """
    if not hasattr(path_or_textfile, "write"):
        path_or_textfile = os.path.expanduser(os.fspath(path_or_textfile))  # type: ignore[arg-type]
    fmt = export_format(None if hasattr(path_or_textfile, "write") else path_or_textfile, fmt)
    # the filters before any file is opened: a mistyped one (kind="bogus") found half way
    # through, once the file was opened, emptied an earlier export written in place
    validate(filters, provider_check=store.provider_check)
    if not hasattr(path_or_textfile, "write"):
        _not_the_database(store, os.fspath(path_or_textfile))  # type: ignore[arg-type]
    if fmt == "parquet":  # a folder of files (see hooklab.export.parquet)
        from .parquet import export_parquet

        return export_parquet(store, path_or_textfile, **filters)  # type: ignore[arg-type]
    store.flush()
    if fmt == "csv":
        df = _defused(_csv_frame(store, filters))
        with _open(path_or_textfile) as f:  # CRLF rows (RFC 4180): a CR in a cell gets quoted
            df.to_csv(f, index=False, lineterminator="\r\n")
        return len(df)
    n = 0
    captures = _with_forwards(store, filters)
    with _open(path_or_textfile) as f:
        if fmt == "jsonl":
            for c, forwards in captures:
                f.write(json.dumps(_jsonl_record(c, forwards), ensure_ascii=False) + "\n")
                n += 1
            return n
        from .._version import __version__

        f.write('{"log": {"version": "1.2", "creator": {"name": "hooklab", "version": '
                + json.dumps(__version__) + '}, "entries": [')
        for c, forwards in captures:
            f.write(("," if n else "") + "\n"
                    + json.dumps(har_entry(c, forwards), ensure_ascii=False))
            n += 1
        f.write("\n]}}\n")
    return n


def export_format(path: str | os.PathLike[str] | None, fmt: str | None = None, *,
                  option: str = "fmt=") -> str:
    """The format an export to ``path`` is written in: ``fmt`` when given (whatever the
    extension says: what was asked for is written), else the one ``path``'s extension names
    (``.har``/``.json``, ``.jsonl``/``.ndjson``, ``.csv``, ``.parquet``: a folder; an earlier
    Parquet export's folder, whatever its name), HAR for no path (an open file, standard output). ``ValueError`` for an extension that names none
    and a format that is none, ``option`` naming how to give one (``"--format"`` on a
    command line). :func:`export`, ``%hooklab export`` and ``hooklab export`` decide so.

    >>> export_format("captures.CSV"), export_format("out.txt", "jsonl"), export_format(None)
    ('csv', 'jsonl', 'har')
    >>> export_format("captures.txt", option="--format")
    Traceback (most recent call last):
    ...
    ValueError: cannot tell the export format from '.txt'; use a .har (or .json), .jsonl (or .ndjson) or .csv file, or a .parquet folder, or pass --format (har, jsonl, csv, parquet)
    """
    if fmt is None:
        if path is None:
            return "har"
        named = os.path.splitext(os.fspath(path))[1].lower() in _EXT
        if os.path.isdir(path) and not named:  # (an earlier Parquet export, README's
            # exports/captures: its notes are in _hooklab/; another folder: said so, not as
            # "no extension"; a folder named x.parquet goes by its name, as before)
            if os.path.isdir(os.path.join(path, "_hooklab")):
                return "parquet"
            how = f"{option}'parquet'" if option.endswith("=") else f"{option} parquet"
            raise ValueError(f"{os.fspath(path)!r} is a folder: a Parquet export is written into "
                             f"one, pass {how} (other formats are files)")
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext not in _EXT:
            raise ValueError(f"cannot tell the export format from {ext or 'no extension'!r}; "
                             "use a .har (or .json), .jsonl (or .ndjson) or .csv file, or a"
                             f" .parquet folder, or pass {option} ({', '.join(FORMATS)})")
        return _EXT[ext]
    if fmt.lower() not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt.lower()


def _har_time(value: Any, notes: list[str] | None) -> datetime:
    """The time of an entry's ``startedDateTime`` (HAR 1.2: an ISO 8601 time with its offset).
    Absent (``null``, ``""`` too: HAR 1.2 requires it, DevTools always writes it): the time
    of the import, noted :data:`UNTIMED`; without an offset: read as UTC, noted
    :data:`NAIVE`. Anything else that is no time DataFrames hold raises, naming the field.

    >>> _har_time("2024-05-01T10:00:00.5+02:00", [])
    datetime.datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=datetime.timezone(datetime.timedelta(seconds=7200)))
    >>> _har_time(1714557600000, [])
    Traceback (most recent call last):
    ...
    TypeError: startedDateTime must be a string (an ISO 8601 time), got int
    """
    if value is None or value == "":
        _note(notes, UNTIMED)
        return datetime.now(timezone.utc)
    if not isinstance(value, str):
        raise TypeError("startedDateTime must be a string (an ISO 8601 time), got "
                        f"{type(value).__name__}")
    try:
        dt = parse_iso(value)
    except ValueError:
        raise ValueError(f"startedDateTime {shown_value(value)} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        _note(notes, NAIVE)
        dt = dt.replace(tzinfo=timezone.utc)
    if not EARLIEST <= dt <= LATEST:
        raise ValueError(f"startedDateTime {shown_value(value)} is {TIME_RANGE}")
    return dt


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    return value


#: why a body listed as ``postData.params`` is not in the file (:func:`_form_body`)
_UNBUILT = ("a multipart form or a file listed as postData.params, whose bytes (boundaries, "
            "part headers) the HAR file does not hold")


def _form_body(post: dict[str, Any]) -> bytes | None:
    """The body of a HAR ``postData`` that lists a URL-encoded form as ``params`` instead of
    ``text`` (HAR 1.2: the two are exclusive): the fields encoded again, in order; ``None``
    for a file upload (``fileName``) or a multipart form, which cannot be rebuilt byte for
    byte (:data:`_UNBUILT`: the capture is imported without its body, and says so)."""
    from urllib.parse import quote_plus

    mime = str(post.get("mimeType") or "").lower()
    params = post["params"]
    if not isinstance(params, list):
        raise TypeError(f"postData.params must be a list, got {type(params).__name__}")
    if any(not isinstance(p, dict) for p in params):
        raise TypeError("postData.params must be objects")
    if "multipart" in mime or any("fileName" in p for p in params):
        return None
    fields = []
    for p in params:
        name, value = _text(p.get("name"), "postData.params name"), p.get("value") or ""
        fields.append(f"{quote_plus(name)}={quote_plus(_text(value, 'postData.params value'))}")
    return "&".join(fields).encode("ascii")


#: a URL's scheme (RFC 3986)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
#: schemes of what a browser logs beside the HTTP(S) requests a server receives: a
#: WebSocket, a ``blob:`` or ``data:`` fetch, an extension's or the browser's own pages
#: (any ``...-extension:``). A HAR import skips such entries; any other scheme (``file:``,
#: ``gopher:``...) is a malformed entry, which refuses the file
BROWSER_SCHEMES = frozenset({
    "ws", "wss", "blob", "data", "about", "filesystem", "chrome", "chrome-error",
    "chrome-untrusted", "devtools", "edge", "resource", "moz-icon", "webkit-masked-url"})

#: what :func:`_har_record` notes of an entry: skipped (not an HTTP(S) request; the URL's
#: scheme follows), its request body not in the file, or in it altered
SKIPPED, MISSING, ALTERED = "skipped", "missing", "altered"
#: ... no ``startedDateTime`` (stamped with the time of the import), one without a UTC offset
#: (read as UTC), no response status (imported as one that got no answer, status 0)
UNTIMED, NAIVE, UNANSWERED = "untimed", "naive", "unanswered"
#: ... one header value stored as ``[redacted]`` (a ``Cookie``, Jupyter's ``Authorization:
#: token ...``: :func:`hooklab.capture.session_credential`), noted once per value
REDACTED_NOTE = "redacted"


def _note(notes: list[str] | None, what: str) -> None:
    """Put ``what`` in ``notes``; without a list to put it in (a helper process reading a big
    file's lines) ``ValueError``: the file is then read as a whole, which tells it."""
    if notes is None:
        raise ValueError(f"an entry to tell of ({what}): read as a whole")
    notes.append(what)


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    """The request's ``Content-Length`` as a number, or ``None`` (none, several that differ,
    not digits, or ``Transfer-Encoding`` beside it)."""
    given = {v.strip() for k, v in headers if k.lower() == "content-length"}
    if len(given) != 1 or any(k.lower() == "transfer-encoding" for k, _ in headers):
        return None
    (value,) = given
    return int(value) if value.isascii() and value.isdigit() else None


def _har_record(entry: dict[str, Any], notes: list[str] | None = None,
                attached: Callable[[str], bytes | None] | None = None, *,
                redact_credentials: bool = True) -> CaptureRecord | None:
    """The capture record of one HAR entry, or ``None`` for an entry a browser logged that is
    no HTTP(S) request (:data:`BROWSER_SCHEMES`: a ``ws:``/``wss:`` WebSocket, ``blob:``,
    ``data:``, ``chrome-extension:``...: hooklab could never have received it), noted in
    ``notes`` as ``"skipped <scheme>:"``. A request body the file does not hold (``bodySize`` or
    ``Content-Length`` say there was one) is noted :data:`MISSING`, one whose length is not its
    ``Content-Length`` :data:`ALTERED`; either capture says so in ``verify_reason``. An
    entry without its time is noted :data:`UNTIMED`, one with a time without its UTC offset
    :data:`NAIVE` (:func:`_har_time`), one without a response status :data:`UNANSWERED`,
    and each header value ``redact_credentials`` stores as ``[redacted]``
    :data:`REDACTED_NOTE` (as on arrival; ``False`` keeps them as the file has them).
    ``attached(name)`` reads a body kept beside the HAR (``postData._file``, Playwright's
    ``record_har_content="attach"``): its bytes, or ``None`` when there is no such file.
    A malformed entry raises ``TypeError``/``KeyError``/``ValueError`` saying what is wrong."""
    req = entry.get("request") or {}
    meta = entry.get("_hooklab") or {}
    if not isinstance(req, dict) or not isinstance(meta, dict):
        raise TypeError("request and _hooklab must be objects")
    url = _text(req.get("url"), "request.url")
    if meta.get("id") is None and not url.isascii():
        # another tool's URL is text (an IRI: "?q=ü" is the character, not the byte 0xFC a
        # received target would store it as): kept as the URI it stands for, its characters
        # past ASCII percent-encoded as UTF-8 (RFC 3987 section 3.1), so that replay, forward
        # and copy-as-curl send what a browser sends. A URL hooklab exported keeps its
        # characters: a received target's bytes, a character each.
        from ..outbound.sender import ascii_url

        with contextlib.suppress(UnicodeEncodeError, ValueError):  # (a lone surrogate, no
            url.encode("utf-8")  # URL at all: refused below, named)
            url = ascii_url(url)
    kind = _text(meta.get("kind") or "http", "kind")
    found = _SCHEME.match(url)
    scheme = found[1].lower() if found else ""
    if kind != "ws" and (scheme in BROWSER_SCHEMES or scheme.endswith("-extension")):
        _note(notes, f"{SKIPPED} {scheme}:")  # (kind "ws": a recording hooklab exported,
        return None  # ws:// and all, is imported as it was)
    try:
        split = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[x/...": a sender's Host the server stored
        raise ValueError(f"request.url {url!r} is not a URL ({exc})") from None
    post = req.get("postData") or {}
    if not isinstance(post, dict):
        raise TypeError("request.postData must be an object")
    text = _text(post.get("text") or "", "postData.text")
    if post.get("encoding") == "base64":
        try:  # (strictly: characters no base64 holds were dropped, "SGVs*bG8=" read as "Hel")
            body = base64.b64decode("".join(text.split()), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"postData.text is not base64 ({exc})") from None
    else:
        body = _posted_bytes(text, post, req, meta)
    unbuilt = False  # (a multipart form listed as params: not in the file)
    if not text and post.get("params"):
        form = _form_body(post)
        body, unbuilt = (b"", True) if form is None else (form, False)
    absent = False  # (a body named beside the file that is not there)
    if post.get("_file") is not None:  # the exact bytes, where a text would have lost some
        name = _text(post["_file"], "postData._file")
        if attached is None:  # (a helper process's: the file is read as a whole then)
            _note(notes, "an attached body")
        got = None if attached is None else attached(name)
        absent = got is None
        body = body if got is None else got
    response = entry.get("response")
    if response is not None and not isinstance(response, dict):
        raise TypeError(f"response must be an object, got {type(response).__name__}")
    status = meta.get("status")
    if status is not None:  # (hooklab's own: the status the lab answered)
        status, what = status_number(status, "_hooklab.status"), "_hooklab.status"
    elif response is None or response.get("status") is None:  # (HAR 1.2 requires both: the
        _note(notes, UNANSWERED)  # answer is not known; 200 would make one up)
        status, what = 0, "response.status"
    else:  # (a browser's HAR: 0 is a request that got no answer; some tools write "404")
        status, what = status_number(response["status"], "response.status"), "response.status"
        if status == -1:  # Playwright's: a request that failed or was aborted (Chrome writes 0)
            status = 0
    if not status_ok(status, meta.get("kind")):
        raise ValueError(f"{what} {status} is not an HTTP status "
                         f"({'a WebSocket close code, ' if meta.get('kind') == 'ws' else ''}"
                         f"0 to {4999 if meta.get('kind') == 'ws' else 999})")
    if req.get("method") is None:  # (HAR 1.2 requires it: it was taken for a GET)
        raise ValueError("request.method is missing")
    method = _text(req["method"], "request.method")
    if meta.get("id") is None:  # another tool's entry: "post" is POST; one the lab exported
        method = method.upper()  # keeps the method the capture was sent with ("get")
    path = _text(meta.get("path") or split.path or "/", "path")
    given = req.get("headers") or []
    if type(given) is list:  # (before a tuple is made of each)
        check_header_count(len(given), meta.get("trailers_at"))
    headers = [(_text(h["name"], "header name"), _text(h["value"], "header value"))
               for h in given]
    # (what the server takes: MAX_FIELDS, MAX_HEAD for the header section and for the trailer
    # fields each; keep_imported checks trailers_at itself)
    check_header_limits(headers, meta.get("trailers_at"))
    # HTTP/2 pseudo-headers (":authority", ":method", ...: a browser's HAR) are no headers of
    # an HTTP/1.1 request; ":authority" is its Host
    pseudo = {k.lower(): v for k, v in headers if k.startswith(":")}
    if pseudo:
        headers = [(k, v) for k, v in headers if not k.startswith(":")]
        if ":authority" in pseudo and not any(k.lower() == "host" for k, _ in headers):
            headers.insert(0, ("Host", pseudo[":authority"]))
    # an imported file is untrusted: what the server would refuse is refused here too, and the
    # URL must be http(s) (ws(s) for recorded WebSocket messages) with no control characters
    check_request_syntax(method.upper(), path, headers)  # (as the JSON Lines import checks)
    schemes = ("ws", "wss") if kind == "ws" else ("http", "https")
    if split.scheme not in schemes or not split.netloc or any(c <= " " or c == "\x7f" for c in url):
        raise ValueError(f"request.url {url!r} is not an absolute {'/'.join(schemes)} URL")
    received = _har_time(entry.get("startedDateTime"), notes)
    check_import(path, url, received, kind)
    if not url.isascii():  # (a lone surrogate, "\ud800": named here, not as the rows are stored)
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("request.url is not valid Unicode (a lone surrogate)") from None
    for name, value in headers:  # (the standard library's JSON reads lone surrogates, which
        if not (name + value).isascii():  # no export could write back)
            try:
                (name + value).encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"header {name!r} is not valid Unicode") from None
    for _ in range(session_credentials(headers) if redact_credentials else 0):
        _note(notes, REDACTED_NOTE)  # (the warning says how many, and how to keep them)
    from ..server.guard import jupyter_tokens_now

    record = new_record(
        method,
        path,
        headers,
        body,
        redact_credentials=redact_credentials,
        secrets=jupyter_tokens_now(),  # (your Jupyter servers' tokens: scrubbed as on arrival)
        # (not HAR's serverIPAddress: the address of the server the request went to)
        remote_addr=_text(meta.get("remote_addr") or "", "remote address"),
        # (hooklab's own: a mark of what it hid, written %5Bsecret%5D in the host to keep a
        # URL, read back as the capture had it)
        url=_marks_encoded(url, back=True) if meta else url,
        received_at=received,
        status=status,
        kind=kind,
        query=parse_query(split.query),
    )
    keep_imported(record, meta)  # type: ignore[arg-type]
    if kind == "http":
        why = _body_note(body, req.get("bodySize"), _content_length(headers),
                         "its attached file is missing" if absent else _UNBUILT if unbuilt else "")
        if why is not None:
            _note(notes, MISSING if not body else ALTERED)
            record.setdefault("verify_reason", why)  # (unless the file said one)
    return record


def _posted_bytes(text: str, post: dict[str, Any], req: dict[str, Any], meta: dict[str, Any]) -> bytes:
    """The bytes a HAR entry's ``postData.text`` stands for: the text in the charset its
    ``mimeType`` (else its ``Content-Type`` header) declares, for another tool's entry (HAR
    1.2: the text of the posted data, its encoding said by the MIME type); UTF-8 where none
    is declared, the charset is unknown, or the text has characters it cannot hold. An entry
    hooklab exported is read in the charset its ``postData._charset`` names, else as UTF-8
    (an older hooklab wrote text in UTF-8 whatever the charset).

    >>> _posted_bytes("café", {"mimeType": "text/plain; charset=ISO-8859-1"}, {}, {})
    b'caf\\xe9'
    >>> _posted_bytes("café", {"mimeType": "text/plain"}, {}, {})
    b'caf\\xc3\\xa9'
    """
    if meta.get("id") is not None and post.get("_charset") is not None:
        # hooklab's own text in the charset the capture declared (see _post_data)
        codec = text_codec(_text(post["_charset"], "postData._charset"))
        try:
            return text.encode(codec)
        except UnicodeError:
            raise ValueError(f"postData.text is not text in its _charset {codec!r}") from None
    if meta.get("id") is None and text:
        declared = post.get("mimeType")
        if not isinstance(declared, str) or "charset" not in declared.lower():
            declared = _header_charset_source(req)
        charset = _charset_of(declared)
        if charset is not None:
            try:
                return text.encode(charset)
            except (UnicodeError, LookupError):  # (characters it cannot hold; "undefined")
                pass
    return text.encode("utf-8")


def _header_charset_source(req: dict[str, Any]) -> str | None:
    """A HAR request's ``Content-Type`` header value (the first), or ``None``."""
    for h in req.get("headers") or ():
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "content-type":
            value = h.get("value")
            return value if isinstance(value, str) else None
    return None


def _charset_of(content_type: Any) -> str | None:
    """The codec a ``Content-Type``'s ``charset=`` names (Python's name, as
    :func:`hooklab.capture.text_codec` takes it: a text encoding, not ``punycode`` or
    ``idna``), or ``None``: none given, UTF-8 (the default), or none Python takes as text."""
    given = charset_param(content_type)
    name = None if given is None else text_codec(given)
    return None if name == "utf-8" else name


def _body_note(body: bytes, size: Any, length: int | None, absent: str) -> str | None:
    """What an imported capture says (its ``verify_reason``) of a request body the HAR file
    does not hold as it was sent, or ``None``: no bytes where ``bodySize`` or
    ``Content-Length`` says there were some, or a body whose length is not its
    ``Content-Length`` (bytes that are no UTF-8 written as text: Playwright's "embed" of
    binary bodies). ``absent``: why the file holds no body though it names one, or ``""``.

    >>> _body_note(b"", 10, 10, "")
    'not checked: the request body is not in the HAR file (Content-Length 10, bodySize 10); imported empty'
    >>> _body_note(b"x" * 11, 9, 9, "")
    'not checked: the request body in the HAR file is 11 bytes where Content-Length says 9 (changed when written as text?)'
    """
    size = size if type(size) is int and size > 0 else None
    if not body:
        if not (size or length or absent):
            return None
        said = ", ".join(f"{k} {v}" for k, v in (("Content-Length", length), ("bodySize", size))
                         if v)
        return ("not checked: the request body is not in the HAR file"
                + (f" ({absent})" if absent else "")
                + (f" ({said})" if said else "") + "; imported empty")
    if length is not None and length != len(body):
        return (f"not checked: the request body in the HAR file is {len(body):,} bytes where "
                f"Content-Length says {length:,} (changed when written as text?)")
    return None


def _open_regular(path: str | os.PathLike[str]) -> io.BufferedReader:
    """``path`` opened to read bytes, if it is a regular file (a link to one is); else
    ``ValueError`` naming it. An import reads files: a FIFO would block the kernel until
    something writes to it, and a device (a downloaded "captures.jsonl" that is a link to
    ``/dev/zero``) never ends.

    >>> _open_regular("/dev/zero")
    Traceback (most recent call last):
    ...
    ValueError: '/dev/zero' is not a regular file (a character device): copy it to a file first
    """
    import stat

    name = os.fspath(path)
    # (without O_NONBLOCK, opening a FIFO waits for a writer: its type could not be told)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode  # (of what was opened: no time for a swap after a stat)
        if not stat.S_ISREG(mode):
            what = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                    stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder",
                    stat.S_IFSOCK: "a socket"}.get(stat.S_IFMT(mode), "not a file")
            how = ("open a Parquet export's folder with hooklab.open(path)"
                   if stat.S_ISDIR(mode) else "copy it to a file first")
            raise ValueError(f"{name!r} is not a regular file ({what}): {how}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


#: bytes a body kept beside a HAR file (``postData._file``) may hold at most; a bigger one is
#: refused, naming its entry (an untrusted HAR could name any big file in its folder). Raise it
#: to import bigger bodies
MAX_ATTACHED = 64 * 2**20
#: bytes of attached bodies (``postData._file``) one HAR import gives its captures at most, all
#: entries together, beside its folder or in its ``.zip``: a body several entries name counts
#: for each of them, as each capture stores it (a few KB of HAR naming one big file a thousand
#: times would otherwise fill the kernel's memory and the disk). Past it the file is refused,
#: naming the entry; raise it to import more
MAX_ATTACHED_TOTAL = 2**30
#: bytes read out of a ``.zip`` HAR at most, its ``.har`` and bodies together (a few KB of zip
#: can unzip to gigabytes); a bigger one is refused before it is unzipped: unzip it first, and
#: import the ``.har`` beside its bodies
MAX_UNZIPPED = 2**30

#: the name Playwright gives a body it keeps beside a HAR (``record_har_content="attach"``):
#: the SHA-1 of its bytes in hex, a dot, and the extension of its Content-Type
#: (``mime.getExtension``: "json", "bin", "x_b", "disposition-notification"...; else "dat"),
#: directly in the HAR's folder or at the top of its zip. Any other name (a subfolder, a
#: dotfile, ``captures.sqlite3``, ``../x``, an absolute path) is refused: an untrusted HAR
#: must not turn the files around it into capture bodies
_BODY_NAME = re.compile(r"[0-9a-f]{40}\.[0-9A-Za-z][0-9A-Za-z_-]{0,31}", re.ASCII)


class _Attached:
    """Bodies a HAR keeps beside itself (``postData._file``): files in its folder, or
    members of its ``.zip``, named as Playwright names them (:data:`_BODY_NAME`). Calling it
    with a name gives the bytes, or ``None`` when there is no such file; ``ValueError`` for a
    name Playwright would not write, a link out of the folder or to another file, a file over
    :data:`MAX_ATTACHED` bytes, bodies over :data:`MAX_ATTACHED_TOTAL` bytes in all, or one
    that is no regular file. A name is read once: the entries naming it share its bytes.

    >>> attached = _Attached(".")
    >>> attached("da39a3ee5e6b4b0d3255bfef95601890afd80709.dat") is None  # (no such file)
    True
    >>> attached(".hooklab/captures.sqlite3")
    Traceback (most recent call last):
    ...
    ValueError: postData._file '.hooklab/captures.sqlite3' is not a file beside the HAR file (Playwright names one <sha1>.<ext>)
    """

    def __init__(self, folder: str, archive: Any = None) -> None:
        self.folder = folder
        self.archive = archive  # a zipfile.ZipFile, or None
        self.unzipped = 0  # bytes read out of the archive so far
        self.given = 0  # bytes of bodies given to entries so far (a repeated name each time)
        self.read: dict[str, bytes | None] = {}  # (each name read once: entries share it)

    def __call__(self, name: str) -> bytes | None:
        if _BODY_NAME.fullmatch(name) is None:
            raise ValueError(f"postData._file {name!r} is not a file beside the HAR file "
                             "(Playwright names one <sha1>.<ext>)")
        if name not in self.read:
            self.read[name] = self._member(name) if self.archive is not None else self._file(name)
        data = self.read[name]
        if data is not None:
            self._room(name, len(data))
            self.given += len(data)
        return data

    def _room(self, name: str, size: int) -> None:
        """``ValueError`` when ``size`` more bytes would take the bodies past
        :data:`MAX_ATTACHED_TOTAL`."""
        if self.given + size > MAX_ATTACHED_TOTAL:
            raise ValueError(f"postData._file {name!r} takes the HAR's attached bodies past "
                             f"{MAX_ATTACHED_TOTAL:,} bytes in all (hooklab.export."
                             "MAX_ATTACHED_TOTAL; a body several entries name counts for each)")

    def _file(self, name: str) -> bytes | None:
        folder = os.path.realpath(self.folder)
        # links resolved: one pointing out of the folder is refused as "../x" is, and one to
        # another file in it (a dotfile, the capture database) as that name would be
        where = os.path.realpath(os.path.join(folder, name))
        if os.path.commonpath([folder, where]) != folder or where == folder:
            raise ValueError(f"postData._file {name!r} leads out of the HAR file's folder")
        if (os.path.dirname(where) != folder
                or _BODY_NAME.fullmatch(os.path.basename(where)) is None):
            raise ValueError(f"postData._file {name!r} is a link to "
                             f"{os.path.relpath(where, folder)!r}, no body beside the HAR file")
        try:
            f = _open_regular(where)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ValueError(f"postData._file {name!r} cannot be read ({exc.strerror})") from None
        limit = MAX_ATTACHED + 1
        with f:
            size = min(os.fstat(f.fileno()).st_size + 1, limit)
            self._room(name, size - 1)
            data = f.read(size)  # (read(n) sets n bytes aside first: not 64 MiB for 2 KB)
            if len(data) == size < limit:  # (a byte more than it held: it grew since)
                data += f.read(limit - size)
        if len(data) > MAX_ATTACHED:
            raise ValueError(f"postData._file {name!r} holds more than {MAX_ATTACHED:,} bytes "
                             "(hooklab.export.MAX_ATTACHED)")
        return data

    def _member(self, name: str) -> bytes | None:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            return None
        if info.file_size > MAX_ATTACHED:
            raise ValueError(f"postData._file {name!r} holds more than {MAX_ATTACHED:,} bytes "
                             "(hooklab.export.MAX_ATTACHED)")
        self._room(name, info.file_size)
        return _unzip(self, info)


def _unzip(attached: _Attached, info: Any) -> bytes:
    """A zip member's bytes, counted against :data:`MAX_UNZIPPED` (by the size it declares,
    before it is read: ``zipfile`` gives no more bytes than that)."""
    import zipfile
    import zlib

    attached.unzipped += info.file_size
    if attached.unzipped > MAX_UNZIPPED:
        raise ValueError(f"the zip unzips to more than {MAX_UNZIPPED:,} bytes "
                         "(hooklab.export.MAX_UNZIPPED): unzip it first and import its .har")
    try:
        return attached.archive.read(info)  # type: ignore[no-any-return]
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError,
            EOFError) as exc:  # (damaged, encrypted, compressed in a way Python cannot read)
        raise ValueError(f"{info.filename!r} in the zip cannot be read ({exc})") from None


def _har_json(name: str, raw: io.BufferedReader) -> tuple[Any, _Attached]:
    """The HAR's JSON (a UTF-8 byte order mark before it is skipped, as Fiddler writes one)
    and its attached bodies. A ``.zip`` (Playwright's ``record_har_path="x.zip"``: its
    ``.har`` and the bodies beside it) is read inside."""
    import zipfile

    head = raw.read(4)
    raw.seek(0)
    folder = os.path.dirname(os.path.abspath(name))
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(f"{name!r} is not a HAR file: it is UTF-16 text; save it as UTF-8")
    if head != b"PK\x03\x04":
        with io.TextIOWrapper(raw, encoding="utf-8-sig") as f:
            return json.load(f), _Attached(folder)
    try:
        archive = zipfile.ZipFile(raw)
        hars = [i for i in archive.infolist() if i.filename.lower().endswith(".har")
                and not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a HAR file: a zip that cannot be read ({exc})") from None
    if not hars:
        raise ValueError(f"{name!r} is not a HAR file: a zip holding no .har file")
    attached = _Attached(folder, archive)  # (the first .har, as Playwright reads it)
    try:
        return json.loads(_unzip(attached, hars[0]).decode("utf-8-sig")), attached
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        archive.close()
        raise ValueError(f"{name!r} is not a HAR file: its {hars[0].filename!r}: {exc}") from None


#: what an import gives an entry or line that has none, in the order it says them
STAND_INS = (UNTIMED, NAIVE, UNANSWERED)


def stand_ins_said(found: dict[str, tuple[int, str]], holder: tuple[str, str],
                   time_field: str, status_field: str) -> list[str]:
    """What an import says of the times and statuses it had to give (:data:`STAND_INS`):
    ``found`` maps each to how many and which (``"entries 0, 4"``); ``holder`` names what
    holds them, one and many; the fields as the file names them. One reading for HAR
    (:func:`read_har`) and JSON Lines (:mod:`hooklab.export.jsonl`).

    >>> stand_ins_said({UNTIMED: (1, "line 3"), NAIVE: (2, "lines 4, 5")}, ("line", "lines"),
    ...                "received_at", "status")
    ['1 line has no received_at (line 3): stamped with the time of this import', "2 lines' received_at name no UTC offset (lines 4, 5): read as UTC"]
    """
    one, many = holder
    said = []
    if UNTIMED in found:
        n, which = found[UNTIMED]
        said.append(f"{n:,} {one + ' has' if n == 1 else many + ' have'} no {time_field} "
                    f"({which}): stamped with the time of this import")
    if NAIVE in found:
        n, which = found[NAIVE]
        whose = f"{one}'s {time_field} names" if n == 1 else f"{many}' {time_field} name"
        said.append(f"{n:,} {whose} no UTC offset ({which}): read as UTC")
    if UNANSWERED in found:
        n, which = found[UNANSWERED]
        said.append(f"{n:,} {one + ' has' if n == 1 else many + ' have'} no {status_field} "
                    f"({which}): imported with status 0, as requests that got no answer")
    return said


def redactions_said(values: int, holders: int, which: str, holder: tuple[str, str],
                    call: str) -> str:
    """What an import says of the header values it stored as ``[redacted]``
    (:data:`REDACTED_NOTE`): how many, in how many entries or lines (``which`` names the
    first few; ``holder`` names one and many), and the call (``call``) that keeps them. One
    reading for HAR (:func:`read_har`) and JSON Lines (:mod:`hooklab.export.jsonl`).

    >>> redactions_said(3, 2, "entries 0, 4", ("entry", "entries"), "hooklab.load_har")
    '3 header values (Cookie, X-XSRFToken, Authorization: token ...) in 2 entries (entries 0, 4) stored as [redacted], as the lab stores them on arrival; hooklab.load_har(path, redact_credentials=False) keeps them'
    """
    one, many = holder
    return (f"{values:,} header value{'' if values == 1 else 's'} (Cookie, X-XSRFToken, "
            f"Authorization: token ...) in {holders:,} {one if holders == 1 else many} "
            f"({which}) stored as [redacted], as the lab stores them on arrival; "
            f"{call}(path, redact_credentials=False) keeps them")


def _told(name: str, total: int, notes: dict[str, list[int]]) -> str:
    """The one line an import says of the entries it skipped, the times and statuses it had
    to give (none in the file, or a time without its offset), and the bodies it could not
    read (``notes``: entry numbers by what :func:`_har_record` noted).

    >>> print(_told("x.har", 9, {UNTIMED: [0, 4], NAIVE: [3], UNANSWERED: [7]}))
    hooklab: 'x.har': 2 entries have no startedDateTime (entries 0, 4): stamped with the time of this import; 1 entry's startedDateTime names no UTC offset (entry 3): read as UTC; 1 entry has no response status (entry 7): imported with status 0, as requests that got no answer
    """
    def which(numbers: list[int]) -> str:
        shown = ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
        return f"entr{'y' if len(numbers) == 1 else 'ies'} {shown}"

    said = []
    skipped = {k.split(" ", 1)[1]: v for k, v in notes.items() if k.startswith(SKIPPED)}
    if skipped:
        n = sum(map(len, skipped.values()))
        said.append(f"skipped {n:,} of {total:,} entries that are no HTTP(S) requests ("
                    + ", ".join(f"{s} {len(v):,}" for s, v in sorted(skipped.items())) + ")")
    said += stand_ins_said({k: (len(notes[k]), which(notes[k])) for k in STAND_INS
                            if notes.get(k)}, ("entry", "entries"), "startedDateTime",
                           "response status")
    if notes.get(MISSING):
        m = notes[MISSING]
        said.append(f"{len(m):,} request bod{'y is' if len(m) == 1 else 'ies are'} not in the "
                    f"file ({which(m)}): imported empty, headers as recorded")
    if notes.get(ALTERED):
        a = notes[ALTERED]
        said.append(f"{len(a):,} request bod{'y does' if len(a) == 1 else 'ies do'} not match "
                    f"{'its' if len(a) == 1 else 'their'} Content-Length ({which(a)}): "
                    "changed when written as text?")
    if notes.get(REDACTED_NOTE):
        entries = sorted(set(notes[REDACTED_NOTE]))
        said.append(redactions_said(len(notes[REDACTED_NOTE]), len(entries), which(entries),
                                    ("entry", "entries"), "hooklab.load_har"))
    tail = "; the captures say so in verify_reason" if MISSING in notes or ALTERED in notes else ""
    return f"hooklab: {name!r}: " + "; ".join(said) + tail


def _json_lines(exc: ValueError) -> bool:
    """Whether a HAR file's JSON failed as a JSON Lines file does: a whole object on its first
    line, then more JSON after it (``json``'s "Extra data")."""
    if not isinstance(exc, json.JSONDecodeError) or exc.msg != "Extra data":
        return False
    head = exc.doc[:exc.pos]
    first = head.strip().removeprefix("\ufeff")
    return (first.startswith("{") and "\n" not in first and head.rstrip(" \t\r").endswith("\n")
            and exc.doc.startswith("{", exc.pos))


def read_har(path: str | os.PathLike[str], *, redact_credentials: bool = True
             ) -> list[CaptureRecord]:
    """Read a HAR file into capture records (``HookLab.from_har`` stores them).

    Entries exported by hooklab keep their provider, event type, status, verification,
    handshake, forwarding outcomes and method as sent (``get``); entries from other tools
    (browser dev tools, proxies, Playwright's ``record_har_path``) are classified as on
    arrival. What a browser logs beside the requests a server could receive is skipped
    (:data:`BROWSER_SCHEMES`: a WebSocket's ``ws://``, ``blob:``, ``data:``,
    ``chrome-extension:``...; a WebSocket recording hooklab exported, ``kind`` ``"ws"``, is
    imported as it was); an entry of another scheme (``file:``, ``gopher:``) refuses the
    file. A request that got no answer (``status`` 0, Playwright's -1) is
    imported with status 0.

    ``startedDateTime`` and ``response.status`` (HAR 1.2 requires both) are read as they are
    or not at all: a time that is no ISO 8601 string (a number, ``"yesterday"``) or outside
    what a DataFrame holds (1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z), a status that is no whole number (``200.9``, ``true``, ``"OK"``; ``200.0`` and
    ``"404"`` are read) or outside 0-999, or a ``response`` that is no object refuses the
    file, naming the entry and the field. An entry without them is imported: without its
    time (``null`` or ``""`` too) at the time of the import, with a time that names no UTC
    offset as UTC, without a status (or a ``response``) with status 0, as a request that got
    no answer; the warning below names those entries.

    Request bodies kept beside the HAR (Playwright's ``record_har_content="attach"``:
    ``postData._file``) are read from its folder, or from its ``.zip``, by the name Playwright
    gives them (``<sha1>.<ext>``, directly beside the HAR); any other name (a subfolder, a
    dotfile, ``../x``) or a link out of the folder is refused, as are bodies over
    :data:`MAX_ATTACHED` bytes each or :data:`MAX_ATTACHED_TOTAL` in all (a body several
    entries name counts for each; it is read once, and their captures share its bytes). A
    body the file does not hold (a binary one Playwright "embed"s as ``""``, an attached file
    that is missing) is imported empty, its headers as recorded, and its capture's
    ``verify_reason`` says so; as for a body whose length is not its ``Content-Length``.
    ``Cookie``, ``X-XSRFToken`` and Jupyter's ``Authorization: token ...`` are stored as
    ``[redacted]``, as a live request's are (a browser's HAR holds the person's own
    cookies); ``redact_credentials=False`` keeps them as the file has them.
    One warning tells how many entries were skipped, given a time or a status, bodies
    missed and header values redacted. A UTF-8 byte order mark before the JSON is skipped.

    Raises ``ValueError`` naming the file and entry when the file or an entry is malformed.

    >>> lab.export_har("captures.har")
    1
    >>> records = read_har("captures.har")
    >>> records[0]["method"], records[0]["path"]
    ('POST', '/stripe')
    """
    name = os.fspath(path)
    raw = _open_regular(path)  # (a FIFO or a device, a link to /dev/zero: refused, naming it)
    with raw:  # (open until the last body is read out of a zip)
        return _read_har(name, raw, redact_credentials)


def _read_har(name: str, raw: io.BufferedReader, redact_credentials: bool = True
              ) -> list[CaptureRecord]:
    import warnings

    from ..server.lifecycle import user_stacklevel

    try:
        har, attached = _har_json(name, raw)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{name!r} is not a HAR file: {exc}") from None
    except ValueError as exc:
        if str(exc).startswith(repr(name)):
            raise
        if _json_lines(exc):
            raise ValueError(f"{name!r} is a JSON Lines file, not a HAR file: import it with "
                             "hooklab.load_jsonl(path)") from None
        raise ValueError(f"{name!r} is not a HAR file: {exc}") from None
    log = har.get("log") if isinstance(har, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        if isinstance(har, dict) and "log" not in har and {"received_at", "body_b64"} & har.keys():
            raise ValueError(f"{name!r} is a JSON Lines file (one capture), not a HAR file: "
                             "import it with hooklab.load_jsonl(path)")
        raise ValueError(f"{name!r} is not a HAR file (no log.entries)")
    records = []
    told: dict[str, list[int]] = {}
    try:
        for i, entry in enumerate(entries):
            notes: list[str] = []
            try:
                if not isinstance(entry, dict):
                    raise TypeError("entry is not an object")
                record = _har_record(entry, notes, attached,
                                     redact_credentials=redact_credentials)
            except (AttributeError, TypeError, KeyError, ValueError, OverflowError) as exc:
                raise ValueError(f"{name!r}: HAR entry {i} is malformed ({exc})") from None
            for what in notes:
                told.setdefault(what, []).append(i)
            if record is not None:
                records.append(record)
    finally:
        if attached.archive is not None:
            attached.archive.close()
    if told:
        warnings.warn(_told(name, len(entries), told), UserWarning, stacklevel=user_stacklevel())
    return records


# -- copy as curl ----------------------------------------------------------------------------
_SKIP_CURL = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding",
                        "te", "trailer", "upgrade", "expect"})


def _printf_escape(data: bytes) -> str:
    """A POSIX ``printf`` format string that prints exactly ``data`` (octal escapes; a
    leading ``-`` escaped too, or ``printf`` would read it as an option)."""
    out = []
    for i, b in enumerate(data):
        ch = chr(b)
        if 32 <= b < 127 and ch not in "\\%'" and not (i == 0 and ch == "-"):
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def _header_word(text: str) -> str:
    """A header line as one shell word that sends its bytes as received: single-quoted when it
    is printable ASCII, else ``"$(printf '...')"`` with octal escapes of its latin-1 bytes (what
    the server decoded it from; UTF-8 for an imported text past U+00FF). A quoted ``é`` would
    go out as the terminal's UTF-8; a DEL pasted into a terminal without bracketed paste
    erases the closing quote before it, and C1 controls (``\x9b`` is CSI) are read by some
    terminals.

    >>> print(_header_word("X-A: b c"), _header_word("X-A: \xe9\x9b"))
    'X-A: b c' "$(printf 'X-A: \\351\\233')"
    """
    if text.isascii() and text.isprintable():
        return shlex.quote(text)
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return f'"$(printf \'{_printf_escape(data)}\')"'


def _mask_query(target: str, hide: Callable[[str], bool]) -> str:
    parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(hide(k) for k, _ in pairs):
        return target
    shown = [(k, "HIDDEN" if hide(k) else v) for k, v in pairs]
    return parts._replace(query=urlencode(shown)).geturl()


#: where "copy as curl" sends a capture when no lab address is given: the default lab's
DEFAULT_BASE = "http://127.0.0.1:8765"


def _request_target(capture: Capture) -> str:
    """Path and query as received (the query from the stored URL keeps its encoding; both
    one character a byte, as the server read them: see :func:`_curl_target`)."""
    query = urlsplit(capture.url).query if capture.url else ""
    if not query and capture.query:
        query = urlencode([(k, v) for k, vs in capture.query.items() for v in vs])
    return capture.path + (f"?{query}" if query else "")


#: bytes no request line carries as they are (a space, C0 controls, DEL): CR and LF would
#: end it, the others make servers answer 400. Only an imported HAR's URL can hold them
_NEVER_RAW = re.compile(rb"[\x00-\x20\x7f]")


def _curl_target(target: str) -> tuple[str, str | None]:
    """``(url, request_target)`` for curl: the command holds printable ASCII only, and curl
    sends the target's bytes as they were received.

    A target is kept one character a byte (latin-1, as the server read the request line); one
    with a character past U+00FF is text, an IRI, and goes percent-encoded as UTF-8, as replay
    sends it (:func:`hooklab.outbound.sender.sent_target`). A target of printable ASCII goes
    in the URL, as before. A byte past ASCII cannot: quoted as it is it puts C1 controls
    (``\\x9b`` is CSI) and bidi overrides into the command, and curl percent-encodes what it
    finds there (the UTF-8 of ``\\x9b`` went out as ``%c2%9b``). Such a target is given with
    ``--request-target "$(printf '...')"`` (octal escapes), which curl writes into the request
    line unchanged; the URL then names only the server. A space, C0 control or DEL (never in a
    received target, only in an imported HAR's URL) is percent-encoded: raw, CR and LF would
    split the request line.

    >>> _curl_target("http://127.0.0.1:8765/gh/x?a=1")
    ('http://127.0.0.1:8765/gh/x?a=1', None)
    >>> print(*_curl_target("http://127.0.0.1:8765/gh/x\\x9b31m?a=b c"))
    http://127.0.0.1:8765 "$(printf '/gh/x\\23331m?a=b\\04520c')"
    """
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not target.startswith(origin):  # (urlsplit lower-cases the scheme)
        origin = target[: target.index("://") + 3 + len(parts.netloc)]
    rest = target[len(origin):]
    from ..outbound.sender import sent_target

    data = sent_target(rest).encode("latin-1")
    data = _NEVER_RAW.sub(lambda m: b"%%%02X" % m.group()[0], data)
    if data.isascii():
        return origin + data.decode("ascii"), None
    return origin, f'"$(printf \'{_printf_escape(data)}\')"'


def _trailers_note(capture: Capture) -> str:
    """A comment line saying which trailer fields (after a chunked body) the curl command
    leaves out (curl cannot send trailers), each name as the command writes a header
    (:func:`_header_word`: a shell word, so no ``!`` or ``$`` acts even where a terminal
    expands a comment's history); ``""`` when none came.

    >>> c = Capture(1, None, "POST", "/s", headers=[("Transfer-Encoding", "chunked"),
    ...             ("X-Sig", "v1=abc"), ("X-!a", "1")], trailers_at=1)
    >>> print(_trailers_note(c), end="")
    # 2 trailer fields left out (curl cannot send trailers): X-Sig 'X-!a'
    """
    names = [k for k, _ in capture.trailers]
    if not names:
        return ""
    return (f"# {len(names)} trailer field{'' if len(names) == 1 else 's'} left out (curl "
            f"cannot send trailers): {' '.join(_header_word(k) for k in names)}\n")


def to_curl(
    capture: Capture,
    url: str | None = None,
    *,
    base: str | None = None,
    hide_headers: Iterable[str] | Callable[[str], bool] = (),
    hide_query: Iterable[str] | Callable[[str], bool] = (),
    max_inline: int | None = None,
    multiline: bool = False,
) -> str:
    """A shell-safe ``curl`` command that re-sends ``capture`` byte for byte.

    Without ``url`` it goes back to the lab: ``base`` (the lab's ``lab.url``; default
    ``http://127.0.0.1:8765``) + the path and query as received. It never goes to the address
    the sender wrote in its ``Host`` header (or an imported HAR file in its URL): that is the
    sender's choice, and could name any service on this machine. ``url`` sends it elsewhere
    (path suffix and query appended, as :func:`lab.replay` does). ``--proto =http,https`` keeps
    curl to http(s) whatever the URL says.

    Text bodies go inline with ``--data-binary``; binary ones are piped in through ``printf``
    octal escapes and ``--data-binary @-``. For display: ``hide_headers`` / ``hide_query``
    (lower-case names, or a test of a name) replace credential values with
    placeholders, a body larger than
    ``max_inline`` bytes (text or binary) is read from ``body.bin``, and ``multiline`` puts one
    option per line.
    Headers stored as ``[redacted]`` are left out, and so are trailer fields (sent after a
    chunked body: curl cannot send them): the command sends the header section, and a comment
    line before it names the trailer fields left out. curl's own ``User-Agent`` and ``Accept``
    are not added to a capture that had none (``-H 'User-Agent:' -H 'Accept:'``), a
    ``Content-Length: 0`` the sender gave with no body is sent, and a ``HEAD`` with a body goes
    as ``-X HEAD --ignore-content-length`` with ``Connection: close`` (curl refuses ``--head``
    with data, and would wait for the body the answer's ``Content-Length`` announces). A body
    that came with a transfer coding (``Transfer-Encoding: gzip, chunked``) goes decoded, as
    replay sends it (:func:`hooklab.outbound.forward.sent_body`: one hooklab cannot undo,
    ``compress``, is ``ValueError``). Raises ``ValueError`` for a capture the
    server could not have received (see :func:`hooklab.capture.check_request_syntax`), and
    for a recorded WebSocket message, in replay's words (:func:`hooklab.capture.not_a_request`:
    no HTTP request re-sends it).

    >>> print(to_curl(cap, app_url, multiline=True))
    curl --globoff -X POST http://127.0.0.1:.../webhook \\
      --proto =http,https \\
      -H 'User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)' \\
      -H 'Content-Type: application/json; charset=utf-8' \\
      ...
      -H 'Stripe-Signature: t=...,v1=...' \\
      --data-binary '{
      "id": "evt_...",
      ...
      "type": "payment_intent.succeeded"
    }'
    """
    why = not_a_request(capture.kind, capture.method)
    if why is not None:  # (a WebSocket message as "curl -X SEND": a fake capture; replay's words)
        raise ValueError(why)
    check_request_syntax(capture.method, capture.path, capture.headers)
    if url is None and not capture.path.startswith("/"):  # (OPTIONS *, CONNECT host:port)
        raise ValueError(f"{capture.method} {capture.path} names no path on the lab: it cannot "
                         "be re-sent there as curl")
    header_names = frozenset() if callable(hide_headers) else frozenset(h.lower() for h in hide_headers)
    hide_h: Callable[[str], bool] = (hide_headers if callable(hide_headers)
                                     else lambda k: k.strip().lower() in header_names)
    if callable(hide_query):
        hide_q: Callable[[str], bool] | None = hide_query
    else:
        names = frozenset(q.lower() for q in hide_query)
        hide_q = (lambda k: k.strip().lower() in names) if names else None
    if url is None:
        target = (base or DEFAULT_BASE).rstrip("/") + _request_target(capture)
    else:
        from ..outbound.forward import target_url

        target = target_url(capture, url)
    if urlsplit(target).scheme not in ("http", "https"):
        from ..credentials import shown_given

        raise ValueError(f"not an http(s) URL: {shown_given(target, 400)}")
    if hide_q is not None:
        target = _mask_query(target, hide_q)
    from ..outbound.forward import sent_body

    body = sent_body(capture)  # (its transfer codings undone, as replay sends it)
    if capture.method != "HEAD":
        method = ["-X", shlex.quote(capture.method)]
    elif not body:
        method = ["--head"]
    else:  # (curl refuses --head with data, "You can only select one HTTP request method!";
        # -X HEAD sends it but then waits for the answer's Content-Length bytes, which a
        # HEAD answer never has: the connection is closed after the answer, which is read to
        # that close whatever its Content-Length says)
        method = ["-X", "HEAD", "--ignore-content-length"]
    shown, request_target = _curl_target(target)
    args = ["curl", "--globoff", *method, shlex.quote(shown), "--proto", "=http,https"]
    from ..outbound.forward import has_dot_segment

    if has_dot_segment(urlsplit(target).path):  # curl would fold "/gh/../x" into "/x"
        args.insert(2, "--path-as-is")
    first = len(args) - 2
    if request_target is not None:
        args += ["--request-target", request_target]
    sent: set[str] = set()
    for k, v in capture.header_section:  # (curl sends no trailers: said in a comment below)
        if v == REDACTED:
            continue
        if k.lower() not in _SKIP_CURL and not k.lower().startswith("proxy-"):
            value = "<hidden>" if hide_h(k) else v
            # ("Name:" with nothing after it tells curl to leave the header out; "Name;"
            # sends it empty)
            args += ["-H", _header_word(f"{k}: {value}" if value.strip() else f"{k};")]
            sent.add(k.lower())
    for name in ("User-Agent", "Accept"):  # curl's own (curl/7.88.1, */*): the capture's
        if name.lower() not in sent:  # headers only
            args += ["-H", shlex.quote(f"{name}:")]
    if len(body) > 1024 and not any(k.lower() == "expect" for k, _ in capture.header_section):
        args += ["-H", shlex.quote("Expect:")]  # (curl adds Expect: 100-continue to a body
        # over 1 MiB, over 1 KiB before 7.69: the capture had none)
    if not body:  # (a Content-Length: 0 the sender gave: curl sends none without data)
        names = [k for k, _ in capture.header_section]
        given = [k for k in names if k.lower() == "content-length"]
        if given:
            args += ["-H", shlex.quote(f"{given[0]}: 0")]
        elif "transfer-encoding" in {k.lower() for k in names} and capture.method not in (
                "GET", "HEAD"):  # (an empty chunked body: replay frames it so too)
            args += ["-H", shlex.quote("Content-Length: 0")]
    elif capture.method == "HEAD":
        args += ["-H", shlex.quote("Connection: close")]
    prefix = note = ""
    if body:
        if capture.header("content-type", trailers=False) is None:  # (the header section's:
            args += ["-H", shlex.quote("Content-Type:")]  # curl would add a form type)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        plain = text is not None and not text.startswith("@") and all(
            ch in "\t\n\r" or ch.isprintable() for ch in text  # (no DEL, C1, bidi: below)
        )
        if max_inline is not None and len(body) > max_inline:  # text too: widget state stays small
            note = (
                f"# body ({len(body)} bytes) too large to inline: save it first, e.g.\n"
                + (f"#   open('body.bin', 'wb').write(lab.get({capture.id}).body)\n"
                   if body == capture.body else  # (a transfer coding undone: not the bytes
                   "#   from hooklab.outbound.forward import sent_body\n"  # stored)
                   f"#   open('body.bin', 'wb').write(sent_body(lab.get({capture.id})))\n")
            )
            args += ["--data-binary", "@body.bin"]
        elif plain:
            args += ["--data-binary", shlex.quote(text)]  # type: ignore[arg-type]
        else:
            prefix = f"printf '{_printf_escape(body)}' | "
            args += ["--data-binary", "@-"]
    note = _trailers_note(capture) + note
    if not multiline:
        return note + prefix + " ".join(args)
    lines = [" ".join(args[:first])]
    lines += [" ".join(args[i : i + 2]) for i in range(first, len(args), 2)]
    return note + prefix + " \\\n  ".join(lines)
