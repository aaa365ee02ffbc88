"""Pure text/HTML rendering for the live view (no ipywidgets, no I/O).

Everything that comes from a request (path, headers, query, body) is untrusted: it is escaped
with :func:`html.escape` (``quote=True``) before it is placed into HTML, and control / bidi
characters are made visible in one-line labels.

>>> row_label(cap)       # time (UTC), method, path, provider, event, status, size, signature
'...  POST  stripe  stripe  payment_intent.succee…  200  ... B  ✓  '
>>> print(curl_command(cap))
curl --globoff -X POST http://127.0.0.1:.../stripe \\
  --proto =http,https \\
  -H 'User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)' \\
  ...
  --data-binary '{
  "id": "evt_...",
  ...
}'
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from html import escape
from typing import Any
from urllib.parse import parse_qs

from ..capture import (
    FORWARD_ERROR_CHARS,
    HIDDEN_CHARS,
    VS_RUN,
    Capture,
    as_sent,
    form_codec,
    forward_error,
    header_text_as_sent,
    path_read,
    target_as_sent,
    text_codec,
)
from ..credentials import (
    URLENCODED_TYPES,
    WHOLE_FORM,
    Part,
    hidden_body,
    hidden_form,
    hidden_json,
    hidden_value,
    hide_json,
    hide_json_text,
    is_sensitive_field,
    is_sensitive_header,
    multipart_fields,
)
from ..jsonread import json_depth

__all__ = [
    "COLUMNS",
    "WHOLE_FORM",
    "as_sent",
    "curl_command",
    "detail_html",
    "event_read",
    "hexdump",
    "hidden_form",
    "human_size",
    "is_sensitive_field",
    "is_sensitive_header",
    "multipart_fields",
    "path_read",
    "path_shown",
    "raw_html",
    "row_label",
    "sig_mark",
    "target_as_sent",
]

#: bodies larger than this are shown truncated in the detail pane (widget messages stay small)
SHOW_LIMIT = 64 * 1024
#: JSON bodies larger than this are shown as received, not re-indented
PRETTY_LIMIT = 1024 * 1024
#: JSON bodies nested deeper than this are shown as received, not re-indented (the encoder
#: that indents recurses once per level: a body 1,000 levels deep raised RecursionError)
PRETTY_DEPTH = 256
#: form fields listed at most in the Details tab
FORM_ROWS = 1000
#: binary bodies up to this size are inlined in "copy as curl"
CURL_LIMIT = 256 * 1024
# what Unicode draws as nothing or uses to reorder text, and runs of variation selectors:
# hooklab.capture's (the terminal's printable() escapes the same)
_HIDDEN, _VS_RUN = HIDDEN_CHARS, VS_RUN
# and lone surrogates ("\ud83d" in a JSON string, a string cut inside an emoji: valid JSON, no
# character), which no UTF-8 widget message can carry: one made selecting its capture raise
# UnicodeEncodeError and the live view send nothing. Written as JSON escapes them, \ud83d, as
# schema() and diff() show them (hooklab.explore.displayable)
_LONE = r"\ud800-\udfff"
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f" + _HIDDEN + _LONE + "]" + _VS_RUN)
_INVISIBLE_ML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _HIDDEN + _LONE + "]" + _VS_RUN)
#: what makes a UTF-8 body binary rather than text (bidi and zero-width marks do not: shown)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# (title, width, right-aligned)
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("time (UTC)", 12, False),
    ("method", 7, False),
    ("bin/path", 30, False),
    ("provider", 12, False),
    ("event", 22, False),
    ("status", 6, True),
    ("size", 9, True),
    ("sig", 3, False),
)


def visible(s: str, *, multiline: bool = False) -> str:
    """``s`` with control and bidi characters shown as ``\\xNN`` / ``\\uNNNN`` (still text), and
    each lone surrogate as JSON escapes it (``\\ud83d``: no UTF-8 text can hold one).

    >>> visible("a\\x07b\\u202e"), visible("Party \\ud83d"), visible("ok \\U0001f600")
    ('a\\\\x07b\\\\u202e', 'Party \\\\ud83d', 'ok 😀')
    """

    def sub(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"

    return (_INVISIBLE_ML if multiline else _INVISIBLE).sub(sub, s)


def _fit(s: str, width: int, right: bool = False) -> str:
    """``s`` (made :func:`visible`) in ``width`` columns of a monospace font: padded by the
    columns it takes, not its characters (an emoji or a CJK character takes two, a combining
    accent none: such paths pushed the next columns right, or pulled them left), and cut to
    ``width - 1`` columns and "…" when longer, between characters shown as one.

    >>> [_fit(p, 6) + "|" for p in ("ab", "東京", "東京タワー", "abcdefgh")]
    ['ab    |', '東京  |', '東京… |', 'abcde…|']
    >>> _fit("cafe\\u0301", 6) == "cafe\\u0301  "     # (é: an e and a combining accent)
    True
    """
    s = visible(s)
    if s.isascii():  # (the common case: a character is a column)
        if len(s) > width:
            s = s[: width - 1] + "…"
        return s.rjust(width) if right else s.ljust(width)
    used, cut, kept = 0, None, 0
    for start, cols in _glyphs(s):
        if cut is None and used + cols > width - 1:
            cut, kept = start, used  # (where "…" goes, if the rest does not fit)
        used += cols
        if used > width:
            s, used = s[:cut] + "…", kept + 1
            break
    pad = " " * (width - used)
    return pad + s if right else s + pad


#: U+FE0F, the variation selector that asks for a character drawn as an emoji (two columns)
_EMOJI_PRESENTATION = 0xFE0F


def _glyphs(s: str) -> Iterator[tuple[int, int]]:
    """``(start, columns)`` of each character of ``s`` with the marks drawn on it (combining
    marks, variation selectors, other zero-width characters): never split."""
    start, cols = 0, -1
    for i, c in enumerate(s):
        w = _columns(c)
        if w == 0 and i:
            if ord(c) == _EMOJI_PRESENTATION and cols == 1:  # (a heart drawn as an emoji)
                cols = 2
            continue
        if cols >= 0:
            yield start, cols
        start, cols = i, w
    if cols >= 0:
        yield start, cols


def _columns(c: str) -> int:
    """The columns one code point takes in a monospace font: 2 for East Asian wide and
    full-width ones, 0 for combining marks and format characters, else 1."""
    if unicodedata.category(c) in ("Mn", "Me", "Cf") or 0x1160 <= ord(c) <= 0x11FF:
        return 0  # (Hangul medial vowels and final consonants join the syllable before)
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def human_size(n: int) -> str:
    """``1234 -> '1.2 kB'``."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000  # type: ignore[assignment]
        if n < 1000:
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"


