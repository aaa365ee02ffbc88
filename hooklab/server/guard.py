"""Who may read: the DNS-rebinding guard and the read token of the ``/_hooklab/`` API, page and stream.

**Host.** A web page can make a browser resolve its own name to 127.0.0.1 (public names such as
``127.0.0.1.nip.io`` do so by design; DNS rebinding makes any name do it) and then read whatever a
local server answers. A name's spelling therefore proves nothing: a Host is local only if it is

- an IP literal in 127.0.0.0/8 (dotted decimal, as browsers send it) or ``[::1]``,
- the exact address the server is bound to,
- ``localhost`` or a name under ``.localhost`` (browsers never send those to DNS), or
- a name the user listed in ``HookLab.allowed_hosts`` (``"*"`` allows any well-formed Host).

Exactly one well-formed ``Host`` is required (none, two, an empty one, userinfo, a bad port or an
unbracketed IPv6 address: 400); a well-formed one that is not local gets 403. A browser's
``Origin`` on the stream must be the page's own origin, and that origin must be local too.

>>> class S: host, allowed_hosts = "127.0.0.1", ()
>>> [host_allowed(S, h) for h in ("127.0.0.1:8765", "[::1]:80", "app.localhost", "127.0.0.1.nip.io")]
[True, True, True, False]

**Token.** On a shared machine every local user reaches every other user's 127.0.0.1 ports, so
reading also needs the lab's random token (:func:`new_token`), sent as
``Authorization: token <token>`` or ``?token=<token>`` and compared in constant time; every token
presented must be the right one. Capture paths are guarded by neither: senders may use any name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from typing import Any, NamedTuple, overload
from urllib.parse import unquote, urlsplit

from tornado import web

__all__ = [
    "RELAY_AUTHORIZATION",
    "RELAY_HEADERS",
    "RELAY_HEADERS_PROOF",
    "RELAY_PREFIX",
    "RELAY_PROOF",
    "RELAY_URL",
    "NotText",
    "Relayed",
    "host_allowed",
    "is_local",
    "jupyter_runtime",
    "jupyter_tokens",
    "jupyter_tokens_now",
    "new_token",
    "origin_allowed",
    "parse_host",
    "query_text",
    "query_texts",
    "refuse_host",
    "refuse_reader",
    "relay_headers",
    "relay_proof",
    "relay_seal",
    "relayed_url",
    "runtime_stamp",
    "token_ok",
    "wants_body",
]

#: reg-name characters hooklab accepts in a Host (ASCII letters, digits, ``.``, ``-``, ``_``)
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_PORT = re.compile(r"[0-9]{1,5}")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")  # no zone ids: browsers never send them in a Host
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: canonical dotted decimal only: octal (0177.0.0.1), hex, integer and short forms are names
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_LOOPBACK6 = ipaddress.IPv6Address("::1")


def log_without_query(handler: web.RequestHandler, typ: Any, value: Any, tb: Any) -> None:
    """``RequestHandler.log_exception`` for the ``/_hooklab/`` handlers: nothing for an
    answered ``HTTPError`` (Tornado's own line, "400 GET /_hooklab/ws?token=...: Invalid
    unicode in bin", held the whole request target, the read token with it, and reached the
    notebook); an uncaught error with the path only."""
    if isinstance(value, web.HTTPError):
        return
    from tornado.log import app_log

    req = handler.request
    app_log.error("Uncaught exception %s %s (%s)", req.method, req.path, req.remote_ip,
                  exc_info=(typ, value, tb))


def unknown_parameter(arguments: Any, known: tuple[str, ...]) -> str | None:
    """What to say of a query parameter this endpoint does not take (``bni=`` for ``bin=``: a
    typo quietly gave every capture), or ``None``; ``_`` (a cache buster) is let by."""
    for name in arguments:
        if name not in known and name != "_":
            return f"unknown parameter {_shown_name(name)!r}; use {', '.join(known)}"
    return None


def _shown_name(name: str) -> str:
    """A parameter's name as the client wrote it: Tornado reads names as latin-1, so its UTF-8
    is undone here; bytes that are not UTF-8 are shown as their ``%XX`` as sent (``%FF``: its
    U+FFFD could not stand in a status line, and the answer said only ``400 Unknown``)."""
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        return name
    text = raw.decode("utf-8", "surrogateescape")
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in text)


class NotText(ValueError):
    """A query parameter's value that is not UTF-8 (:func:`query_texts`)."""

    #: what the stream's close frame says (its reason has room for few words)
    brief = "query parameters must be UTF-8 text"


