"""``%hooklab`` line magic and the extension's load/unload.

In a notebook (IPython syntax, so these lines are not run as doctests; tests/test_kernel.py
runs them in a real kernel):

>>> %load_ext hooklab           # doctest: +SKIP
>>> %hooklab                    # status line          # doctest: +SKIP
>>> %hooklab df --bin github    # DataFrame            # doctest: +SKIP
>>> %hooklab schema --event-type invoice.paid          # doctest: +SKIP
>>> %hooklab diff 41 42 --headers                       # doctest: +SKIP
>>> %%hooklab sql                                       # doctest: +SKIP
... SELECT event_type, count(*) FROM captures GROUP BY 1
>>> %hooklab --help             # doctest: +SKIP

``%hooklab --help`` prints :func:`help_text`, generated from the parser:

>>> help_text().splitlines()[0]
'usage: %hooklab command ...'
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .capture import n_captures
from .core import default_lab, set_default
from .filters import add_options, from_options
from .outbound import send

__all__ = ["HookLabMagics", "help_text", "load", "unload"]

_CONFIG_NOTE = """\
filters (live, df, schema, export): --bin B --method M --provider P --event-type E --path P --kind K
         (each again for any of several) --verified true|false
         --since ID_OR_ISO_TIME --until ID_OR_ISO_TIME --search TEXT   (see hooklab.filters)
config:  %config HookLab.port = 9000   (every HookLab trait: %config HookLab)
reading: the /_hooklab/ API, page and stream need the lab's read token: lab.page_url and
         lab.stream_url() carry it (lab.api_token holds it; keep it out of saved outputs)
"""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose mistakes are IPython ``UsageError``s (so "Run All" stops)."""

    #: ``%hooklab``'s commands and their parsers, in order (set on the top parser)
    commands: dict[str, argparse.ArgumentParser] = {}  # noqa: RUF012 - replaced, never changed

    def error(self, message: str) -> None:  # type: ignore[override]
        from .credentials import shown_option_error  # (a secret given as a value: its length)

        message = shown_option_error(message)
        raise UsageError(f"{self.prog}: {message}\n\n{self.format_usage()}"
                         "see %hooklab --help")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or self.format_usage())