def sig_mark(verified: bool | None) -> str:
    """Signature state: ``True -> '✓'``, ``False -> '✗'``, ``None -> '—'`` (not checked)."""
    return "—" if verified is None else ("✓" if verified else "✗")


def _utc_time(dt: datetime) -> str:
    """The table's time of a capture: UTC, as the Details tab, ``lab.dataframe()``, the stream
    page and ``hooklab serve`` show it (the column's title says so). It was the kernel's local
    time, no zone said: with ``TZ=America/New_York`` a row read 00:52 and the capture it
    opened 05:52."""
    t = dt.astimezone(timezone.utc)
    return t.strftime("%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def header_label() -> str:
    """Column titles aligned with :func:`row_label`."""
    return "  ".join(_fit(t, w, r) for t, w, r in COLUMNS)


def event_read(cap: Capture) -> str:
    """The capture's event type as a person reads it: a header's UTF-8 read as such
    (``X-GitHub-Event: café`` is stored ``cafÃ©``), as ``hooklab serve`` shows it.

    >>> from datetime import datetime, timezone
    >>> from hooklab.capture import Capture
    >>> event_read(Capture(id=1, received_at=datetime.now(timezone.utc), method="POST",
    ...                    path="/gh", query={}, headers=[("X-GitHub-Event", "cafÃ©")],
    ...                    body=b"", event_type="cafÃ©"))
    'café'
    """
    return header_text_as_sent(cap.event_type or "", cap.header_section)


def path_shown(path: str) -> str:
    r"""A capture's path in the table: its bytes read as UTF-8 and the escapes of UTF-8
    characters read as those characters (``%C3%A9`` is ``é``, as raw ``é`` is), every other
    escape kept as sent (``%2F``, ``%3F``, ``%20``, ``%25``: undone, ``/x%2Fy/z`` read as
    ``/x/y/z``, ``/q/%3F`` as a query's ``?``, ``a%2520b`` as ``a%20b``, so different paths
    looked the same); where that is no UTF-8, the path as it came (:func:`target_as_sent`: a
    byte that is no UTF-8 as ``%FF``, escapes kept), never a byte as its Latin-1 character.

    >>> path_shown("/%C3%A9t%C3%A9/x"), path_shown("/\xc3\xa9\xff"), path_shown("/\xe9")
    ('/été/x', '/é%FF', '/%E9')
    >>> path_shown("/x%2Fy/z"), path_shown("/p/a%2520b"), path_shown("/q/%3F")
    ('/x%2Fy/z', '/p/a%2520b', '/q/%3F')
    """
    if "%" not in path:
        return target_as_sent(path)
    try:
        raw = path.encode("latin-1")  # (the bytes as received)
    except UnicodeEncodeError:  # (text, a recording's: its own characters, escapes undone
        raw = path.encode("utf-8", "surrogatepass")  # alike)
    read = _HIGH_ESCAPE.sub(lambda m: bytes([int(m.group()[1:], 16)]), raw)
    try:
        return read.decode("utf-8")
    except UnicodeDecodeError:  # (bytes that are no UTF-8, raw or escaped)
        return target_as_sent(path)


#: the escape of a byte past ASCII (part of a UTF-8 character, or no UTF-8 at all)
_HIGH_ESCAPE = re.compile(rb"%[89A-Fa-f][0-9A-Fa-f]")


def row_label(cap: Capture) -> str:
    """One fixed-width text line for the capture table (plain text, never HTML)."""
    cells = (
        _utc_time(cap.received_at),
        cap.method,
        path_shown(cap.path).lstrip("/") or "/",  # (plain text: escaped where it is shown)
        cap.provider or "",
        ("⇄ handshake " if cap.handshake else "") + event_read(cap),
        str(cap.status),
        human_size(cap.size),
        sig_mark(cap.verified) + ("²" if cap.duplicate else ""),
    )
    return "  ".join(_fit(v, w, r) for v, (_, w, r) in zip(cells, COLUMNS, strict=True))


def _shown_fields(fields: list[tuple[str, str]], reveal: bool) -> list[tuple[str, str]]:
    return [(k, as_sent(v) if reveal or not is_sensitive_header(k) else hidden_value(v))
            for k, v in fields]


def shown_headers(cap: Capture, reveal: bool) -> list[tuple[str, str]]:
    """The header section as received (UTF-8 values read as such: :func:`as_sent`),
    credential values replaced unless ``reveal``; the trailer fields that followed a chunked
    body are not among them (:func:`shown_trailers`)."""
    return _shown_fields(cap.header_section, reveal)


def shown_trailers(cap: Capture, reveal: bool) -> list[tuple[str, str]]:
    """The trailer fields (sent after a chunked body; ``[]`` when none came), shown as
    :func:`shown_headers` shows the header section: a credential's value replaced unless
    ``reveal``, by the same rule (:func:`is_sensitive_header`).

    >>> from datetime import datetime, timezone
    >>> c = Capture(id=1, received_at=datetime.now(timezone.utc), method="POST", path="/s",
    ...             headers=[("Transfer-Encoding", "chunked"), ("Authorization", "Bearer t0k"),
    ...                      ("X-Sum", "1")], trailers_at=1)
    >>> shown_headers(c, False), shown_trailers(c, False)
    ([('Transfer-Encoding', 'chunked')], [('Authorization', '<hidden: 10 chars>'), ('X-Sum', '1')])
    >>> shown_trailers(c, True)[0]
    ('Authorization', 'Bearer t0k')
    """
    return _shown_fields(cap.trailers, reveal)


def shown_query(cap: Capture, reveal: bool) -> list[tuple[str, str]]:
    return [
        (k, v if reveal or not is_sensitive_field(k) else hidden_value(v))
        for k, vs in cap.query.items()
        for v in vs
    ]


def hexdump(data: bytes, limit: int = 4096) -> str:
    """Classic 16-bytes-per-line hex dump of the first ``limit`` bytes."""
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hx = " ".join(f"{b:02x}" for b in chunk)
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hx:<47}  {asc}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes")
    return "\n".join(lines)