def query_texts(arguments: Mapping[str, list[bytes]], name: str) -> list[str]:
    """The values of query parameter ``name`` (``request.query_arguments``) exactly as sent,
    read as UTF-8: nothing stripped or replaced. (Tornado's ``get_query_argument`` strips the
    spaces around a value and turns control characters into spaces: ``bin="a "`` answered
    bin ``a``'s captures, ``bin="\\x00"`` every capture, where ``lab.query`` answers none.)
    :class:`NotText` (a ``ValueError``, its message fit for a 400) when a value is not UTF-8
    (``%FF``)."""
    try:
        return [value.decode("utf-8") for value in arguments.get(name, ())]
    except UnicodeDecodeError:
        raise NotText(f"query parameters must be UTF-8 text: {name}= is not") from None


@overload
def query_text(arguments: Mapping[str, list[bytes]], name: str) -> str | None: ...
@overload
def query_text(arguments: Mapping[str, list[bytes]], name: str, default: str) -> str: ...
def query_text(arguments: Mapping[str, list[bytes]], name: str, default: str | None = None
               ) -> str | None:
    """The value of query parameter ``name`` as :func:`query_texts` reads it; given more than
    once, the last (as Tornado's own reader takes it); ``default`` when not given."""
    values = query_texts(arguments, name)
    return values[-1] if values else default


def wants_body(arguments: Mapping[str, list[bytes]]) -> bool:
    """Whether the API page or stream asked for captures with their bodies (``body=0``,
    ``false`` or ``no``: without)."""
    return query_text(arguments, "body", "1") not in ("0", "false", "no")