def _parser() -> _Parser:
    p = _Parser(prog="%hooklab", add_help=False, epilog=_CONFIG_NOTE,
                formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Capture, inspect, answer and send webhooks from the notebook.")
    sub = p.add_subparsers(dest="cmd", metavar="command", parser_class=_Parser)
    p.commands = sub.choices  # (name -> parser, in order: for help and usage errors)
    sub.add_parser("status", add_help=False, help="show the URL, database, capture count and stream page (default)")
    s = sub.add_parser("start", add_help=False, help="start (or restart) the default lab")
    s.add_argument("--port", type=int, help="listen on this port (0: any free one)")
    s.add_argument("--host", help="listen on this address (default 127.0.0.1)")
    s.add_argument("--db", help="capture into this SQLite file (or :memory:)")
    sub.add_parser("stop", add_help=False,
                   help="stop receiving (captures stay queryable; public URLs pause)")
    sub.add_parser("clear", add_help=False, help="delete all captures from the database")
    add_options(sub.add_parser("live", add_help=False, help="show the live view widget"))
    d = sub.add_parser("df", add_help=False, help="captures as a pandas DataFrame")
    d.add_argument("--flatten", action="store_true", help="payload.* columns")
    add_options(d)
    se = sub.add_parser("send", add_help=False, help="send a realistic sample webhook to a bin or URL")
    se.add_argument("target", metavar="BIN_OR_URL",
                    help="a bin of this lab (github; github/push: bin github, path push), a URL "
                    "(http://127.0.0.1:5000/hook) or host:port[/path] (localhost:3000/hook)")
    se.add_argument("--provider", help="github, stripe, shopify, slack, standardwebhooks, ...")
    se.add_argument("--event", help="event type, e.g. push or payment_intent.succeeded")
    se.add_argument("--secret", help="sign with this secret (needs --provider)")
    data = se.add_mutually_exclusive_group()
    data.add_argument("--data", metavar="JSON",
                      help="a JSON object merged into the sample payload (deep merge); "
                           "without --provider, the body, sent as written")
    data.add_argument("--data-var", metavar="NAME",
                      help="as --data, the JSON held in the notebook's variable NAME (a str, "
                           "sent as it is without --provider, or a dict)")
    r = sub.add_parser("respond", add_help=False,
                       help="answer requests to a bin/path this way (--status 503 503 200: in turn)")
    r.add_argument("target", metavar="BIN_OR_PATH")
    r.add_argument("--status", type=int, nargs="+", default=[200])
    r.add_argument("--body", default="")
    r.add_argument("--header", action="append", default=[], metavar="K:V")
    r.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    r.add_argument("--method")
    sc = sub.add_parser("schema", add_help=False,
                        help="which fields the captures carry, per provider and event type")
    add_options(sc)
    sc.add_argument("--reveal", action="store_true", help="show credentials' examples")
    di = sub.add_parser("diff", add_help=False, help="how capture B differs from capture A")
    di.add_argument("a", metavar="A", type=int)
    di.add_argument("b", metavar="B", type=int)
    di.add_argument("--headers", action="store_true", help="compare headers too")
    di.add_argument("--reveal", action="store_true", help="show credentials")
    sq = sub.add_parser("sql", add_help=False,
                        help="read-only SQL over the captures view: %%%%hooklab sql with the "
                             "query in the cell, or %%hooklab sql QUERY")
    sq.add_argument("query", nargs="*", metavar="QUERY")
    sq.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    e = sub.add_parser("export", add_help=False, help="write captures to a file")
    e.add_argument("file", metavar="PATH")
    e.add_argument("--format", choices=("har", "jsonl", "csv", "parquet"),
                   help="default: from the file's extension (parquet: PATH is a folder)")
    add_options(e)
    for action in sub._choices_actions:  # (each command's own --help says what it does)
        p.commands[action.dest].description = (action.help or "").replace("%%", "%")
    return p


def help_text(command: str | None = None) -> str:
    """``%hooklab --help``: generated from the parser, one section per command; with
    ``command``, that command's own usage and options (``%hooklab send --help``), as
    ``hooklab send --help`` prints them.

    >>> help_text("start").splitlines()[2]
    'start (or restart) the default lab'
    """
    p = _parser()
    if command is not None:
        return p.commands[command].format_help()
    parts = [p.format_help()]
    for name, sp in p.commands.items():
        if sp.format_usage() != f"usage: %hooklab {name}\n":  # (a command with options)
            parts.append(sp.format_usage().replace("usage: ", "  "))
        else:
            parts.append(f"  %hooklab {name}\n")
    return "".join(parts)


def _help_asked(argv: list[str]) -> str | None | bool:
    """What ``argv`` asks help for: a command's name (``send --help``, ``help send``),
    ``None`` for all of ``%hooklab`` (``--help``, ``help``, an unknown command's ``--help``),
    or ``False`` when it asks none."""
    commands = _parser().commands
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        return argv[1] if argv[0] == "help" and argv[1:2] and argv[1] in commands else None
    if argv[-1:] in (["-h"], ["--help"]):
        return argv[0] if argv[0] in commands else None
    return False


def _filters_of(args: argparse.Namespace, lab: Any) -> dict[str, Any]:
    try:  # (a provider no capture can have, --provider Stripe: said, as --kind bogus is)
        # (the store looked up only for a provider name to check: %hooklab status or stop
        # of a lab whose store is gone, after lab.stop() of one in memory, still answer)
        return from_options(args, provider_check=lambda name: lab.store.provider_check(name))
    except ValueError as exc:
        raise UsageError(f"%hooklab: {exc}") from None


#: a word IPython would have expanded: ``$name``, or ``{name}`` (``{body!r}``, ``{cfg.url}``,
#: ``{urls[0]:>5}``): the name, and the braces' conversion or format after it
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*)")
_BRACED = re.compile(r"\{\s*([A-Za-z_]\w*)((?:\.\w+|\[[^\]{}]*\])*)\s*(?:![rsa])?(?::[^{}]*)?\}")
#: per command: the Python call its options are keywords of, its positional's name there,
#: and the options whose keyword differs from their name
_API = {
    "send": ("hooklab.send", "url", {"header": "headers"}),
    "respond": ("lab.respond", "bin_or_path", {"header": "headers"}),
    "start": ("hooklab.start", None, {}),
    "export": ("lab.export", "path", {"format": "fmt"}),
    "df": ("lab.dataframe", None, {}), "live": ("lab.live", None, {}),
    "schema": ("lab.schema", None, {}), "diff": ("lab.diff", "a", {}),
}