def _is_text(data: bytes) -> bool:
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not _CONTROLS.search(s)


def _is_declared_text(data: bytes, charset: str) -> bool:
    """Whether ``data`` is text in the ``charset`` its sender declared (one
    :func:`hooklab.capture.text_codec` takes, as :attr:`Capture.text` reads it: Latin-1,
    Windows-1252, Shift JIS, UTF-16...): every byte decodes in it, to no control character."""
    codec = text_codec(charset)
    if codec == "utf-8":  # (:func:`_is_text` said)
        return False
    try:
        return not _CONTROLS.search(data.decode(codec))
    except UnicodeDecodeError:
        return False


def _table(rows: list[tuple[str, str]], cls: str = "hl-kv") -> str:
    if not rows:
        return '<div class="hl-none">(none)</div>'
    body = "".join(
        f"<tr><th>{escape(visible(k), quote=True)}</th>"
        f"<td>{escape(visible(v), quote=True)}</td></tr>"
        for k, v in rows
    )
    return f'<table class="{cls}">{body}</table>'


def _pre(text: str) -> str:
    return f'<pre class="hl-pre">{escape(visible(text, multiline=True), quote=True)}</pre>'


def _cut(text: str) -> tuple[str, str]:
    if len(text) <= SHOW_LIMIT:
        return text, ""
    return text[:SHOW_LIMIT], f" (first {SHOW_LIMIT // 1024} KB shown)"