def new_token() -> str:
    """A fresh read token: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


#: where the tokens of the user's Jupyter servers can be found: environment variables that
#: JupyterHub (the server's and kernels' API token), Binder and users set
_JUPYTER_TOKEN_VARS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTER_TOKEN")


def jupyter_tokens(runtime_dir: str | None = None) -> tuple[str, ...]:
    """The tokens that open this user's Jupyter servers, so captures never store them.

    A token is sent to a capture URL by mistake easily (``lab.url + "?token=..."`` copied
    from JupyterLab's address bar, a script that adds it to every request); the relay strips
    Jupyter's credentials, a capture sent straight to the lab cannot tell them apart from a
    webhook's. So the capture server scrubs these (read when it starts, and again whenever
    a Jupyter server starts: :func:`runtime_stamp`), like its own read token: from
    ``$JUPYTERHUB_API_TOKEN``, ``$JPY_API_TOKEN``, ``$JUPYTER_TOKEN`` and the ``token`` of
    every running server's ``jpserver-*.json`` / ``nbserver-*.json`` in the Jupyter runtime
    directory (readable by their owner only). Values shorter than 8 characters are left
    out (a password such as ``test`` would rewrite every capture holding that word).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "jpserver-1.json").write_text('{"token": "9f2c6be1d4aa", "port": 8888}')
    >>> "9f2c6be1d4aa" in jupyter_tokens(str(d))
    True
    >>> import shutil; shutil.rmtree(d)
    """
    found = [os.environ.get(var, "") for var in _JUPYTER_TOKEN_VARS]
    if runtime_dir is None:
        runtime_dir = jupyter_runtime()
    for path in _server_files(runtime_dir)[:64]:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # (a FIFO would block the open)
                continue
            with open(path, "rb") as f:
                info = json.loads(f.read(65536))
        except (OSError, ValueError, RecursionError):  # (unreadable, not JSON, too deep)
            continue
        if isinstance(info, dict) and isinstance(info.get("token"), str):
            found.append(info["token"])
    return tuple(dict.fromkeys(t for t in found if len(t) >= 8))


#: (when read, the environment's tokens then, what was read) by :func:`jupyter_tokens_now`
_TOKENS_READ: tuple[float, tuple[str | None, ...], tuple[str, ...]] | None = None


def jupyter_tokens_now(max_age: float = 1.0) -> tuple[str, ...]:
    """:func:`jupyter_tokens` of the default runtime directory, its files read again at most
    every ``max_age`` seconds (at once when the environment's tokens or runtime directory
    change): an import scrubs them from every record it makes, as the capture server scrubs
    them on arrival, without reading the runtime files once a record.

    >>> jupyter_tokens_now() == jupyter_tokens_now()
    True
    """
    import time

    global _TOKENS_READ
    now = time.monotonic()
    env = tuple(map(os.environ.get, (*_JUPYTER_TOKEN_VARS, "JUPYTER_RUNTIME_DIR")))
    read = _TOKENS_READ
    if read is None or read[1] != env or not 0 <= now - read[0] <= max_age:
        read = _TOKENS_READ = (now, env, jupyter_tokens())
    return read[2]


def _server_files(runtime_dir: str) -> list[str]:
    """The ``jpserver-*.json`` / ``nbserver-*.json`` files of ``runtime_dir`` (sorted; among
    any number of kernel files)."""
    try:
        with os.scandir(runtime_dir) if runtime_dir else contextlib.nullcontext([]) as it:
            names = [e.name for e in it if e.name.endswith(".json")
                     and e.name.startswith(("jpserver-", "nbserver-"))]
    except OSError:
        return []
    return [os.path.join(runtime_dir, n) for n in sorted(names)]


def jupyter_runtime() -> str:
    """The Jupyter runtime directory, where running servers keep their ``jpserver-*.json``
    (``""`` without ``jupyter_core``)."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return str(jupyter_runtime_dir())
    except Exception:  # noqa: BLE001 - a kernel env without jupyter_core: env only
        return ""


def runtime_stamp(runtime_dir: str) -> tuple[tuple[str, int, int], ...]:
    """What the Jupyter servers' files of ``runtime_dir`` look like now (name, change time,
    size of each): it differs once a server started or stopped, or wrote its file again."""
    out = []
    for path in _server_files(runtime_dir)[:64]:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append((path, st.st_mtime_ns, st.st_size))
    return tuple(out)


#: what the Jupyter relay adds to a request it passes on: the public URL the sender called
#: (with the key) and a proof that the relay, which knows the lab's nonce, sent it; the header
#: fields as the relay received them (JSON) and a proof of URL and list together. Two proofs:
#: a lab of an older hooklab (a kernel's own environment) knows the first only, and a relay
#: that sent one proof of both was refused there (the key then stored with the headers)
RELAY_URL, RELAY_PROOF = "X-Hooklab-Relay-Url", "X-Hooklab-Relay-Proof"
RELAY_HEADERS, RELAY_HEADERS_PROOF = "X-Hooklab-Relay-Headers", "X-Hooklab-Relay-Headers-Proof"
#: the ``Authorization`` fields the relay received, which it never lists in RELAY_HEADERS (on a
#: Jupyter server the value may be the user's Jupyter or JupyterHub token), sealed under the
#: lab's nonce (:func:`relay_seal`): the lab checks a bin's credential with them (Okta, Auth0,
#: Event Grid, monday.com, Basic auth...), and its secret book stores one only where it is the
#: bin's credential: the secret as ``[secret]``, a JWT signed with it as sent
#: (:meth:`hooklab.signatures.book.SecretBook.apply`). Sealed, not in clear: a lab of an older
#: hooklab stores a relay field it does not know as sent
RELAY_AUTHORIZATION = "X-Hooklab-Relay-Authorization"
_RELAY_NAMES = (RELAY_URL.lower(), RELAY_PROOF.lower(), RELAY_HEADERS.lower(),
                RELAY_HEADERS_PROOF.lower(), RELAY_AUTHORIZATION.lower())