#: options whose value is text searched for or answered, never sent on or signed: a
#: ``$price`` or ``{ok}`` there is taken as typed (IPython turns ``{{ok}}`` into ``{ok}``)
_LITERAL_OPTIONS = frozenset({"--search", "--body"})


def _unexpanded(argv: list[str], names: Any) -> str | None:
    """Why ``argv`` cannot be run as it is, or ``None``: a word (or an ``--option=`` value)
    that is ``$name`` or ``{name}`` reached hooklab as typed, so IPython did not expand it
    (the whole line stays as typed when a name in it is unknown or braces in it are no
    Python). Sent, a bin, URL or secret would be that text. The words say how to pass the
    value instead: ``--data-var NAME`` for JSON, else the Python call with its keyword.

    >>> _unexpanded(["send", "v", "--secret={sec}"], {})
    '%hooklab: {sec} was not expanded: the notebook has no variable sec (IPython leaves the whole line as typed then); define it, or use the Python API (hooklab.send(url, ..., secret=sec))'
    >>> _unexpanded(["send", "v", "--data", '{"a": 1}'], {}) is None   # JSON, no name
    True
    """
    cmd = argv[0] if argv else ""
    for i, word in enumerate(argv[1:], 1):
        option, eq, value = word.partition("=") if word.startswith("--") else ("", "", word)
        if not eq:
            option, value = (argv[i - 1] if argv[i - 1].startswith("--") else ""), word
        if option in _LITERAL_OPTIONS:  # (text of the user's own: '$price', '{ok}')
            continue
        m = _DOLLAR.fullmatch(value) or _BRACED.fullmatch(value)
        if m is None:
            continue
        name, expression = m.group(1), m.group(1) + (m.group(2) if m.re is _BRACED else "")
        if option in ("--data", "--data-var") and cmd == "send":
            how = f"--data-var {name} (the JSON held in the variable, sent as it is)"
        else:
            call, positional, renamed = _API.get(cmd, ("hooklab.send", "url", {}))
            key = option.lstrip("-").replace("-", "_")
            how = ("the Python API (" + (f"{call}({expression}, ...)" if not option else
                   f"{call}({positional + ', ' if positional else ''}..., "
                   f"{renamed.get(key, key)}={expression})") + ")")
        if name in names:
            json_too = "" if how.startswith("--") else "pass JSON with --data-var NAME, and "
            return (f"%hooklab: {value} was not expanded: IPython leaves the whole line as "
                    "typed when another part of it cannot be (braces, as in --data '{...}', "
                    f"are read as Python); {json_too}pass this value with {how}")
        return (f"%hooklab: {value} was not expanded: the notebook has no variable {name} "
                f"(IPython leaves the whole line as typed then); define it, or use {how}")
    return None


#: ``host:port`` with an optional path or query and no scheme (``localhost:3000/webhook``,
#: as ``stripe listen --forward-to`` takes it): an HTTP URL, not a bin
#: (a host that is an address, localhost or a dotted name: ``build:42`` stays a bin's name)
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
                        r":[0-9]{1,5}(?:[/?].*)?", re.S | re.I)


def _send_target(lab: Any, target: str) -> str:
    """The URL ``%hooklab send TARGET`` posts to: a URL as given; ``host:port[/path]`` (no
    scheme) as ``http://host:port/path``; else bin and path of this lab, ``github/push``
    being bin ``github``, path ``push`` (``lab.url_for("github", "push")``), as a sender's
    ``POST /github/push`` is captured. ``RuntimeError`` when the lab is not serving."""
    if "://" in target:
        return target
    if _HOST_PORT.fullmatch(target):
        return "http://" + target
    bin, rest = re.match(r"([^/?]*)(.*)", target.lstrip("/"), re.S).groups()  # type: ignore[union-attr]
    return lab.url_for(bin, rest[1:] if rest[:1] == "/" else rest)