def _body_view(cap: Capture, reveal: bool) -> tuple[str, str]:
    """(kind, html) for the decoded body."""
    if not cap.body:
        return "empty", '<div class="hl-none">(no body)</div>'
    try:  # (decoded once: a 14 KB gzip body can be 14 MiB of JSON)
        decoded: bytes | None = cap.decoded_body()
    except ValueError:
        decoded = None
    # the decoded size decides, whatever the sender's labels say (cap.json() reads any body)
    big = (cap.size if decoded is None else len(decoded)) > PRETTY_LIMIT
    starts_json = decoded is not None and decoded[:64].lstrip()[:1] in (b"{", b"[")
    if big and ((cap.content_type or "").endswith("json") or starts_json):
        # re-indenting megabytes of JSON takes seconds; show its start as sent
        return _as_received(cap, reveal, "")
    parsed: Any = None if big else cap.json()
    if not big and parsed is not None and _deep(decoded or cap.body, parsed):
        # json.dumps(indent=2) recurses a frame per level: 1,000 levels (JSON reads 1,024)
        # raised RecursionError, fewer under the frames of a widget callback
        return _as_received(cap, reveal, f", nested {json_depth(parsed):,} levels: not re-indented")
    if not big and (parsed is not None or cap.body.strip() == b"null"):
        shown = parsed if reveal else hide_json(parsed)  # (the values of credential keys)
        text, note = _cut(json.dumps(shown, indent=2, ensure_ascii=False))
        what = ", credential fields hidden" if shown is not parsed else ""
        return "JSON" + note + what, _pre(text)
    form, more = _form_start(cap, reveal)
    if form:  # (its credentials already hidden unless reveal: hiding again said 17 chars)
        rows = [(k, v) for k, vs in form.items() for v in vs]
        if more:  # (a widget message stays small: the Raw body tab has them all)
            return f"form fields, the first {FORM_ROWS:,} (more in Raw body)", _table(rows)
        return "form fields", _table(rows)
    parts = multipart_fields(cap)
    if parts is not None:
        return "multipart form fields", _table([_part_row(cap, p, reveal) for p in parts])
    hidden = None if reveal else hidden_form(cap)
    if hidden is not None:  # (a form not listed field by field: its credentials hidden)
        return "form, credential fields hidden", _pre(_cut(hidden.decode("utf-8", "replace"))[0])
    hidden = None if reveal else hidden_json(cap)
    if hidden is not None:  # (JSON that did not parse: JSON Lines, cut short, another charset)
        return "text, credential fields hidden", _pre(_cut(hidden.decode("utf-8", "replace"))[0])
    try:
        raw = cap.decoded_body()
    except ValueError as exc:
        return "undecodable", f"<div>{escape(str(exc), quote=True)}</div>" + _pre(hexdump(cap.body))
    if _is_text(raw) or _is_declared_text(raw, cap.charset):
        text, note = _cut(cap.text)
        return "text" + note, _pre(text)
    return "binary (hex)", _pre(hexdump(raw))