#: what every relay header's name starts with: a request that carries a proof the lab cannot
#: check has them all dropped (they may hold the key), never stored
RELAY_PREFIX = "x-hooklab-relay-"


def relay_proof(nonce: str, url: str, headers: str = "") -> str:
    """The relay's proof for ``url`` (and ``headers``, the value of :data:`RELAY_HEADERS`):
    HMAC-SHA256 of them under the lab's relay nonce (hex)."""
    data = url.encode("utf-8", "surrogatepass")
    if headers:  # (the URL's length first: no URL and header list can pass for another pair)
        data = b"%d\n%s%s" % (len(data), data, headers.encode("utf-8", "surrogatepass"))
        return hmac.new(nonce.encode(), b"relayed-url+headers\n" + data,
                        hashlib.sha256).hexdigest()
    return hmac.new(nonce.encode(), b"relayed-url\n" + data, hashlib.sha256).hexdigest()


def _keystream(nonce: str, iv: bytes, size: int) -> bytes:
    """``size`` bytes of HMAC-SHA256 under ``nonce`` in counter mode from ``iv``."""
    key, out, block = nonce.encode(), bytearray(), 0
    while len(out) < size:
        out += hmac.new(key, b"relayed-authorization-stream\n%s%d" % (iv, block),
                        hashlib.sha256).digest()
        block += 1
    return bytes(out[:size])


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def _seal_proof(nonce: str, url: str, sealed: str) -> str:
    data = url.encode("utf-8", "surrogatepass")
    return hmac.new(nonce.encode(), b"relayed-authorization\n%d\n%s%s" % (
        len(data), data, sealed.encode("ascii")), hashlib.sha256).hexdigest()


def relay_seal(nonce: str, url: str, fields: list[tuple[int, str, str]]) -> str:
    """The value of :data:`RELAY_AUTHORIZATION` for ``fields``: ``(where, name, value)`` of each
    ``Authorization`` field the relay received, ``where`` the number of fields of its
    :data:`RELAY_HEADERS` list that came before it. Encrypted under the lab's nonce (an
    HMAC-SHA256 key stream from a random IV) and proven with ``url`` (HMAC-SHA256: encrypt,
    then MAC); only :func:`relayed_url` with the same nonce and URL reads it.

    >>> url = "https://hub.example.org/user/ada/hooklab/in/K3Y/okta"
    >>> sealed = relay_seal("n0nce", url, [(2, "Authorization", "Basic dXNlcjpwYXNz")])
    >>> "dXNlcjpwYXNz" in sealed, _unseal("n0nce", url, sealed)
    (False, [(2, 'Authorization', 'Basic dXNlcjpwYXNz')])
    >>> _unseal("n0nce", url + "/x", sealed), _unseal("other", url, sealed)
    (None, None)
    """
    plain = json.dumps([[i, k, v] for i, k, v in fields], separators=(",", ":")).encode("ascii")
    iv = secrets.token_bytes(16)
    body = base64.urlsafe_b64encode(iv + _xor(plain, _keystream(nonce, iv, len(plain))))
    sealed = body.decode("ascii").rstrip("=")
    return f"{sealed}.{_seal_proof(nonce, url, sealed)}"


