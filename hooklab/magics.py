"""``%hooklab`` line magic and the extension's load/unload.

>>> %load_ext hooklab           # doctest: +SKIP
>>> %hooklab                    # status line          # doctest: +SKIP
>>> %hooklab df --bin github    # DataFrame            # doctest: +SKIP
>>> %hooklab --help             # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .core import default_lab, set_default
from .outbound import send

__all__ = ["HookLabMagics", "load", "unload"]

_HELP = """\
%hooklab [command] [options]

commands:
  status                      show the URL, database and capture count (default)
  start [--port N] [--host H] [--db PATH]   start (or restart) the default lab
  stop                        stop receiving (captures stay queryable; public URLs pause)
  live [filters]              show the live view widget
  df [--flatten] [filters]    captures as a pandas DataFrame
  clear                       delete all captures from the database
  send BIN_OR_URL --provider P --event E [--secret S] [--data JSON]
                              send a realistic sample webhook
  respond BIN_OR_PATH --status 503 503 200 [--body B] [--header K:V] [--delay S] [--method M]
                              answer requests to a bin/path this way
  export PATH [--format har|jsonl|csv]   write all captures to a file

filters: --bin B --method M --provider P --event-type E --path P --since ID
config:  %config HookLab.port = 9000   (also host, db, max_body, durability, allowed_hosts,
         retention_count, retention_age)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(f"%hooklab: {message}\n\n{_HELP}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise ValueError(message or _HELP)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bin")
    p.add_argument("--method")
    p.add_argument("--provider")
    p.add_argument("--event-type", dest="event_type")
    p.add_argument("--path")
    p.add_argument("--since", type=int)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%hooklab", add_help=False)
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("status", add_help=False)
    s = sub.add_parser("start", add_help=False)
    s.add_argument("--port", type=int)
    s.add_argument("--host")
    s.add_argument("--db")
    sub.add_parser("stop", add_help=False)
    sub.add_parser("clear", add_help=False)
    _filters(sub.add_parser("live", add_help=False))
    d = sub.add_parser("df", add_help=False)
    d.add_argument("--flatten", action="store_true")
    _filters(d)
    se = sub.add_parser("send", add_help=False)
    se.add_argument("target")
    se.add_argument("--provider")
    se.add_argument("--event")
    se.add_argument("--secret")
    se.add_argument("--data")
    r = sub.add_parser("respond", add_help=False)
    r.add_argument("target")
    r.add_argument("--status", type=int, nargs="+", default=[200])
    r.add_argument("--body", default="")
    r.add_argument("--header", action="append", default=[])
    r.add_argument("--delay", type=float, default=0.0)
    r.add_argument("--method")
    e = sub.add_parser("export", add_help=False)
    e.add_argument("path")
    e.add_argument("--format", choices=("har", "jsonl", "csv"))
    return p


@magics_class
class HookLabMagics(Magics):
    """The ``%hooklab`` magic; see ``%hooklab --help``."""

    @line_magic
    def hooklab(self, line: str = "") -> Any:
        argv = shlex.split(line)
        if any(a in ("-h", "--help", "help") for a in argv[:1]) or argv[-1:] in (["-h"], ["--help"]):
            print(_HELP)
            return None
        try:
            args = _parser().parse_args(argv or ["status"])
        except ValueError as exc:
            print(str(exc))
            return None
        cmd = args.cmd or "status"
        lab = default_lab()
        if cmd == "start":
            cur = lab or _configured(self.shell)
            if lab is not None and lab.is_running:
                lab.stop()
            new = _configured(self.shell) if cur is None else cur
            for k in ("port", "host", "db"):
                if getattr(args, k) is not None:
                    setattr(new, k, getattr(args, k))
            set_default(new)
            new.start()
            print(new.status_line())
            return None
        if lab is None:
            print("hooklab: no lab is running; use %hooklab start")
            return None
        filters = {
            k: getattr(args, k)
            for k in ("bin", "method", "provider", "event_type", "path", "since")
            if getattr(args, k, None) is not None
        }
        if cmd == "status":
            print(lab.status_line())
        elif cmd == "stop":
            lab.stop_serving()
            print(lab.status_line())
        elif cmd == "clear":
            print(f"hooklab: deleted {lab.clear()} captures")
        elif cmd == "live":
            return lab.live(**filters)
        elif cmd == "df":
            return lab.dataframe(flatten=args.flatten, **filters)
        elif cmd == "send":
            import json

            target = args.target if "://" in args.target else lab.url_for(args.target)
            payload = json.loads(args.data) if args.data else None
            resp = send(
                target, provider=args.provider, event=args.event, secret=args.secret, payload=payload
            )
            print(f"sent {args.provider or ''} {args.event or ''} to {target}: {resp.status}".replace("  ", " "))
        elif cmd == "respond":
            headers = []
            for h in args.header:
                k, _, v = h.partition(":")
                headers.append((k.strip(), v.strip()))
            status = args.status[0] if len(args.status) == 1 else args.status
            lab.respond(args.target, status, args.body, headers, args.delay, method=args.method)
            print(f"hooklab: {args.target} answers {' then '.join(map(str, args.status))}")
        elif cmd == "export":
            from .export import export

            n = export(lab.store, args.path, fmt=args.format)
            print(f"hooklab: wrote {n} captures to {args.path}")
        return None


def _configured(shell: Any) -> Any:
    from .core import HookLab

    lab = HookLab(parent=shell, config=shell.config)
    if lab not in shell.configurables:
        shell.configurables.append(lab)
    return lab


def load(shell: Any) -> None:

    shell.register_magics(HookLabMagics)
    lab = default_lab()
    if lab is None or not lab.is_running:
        lab = _configured(shell)
        set_default(lab)
        lab.start()
    print(lab.status_line())


def unload(shell: Any) -> None:

    lab = default_lab()
    if lab is not None:
        lab.stop()
        if lab in shell.configurables:
            shell.configurables.remove(lab)
    set_default(None)