def _variable_json(shell: Any, name: str) -> str:
    """``--data-var NAME``: the JSON text held in the notebook's variable ``name`` (a str, as
    ``json.dumps`` made it; bytes as UTF-8; a dict written as JSON), exactly as it is, where
    ``--data {body!r}`` went through ``repr`` and ``shlex`` (backslashes doubled, an
    apostrophe "No closing quotation"). A :class:`UsageError` saying what is missing."""
    import json

    ns = getattr(shell, "user_ns", None) or {}
    if not name.isidentifier():
        raise UsageError(f"%hooklab send: --data-var takes a variable's name (body), not "
                         f"{name[:40]!r}")
    if name not in ns:
        raise UsageError(f"%hooklab send: --data-var {name}: the notebook has no variable {name}")
    value = ns[name]
    if isinstance(value, dict):
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold, NaN
            raise UsageError(f"%hooklab send: --data-var {name}: the dict is no JSON "
                             f"({exc})") from None
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"%hooklab send: --data-var {name}: the bytes are no UTF-8 text "
                             "(JSON is)") from None
    if not isinstance(value, str):
        raise UsageError(f"%hooklab send: --data-var {name} holds a {type(value).__name__}; "
                         "it takes JSON text (a str, as json.dumps makes it) or a dict")
    return value


def _characters(n: int) -> str:
    return f"{n} character" if n == 1 else f"{n} characters"


def _unsendable(target: str) -> str:
    """What ``%hooklab send`` says of a URL holding a space or a control character
    (:func:`hooklab.outbound.sender.unsendable`): the URL without its credentials, escaped,
    and the character with its place in the URL as written."""
    from .capture import printable
    from .credentials import shown_url
    from .outbound.sender import unsendable

    bad = unsendable(target)
    if bad is None:  # (http.client refused what hooklab took: said without a place)
        return (f"%hooklab send: {printable(shown_url(target, 200, quote=False), 200)}: "
                "the URL holds a "
                "character no URL can (a space, a control character): percent-encode it "
                "(a space is %20)")
    url = printable(shown_url(target, 200, quote=False, shown=bad.shown), 200)
    where = f"the URL holds {bad.what} at character {bad.at + 1}{', ' + bad.note if bad.note else ''}"
    if bad.around:  # (to remove: percent-encoded, it would name another URL)
        return f"%hooklab send: {url}: {where}: {bad.slip}"
    return (f"%hooklab send: {url}: {where}, which no URL can hold as it "
            f"is ({bad.encoded} encoded): percent-encode it (a space is %20)")