def _deep(raw: bytes, parsed: Any) -> bool:
    """Whether ``parsed`` (read from ``raw``) nests deeper than :data:`PRETTY_DEPTH`: counted
    in C first (a body of fewer brackets than that cannot be; in UTF-16 or UTF-32 a bracket is
    still one such byte), walked only for bodies of more."""
    if raw.count(b"[") + raw.count(b"{") <= PRETTY_DEPTH:
        return False
    return json_depth(parsed, stop=PRETTY_DEPTH) > PRETTY_DEPTH


def _as_received(cap: Capture, reveal: bool, why: str) -> tuple[str, str]:
    """(kind, html) of a JSON body shown as sent, not re-indented: its start, the values of
    credential keys in it hidden (read from the start, as far as it is shown)."""
    text, note = _cut(_json_reading(cap))
    hidden = None if reveal else hide_json_text(text)
    what = "" if hidden is None else ", credential fields hidden"
    return f"JSON as received{why}{note}{what}; the Tree tab explores it", _pre(hidden or text)


def _json_reading(cap: Capture) -> str:
    """The start of ``cap``'s body (:data:`SHOW_LIMIT` characters and one) as JSON reads
    it: in UTF-16 or UTF-32 when its first bytes say so (RFC 8259's detection, as
    ``json.loads`` and :meth:`Capture.json` read bytes), whatever its ``charset`` says;
    else as :attr:`Capture.text` reads it. (Read as UTF-8, a UTF-16 body's NULs between
    the characters hid every key from :func:`hide_json_text`: its password was shown.)"""
    try:
        raw = cap.decoded_body()
    except ValueError:  # (shown as the bytes it is)
        return cap.text[: SHOW_LIMIT + 1]
    encoding = json.detect_encoding(raw[:4])
    if encoding in ("utf-8", "utf-8-sig"):
        return cap.text[: SHOW_LIMIT + 1]
    # (4 bytes a character at most: no more decoded than is shown)
    return raw[: (SHOW_LIMIT + 1) * 4].decode(encoding, "replace")[: SHOW_LIMIT + 1]