def _unseal(nonce: str, url: str, value: str) -> list[tuple[int, str, str]] | None:
    """The fields :func:`relay_seal` sealed for ``url`` under ``nonce``; ``None`` if ``value``
    is not such a seal (its proof wrong, a field not an ``Authorization`` one, places out
    of order)."""
    sealed, dot, proof = value.rpartition(".")
    if not dot or not sealed.isascii() or not _proves(proof, _seal_proof(nonce, url, sealed)):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        if len(raw) < 16:
            return None
        got = json.loads(_xor(raw[16:], _keystream(nonce, raw[:16], len(raw) - 16)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    out: list[tuple[int, str, str]] = []
    for field in got if isinstance(got, list) else [None]:
        if (not isinstance(field, list) or len(field) != 3 or type(field[0]) is not int
                or not all(isinstance(x, str) for x in field[1:])
                or field[1].lower() != "authorization" or field[0] < (out[-1][0] if out else 0)):
            return None
        out.append((field[0], field[1], field[2]))
    return out


def _proves(given: str, right: str) -> bool:
    return given.isascii() and hmac.compare_digest(given.encode(), right.encode())


def relay_headers(fields: list[tuple[str, str]]) -> str:
    """The value of :data:`RELAY_HEADERS` for ``fields`` (JSON, ASCII only).

    >>> print(relay_headers([("content-type", "a"), ("X-Dup", "1"), ("X-Dup", "é")]))
    [["content-type","a"],["X-Dup","1"],["X-Dup","\\u00e9"]]
    """
    return json.dumps([[k, v] for k, v in fields], separators=(",", ":"))


def _listed(value: str) -> list[tuple[str, str]] | None:
    """The header fields in a :data:`RELAY_HEADERS` value (the relay's own are never among
    them), or ``None`` if it is not a list of name/value pairs."""
    try:
        fields = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(fields, list):
        return None
    out = []
    for field in fields:
        if (not isinstance(field, list) or len(field) != 2 or not all(isinstance(x, str)
                                                                      for x in field)):
            return None
        if field[0] and field[0].lower() not in _RELAY_NAMES:
            out.append((field[0], field[1]))
    return out


class Relayed(NamedTuple):
    """What the Jupyter relay's proof vouches for (:func:`relayed_url`)."""

    #: the header fields the relay received, as it lists them in :data:`RELAY_HEADERS`
    #: (else the request's, without the relay's own: they hold the key, never stored), with
    #: the ``Authorization`` fields it sealed in :data:`RELAY_AUTHORIZATION` where they came
    #: (for the checks on arrival; the secret book stores one only where it is the bin's
    #: credential)
    headers: list[tuple[str, str]]
    #: the public URL the sender called, key and all ("" if it makes no URL)
    url: str = ""
    #: that URL with the key as ``[key]``: what the capture shows
    shown: str = ""
    #: the key (scrubbed from whatever a check writes: a hint quoting the URL)
    key: str = ""


def relayed_url(server: Any, headers: list[tuple[str, str]]) -> Relayed | None:
    """What a request the Jupyter relay passed on says (:class:`Relayed`): the public URL the
    sender called (what URL-signing providers such as Twilio or Square signed), that URL with
    the key as ``[key]``, and the header fields as the relay received them (its HTTP client
    adds ``Content-Type``, ``User-Agent``, ``Connection`` and a length of its own, and sends
    repeats of a name together, so the relay lists what it got in :data:`RELAY_HEADERS`;
    without that list, the request's headers without the relay's). ``None`` unless the
    relay's proof of the URL is right (a sender going straight to the lab cannot make one: the
    nonce never leaves this user's files; the list is taken only with its own proof, of URL
    and list together); with a right proof the relay's headers always go. The
    ``Authorization`` fields the relay sealed (:data:`RELAY_AUTHORIZATION`) join the list
    where the sender put them, when the list, the URL and the seal's proof are right and
    the server's store keeps them only where they are the bin's credential.

    >>> class S: relay_nonce = "n0nce"
    >>> url = "https://hub.example.org/user/ada/hooklab/in/K3Y/sms?x=1"
    >>> hs = [("X-Forwarded-Prefix", "/user/ada/hooklab/in"), (RELAY_URL, url),
    ...       (RELAY_PROOF, relay_proof("n0nce", url))]
    >>> relayed_url(S, hs).shown, relayed_url(S, hs).key, relayed_url(S, hs).headers
    ('https://hub.example.org/user/ada/hooklab/in/[key]/sms?x=1', 'K3Y', [('X-Forwarded-Prefix', '/user/ada/hooklab/in')])
    >>> relayed_url(S, hs[:2] + [(RELAY_PROOF, "0" * 64)]) is None
    True
    """
    got = {k.lower(): v for k, v in headers if k.lower() in _RELAY_NAMES}
    url, proof = got.get(_RELAY_NAMES[0]), got.get(_RELAY_NAMES[1])
    listed, both = got.get(_RELAY_NAMES[2], ""), got.get(_RELAY_NAMES[3], "")
    nonce = str(getattr(server, "relay_nonce", "") or "")
    if not url or not proof or not nonce or not _proves(proof, relay_proof(nonce, url)):
        return None
    fields = _listed(listed) if listed and _proves(both, relay_proof(nonce, url, listed)) else None
    rest = fields if fields is not None else [
        (k, v) for k, v in headers if k.lower() not in _RELAY_NAMES]
    prefix = next((v for k, v in rest if k.lower() == "x-forwarded-prefix"), "")
    try:
        parts = urlsplit(url)
    except ValueError:  # (a Host such as "[x]" through the relay: no URL to speak of)
        return Relayed(rest)
    if not prefix or not parts.path.startswith(prefix + "/"):
        return Relayed(rest)
    key, slash, after = parts.path[len(prefix) + 1 :].partition("/")
    if not key:
        return Relayed(rest)
    sealed = got.get(RELAY_AUTHORIZATION.lower())
    if sealed and fields is not None and _takes_authorization(server):
        rest = _with_authorization(rest, _unseal(nonce, url, sealed))
    shown = parts._replace(path=f"{prefix}/[key]{slash}{after}", query=strip_token(parts.query))
    return Relayed(rest, url, shown.geturl(), key)


def strip_token(query: str) -> str:
    """``query`` without its ``token`` parameters (a Jupyter token's name, however escaped),
    every other byte as sent: what the relay passes on and the lab stores of a public URL's
    query. The URL-signing providers' checks read the query as sent (``Relayed.url``).

    Empty parameters stay as sent (``a=1&&b=2&``: a URL-signing provider signed them, and the
    capture shows the query the sender sent); only ``token`` parameters go, with their ``&``.

    >>> strip_token("a=1&token=abc&%74oken=x&b=%2F"), strip_token("a=1&&b=2&"), strip_token("token=x&")
    ('a=1&b=%2F', 'a=1&&b=2&', '')
    """
    parts = query.split("&")
    kept = [p for p in parts if unquote(p.split("=", 1)[0]) != "token"]
    if len(kept) == len(parts):
        return query
    return "&".join(kept) if any(kept) else ""  # (nothing but token=... and its &s: none)


def _takes_authorization(server: Any) -> bool:
    """Whether what ``server`` stores passes through a secret book that keeps a relayed
    ``Authorization`` only where it is the bin's credential (else it would be stored as sent)."""
    book = getattr(getattr(server, "store", None), "secrets", None)
    return bool(getattr(book, "TAKES_RELAYED_AUTHORIZATION", False))


def _with_authorization(fields: list[tuple[str, str]],
                        sealed: list[tuple[int, str, str]] | None) -> list[tuple[str, str]]:
    """``fields`` with the relayed ``Authorization`` fields back where the sender put them
    (``fields`` unchanged if the seal says nothing this list can hold)."""
    if not sealed or sealed[-1][0] > len(fields):
        return fields
    out = list(fields)
    for n, (where, name, value) in enumerate(sealed):
        out.insert(where + n, (name, value))
    return out


def parse_host(value: str) -> tuple[str, int | None]:
    """``(name, port)`` of a ``Host`` value; the name lower case, IPv6 as ``[compressed]``.

    Raises ``ValueError`` for anything that is not ``host[:port]`` (userinfo, paths, spaces,
    an empty value, an unbracketed or zoned IPv6 address, a port over 65535).

    >>> parse_host("LocalHost:8765"), parse_host("[0:0::1]")
    (('localhost', 8765), ('[::1]', None))
    """
    if not value or not value.isascii():
        raise ValueError("empty or non-ASCII Host")
    if value.startswith("["):
        end = value.find("]")
        inner, rest = value[1:end], value[end + 1 :]
        if end < 0 or not _IPV6.fullmatch(inner):
            raise ValueError(f"malformed IPv6 Host {value!r}")
        name = f"[{ipaddress.IPv6Address(inner).compressed}]"  # ValueError if not an address
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
        if not _NAME.fullmatch(name):
            raise ValueError(f"malformed Host {value!r}")
        name = name.lower()
    if not rest:
        return name, None
    if rest[0] != ":" or not _PORT.fullmatch(rest[1:]) or int(rest[1:]) > 65535:
        raise ValueError(f"malformed port in Host {value!r}")
    return name, int(rest[1:])


def _bound_name(server: Any) -> str | None:
    host = str(getattr(server, "host", "") or "").strip().strip("[]")
    if not host:
        return None
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    return f"[{addr.compressed}]" if addr.version == 6 else str(addr)


def _allowed_names(server: Any) -> set[str]:
    out = set()
    for entry in getattr(server, "allowed_hosts", ()) or ():
        entry = str(entry).strip()
        if entry == "*":
            out.add("*")
            continue
        try:
            out.add(parse_host(entry)[0])
        except ValueError:
            continue  # a malformed entry allows nothing
    return out


def is_local(server: Any, name: str) -> bool:
    """Whether a parsed Host name (see :func:`parse_host`) may read this server's captures."""
    if name.startswith("["):
        if ipaddress.IPv6Address(name[1:-1]) == _LOOPBACK6:
            return True
    elif _IPV4.fullmatch(name):
        if name.startswith("127."):
            return True
    elif name == "localhost" or (name.endswith(".localhost") and all(name.split("."))):
        return True
    if name == _bound_name(server):
        return True
    allowed = _allowed_names(server)
    return "*" in allowed or name in allowed


def host_allowed(server: Any, host_header: str | None) -> bool:
    """True if a request with this one ``Host`` value may read captures (module docstring)."""
    try:
        name, _ = parse_host(host_header or "")
    except ValueError:
        return False
    return is_local(server, name)


def origin_allowed(server: Any, origin: str, host_header: str | None) -> bool:
    """A browser ``Origin`` may open the stream if it is the page's own, local, origin (or is
    listed exactly in ``server.stream_origins``; ``"*"`` there allows any)."""
    allowed = getattr(server, "stream_origins", ()) or ()
    if origin in allowed or "*" in allowed:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
        return False
    if "@" in parts.netloc or not host_header:
        return False
    return parts.netloc.lower() == host_header.lower() and host_allowed(server, parts.netloc)


def refuse_host(handler: web.RequestHandler, server: Any) -> None:
    """Raise 400 unless the request has exactly one well-formed ``Host``; 403 unless it is local."""
    values = handler.request.headers.get_list("Host")
    if len(values) != 1:
        raise web.HTTPError(400, reason="exactly one Host header is required")
    try:
        name, _ = parse_host(values[0])
    except ValueError:
        raise web.HTTPError(400, reason="malformed Host header") from None
    if not is_local(server, name):
        raise web.HTTPError(
            403,
            reason="Host not allowed (DNS-rebinding protection); add it with "
            "%config HookLab.allowed_hosts = ['name']",
        )


def token_ok(server: Any, request: Any) -> bool:
    """Whether ``request`` carries the server's read token, and nothing else claiming to be it.

    Looked at: each ``?token=`` value and each ``Authorization: token <value>`` header (scheme
    case-insensitive). At least one must be present and every one must match, in constant time.
    """
    expected = str(getattr(server, "api_token", "") or "").encode("ascii")
    if not expected:
        return False
    presented: list[bytes] = list(request.query_arguments.get("token", []))
    for value in request.headers.get_list("Authorization"):
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "token":
            presented.append(credential.encode("latin-1"))
    return bool(presented) and all(hmac.compare_digest(p, expected) for p in presented)


def refuse_reader(handler: web.RequestHandler, server: Any) -> None:
    """The whole read guard: :func:`refuse_host`, then 401 without the read token."""
    refuse_host(handler, server)
    if not token_ok(server, handler.request):
        raise web.HTTPError(
            401,
            reason="read token required: use lab.page_url or lab.stream_url(), or send "
            "the header 'Authorization: token ' + lab.api_token",
        )