@magics_class
class HookLabMagics(Magics):
    """The ``%hooklab`` magic; see ``%hooklab --help``."""

    @line_cell_magic
    def hooklab(self, line: str = "", cell: str | None = None) -> Any:
        if cell is not None or line.split(None, 1)[:1] == ["sql"]:
            return self._sql(line, cell)
        try:
            argv = shlex.split(line)
        except ValueError as exc:  # e.g. an unclosed quote
            raise UsageError(f"%hooklab: {exc}") from None
        # ($name or {name} left as typed: IPython leaves a whole line unexpanded when any
        # part fails, the braces of --data '{"a": 1}' or an unknown name: "%hooklab send $hook
        # --data '{...}'" sent to a bin named "$hook", --secret=$sec signed with "$sec")
        refusal = _unexpanded(argv, getattr(self.shell, "user_ns", None) or {})
        if refusal is not None:
            raise UsageError(refusal)
        asked = _help_asked(argv)
        if asked is not False:
            print(help_text(asked))
            return None
        parser = _parser()
        args, extra = parser.parse_known_args(argv or ["status"])
        if extra:  # (said with the usage of the command typed, not the top level's)
            from .credentials import shown_words
            parser.commands.get(args.cmd, parser).error(
                f"unrecognized arguments: {shown_words(extra)}")
        cmd = args.cmd or "status"
        lab = default_lab()
        if cmd == "start":
            return _start(self, lab, args)
        if lab is None:
            raise UsageError("hooklab: no lab is running; use %hooklab start")
        filters = _filters_of(args, lab)
        if cmd == "status":
            print(lab.status_line())
            if lab.is_running:  # the token stays out of the output: saved notebooks keep outputs
                print(f"stream page: {lab.url}/_hooklab/ (open lab.page_url: it carries the "
                      "read token, lab.api_token)")
        elif cmd == "stop":
            lab.stop_serving()
            print(lab.status_line())
        elif cmd == "clear":
            print(f"hooklab: deleted {n_captures(lab.clear())}")
        elif cmd == "live":
            return lab.live(**filters)
        elif cmd == "df":
            return lab.dataframe(flatten=args.flatten, **filters)
        elif cmd == "schema":
            return lab.schema(reveal=args.reveal, **filters)
        elif cmd == "diff":
            try:
                return lab.diff(args.a, args.b, headers=args.headers, reveal=args.reveal)
            except KeyError as exc:
                raise UsageError(f"%hooklab diff: {exc.args[0]}") from None
        elif cmd == "send":
            import http.client

            from .capture import forward_error
            from .credentials import scrubbed_text, scrubbed_url, shown_url
            from .outbound.sender import data_arg, unread_answer, unsendable

            try:
                target = _send_target(lab, args.target)
            except RuntimeError as exc:  # not serving
                raise UsageError(f"%hooklab send: {exc} (use %hooklab start)") from None
            except ValueError as exc:  # a dot segment: clients would send it elsewhere
                raise UsageError(f"%hooklab send: {exc}") from None
            text = ((args.data or None) if args.data_var is None
                    else _variable_json(self.shell, args.data_var))
            headers, payload = None, None
            try:  # (a JSON object: NaN, Infinity and numbers past a float refused, as
                # hooklab send --data refuses them; --data-var alone sends 1e999 as written)
                if text is not None and not args.provider:  # (sent as written: exact bytes;
                    payload = data_arg(text, merged=False)  # said as such, no sample)
                    headers = [("Content-Type", "application/json")]
                if text is not None and (args.provider or args.data_var is None):
                    merged = data_arg(text, merged=True)
                    payload = merged if args.provider else payload
            except ValueError as exc:  # (the magic's words for text that is no JSON, as
                said, cli = str(exc), "--data is not valid JSON: "  # before: ours are the CLI's)
                if said.startswith(cli):
                    said = f"--data is not JSON ({said[len(cli):]})"
                if args.data_var is not None:  # (every mention: "without --provider,
                    # --data is sent as written" too)
                    said = said.replace("--data", f"--data-var {args.data_var}")
                raise UsageError(f"%hooklab send: {said}") from None
            for flag in ("event", "secret"):  # (the library's words name its keywords)
                if getattr(args, flag) is not None and not args.provider:
                    raise UsageError(f"%hooklab send: --{flag} needs --provider (e.g. "
                                     "--provider github --event push)")
            if unsendable(target):  # (send's own words start with "URL '...")
                raise UsageError(_unsendable(target))
            try:
                resp = send(target, provider=args.provider, event=args.event, secret=args.secret,
                            payload=payload, headers=headers)
            except (ValueError, LookupError) as exc:  # an unknown provider or event
                said = str(exc.args[0] if exc.args else exc)
                raise UsageError(f"%hooklab send: {scrubbed_text(said, target)}") from None
            except http.client.InvalidURL:  # (a traceback said it; its words quote the
                # URL with what scrubbed_url takes out)
                raise UsageError(_unsendable(target)) from None
            except (http.client.HTTPException, OSError) as exc:
                failed = isinstance(exc, OSError)
                why = str(exc.strerror or exc) if failed else f"{type(exc).__name__}: {exc}"
                said = unread_answer(exc, shown_url(target, quote=False),
                                     forward_error(scrubbed_text(why, target)))
                if said is None:  # (nothing listening there, a name that does not resolve;
                    said = (f"{shown_url(target, quote=False)}: " + (  # an answer that is
                        str(exc.strerror or exc) if failed  # no HTTP)
                        else f"{type(exc).__name__} (the answer was no HTTP)"))
                # (else the target had it and answered its status line, then a reset, a
                # stall or a cut body: sending again would deliver it twice)
                raise UsageError(f"%hooklab send: {said}") from None
            # (the target without its credentials, as lab.forwards() records one: the line
            # stays in the saved notebook, and the URL often comes from os.environ)
            what = " ".join(filter(None, ("sent", args.provider, args.event, "to",
                                          scrubbed_url(target))))
            print(f"{what}: {resp.status}")
        elif cmd == "respond":
            from .outbound import check_header

            headers = []
            for h in args.header:  # (never quoted: a header mistyped is often a credential,
                k, colon, v = h.partition(":")  # and a saved notebook keeps the error)
                if not colon:
                    raise UsageError(f"%hooklab respond: --header takes Name:value, got "
                                     f"{_characters(len(h))} with no ':' (not shown: they may "
                                     "hold a credential)")
                if not k.strip():
                    raise UsageError(f"%hooklab respond: --header takes Name:value, got no name "
                                     f"before the ':' ({_characters(len(v.strip()))} after it, "
                                     "not shown)")
                try:  # (the value is never quoted: lab.respond's own words quote it)
                    headers.append(check_header(k.strip(), v.strip()))
                except ValueError as exc:
                    raise UsageError(f"%hooklab respond: --header: {exc}") from None
            status = args.status[0] if len(args.status) == 1 else args.status
            try:
                lab.respond(args.target, status, args.body, headers, args.delay, method=args.method)
            except (ValueError, TypeError) as exc:  # e.g. a status outside 200..599
                raise UsageError(f"%hooklab respond: {exc}") from None
            to = f" to {args.method.upper()} requests" if args.method else ""
            print(f"hooklab: {args.target} answers {' then '.join(map(str, args.status))}{to}")
        elif cmd == "export":
            from .export import export

            try:
                n = export(lab.store, args.file, fmt=args.format, **filters)
            except ValueError as exc:
                raise UsageError(f"%hooklab export: {str(exc).replace('pass fmt=', 'pass --format')}") from None
            except OSError as exc:  # e.g. a folder that does not exist
                raise UsageError(f"%hooklab export: {exc.strerror or exc}: {args.file!r}") from None
            print(f"hooklab: wrote {n_captures(n)} to {args.file}")
        return None


    def _sql(self, line: str, cell: str | None) -> Any:
        """``%%hooklab sql [--timeout S]`` with the query in the cell, or ``%hooklab sql QUERY``."""
        from .explore import ReadOnlyError

        words = line.split(None, 1)
        if words[:1] != ["sql"]:
            raise UsageError("%%hooklab cell magic: only %%hooklab sql is a cell magic")
        rest = words[1].strip() if len(words) > 1 else ""
        if rest in ("-h", "--help"):  # (its own usage, as %hooklab send --help says send's)
            print(help_text("sql"))
            return None
        timeout: float | None = 30.0
        m = re.match(r"--timeout(?:\s+|=)(\S+)\s*", rest)
        if m:
            from .explore.sql import check_timeout

            try:  # (nan ran with no limit, -1 "stopped after -1 s": refused before it runs)
                timeout = check_timeout(float(m.group(1)))
            except ValueError:
                raise UsageError(f"%hooklab sql: --timeout takes seconds above 0, not "
                                 f"{m.group(1)!r}") from None
            rest = rest[m.end():]
        if cell is not None and rest:
            raise UsageError("%%hooklab sql takes only --timeout SECONDS; the query goes in the cell")
        query = cell if cell is not None else rest
        if not query.strip():
            raise UsageError("%hooklab sql: no query (e.g. %hooklab sql SELECT count(*) FROM captures)")
        lab = default_lab()
        if lab is None:
            raise UsageError("hooklab: no lab is running; use %hooklab start")
        import sqlite3

        try:
            return lab.sql(query, timeout=timeout)
        except ReadOnlyError as exc:
            raise UsageError(str(exc)) from None
        except TimeoutError:  # (an 8-frame traceback said it; every other refusal is one line)
            limit = f"{timeout:g} s" + ("" if m else ", the default")
            raise UsageError(f"%hooklab sql: the query ran longer than its time limit ({limit}) "
                             f"and was stopped; give it longer with %%hooklab sql --timeout "
                             f"{max(60, 10 * (timeout or 0)):g}") from None
        except sqlite3.Error as exc:  # e.g. no such column: SQLite's own words, in one line
            if "number of bindings" in str(exc):  # (a ? or :name: the magic binds none)
                raise UsageError("%hooklab sql: the query has a parameter (? or :name), and "
                                 "%hooklab sql takes none: write the value in the query, or "
                                 "use lab.sql(query, params)") from None
            raise UsageError(f"%hooklab sql: {exc}") from None