def _form_start(cap: Capture, reveal: bool) -> tuple[dict[str, list[str]], bool]:
    """``cap.form()``, read only as far as the Details tab lists it (a form of millions of
    fields took seconds to parse for a table that shows the first thousand), and whether
    more fields follow. Unless ``reveal``, read from the body with its credentials hidden
    (:func:`hidden_form`: also a ``password`` after a ``;`` some frameworks split on)."""
    if cap.content_type not in URLENCODED_TYPES:
        return {}, False
    hidden = None if reveal else hidden_form(cap)
    if hidden is not None and hidden.startswith(WHOLE_FORM):
        return {}, False
    # (read as cap.form() reads it: in the charset declared, Jos%E9 in windows-1252 is José;
    # a form hidden_form hides field by field is in a charset that writes ASCII as ASCII)
    text = cap.text if hidden is None else hidden.decode(text_codec(cap.charset), "replace")
    codec = form_codec(cap.charset)
    cut = -1
    for _ in range(FORM_ROWS):
        cut = text.find("&", cut + 1)
        if cut < 0:
            return parse_qs(text, keep_blank_values=True, encoding=codec, errors="replace"), False
    return parse_qs(text[:cut], keep_blank_values=True, encoding=codec, errors="replace"), True


#: forwarding outcomes of a capture listed at most in the detail pane (the latest)
FORWARD_ROWS = 20


def _forwards_html(forwards: list[dict[str, Any]], cap: Capture | None = None) -> str:
    """The detail pane's "Forwarded" table: the latest :data:`FORWARD_ROWS` outcomes, each
    error and target cut at ``FORWARD_ERROR_CHARS`` (a database written before errors were
    cut on the way in, or a target quoting a 1 MiB path, put megabytes into the widget)."""
    if not forwards:
        return ""
    from ..outbound.forward import forward_target_read

    rows = []
    for f in forwards[-FORWARD_ROWS:]:
        if f.get("error"):
            outcome = f"error: {forward_error(str(f['error']))}"
        else:
            outcome = f"{f.get('status')}"
        if f.get("latency_ms") is not None:
            outcome += f" in {f['latency_ms']:.1f} ms"
        # (the capture's raw bytes read as UTF-8, a byte that is none as %FF: never Latin-1)
        target = forward_target_read(str(f.get("target", "")), cap)
        if len(target) > FORWARD_ERROR_CHARS:
            target = target[:FORWARD_ERROR_CHARS] + f"... ({len(target):,} characters)"
        rows.append((target, outcome))
    more = f", the latest {FORWARD_ROWS} shown" if len(forwards) > FORWARD_ROWS else ""
    return f"<h4>Forwarded ({len(forwards)}{more})</h4>" + _table(rows)


#: what the Details tab says of the trailer fields it lists under their own heading
TRAILERS_TITLE = ("fields sent after the chunked body: not part of the header section, which "
                  "is what receivers and the signature checks read")


def detail_html(
    cap: Capture, *, reveal: bool = False, forwards: list[dict[str, Any]] | None = None
) -> str:
    """The detail pane: summary, forwards, headers table (the header section), trailers table
    (only when trailer fields came after a chunked body), query, decoded body. All escaped."""
    summary = [
        ("received", cap.received_at.isoformat()),
        ("status answered", str(cap.status) if cap.status else "0 (no answer)"),
        ("size", f"{cap.size} bytes ({human_size(cap.size)})"),
        ("content type", cap.content_type or "—"),
        ("provider", cap.provider or "—"),
        ("event type", event_read(cap) or "—"),
        ("delivery id", (cap.delivery_id or "—") + (" (duplicate delivery)" if cap.duplicate else "")),
        ("signature", sig_mark(cap.verified) + (f" {cap.verify_reason}" if cap.verify_reason else "")),
        ("from", cap.remote_addr or "—"),
    ]
    if cap.handshake:
        summary.insert(2, ("handshake", cap.handshake))
    kind, body = _body_view(cap, reveal)
    headers = shown_headers(cap, reveal)
    trailers = shown_trailers(cap, reveal)
    query = shown_query(cap, reveal)
    # (the path as sent, its escapes kept, its raw UTF-8 bytes read as UTF-8: /été/x, not
    # /Ã©tÃ©/x; visible() escapes what it holds of control and bidi characters)
    title = f"#{cap.id} {cap.method} {target_as_sent(cap.path)}"
    return (
        '<div class="hl-detail">'
        f'<div class="hl-title">{escape(visible(title), quote=True)}</div>'
        + _table(summary)
        + _forwards_html(forwards or [], cap)
        + f"<h4>Headers ({len(headers)})</h4>"
        + _table(headers)
        + (f"<h4>Trailers ({len(trailers)})</h4>"
           + f'<div class="hl-none">{TRAILERS_TITLE}</div>' + _table(trailers) if trailers else "")
        + (f"<h4>Query ({len(query)})</h4>" + _table(query) if query else "")
        + f"<h4>Body — {escape(kind, quote=True)}, {cap.size} bytes</h4>"
        + body
        + "</div>"
    )