def _start(magics: Any, lab: Any, args: Any) -> None:
    """``%hooklab start``: (re)start the default lab with what was given (on the port it
    listens on when neither ``--port`` nor ``--host`` is given); a setting that
    cannot be (a port over 65535, an address that cannot be bound, a ``--db`` that cannot
    be opened) leaves the lab as it was, serving again if it was, with its captures (those
    of a ``:memory:`` lab too), forwards and live views, and says why in one line.

    The move is ``HookLab._apply``'s, as ``lab.db = ...`` (``%config HookLab.db``) makes it:
    a new ``--db`` is opened beside the old store, closed once the lab serves from the new
    one. What was given is kept in the shell's configuration, as ``%config HookLab.port``
    keeps it: ``%reload_ext hooklab`` starts the lab with it again."""
    from .core import SettingsRefused

    new = lab or _configured(magics.shell, "%hooklab start")
    given = {k: getattr(args, k) for k in ("port", "host", "db") if getattr(args, k) is not None}
    set_default(new)  # (a later plain %hooklab start finds it, even if this one is refused)
    try:
        new._apply(given, start=True)
    except SettingsRefused as refused:
        raise UsageError(f"%hooklab start: {refused}") from None
    for name, value in given.items():  # (kept as %config keeps them: a %reload_ext hooklab
        magics.shell.config.HookLab[name] = value  # went back to the port and db of before)
    print(new.status_line())