def _part_row(cap: Capture, part: Part, reveal: bool) -> tuple[str, str]:
    """(name, value) of one multipart part for the Details tab: a file as its name, type and
    size; text as sent (cut), a credential's hidden unless ``reveal``."""
    name = part.name if part.name is not None else "(no name)"
    data = cap.body[part.start : part.end]
    if part.filename is not None:
        what = ", ".join(x for x in (repr(part.filename), part.content_type) if x)
        return name, f"<file {what}, {len(data)} bytes>"
    if not _is_text(data):
        value = f"<{len(data)} bytes, not UTF-8 text>"
    else:
        value = _cut(data.decode("utf-8"))[0]
    if not reveal and part.sensitive:
        value = hidden_value(data.decode("utf-8", "replace"))
    return name, value


def raw_html(cap: Capture, *, reveal: bool = False) -> str:
    """The body exactly as received: text when it is clean UTF-8, else a hex dump; a form's
    credential fields and the values of a JSON body's credential keys hidden unless
    ``reveal`` (:func:`hidden_body`)."""
    if not cap.body:
        return '<div class="hl-none">(no body)</div>'
    hidden = None if reveal else hidden_body(cap)
    if hidden is not None:
        return (f"<h4>Raw body, {cap.size} bytes, credential fields hidden: tick 'show "
                "credentials' to see them</h4>" + _pre(_cut(hidden.decode("utf-8", "replace"))[0]))
    head = f"<h4>Raw body, {cap.size} bytes, as received</h4>"
    if _is_text(cap.body):
        text = cap.body.decode("utf-8")
        shown, note = _cut(text)
        return head + _pre(shown) + (f"<div>{escape(note, quote=True)}</div>" if note else "")
    return head + _pre(hexdump(cap.body, limit=SHOW_LIMIT))


def curl_command(cap: Capture, *, reveal: bool = False, base: str | None = None) -> str:
    """A shell command that re-sends the request (same method, headers and exact body bytes).

    Built by :func:`hooklab.export.to_curl`, one option per line, aimed at the lab (``base``,
    its ``lab.url``), never at the sender's ``Host``; credential headers and query values, a
    form's credential fields and a JSON body's credential keys' values are replaced by
    placeholders unless ``reveal``.
    """
    from ..export import to_curl
    from ..outbound.forward import decoded

    hide = not reveal
    try:  # (the body as it is sent: a Transfer-Encoding: gzip body's stored bytes hid nothing
        cap = decoded(cap)  # and the command showed it decoded, credentials and all)
    except ValueError as exc:  # a coding hooklab cannot undo: nothing to send
        return f"# not copyable as curl: {exc}"
    form = hidden_body(cap) if hide else None
    try:
        cmd = to_curl(
            cap if form is None else replace(cap, body=form),
            base=base,
            hide_headers=is_sensitive_header if hide else (),
            hide_query=is_sensitive_field if hide else (),
            max_inline=CURL_LIMIT,
            multiline=True,
        )
    except ValueError as exc:  # a stored request no server could have received
        return f"# not copyable as curl: {exc}"
    if hide and (
        form is not None
        or any(is_sensitive_header(k) for k, _ in cap.header_section)
        or any(is_sensitive_field(k) for k in cap.query)
    ):
        cmd = "# credentials hidden: tick 'show credentials' to include them\n" + cmd
    return cmd