def _configured(shell: Any, command: str = "%load_ext hooklab") -> Any:
    """A lab of the shell's configuration; a ``%config`` value the lab refuses (IPython keeps
    it unchecked while no lab exists) is a :class:`UsageError` of ``command`` naming it."""
    from traitlets import TraitError

    from .core import HookLab

    try:
        lab = HookLab(parent=shell, config=shell.config)
    except TraitError as exc:  # (a bare traceback of traitlets said it)
        raise UsageError(
            f"{command}: the configuration is refused: {exc}\nNo lab is running; set that"
            " value again (%config HookLab.<name> = ..., %config HookLab lists them), then"
            f" {command} again") from None
    if lab not in shell.configurables:
        shell.configurables.append(lab)
    return lab


def load(shell: Any) -> None:

    shell.register_magics(HookLabMagics)
    lab = default_lab()
    if lab is None or not lab.is_running:
        from .server.lifecycle import ServerError
        from .store import StoreError

        lab = _configured(shell)
        set_default(lab)
        try:
            lab.start()
        except (ServerError, StoreError, OSError, ValueError) as exc:
            # (the broken lab stayed the default: every later %hooklab, and hooklab.lab()
            # shown, raised the same StoreError as a traceback)
            set_default(None)
            if lab in shell.configurables:
                shell.configurables.remove(lab)
            with contextlib.suppress(Exception):
                lab.stop()
            if isinstance(exc, StoreError):
                how = ("capture into another database: %hooklab start --db other.sqlite3 (or "
                       "%config HookLab.db = 'other.sqlite3', then %load_ext hooklab again)")
            else:
                how = ("start it with other settings: %hooklab start --port N --host H (or "
                       "%config HookLab.port = N, then %load_ext hooklab again)")
            raise UsageError(f"%load_ext hooklab: the lab did not start: {exc}\n"
                             f"No lab is running; {how}") from None
    print(lab.status_line())


def unload(shell: Any) -> None:

    lab = default_lab()
    if lab is not None:
        lab.stop()
        lab._unloaded = True  # (a handle kept in the notebook says so: HookLab._not_replaced)
        if lab in shell.configurables:
            shell.configurables.remove(lab)
    set_default(None)
