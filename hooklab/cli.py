"""``hooklab`` command line: serve, send, replay, export.

    $ hooklab serve --port 8765 --db .hooklab/captures.sqlite3
    $ hooklab send http://127.0.0.1:8765/github --provider github --event push --secret-file gh.key
    $ hooklab replay --db .hooklab/captures.sqlite3 --id 3 --to http://127.0.0.1:5000/webhook
    $ hooklab export --db .hooklab/captures.sqlite3 --format har > captures.har
    $ hooklab --version          # prints "hooklab <version>"
"""

from __future__ import annotations

# (first, before the other imports: the ``hooklab`` command's stop signals are held since
# hooklab's first line, hooklab._program, until main() acts on them, where they interrupted
# whatever import they landed in with a traceback)
import signal
import sys

from ._program import EARLY, IGNORED_AT_START, PROGRAM, STOP_SIGNALS, hold, is_program

_IGNORED_AT_START = IGNORED_AT_START
_STOP_SIGNALS = STOP_SIGNALS
#: this process is the ``hooklab`` command (see :func:`hooklab._program.is_program`);
#: ``python -m hooklab.cli`` is told here, as ``__main__``, and holds its signals from here
_PROGRAM = PROGRAM or (is_program(__name__ == "__main__") and hold())
#: the first stop signal that came before main() could act on it (Python was still loading
#: the command: a traceback from the middle of an import, or, for SIGTERM, no word at all)
_EARLY = EARLY

if _PROGRAM:  # the C extensions the commands load later, loaded while a stop signal is only
    # noted (~8 ms): a SIGTERM raised as _ssl initialised (serve importing asyncio) came out
    # as its own "TypeError: expected a message argument", a traceback and exit 1
    import importlib

    for _m in ("_ssl", "_sqlite3", "_hashlib", "_socket", "select", "_json", "zlib"):
        try:
            importlib.import_module(_m)
        except ImportError:  # (a Python built without it: the command says so when it needs it)
            pass

import argparse  # noqa: E402
import contextlib  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from typing import Any, NoReturn  # noqa: E402


def _finished() -> None:
    """The command's work is done (or its stop is being said): in the ``hooklab`` program,
    stop signals are ignored from here on, so that what it says and its exit code stay true
    (a Ctrl-C just after "wrote 1 capture" made that export exit 130, "interrupted"). A
    program that called :func:`main` keeps its handlers."""
    if not _PROGRAM:
        return
    for _ in range(3):
        try:  # (one that came just before is raised by signal.signal itself: too late now)
            for n in _STOP_SIGNALS:
                signal.signal(n, signal.SIG_IGN)
            return
        except (KeyboardInterrupt, _Stopped):
            continue


__all__ = ["main"]


_INTEGER = re.compile(r"[ \t]*-?[0-9]+[ \t]*")
#: seconds a target has to answer (``serve --timeout`` for its forwards, ``replay --timeout``)
_DEFAULT_TIMEOUT = 10.0
#: seconds between two of ``serve``'s looks at the store (failures) and the forwards
_LOOK_EVERY = 0.2


def _int_in(low: int, high: int | None) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (None: no upper bound)."""

    def parse(text: str) -> int:
        # (ASCII digits: int() also takes "+3", "1_0" and other scripts' digits, "\u0663")
        if not _INTEGER.fullmatch(text):
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
        value = int(text)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"{value} is out of range ({low} to {high})" if high is not None
                else f"{value} is below {low}")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type for ``--timeout``: seconds, 0.1 to 86400 (``forward_timeout``'s own
    bounds: a day at most).

    >>> _seconds("2.5"), _seconds("30")
    (2.5, 30.0)
    """
    from .outbound.sender import MAX_TIMEOUT, check_timeout

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    try:  # (the bounds a forward's and a replay's timeout have everywhere)
        return check_timeout(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range (0.1 to {MAX_TIMEOUT:g} s)") from None


#: what ``--retention-age`` takes: a number of seconds, or one with a unit (s, m, h, d)
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", re.I | re.ASCII)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: the longest ``--retention-age``: 100 years (a cutoff before year 1 is no date: every
#: retention pass would fail)
_MAX_AGE = 36_500 * 86_400


def _duration(text: str) -> float:
    """An argparse type for ``--retention-age``: seconds (``3600``, ``1.5``) or a number with a
    unit, ``s``, ``m``, ``h`` or ``d`` (``90s``, ``30m``, ``12h``, ``7d``); more than 0 and at
    most 100 years.

    >>> _duration("7d"), _duration("12h"), _duration("30m"), _duration("90"), _duration("1.5s")
    (604800.0, 43200.0, 1800.0, 90.0, 1.5)
    >>> _duration("-1d")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: not an age: '-1d' (seconds, or a number and a unit: 90s, 30m, 12h, 7d)
    """
    m = _DURATION.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (seconds, or a number and a "
                                         "unit: 90s, 30m, 12h, 7d)")
    value = float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
    if not 0 < value <= _MAX_AGE:
        raise argparse.ArgumentTypeError(
            f"{text.strip()} is out of range (more than 0, at most {_MAX_AGE // 86400}d; leave "
            "--retention-age out to keep captures of any age)")
    return value


def _retention_count(text: str) -> int:
    """An argparse type for ``--retention-count``: an integer, 1 or more.

    >>> _retention_count("1000")
    1000
    """
    return _int_in(1, 2**63 - 1)(text)  # (SQLite's integers: past them no count is kept)


def _db_arg(text: str) -> str:
    """An argparse type for ``--db``: an empty value (a quoting slip, an unset variable) is
    refused by name; it read as the current folder ("cannot use '/home/me' as a hooklab
    capture database")."""
    if not text.strip():
        from .core import DEFAULT_DB

        raise argparse.ArgumentTypeError(
            f"the value is empty: give a database file (default {DEFAULT_DB}) or :memory:")
    return text


def _host_arg(text: str) -> str:
    """An argparse type for ``--host``: an IPv6 address may come in brackets, as in a URL
    (``[::1]``: bound as ``::1``); brackets around anything else are refused by name."""
    from .server.lifecycle import bind_address

    try:
        return bind_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Printer:
    """Lines for one stream (stdout or stderr), written by a thread of their own: output
    nobody reads (``hooklab serve | less`` left on its first page, a terminal paused with
    Ctrl-S) never holds the store's thread, which stored nothing more once a pipe was full,
    nor Ctrl-C, nor the other stream's lines. At most ``limit`` lines wait; more are counted
    and said to be left out."""

    def __init__(self, stream: str = "stdout", limit: int = 10_000) -> None:
        from collections import deque

        self.stream, self.limit = stream, limit
        self.broken = False  # the reader went away (``| head``): nothing more is written
        self._lines: deque[str] = deque()
        self._left_out = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"hooklab-{stream}", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        with self._cond:
            if len(self._lines) >= self.limit:
                self._left_out += 1
                return
            self._lines.append(line)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._lines and not self._closed:
                    self._cond.wait()
                if not self._lines:
                    return
                line = self._lines.popleft()
                left_out, self._left_out = self._left_out, 0
            if left_out:
                self._write(f"hooklab: {left_out} line{'s' if left_out != 1 else ''} left out "
                            "(the output was not read)")
            self._write(line)

    def _write(self, line: str) -> None:
        if self.broken:
            return
        out = sys.stdout if self.stream == "stdout" else sys.stderr
        if out is None:  # (closed when the command started, `>&-`: serve said so once)
            return
        try:
            out.write(line + "\n")  # (one write: print's line and its newline are two, and
            out.flush()  # stdout's and stderr's printers sharing a file ran lines together)
        except BrokenPipeError:
            import os

            self.broken = True  # (the rest goes nowhere: no error at exit)
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        except (OSError, ValueError):
            pass

    def close(self, timeout: float = 2.0) -> bool:
        """Write what waits (for up to ``timeout`` s); False if the output still blocks."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()


#: refusal lines ``serve`` prints a second at most (a flood of bad requests is summed up)
REFUSALS_PER_SECOND = 10


class _PerSecond:
    """At most ``limit`` lines a second (a flood is summed up): :meth:`take` for each line,
    :meth:`flush` from serve's loop. Shared by threads (refusals are told on the server's
    loop, forwards and flushes on serve's)."""

    def __init__(self, limit: int = REFUSALS_PER_SECOND) -> None:
        self.limit = limit
        self.second, self.lines, self.skipped = 0, 0, 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """None: this line is one too many this second (counted); else how many were left
        out before it (to be said with it)."""
        import time

        with self._lock:
            now = int(time.monotonic())
            if now != self.second:
                self.second, self.lines = now, 0
            if self.lines >= self.limit:
                self.skipped += 1
                return None
            self.lines += 1
            more, self.skipped = self.skipped, 0
            return more

    def flush(self, now: bool = False) -> int:
        """How many were left out, once a second has passed without a line, or ``now`` (as
        serve stops); then 0 again."""
        import time

        with self._lock:
            if not self.skipped or (not now and int(time.monotonic()) == self.second):
                return 0
            more, self.skipped = self.skipped, 0
            return more


class _RefusalLines:
    """A refusal listener for ``serve``: a line per refused request on stderr (``hooklab:
    refused POST /big from 127.0.0.1: 413 payload too large``; credential query values hidden,
    as the store hides them), at most :data:`REFUSALS_PER_SECOND` a second; those past it are
    counted in the next line, or by :meth:`flush` (serve's loop calls it)."""

    def __init__(self, err: Any, shown: Any) -> None:
        self.err, self.shown = err, shown
        self._limit = _PerSecond()

    def __call__(self, r: dict[str, Any]) -> None:
        from .credentials import shown_url

        more = self._limit.take()
        if more is None:
            return
        target = r["target"] or ""
        try:  # (a query's credentials, as the store hides them; a key under a plain name
            target = shown_url(target, quote=False)  # as the target's length)
        except ValueError:
            target = target.split("?", 1)[0]
        from .capture import target_as_sent  # (its bytes read: /é%FF, not /Ã©ÿ)

        what = (f"{self.shown(r['method'], 40)} {self.shown(target_as_sent(target))}"
                if r["method"] else "a request")
        self.err.put(f"hooklab: refused {what} from {self.shown(r['remote'], 60)}: {r['status']} "
                     f"{self.shown(r['error'], 200)}"
                     + (f" (and {more} more refused before it)" if more else ""))

    def flush(self, now: bool = False) -> None:
        """Say how many were refused past the limit, once a second has passed without a line
        (``now``: at once)."""
        more = self._limit.flush(now)
        if more:
            self.err.put(f"hooklab: {more} more request{'s' if more != 1 else ''} refused")


#: capture ids one ``replay --id A-B`` range may name at most (a slip such as ``1-100000000``
#: is refused, not read into memory)
MAX_ID_RANGE = 10_000


#: the largest capture id (SQLite's 64-bit integers): a larger one is a usage error (it was
#: an OverflowError traceback)
MAX_ID = (1 << 63) - 1

_ONE_ID = re.compile(r"[0-9]+")  # (ASCII digits only: int() takes "+3", "1_0", "\u0663")
_ID_RANGE = re.compile(r"([0-9]+)[ \t]*-[ \t]*([0-9]+)")


def _id_value(digits: str, part: str) -> int:
    """``digits`` (ASCII digits) as a capture id; a usage error past :data:`MAX_ID`."""
    if len(digits.lstrip("0")) > len(str(MAX_ID)) or int(digits) > MAX_ID:
        raise argparse.ArgumentTypeError(
            f"no capture id is that large: {part!r} (ids go up to {MAX_ID})")
    return int(digits)


def _ids_arg(text: str) -> list[int | tuple[int, int]]:
    """An argparse type for ``replay --id``: a capture id (``7``), a range of them (``13-40``,
    both ends included) or several, comma-separated (``3,5,9-12``), in the order given: an id
    as an ``int``, a range as ``(low, high)`` (:func:`_replay_order` makes the ids of them).
    Ids are ASCII digits (``+3``, ``1_0``, other scripts' digits are refused), at most
    :data:`MAX_ID`.

    >>> _ids_arg("3,5,9-12")
    [3, 5, (9, 12)]
    >>> _ids_arg("7")
    [7]
    """
    ids: list[int | tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip(" \t")
        if _ONE_ID.fullmatch(part):
            ids.append(_id_value(part, part))
            continue
        m = _ID_RANGE.fullmatch(part)
        if not m:
            raise argparse.ArgumentTypeError(
                f"not a capture id or a range of them: {part!r} (e.g. 7, 13-40 or 3,5,9-12)")
        low, high = _id_value(m.group(1), part), _id_value(m.group(2), part)
        if low > high:
            raise argparse.ArgumentTypeError(f"the range {part} is backwards (write {high}-{low})")
        if high - low + 1 > MAX_ID_RANGE:
            raise argparse.ArgumentTypeError(
                f"the range {part} names {high - low + 1:,} ids: at most {MAX_ID_RANGE:,} in one "
                "range")
        ids.append((low, high))
    return ids


def _replay_order(given: Iterable[int | tuple[int, int]]) -> list[int]:
    """The ids ``replay`` sends, in order, from what ``--id`` gave (:func:`_ids_arg`): a
    range adds only the ids not named before it (``1-3,2-4`` sends #2 and #3 once); an id
    written on its own is sent each time it is written (``2,2``: twice).

    >>> _replay_order([(1, 3), (2, 4)])
    [1, 2, 3, 4]
    >>> _replay_order([2, (1, 3), 2])
    [2, 1, 3, 2]
    """
    order: list[int] = []
    named: set[int] = set()
    for item in given:
        if isinstance(item, int):
            order.append(item)
            named.add(item)
            continue
        for cid in range(item[0], item[1] + 1):
            if cid not in named:
                named.add(cid)
                order.append(cid)
    return order


def _id_ranges(ids: Iterable[int], longest: int = MAX_ID_RANGE) -> list[tuple[int, int]]:
    """``ids`` as runs of consecutive ids, lowest first, none longer than ``longest`` (what one
    ``replay --id A-B`` takes).

    >>> _id_ranges([5, 1, 2, 3, 9, 10])
    [(1, 3), (5, 5), (9, 10)]
    """
    runs: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if runs and runs[-1][1] == i - 1 and i - runs[-1][0] < longest:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _range_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


#: ranges of capture ids one line of ``serve``'s last words names at most (a backlog of
#: scattered ids is said in several lines, and past :data:`_RANGE_LINES` lines only counted)
_RANGES_PER_LINE = 25
_RANGE_LINES = 8


def _shell_word(text: str) -> str:
    r"""``text`` as one word for bash, on one line: :func:`shlex.quote` unless it holds
    characters a terminal would not show as they are (a newline, a control character, a
    right-to-left override), which bash's ``$'...'`` quoting then writes as escapes (a
    newline in ``shlex.quote``'s quotes split the printed command in two). A byte that is not
    UTF-8 (``os.fsdecode``'s surrogate) is written as the byte it stands for.

    >>> print(_shell_word("-my db.sqlite3"), _shell_word("a\nb'c"), _shell_word("x\u202ey"))
    '-my db.sqlite3' $'a\nb\'c' $'x\xe2\x80\xaey'
    """
    import shlex

    if text.isprintable():
        return shlex.quote(text)
    out = []
    for ch in text:
        n = ord(ch)
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable():
            out.append(ch)
        elif n < 0x80:
            out.append(f"\\x{n:02x}")
        elif 0xDC80 <= n <= 0xDCFF:  # (surrogateescape: the undecodable byte itself)
            out.append(f"\\x{n - 0xDC00:02x}")
        else:  # its UTF-8 bytes: bash reads \u escapes only in a UTF-8 locale (LC_ALL=C left
            # "\u202e" as it is, a path of other characters)
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
    return "$'" + "".join(out) + "'"


def _forward_stop_lines(left: Any, unverified: set[int], resigned: bool, db: str,
                        secret_files: dict[str, str], providers: dict[str, str], *,
                        what: str = "forward", who: str = "serve",
                        timeout: float = _DEFAULT_TIMEOUT) -> list[str]:
    """What ``serve`` says on stopping about the forwards it did not finish (each a line for
    stderr, without ``hooklab: ``): how many, which captures (ranges of ids), and the
    ``hooklab replay`` command that sends those never sent. ``left`` is the stopped lab's
    ``forwards_left``; ``unverified``, captures that did not verify on arrival (with
    ``resigned``, --resign: a forward would not have sent them, nor would a replay).
    ``replay``, stopped, says the same of its captures (``what="capture"``,
    ``who="replay"``; its ``--resign-file`` and ``--provider`` as those of the bin ``""``).
    The command keeps what shapes the sending: ``--timeout`` (``timeout``, serve's for its
    forwards, when not the default), ``--resign-file`` and ``--provider``."""
    from .credentials import shown_url

    def named(ids: list[int]) -> tuple[list[str], int]:
        # the ids as ranges, several lines of them at most; how many ids are left unsaid
        runs = _id_ranges(ids)
        said = runs[: _RANGES_PER_LINE * _RANGE_LINES]
        lines = [", ".join("#" + _range_text(*r) for r in said[at: at + _RANGES_PER_LINE])
                 for at in range(0, len(said), _RANGES_PER_LINE)]
        return lines, sum(h - lo + 1 for lo, h in runs[len(said):])

    def forwards(n: int) -> str:
        return f"{n} {what}{'s' if n != 1 else ''}"

    lines: list[str] = []
    unsent: dict[tuple[str, str], list[int]] = {}
    refused: dict[tuple[str, str], list[int]] = {}
    on_way: dict[tuple[str, str], list[int]] = {}
    for entry in left.unsent:
        for cid in entry.ids:
            into = refused if resigned and cid in unverified else unsent
            into.setdefault((entry.bin, entry.target), []).append(cid)
    for entry in left.unanswered:
        on_way[(entry.bin, entry.target)] = list(entry.ids)
    for key in sorted(set(unsent) | set(refused) | set(on_way)):
        bin_, to = key
        # (a key under a plain name, ?k=sk_live_..., was printed whole three times: shown as
        # its length, and the replay command names the target TARGET then)
        shown = shown_url(to, quote=False)
        hidden = shown.startswith("<hidden: ")
        if key in unsent:
            ids = unsent[key]
            said, more = named(ids)
            lines.append(f"{forwards(len(ids))} not sent ({who} stopped before "
                         f"{'their' if len(ids) != 1 else 'its'} turn) to {shown}: {said[0]}")
            lines += ["  " + line for line in said[1:]]
            if more:
                lines.append(f"  and {more} more (not listed)")
            if db == ":memory:":
                lines.append("the database was in memory: those captures are gone with it")
            else:
                runs = _id_ranges(ids)[: _RANGES_PER_LINE * _RANGE_LINES]
                extra = "" if timeout == _DEFAULT_TIMEOUT else \
                    f" --timeout={int(timeout) if timeout.is_integer() else timeout!r}"
                if resigned and bin_ in secret_files:  # (--name=VALUE: a value may start
                    extra += f" --resign-file={_shell_word(secret_files[bin_])}"  # with -)
                    if bin_ in providers:
                        extra += f" --provider={_shell_word(providers[bin_])}"
                for at in range(0, len(runs), _RANGES_PER_LINE):
                    id_args = " ".join(f"--id {_range_text(*r)}"
                                       for r in runs[at: at + _RANGES_PER_LINE])
                    lines.append(
                        f"{'to send them' if at == 0 else 'and'}: hooklab replay --db="
                        f"{_shell_word(db)} --to={'TARGET' if hidden else _shell_word(shown)}"
                        f"{extra} {id_args}")
                if hidden:
                    lines.append(f"(the target, {shown}, holds what reads as a credential: "
                                 "give it in place of TARGET)")
                elif shown != to:
                    lines.append("(the target's credentials are shown as [secret]: give them "
                                 "in its place)")
        if key in refused:
            ids = refused[key]
            said, more = named(ids)
            lines.append(f"{forwards(len(ids))} not sent, nor to be (not verified with the "
                         "bin's secret: a forward is signed afresh only then) to "
                         f"{shown}: " + "; ".join(said) + (f" and {more} more" if more else ""))
        if key in on_way:
            ids = on_way[key]
            it = "them" if len(ids) != 1 else "it"
            said, more = named(ids)
            lines.append(f"{forwards(len(ids))} on {'their' if len(ids) != 1 else 'its'} way "
                         f"not finished (sent, no answer when {who} stopped: the app may have "
                         f"{it}, and a replay could deliver {it} twice) to {shown}: "
                         + "; ".join(said) + (f" and {more} more" if more else ""))
    return lines


def _bin_files(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """``serve``'s ``--secret-file BIN=FILE`` and ``--provider BIN=NAME`` as bin -> FILE and
    bin -> NAME (as :func:`_bin_secrets` reads them; already checked there)."""
    found: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for given, into in ((args.secret_file, found[0]), (args.provider, found[1])):
        for spec in given or []:
            bin_, _, value = spec.partition("=")
            into[bin_.strip().strip("/")] = value
    return found


def _serve(args: argparse.Namespace) -> int:
    from .store import new_paths

    if args.resign and not args.forward:  # (a usage mistake, as replay's --provider without
        # --resign-file: it was accepted and did nothing)
        print("hooklab: --resign needs --forward (e.g. --forward github=http://127.0.0.1:8000"
              "/hooks --secret-file github=gh.key --resign: each forward signed afresh)",
              file=sys.stderr)
        return 2

    try:  # (before the database is opened: a secret file that is a pipe may keep serve
        secrets = _bin_secrets(args)  # waiting, and a mistake in one leaves nothing behind)
    except ValueError as exc:
        print(f"hooklab: {exc}", file=sys.stderr)
        return 2
    made = new_paths(args.db)  # (looked at before anything opens the database)
    # the lab once made, and whether the ready line was said: a Ctrl-C (or SIGTERM) before
    # that line, wherever it lands (in the store's opening, lab.forward, lab.start, the
    # handlers' setting), stops the lab and removes the database this start made (only the
    # failures that lab.start() itself raised removed it: a complete empty one was left)
    start: dict[str, Any] = {"lab": None, "ready": False}
    try:
        return _serve_lab(args, secrets, made, start)
    except BaseException as exc:
        if not start["ready"]:
            _undo_start(start["lab"], made, exc)
        raise


def _undo_start(lab: Any, made: list[str], exc: BaseException) -> None:
    """A ``serve`` stopped before its ready line: ``lab`` (None: not made yet) stopped, and
    the database file it had just made (``made``, see :func:`hooklab.store.new_paths`)
    removed with its ``-wal``/``-shm``; a file that was there before is never touched."""
    import gc
    import traceback

    if lab is not None:
        with contextlib.suppress(Exception):
            lab.stop(quiet_forwards=True)
    # (a connection that the interrupt caught as it was being made is held by a frame of
    # the traceback only: let go of it, so that its -wal and -shm go as it closes)
    traceback.clear_frames(exc.__traceback__)
    gc.collect()
    from .store import remove_new_paths

    remove_new_paths(made)


def _serve_lab(args: argparse.Namespace, secrets: dict[str, tuple[str | None, str | None]],
               made: list[str], start: dict[str, Any]) -> int:
    from .capture import Capture, header_text_as_sent, printable, target_as_sent
    from .core import ForwardLoopError, HookLab
    from .filters import bin_name
    from .store import remove_new_paths

    lab = start["lab"] = HookLab(
        host=args.host, port=args.port, db=args.db, max_body=args.max_body,
        durability=args.durability, strict_port=args.strict_port,
        max_connections=args.max_connections, forward_timeout=args.timeout,
        retention_count=args.retention_count, retention_age=args.retention_age,
    )
    out, err = _Printer("stdout"), _Printer("stderr", limit=1_000)

    def shown(text: str | None, limit: int = 200) -> str:
        # what a sender wrote: visible characters only (escape sequences cannot retitle the
        # terminal, move the cursor or forge a line), and not a megabyte of it on one line
        return printable(text or "", limit)

    def show(c) -> None:  # type: ignore[no-untyped-def]
        # (the time is UTC, as stored and as --since reads a time without a zone: the Z
        # says so, where a bare 23:32:38 read as the terminal's local time)
        # (an event type from a header: its UTF-8 read as such, as the live view reads it,
        # and then escaped as ever: a U+202E never reaches the terminal as it is)
        event = header_text_as_sent(c.event_type or "", c.header_section)
        # provider/event, the provider alone when there is no event type (it printed
        # "github/"), the event type alone if ever without a provider, else nothing
        said = "/".join(shown(v, limit) for v, limit in ((c.provider, 40), (event, 200)) if v)
        ev = f" {said}" if said else ""
        ver = {True: " verified", False: " SIGNATURE-INVALID", None: ""}[c.verified]
        # (the path likewise: raw UTF-8 bytes read as UTF-8, /été/x and not /Ã©tÃ©/x)
        out.put(f"#{c.id} {c.received_at:%H:%M:%S.%f}Z {shown(c.method, 40)} "
                f"{shown(target_as_sent(c.path))}"
                f" -> {c.status} {c.size}B{ev}{ver}")

    from .outbound.forward import delivered, forward_target_read

    forwarded: list[int] = []  # ids whose forward outcome was stored (from the writer thread)
    store = lab.store  # (held: looked at once more after lab.stop() closed it)
    # captures of forwarded bins that did not verify on arrival: with --resign a forward
    # does not send them (nor would a replay): said apart if the stop leaves them unsent
    unverified: set[int] = set()
    forwarded_bins: set[str] = set()
    stopping = [False]  # once set, outcomes are shown as they are stored (see on_forward)
    shown_lock = threading.Lock()

    def on_forward(cid: int) -> None:  # the writer thread (or the WAL syncer's)
        unverified.discard(cid)
        with shown_lock:
            if not stopping[0]:
                forwarded.append(cid)  # (shown by serve's loop, on the main thread)
                return
        # the lab is stopping: the forwards on their way finish, and their outcomes are stored,
        # while it closes the store; each is read back now, before the store is gone (they
        # were delivered, each once, but no line said so)
        with contextlib.suppress(Exception):
            show_forward(cid)

    def show_forwards() -> None:  # (on the main thread: the outcome is read back from the store)
        while forwarded:
            show_forward(forwarded.pop(0))

    def came(cid: int) -> Capture | None:  # (what forward_target_read reads: no body)
        rows = store.rows("path, url", since=cid - 1, until=cid)
        return Capture(cid, None, "", rows[0][0], url=rows[0][1] or "") if rows else None

    def show_forward(cid: int) -> None:
        for f in store.shown_forwards(store.forwards(cid)[-1:]):  # (as an export writes it)
            if args.quiet and delivered(f["status"], f["error"]):
                continue  # (no line: nothing read back)
            if not f["target"].isascii():  # (read as UTF-8, a byte that is none as %FF)
                f = {**f, "target": forward_target_read(f["target"], came(cid))}
            if not delivered(f["status"], f["error"]):  # (a 3xx too: not followed)
                what = shown(f["error"] or f"answered {f['status']}", 400)
                line = f"#{cid} forward to {shown(f['target'], 400)} FAILED: {what}"
                if args.quiet:  # (said still, as refusals are: nothing else would say
                    more = failures.take()  # the app is down; at most 10 a second)
                    if more is not None:
                        err.put(f"hooklab: {line}" + (f" (and {more} more failed before "
                                                      "it)" if more else ""))
                    continue
            else:
                line = f"#{cid} forwarded to {shown(f['target'], 400)}: {f['status']} " \
                       f"in {f['latency_ms']:.0f} ms"
            out.put(line)

    def flush_failures(now: bool = False) -> None:
        more = failures.flush(now)
        if more:
            err.put(f"hooklab: {more} more forward{'s' if more != 1 else ''} FAILED")

    failures = _PerSecond()  # (failed forwards under --quiet, on stderr)

    def stored(c) -> None:  # type: ignore[no-untyped-def]
        if args.resign and c.bin in forwarded_bins and c.verified is not True:
            unverified.add(c.id)
        if not args.quiet:
            show(c)

    store.subscribe(stored, on_forward=on_forward)
    def refused(line: str) -> int:  # (a usage mistake found before serving: exit 2, and
        print(f"hooklab: {line}", file=sys.stderr)  # no new database left behind)
        lab.stop()
        remove_new_paths(made)
        return 2

    try:
        for bin_, (secret, provider) in secrets.items():
            try:
                lab.secret(bin_, secret, provider=provider)
            except ValueError as exc:  # (an unknown provider: the known ones listed; the
                # bin was checked as the options were read, by _bin_secrets)
                raise ValueError(f"--provider {printable(bin_, 60)}={_shown_name(provider)}: "
                                 f"{exc}") from None
    except ValueError as exc:
        return refused(str(exc))
    forwards = []
    for spec in args.forward or []:  # (each read, and the bins checked, before any is set)
        bin_, sep, url = spec.partition("=")
        if not sep or not url or not bin_ or "://" in bin_:
            # (a URL given without BIN=, its query's "=" taken for BIN='s: said without the
            # URL's credentials, as every target is)
            from .credentials import shown_url

            return refused("--forward wants BIN=URL (BIN: the first path segment, as in "
                           f"github=http://127.0.0.1:8000/hooks), got {shown_url(spec)}")
        if bin_name(bin_) in forwarded_bins:  # (as lab.forward: a bin has one target, and a
            # second replaced the first without a word; that app got nothing)
            return refused(f"--forward {shown(bin_name(bin_), 100)}=... is given twice (a bin "
                           "forwards to one URL)")
        named = bin_name(bin_)
        if args.resign and (secrets.get(named) or (None, None))[0] is None:  # (the library's
            # words named lab.secret(...); the command's way to give the secret is an option)
            from .credentials import shown_url

            return refused(f"--forward {shown(bin_, 100)}={shown_url(url, quote=False)}: "
                           "--resign needs "
                           f"--secret-file {shown(named, 100)}=FILE (the secret the bin's "
                           "deliveries verify with; each forward is signed afresh with it)")
        forwarded_bins.add(named)
        forwards.append((bin_, url))
    for bin_, url in forwards:
        try:
            lab.forward(bin_, to=url, resign=args.resign)
        except ValueError as exc:  # a loop back into this lab, or no http(s) URL, or
            # --resign for a bin without --secret-file
            from .credentials import shown_url

            return refused(f"--forward {bin_}={shown_url(url, quote=False)}: {exc}")
    try:
        lab.start()
    except ForwardLoopError as exc:  # (the port moved on to the one a forward names)
        from .credentials import shown_url

        print(f"hooklab: --forward {exc.bin}={shown_url(exc.target, quote=False)}: {exc}",
              file=sys.stderr)
        lab.stop()
        remove_new_paths(made)
        return 2
    except Exception as exc:  # noqa: BLE001 - a clear one-line error for the terminal
        stopped_by = _interrupt_in(exc)
        if stopped_by is not None:  # Ctrl-C in the middle of a wait of threading's, which
            lab.stop()  # then failed on its lock: as the Ctrl-C below (it said "cannot
            raise stopped_by from None  # start: release unlocked lock" and exited 1)
        print(f"hooklab: cannot start: {exc}", file=sys.stderr)
        lab.stop()
        remove_new_paths(made)  # (nothing was served: no empty database left behind)
        return 1
    except BaseException:  # Ctrl-C while starting: nothing left running
        lab.stop()
        raise
    handled = {}  # (as they were, put back when serve returns: main() may run in a program)
    try:  # (a signal before serve's own handlers: the lab is stopped, main() says it)
        refusals = _RefusalLines(err, shown)
        if lab.server is not None:  # (what never became a capture is said too, --quiet or not)
            lab.server.refusal_listeners.append(refusals)
        import queue

        # what a stop signal's handler tells serve's loop: a SimpleQueue, whose put() takes no
        # lock that the interrupted code may hold. It was a threading.Event: its set() waits
        # for the lock that the loop's stop.wait() holds for a few instructions, and a signal
        # handled right then (Python runs handlers between two instructions of the main
        # thread) waited on the main thread for ever: `hooklab serve` never stopped
        stop: queue.SimpleQueue[int] = queue.SimpleQueue()

        def on_signal(signum: int, frame: object) -> None:
            stop.put(signum)

        # before the ready line: whoever reads it may signal at once (a race the tests hit)
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM", "SIGHUP"):  # SIGHUP: the terminal closed
                num = getattr(signal, name, None)
                # an ignored SIGINT or SIGHUP stays ignored: nohup ignores the terminal's end, and
                # a shell starting `hooklab serve &` from a script (CI, cron) ignores SIGINT so
                # that a Ctrl-C in its terminal leaves background jobs running; SIGTERM still stops
                if num is None or (name != "SIGTERM" and signal.getsignal(num) is signal.SIG_IGN):
                    continue
                handled[num] = signal.signal(num, on_signal)
        if _RAISED:  # a stop signal came while starting, and something swallowed what it
            raise (KeyboardInterrupt() if _RAISED[0] == signal.SIGINT  # raised: acted on
                   else _Stopped(_RAISED[0]))  # now, before serving (it served for ever)
    except BaseException:
        for num, handler in handled.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(num, signal.SIG_DFL if handler is None else handler)
        lab.stop()
        raise
    # the stream page carries the read token: on stderr, as Jupyter prints its URL; before the
    # ready line, so whoever waits for that line finds the page too
    print(f"hooklab: stream page {lab.page_url}", file=sys.stderr, flush=True)
    if sys.stdout is None:  # (`>&-`: the lines have nowhere to go; serving goes on)
        print("hooklab: standard output is closed: captures are stored, but no line is "
              "shown for them", file=sys.stderr, flush=True)
    sigint_ignored = bool(handled) and signal.SIGINT not in handled  # (`serve &` in a script)
    print(lab.status_line() + (" — SIGTERM to stop (SIGINT is ignored)" if sigint_ignored
                               else " — Ctrl-C to stop"), flush=True)
    start["ready"] = True  # (serving: the database is the user's now, whatever comes)
    # failures said; one said and not yet said to be over, its words and its start; the
    # server's count of 503s for captures not stored when the last such count was said
    said, said_at, down, words, since, refused_at = 0, None, False, "", None, 0
    server = lab.server

    def say_refused(upto: int | None = None, still: bool = False) -> None:
        # the 503s that senders got since the last such line (the server's count, part of
        # /_hooklab/health's `refused`), so that the lines add up to what the senders got:
        # those of the store's failed times up to `upto` (and of none, a full queue's)
        nonlocal refused_at
        if server is None:
            return
        by_time = dict(server.not_stored_in)
        total = sum(n for t, n in by_time.items() if upto is None or t <= upto)
        n, refused_at = total - refused_at, max(total, refused_at)
        if n > 0:
            err.put(f"hooklab: {n} request{'s' if n != 1 else ''} answered 503 while captures "
                    "were not being stored" + (" (nor at the stop)" if still else ""))

    def stored_again(upto: int) -> None:
        nonlocal down, words, since
        err.put("hooklab: captures are being stored again")
        say_refused(upto)
        down, words, since = False, "", None

    def show_failure(final: bool = False) -> None:
        # a full disk: said each time, however short, and when captures are stored again,
        # with how many senders got 503 meanwhile. The store numbers each time writes failed
        # and keeps the latest ones' words, so that times begun and over between two looks
        # (a tenth of a second of 503s, captures stored, 503s again) are each said too, ended
        # by "stored again"; a time said is over once `failing` is none or another time's
        nonlocal said, said_at, down, words, since
        new = store.failures_after(said)  # (first: a time begun after it is in `now` too)
        now = store.failing
        if down and (now is None or now[1] != since):  # (its number: kept from the look
            stored_again(next((t[0] for t in new if t[2] == since), said))  # that said it)
        current = now is not None and not (down and now[1] == since)  # (not said yet)
        missed = new[0][0] - said - 1 if new else 0  # (begun and over, no longer kept)
        over = [(missed, new[0][0] - 1, new[0][1])] if missed > 0 else []
        over += [(1, number, why) for number, why, began in new
                 if began != said_at and not (current and began == now[1])]
        for times, number, why in over:
            err.put(f"hooklab: captures are not being stored ({why}); senders get 503"
                    + (f" (it stopped {times} times, each over before this line)"
                       if times > 1 else ""))
            stored_again(number)
        if new:
            said = new[-1][0]
        if now is not None and (current or now[0] != words):
            err.put(f"hooklab: captures are not being stored ({now[0]}); senders get 503")
            down, words, since, said_at = True, now[0], now[1], now[1]
        if final:  # (503s answered after the last line said them: a look came first)
            say_refused(still=down)

    try:
        while not _stop_asked(stop, _LOOK_EVERY):
            show_forwards()
            show_failure()
            refusals.flush()
            flush_failures()
            if not lab.is_running:
                break
    finally:
        written = True
        try:
            with shown_lock:
                stopping[0] = True
            show_forwards()
            # (serve says what the forwards left, ids and the replay command, on its own: not
            lab.stop(quiet_forwards=True)  # the library's warning, which names lab.replay)
            refusals.flush(now=True)  # (what the last second left out is said too)
            flush_failures(now=True)
            show_failure(final=True)  # (one over since the last look, or as the last captures
            # were stored; the 503s not said yet)
            for line in _forward_stop_lines(lab.forwards_left, unverified, bool(args.resign),
                                            args.db, *_bin_files(args), timeout=args.timeout):
                err.put(f"hooklab: {line}")
            out.put("hooklab: stopped")
            written = err.close(1.0) & out.close()
        finally:
            if _PROGRAM:  # (the hooklab program: stopped, and said so; nothing can undo it)
                _finished()
            for num, handler in ({} if _PROGRAM else handled).items():  # (None: a handler
                with contextlib.suppress(TypeError, ValueError):  # not set from Python)
                    signal.signal(num, signal.SIG_DFL if handler is None else handler)
        if not written:  # an output still blocks, and the store is closed: exit now (a normal
            import os  # exit would wait on the blocked stream for ever)

            os._exit(1)
    return 1 if out.broken else 0


def _stop_asked(stop: Any, timeout: float) -> bool:
    """Whether a stop signal came (its handler put it in ``stop``, a ``queue.SimpleQueue``),
    waiting up to ``timeout`` seconds for one."""
    import queue

    try:
        stop.get(timeout=timeout)
    except queue.Empty:
        return False
    return True


#: the longest secret --secret-file reads (signing secrets are tens of bytes; RSA keys a few KiB)
_SECRET_LIMIT = 64 * 1024
#: seconds a secret file that is no regular file (a FIFO; ``<(pass show stripe)``, a pipe) may
#: take to be written before hooklab says that it waits for it
SECRET_WAIT_SAID = 2.0


def _secret_bytes(path: str) -> bytes:
    """What the file at ``path`` (``-``: standard input) holds, up to one byte past
    :data:`_SECRET_LIMIT`. A pipe is read as it is written, to its end: one with no writer yet
    (a FIFO) is waited for, and said to be after :data:`SECRET_WAIT_SAID` seconds (it waited
    without a word, for ever); Ctrl-C and SIGTERM stop the wait. ``OSError`` as ``open``
    raises it."""
    import os
    import stat

    def read() -> bytes:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)  # (main() in a program: a StringIO)
            return (stdin.read(_SECRET_LIMIT + 1) if stdin is not None
                    else sys.stdin.read(_SECRET_LIMIT + 1).encode("utf-8"))
        with open(path, "rb") as f:
            return f.read(_SECRET_LIMIT + 1)

    try:
        regular = stat.S_ISREG((os.fstat(sys.stdin.fileno()) if path == "-"
                                else os.stat(path)).st_mode)
    except (OSError, ValueError, AttributeError):
        regular = False  # (not there: open says why; a StringIO: read at once)
    if regular:
        return read()
    got: dict[str, Any] = {}
    done = threading.Event()

    def reader() -> None:  # (a thread: the open of a FIFO with no writer blocks in the kernel,
        try:  # where neither a timer nor Ctrl-C reaches it)
            got["data"] = read()
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            got["error"] = exc
        finally:
            done.set()

    threading.Thread(target=reader, name="hooklab-secret-file", daemon=True).start()
    if not done.wait(SECRET_WAIT_SAID):
        where = "the secret on standard input" if path == "-" else f"{path} to be written"
        print(f"hooklab: waiting for {where} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        while not done.wait(0.25):  # (short waits: a signal's handler runs between them)
            pass
    if "error" in got:
        raise got["error"]
    return got["data"]  # type: ignore[no-any-return]


_SPACE_NAMES = {" ": "a space", "\t": "a tab", "\x0b": "a vertical tab", "\x0c": "a form feed"}


def _read_secret(path: str, option: str) -> str:
    """The secret in the file at ``path`` (``-``: standard input), as ``serve --secret-file
    BIN=FILE``, ``send --secret-file FILE`` and ``replay --resign-file FILE`` read it: a
    leading UTF-8 byte order mark (Notepad's) and the line breaks at its end (``echo``'s, an
    editor's, CRLF) dropped; other whitespace at either end is kept but said on stderr, never
    the secret itself (each one taken as it was made every signature fail without a word).
    ``ValueError`` saying ``option`` (``"--secret-file stripe="``) and the file for a file
    that cannot be read, is empty, huge or not UTF-8; a ``path`` that names no file and does
    not read as one's (``--secret-file whsec_...``: the secret given in its place) is said as
    its length only (:func:`hooklab.credentials.shown_secret_file`).

    A pipe (``--secret-file <(pass show stripe)``) is read to its end; one that nothing has
    written after 2 s is said to be waited for."""
    from .credentials import shown_secret_file

    shown = shown_secret_file(path)
    what = option + shown
    try:  # bytes, counted as bytes, read as UTF-8 whatever the terminal's encoding
        data = _secret_bytes(path)
    except OSError as exc:
        if shown == path:
            raise ValueError(f"{what}: {exc}") from None
        raise ValueError(f"{what}: {exc.strerror or 'cannot be read'} (not shown: it names "
                         "no file, and may be the secret itself; give the file that holds "
                         "it)") from None
    if len(data) > _SECRET_LIMIT:  # (/dev/zero, a log given by mistake: not read whole)
        raise ValueError(f"{what} holds more than {_SECRET_LIMIT // 1024} KiB: "
                         "not a signing secret")
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:  # (not the byte itself: it is part of the secret)
        raise ValueError(f"{what} is not UTF-8 text (byte {bom + exc.start + 1} is not): a "
                         "signing secret is text") from None
    text = text.rstrip("\r\n")
    if not text:
        raise ValueError(f"{what} is empty")
    ends = [(side, c) for side, c in (("starts", text[0]), ("ends", text[-1])) if c.isspace()]
    if ends:
        said = " and ".join(f"{side} with {_SPACE_NAMES.get(c, f'U+{ord(c):04X}')}"
                            for side, c in ends)
        print(f"hooklab: {what}: the secret {said}, used as it is (if signatures fail, "
              "remove it from the file)", file=sys.stderr, flush=True)
    return text


def _shown_name(name: str | None) -> str:
    """A ``--provider BIN=NAME``'s NAME as a refusal line says it: a secret typed where the
    name goes as its length only, any other text escaped and cut to 60 characters."""
    from .capture import printable
    from .credentials import looks_like_secret, shown_given

    return shown_given(name or "") if looks_like_secret(name or "") else printable(name or "", 60)


def _bin_secrets(args: argparse.Namespace) -> dict[str, tuple[str | None, str | None]]:
    """``serve``'s ``--secret-file BIN=FILE`` and ``--provider BIN=NAME``: bin -> (secret,
    provider), for :meth:`HookLab.secret`. ``ValueError`` for a malformed, repeated or
    unreadable one."""
    from .capture import printable
    from .credentials import shown_given, shown_secret_file
    from .filters import check_bin

    secrets: dict[str, str] = {}
    providers: dict[str, str] = {}
    files: dict[str, str] = {}
    for flag, given, into in (("--secret-file", args.secret_file, secrets),
                              ("--provider", args.provider, providers)):
        for spec in given or []:
            bin_, sep, value = spec.partition("=")
            bin_ = bin_.strip().strip("/")
            if not sep or not bin_ or not value:
                what = "FILE" if flag == "--secret-file" else "NAME"
                got, file = shown_given(spec, 200), value if sep else spec
                if flag == "--secret-file" and file and shown_secret_file(file) != file:
                    got = shown_secret_file(spec)  # (the secret itself, given for BIN=FILE?)
                raise ValueError(f"{flag} wants BIN={what} (BIN: the first path segment, as in "
                                 f"stripe={'stripe.key' if what == 'FILE' else 'stripe'}), "
                                 f"got {got}")
            try:  # (one path segment, as lab.secret reads it; said under this option,
                bin_ = check_bin(bin_)  # before a file is read or a lab opened)
            except ValueError as exc:
                shown = shown_secret_file(value) if flag == "--secret-file" else _shown_name(value)
                raise ValueError(f"{flag} {printable(bin_, 60)}={shown}: {exc}") from None
            if bin_ in into:
                raise ValueError(f"{flag} {bin_}=... is given twice")
            into[bin_] = (_read_secret(value, f"{flag} {bin_}=")
                          if flag == "--secret-file" else value)
            if flag == "--secret-file":
                files[bin_] = value
    from .signatures import check_secret

    for bin_, secret in secrets.items():  # (a secret no capture could verify with, refused
        try:  # as send refuses to sign with it: every capture read SIGNATURE-INVALID)
            check_secret(providers.get(bin_, ""), secret)
        except ValueError as exc:
            raise ValueError(f"--secret-file {bin_}={shown_secret_file(files[bin_])}: "
                             f"{exc}") from None
    return {b: (secrets.get(b), providers.get(b)) for b in {**secrets, **providers}}


def _secret_of(args: argparse.Namespace) -> str | None:
    """``--secret``, else ``--secret-file`` (``-``: standard input; read by
    :func:`_read_secret`, as serve reads its files), else ``$HOOKLAB_SECRET`` (with ``--provider``). Raises ``ValueError`` for both flags or an unreadable
    file."""
    if args.secret_file is not None:
        if args.secret is not None:
            raise ValueError("give --secret or --secret-file, not both")
        return _read_secret(args.secret_file, "--secret-file ")
    if args.secret is not None or not args.provider:  # (an unsigned send ignores the variable)
        return args.secret
    import os

    return os.environ.get("HOOKLAB_SECRET") or None


#: a header name: an RFC 9110 token (what hooklab's own server, and most others, accept)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: a header value as a command line can give it: visible ASCII, spaces and tabs
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _header_arg(text: str) -> tuple[str, str | None]:
    """One ``--header NAME:VALUE`` as a (name, value) pair, each as it goes on the wire; as
    curl reads ``-H``, ``NAME:`` with no value leaves the header out (``None``: hooklab's own
    ``Content-Type`` or ``User-Agent``, the sample's or the signature's), and ``NAME;`` sends
    it with an empty value.
    ``ValueError`` names what cannot be sent: a name with a space or a non-ASCII letter went
    out as it was (``X A: v``, a request servers answer 400) or died in a codec error, and a
    value with a line break or ``€`` likewise. Repeated, a name is sent that many times, in
    order, as ``curl -H`` does (it was a dict: the last one only).

    The message never quotes the value (nor text with no ``:``): a header refused is often a
    credential (``Authorization: Bearer ...`` with a character pasted after it), and standard
    error goes to terminals and CI logs.

    >>> _header_arg("X-Tag:  a b "), _header_arg("User-Agent:"), _header_arg("X-Empty;")
    (('X-Tag', 'a b'), ('User-Agent', None), ('X-Empty', ''))
    >>> _header_arg("Authorization: Bearer abc\x01")
    Traceback (most recent call last):
    ...
    ValueError: invalid header value in --header 'Authorization: <hidden: 11 chars>': U+0001 at \
character 11; visible ASCII characters, spaces and tabs only (no line breaks, control or \
non-ASCII characters)
    """
    name, sep, value = text.partition(":")
    empty = not sep and text.rstrip(" \t").endswith(";")  # (curl's "NAME;": an empty value)
    if empty:
        name = text.rstrip(" \t")[:-1]
    elif not sep:
        raise ValueError(f"--header wants NAME:VALUE, got {len(text)} characters with no ':' "
                         "(not shown: they may hold a credential)")
    name, value = name.strip(), value.strip(" \t")
    shown = "--header " + repr(f"{name}: <hidden: {len(value)} chars>")  # (repr: a control
    # character in the name is written as an escape, not sent to the terminal)
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"invalid header name {name!r} in {shown}: a name is ASCII letters, "
                         "digits and !#$%&'*+-.^_`|~ (no spaces)")
    if not _HEADER_VALUE.fullmatch(value):
        at = len(_HEADER_VALUE.match(value).group())  # type: ignore[union-attr]
        raise ValueError(f"invalid header value in {shown}: U+{ord(value[at]):04X} at character "
                         f"{at + 1}; visible ASCII characters, spaces and tabs only (no line "
                         "breaks, control or non-ASCII characters)")
    return name, (value if value or empty else None)


def _send(args: argparse.Namespace) -> int:
    import http.client

    from .outbound.sender import data_arg, send

    # (the library's words name its keywords, "event= needs provider=": the flags are said)
    if args.event is not None and not args.provider:
        print("hooklab: --event needs --provider (e.g. --provider github --event push)",
              file=sys.stderr)
        return 2
    given = "--secret" if args.secret is not None else (
        "--secret-file" if args.secret_file is not None else None)
    if given and not args.provider:
        print(f"hooklab: {given} needs --provider to know how to sign (e.g. --provider "
              "github)", file=sys.stderr)
        return 2
    data_file = args.data[1:] if args.data and args.data.startswith("@") else None
    if (args.secret_file is not None and data_file is not None
            and _is_stdin(args.secret_file) and _is_stdin(data_file)):
        # (the secret was read to the end first, and --data then found nothing: "not valid
        # JSON: Expecting value", a message about the JSON where the command was the mistake)
        print(f"hooklab: --secret-file {args.secret_file} and --data {args.data} both read "
              "standard input, which one of them would read to its end: give the other a "
              "file (or the secret in $HOOKLAB_SECRET)", file=sys.stderr)
        return 2
    try:
        secret = _secret_of(args)
        if secret is not None:  # (serve --secret-file refuses it in the same words)
            from .signatures import check_secret

            check_secret(args.provider, secret)
    except ValueError as exc:
        print(f"hooklab: {exc}", file=sys.stderr)
        return 2
    payload: Any = None
    if args.data:
        try:
            payload = data_arg(_data_text(args.data), merged=bool(args.provider))
        except ValueError as exc:
            print(f"hooklab: {exc}", file=sys.stderr)
            return 2
    headers, leave_out = None, []
    if args.header:
        try:
            given = [_header_arg(h) for h in args.header]
        except ValueError as exc:
            print(f"hooklab: {exc}", file=sys.stderr)
            return 2
        headers = [(n, v) for n, v in given if v is not None]
        leave_out = [n for n, v in given if v is None]  # (NAME: as curl -H reads it)
    if isinstance(payload, bytes) and not any(n.lower() == "content-type"
                                              for n in [*(k for k, _ in headers or []),
                                                        *leave_out]):
        headers = [("Content-Type", "application/json"), *(headers or [])]
    try:
        resp = send(
            args.url,
            provider=args.provider,
            event=args.event,
            payload=payload,
            secret=secret,
            headers=headers,
            timeout=args.timeout,
            leave_out=leave_out,
        )
    except (ValueError, http.client.InvalidURL) as exc:
        from .credentials import scrubbed_text

        # (InvalidURL: a space or a control character in it; nothing could be sent, a usage
        # error as "notaurl" is, not "could not send to", exit 1, as if the target were down)
        what = "invalid URL: " if isinstance(exc, http.client.InvalidURL) else ""
        print(f"hooklab: {what}{scrubbed_text(str(exc), args.url)}", file=sys.stderr)
        return 2
    except (OSError, http.client.HTTPException) as exc:  # (which server did not answer: the URL)
        from .capture import forward_error
        from .credentials import scrubbed_text, shown_url
        from .outbound.sender import unread_answer

        # an answer that is no HTTP was a traceback quoting it raw (BadStatusLine: ESC and
        # all); now one line, escaped and cut as a forward's error
        why = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        why = forward_error(scrubbed_text(why, args.url))
        said = unread_answer(exc, shown_url(args.url, quote=False), why)
        if said is not None:  # (the app had the webhook and answered: "could not send"
            # had users send it again, a duplicate delivery; a reset or a stall too)
            print(f"hooklab: {said}", file=sys.stderr)
            return 1
        print(f"hooklab: could not send to {shown_url(args.url, quote=False)}: {why}",
              file=sys.stderr)
        return 1
    from .capture import printable

    lost = _stdout_lost(None) if sys.stdout is None else None  # (`>&-`)
    if lost is None:
        try:
            print(f"{resp.status} {printable(resp.reason, 200)}")  # (the target wrote it)
            if resp.body:
                sys.stdout.write(_shown_body(resp.body.decode("utf-8", "replace")) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # (`| head -0`: the reader has what it wanted, as ever)
            raise
        except OSError as exc:  # (`1</dev/null`, `>/dev/full`: it said only "[Errno 9] ...")
            lost = _stdout_lost(exc)
    if lost is not None:  # the answer cannot be shown; the webhook went out: said on stderr
        from .credentials import shown_url

        print(f"hooklab: sent to {shown_url(args.url, quote=False)} (answered {resp.status} "
              f"{printable(resp.reason, 200)}), but {lost}: the answer is not shown",
              file=sys.stderr)
        return 1
    if resp.truncated:
        from .outbound.sender import MAX_ANSWER

        print(f"hooklab: the answer was longer than {MAX_ANSWER:,} bytes: its beginning is "
              "shown", file=sys.stderr)
    return 0 if resp.ok else 1  # (a 2xx only: a redirect is not followed, as replay's)


#: the names of standard input that opening reads it from (``-``: hooklab's, curl's)
_STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def _is_stdin(name: str) -> bool:
    """Whether reading the file ``name`` (``--secret-file``'s, ``--data @``'s) reads standard
    input: ``-`` or one of the system's names for it.

    >>> _is_stdin("-"), _is_stdin("/dev/stdin"), _is_stdin("stripe.key")
    (True, True, False)
    """
    return name in _STDIN_NAMES


def _data_text(given: str) -> str:
    """``send --data``'s JSON: as given, or, as curl reads ``-d @FILE``, the contents of FILE
    (``@-``: standard input), every byte kept (a JSON object never begins with ``@``).
    ``ValueError`` for a file that cannot be read or is no UTF-8.

    >>> _data_text('{"a": 1}')
    '{"a": 1}'
    """
    if not given.startswith("@"):
        return given
    name = given[1:]
    if not name:
        raise ValueError("--data @ needs a file name after the @ (@- for standard input)")
    try:
        if name == "-":
            raw = sys.stdin.buffer.read() if sys.stdin is not None else b""
        else:
            with open(name, "rb") as f:
                raw = f.read()
    except OSError as exc:
        from .capture import printable

        raise ValueError(f"--data @{printable(name, 200)}: cannot read it "
                         f"({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"--data {'@-' if name == '-' else '@FILE'}: not UTF-8 (byte "
                         f"{exc.start}): JSON is sent as UTF-8") from None


def _stdout_lost(exc: OSError | None) -> str:
    """Why a command's results cannot go to standard output, for its one stderr line:
    ``exc`` None for a closed one (``cmd >&-``: Python has no ``sys.stdout``), else the error a
    write to it raised (``1</dev/null``: EBADF; ``>/dev/full``). What is still buffered for it
    is then dropped (written to ``/dev/null``), so that exiting adds no "Exception ignored"."""
    if exc is None:
        return "standard output is closed"
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return f"standard output cannot be written ({exc.strerror or exc})"


_LINE_ENDS = re.compile(r"\r?\n|\t")


def _shown_body(text: str) -> str:
    r"""An answer's body for the terminal: its lines and tabs as they are, every other
    character a terminal would act on written as an escape (a target's ``\x1b[2J`` cannot
    clear the screen, a lone ``\r`` cannot overwrite a line).

    >>> _shown_body('{"ok": true}\r\n\x1b]0;pwned\x07')
    '{"ok": true}\r\n\\x1b]0;pwned\\x07'
    """
    from .capture import printable

    if text.isprintable():
        return text
    out, at = [], 0
    for m in _LINE_ENDS.finditer(text):
        out += [printable(text[at:m.start()]), m.group()]
        at = m.end()
    out.append(printable(text[at:]))
    return "".join(out)


def _replay(args: argparse.Namespace) -> int:
    from .capture import Capture, printable
    from .outbound.forward import target_url

    # a --to that is no http(s) URL is the command's mistake, said once before anything is
    # sent (exit 2), as lab.forward() refuses it; it was "#1 -> error: ValueError: ..." per
    # id with exit 1, as if the app had failed
    target_url(Capture(0, None, "POST", "/replay"), args.to)  # type: ignore[arg-type]
    # --provider alone (it says how to sign afresh) is a usage mistake, as send's --event
    # without --provider: it was ignored, each capture sent as captured, exit 0
    if args.provider is not None and args.resign_file is None:
        print("hooklab: --provider needs --resign-file (e.g. --resign-file stripe.key "
              "--provider stripe: each capture signed afresh as that provider)",
              file=sys.stderr)
        return 2
    resign: Any = False
    if args.resign_file is not None:  # (never on the command line, where others see it)
        from .outbound.forward import Resign

        try:
            resign = Resign(_read_secret(args.resign_file, "--resign-file "), args.provider)
        except ValueError as exc:
            print(f"hooklab: {exc}", file=sys.stderr)
            return 2
    lab = _open_to_read(args.db)
    bad = 0
    # standard output closed (`>&-`) or failing: every capture is replayed still, and one line
    # on stderr says what they were answered (it exited 0 without a word, or stopped at the
    # first line it could not write, the other captures not replayed)
    lost = _stdout_lost(None) if sys.stdout is None else None
    shown = 0
    answers: dict[str, int] = {}  # what was answered -> how many times, in order

    def say(line: str) -> None:
        nonlocal lost, shown
        if lost is None:
            try:
                print(line, flush=True)
                shown += 1
            except BrokenPipeError:  # (`| head -1`: the reader has what it wanted, as ever)
                raise
            except OSError as exc:
                lost = _stdout_lost(exc)

    ids = _replay_order(args.id)
    done, on_way = 0, -1  # ids[:done] are answered (or said); ids[on_way] is on its way
    try:
        _check_ids(lab, ids)  # (an unknown id: nothing is sent)
        if resign:  # (one that cannot be re-signed: nothing is sent, as lab.replay does)
            _check_resign(lab, ids, args.to, resign, given=args.provider is not None)
        for at, cid in enumerate(ids):  # one line as each is answered: interrupted, the
            try:  # lines say (each read just before it is sent: one capture's body in
                cap = lab.get(cid)  # memory at a time, where all of them were read first)
            except KeyError:  # (deleted since the check: a serve's retention, a clear)
                say(f"#{cid} -> error: no longer stored (deleted since the replay began)")
                answers["no longer stored"] = answers.get("no longer stored", 0) + 1
                bad += 1
                done = at + 1
                continue
            on_way = at
            (r,) = lab.replay(cap, to=args.to, resign=resign, timeout=args.timeout)
            done = at + 1
            del cap
            if r.error:  # (escaped and cut by replay, as a forward's: printable to be sure)
                say(f"#{cid} -> error: {printable(r.error)}")
            else:
                say(f"#{cid} -> {r.status} in {r.elapsed * 1000:.1f} ms")
            key = "could not be sent" if r.error else f"answered {r.status}"
            answers[key] = answers.get(key, 0) + 1
            bad += not r.ok  # (only a 2xx is a delivery: a redirect is not followed)
    except BaseException as exc:  # Ctrl-C, SIGTERM: which were sent and which not, as serve
        if not isinstance(exc, KeyboardInterrupt | _Stopped) and _interrupt_in(exc) is None:
            raise  # says of its forwards (it said only "interrupted": #3 was on its way)
        _finished()  # (what follows is said whole; main() then says "interrupted")
        for line in _replay_stop_lines(args, ids, done, on_way):
            print(f"hooklab: {line}", file=sys.stderr)
        raise
    finally:
        lab.stop()
    if lost is not None:
        from .capture import n_captures
        from .credentials import shown_url

        print(f"hooklab: replayed {n_captures(len(ids))} to {shown_url(args.to, quote=False)} ("
              + ", ".join(f"{n} {key}" for key, n in answers.items())
              + f"), but {lost}: " + ("their lines are not shown" if not shown else
                                      "not every line is shown"), file=sys.stderr)
        return 1
    return 1 if bad else 0


def _check_resign(lab: Any, ids: Sequence[int], to: str, resign: Any, *, given: bool) -> None:
    """Raise, before anything is sent, the ``ValueError`` of the first of ``ids`` that cannot
    be re-signed with ``resign`` (:func:`hooklab.outbound.forward.check_resign`, as
    ``lab.replay`` checks them all first); each capture read and let go in turn. ``given``:
    ``--provider`` was given (else "no provider was detected" says to give it)."""
    from .outbound.forward import check_resign

    for cid in dict.fromkeys(ids):
        try:
            check_resign([lab.get(cid)], to, resign)
        except ValueError as exc:  # (the library's words name its keyword, resign=
            if not given and "no provider was detected" in str(exc):  # Resign(...): the
                raise ValueError(  # command's option is said)
                    f"capture #{cid} cannot be re-signed: no provider was detected for "
                    "it; say which with --provider NAME (e.g. --provider stripe)") from None
            raise


def _replay_stop_lines(args: argparse.Namespace, ids: Sequence[int], done: int,
                       on_way: int) -> list[str]:
    """What a stopped ``replay`` says of the captures it did not finish, in ``serve``'s words
    for its forwards (:func:`_forward_stop_lines`): ``ids[on_way]`` sent without an answer
    (unless ``on_way < done``), those after it (after ``ids[:done]``) never sent, with the
    ``hooklab replay`` command that sends them."""
    from .outbound.forward import ForwardsLeft, LeftForwards

    unanswered: tuple[LeftForwards, ...] = ()
    if on_way >= done:
        unanswered = (LeftForwards("", args.to, (ids[on_way],)),)
        done = on_way + 1
    rest = tuple(sorted(set(ids[done:])))
    left = ForwardsLeft(unsent=(LeftForwards("", args.to, rest),) if rest else (),
                        unanswered=unanswered)
    files = {"": args.resign_file} if args.resign_file is not None else {}
    providers = {"": args.provider} if args.provider is not None else {}
    return _forward_stop_lines(left, set(), bool(files), args.db, files, providers,
                               what="capture", who="replay", timeout=args.timeout)


def _check_ids(lab: Any, ids: Sequence[int]) -> None:
    """Raise, before anything is sent, what ``lab.get`` raises for the first of ``ids`` that
    names no capture (``KeyError``) or several (``ValueError``: a Parquet folder of several
    labs' exports): one query of the ids between the lowest and the highest, no bodies read.
    """
    if not ids:
        return
    wanted = set(ids)
    seen: dict[int, int] = {}
    for rows in lab.store.iter_rows("1", since=min(wanted) - 1, until=max(wanted)):
        for row in rows:
            if row[0] in wanted:
                seen[row[0]] = seen.get(row[0], 0) + 1
    for cid in ids:
        if seen.get(cid, 0) != 1:
            lab.get(cid)  # (raises: the error a replay of it would meet)


def _export(args: argparse.Namespace) -> int:
    from .export import export, export_format

    empty = _empty_filter(args)
    if empty:  # (a usage error: one line, exit 2, as a bad --since or --provider)
        print(f"hooklab: {empty}", file=sys.stderr)
        return 2
    # "-o -" is standard output, as "send --secret-file -" is standard input (it wrote a
    # file named "-"); a Parquet export is a folder of files, which no stream can hold
    to_stdout = not args.output or args.output == "-"
    # the format from -o's extension when --format is not given, as lab.export(path) and
    # %hooklab export pick it (it wrote HAR into captures.csv); standard output: HAR
    args.format = export_format(None if to_stdout else args.output, args.format,
                                option="--format")
    mistake = _export_target_mistake(args.format, args.output)
    if mistake:  # (a usage error: one line, exit 2, before the database is opened)
        print(f"hooklab: {mistake}", file=sys.stderr)
        return 2
    from .filters import from_options, option_words

    try:  # (a bad --since, --kind or --verified: exit 2, before the database is opened; a
        from_options(args)  # provider name is checked against it once it is)
    except ValueError as exc:  # (said as the option: the words named the keyword verified=)
        raise ValueError(option_words(str(exc))) from None
    if to_stdout and sys.stdout is None:  # (`>&-`: Python has no sys.stdout at all)
        print("hooklab: standard output is closed: nothing to write the export to "
              "(give -o FILE)", file=sys.stderr)
        return 1
    lab = _open_to_read(args.db)
    try:
        filters = from_options(args, provider_check=lab.store.provider_check)
        out: Any = None if to_stdout else args.output
        if not out:  # a data file is UTF-8 whatever the terminal's encoding (HAR, JSON Lines)
            out = sys.stdout
            if hasattr(sys.stdout, "buffer"):
                import io

                sys.stdout.flush()
                out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            n = export(lab.store, out, fmt=args.format, **filters)
            if to_stdout:
                out.flush()
            _finished()  # (written and in place: a signal from here on undoes nothing)
        except BrokenPipeError:  # (`| head`: the reader has what it wanted; main() says nothing)
            raise
        except OSError as exc:
            if not to_stdout:  # (a file: said by main(), the earlier file as it was)
                raise
            # (`1</dev/null`, `>/dev/full`: the same words as a send or replay that cannot
            # show its answers; it said "hooklab: [Errno 9] Bad file descriptor")
            print(f"hooklab: {_stdout_lost(exc)}: the export is not complete", file=sys.stderr)
            return 1
        finally:
            if out is not sys.stdout and to_stdout:
                out.detach()  # (stdout itself stays open; what waits was flushed above)
    finally:
        lab.stop()
    if not to_stdout:
        from .capture import n_captures

        print(f"wrote {n_captures(n)} to {args.output}", file=sys.stderr)
    return 0


def _export_target_mistake(fmt: str, output: str | None) -> str | None:
    """What is wrong with ``-o`` for ``--format``, in the command's words (None: nothing).
    A Parquet export is a folder of files: no ``-o``, ``-o -`` (standard output) and an ``-o``
    that is there and no folder cannot hold it; HAR, JSON Lines and CSV are one file, which an
    existing folder cannot be. Each was a different exit (1 or 2) with or without
    ``hooklab:``; now each is a usage error.

    >>> _export_target_mistake("parquet", "-")
    'export --format parquet needs -o FOLDER, not -o - (a Parquet export is a folder of files: it cannot go to standard output)'
    >>> _export_target_mistake("jsonl", "-") is None
    True
    """
    import os

    if fmt == "parquet":
        if not output:
            return ("export --format parquet needs -o FOLDER (a Parquet export is a folder of "
                    "files)")
        if output == "-":
            return ("export --format parquet needs -o FOLDER, not -o - (a Parquet export is a "
                    "folder of files: it cannot go to standard output)")
        if os.path.exists(output) and not os.path.isdir(output):
            what = "a file" if os.path.isfile(output) else "no folder"
            return (f"export --format parquet -o {output!r}: it is {what} (a Parquet export is "
                    "a folder of files: name a new or earlier export's folder)")
        return None
    if output and output != "-" and os.path.isdir(output):
        kind = {"har": "HAR", "jsonl": "JSON Lines", "csv": "CSV"}.get(fmt, fmt)
        return (f"export --format {fmt} -o {output!r}: it is a folder (a {kind} export is one "
                f"file: name a file, e.g. -o {os.path.join(output, 'captures.' + fmt)})")
    return None


def _output_arg(text: str) -> str:
    """An argparse type for ``export -o``: an empty value (an unset ``$OUT`` in ``-o "$OUT"``)
    is refused by name; it wrote the export to standard output."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the value is empty: give a file (a folder for parquet), or - for standard output")
    return text


def _empty_filter(args: argparse.Namespace) -> str | None:
    """What ``export`` says of a filter given an empty value (an unset ``$BIN`` in ``--bin
    "$BIN"``), None when none is: it would have meant no filter, every capture exported. Said
    in one ``hooklab:`` line, as the filters' other refusals (it was argparse's usage and
    error lines).

    >>> _empty_filter(argparse.Namespace(bin=["orders", " "], search=None))
    '--bin: the value is empty: give one, or leave the option out for every capture'
    """
    from .filters import FILTER_KEYS

    for key in FILTER_KEYS:
        given = getattr(args, key, None)
        if any(not text.strip() for text in ([given] if isinstance(given, str) else given or ())):
            return (f"--{key.replace('_', '-')}: the value is empty: give one, or leave the "
                    "option out for every capture")
    return None


def _open_to_read(db: str) -> Any:
    """The lab over ``db`` for ``export`` and ``replay``, which only read it: a file that
    is not there, or is empty (no database was ever written into it), is refused alike
    (``FileNotFoundError``, by ``hooklab.open``). Opening an empty file made a database of
    it (69,632 bytes, mode 0600), so that a command that reads changed its input."""
    from .core import open_lab

    return open_lab(db)


def _database_error(args: argparse.Namespace, exc: Exception) -> str:
    """One line for an SQLite error met while reading ``--db`` (e.g. "database is locked":
    another connection holds it beyond SQLite's busy wait), naming the file."""
    db = getattr(args, "db", None)
    text = f"{db!r}: {exc}" if db else str(exc)
    if "locked" in str(exc) or "busy" in str(exc):
        text += " (another program holds a lock on it: try again once it is done)"
    return text


class _Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so an export's temporary file is removed and
    the store closed (the default action ended the process where it stood)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: the stop signals that main()'s handlers raised as exceptions, in this run of main(): one
#: that some code caught and went on from (a C extension calling back into Python clears what
#: a callback raised) was lost, and `hooklab serve` served on after its Ctrl-C or SIGTERM, for
#: ever; serve looks here once its own handlers are set (see _serve)
_RAISED: list[int] = []


def _stopped(signum: int, frame: object) -> None:
    _RAISED.append(signum)
    raise _Stopped(signum)


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C (the ``hooklab`` program's SIGINT handler): Python's own, and noted."""
    _RAISED.append(signum)
    raise KeyboardInterrupt


class _Parser(argparse.ArgumentParser):
    """The ``hooklab`` command's parsers (its commands' too: subparsers are of the parser's
    class). No prefix abbreviations: ``serve --secret stripe=whsec_...`` (``--secret`` is
    ``send``'s) was read as ``--secret-file`` and its error quoted the secret as a file name,
    ``replay --resign whsec_...`` likewise as ``--resign-file``; an option written in part
    is now unknown, and said as such (its value as its length). An error about an option
    whose name says credential says its value as its length too (``serve
    --resign=whsec_...``: "ignored explicit argument <hidden: 11 characters>")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from .credentials import shown_option_error

        super().error(shown_option_error(message))

    def _print_message(self, message: str, file: Any = None) -> None:
        # (argparse drops an error of the write: `hooklab --version >/dev/full` said nothing
        # and exited 0, its output lost; written and flushed here, an error is kept for
        # _command, which says it, exit 1, as export does)
        if not message:
            return
        file = file or sys.stderr
        try:
            file.write(message)
            if file is sys.stdout:
                file.flush()
        except (AttributeError, OSError) as exc:
            if file is sys.stdout and isinstance(exc, OSError):
                _UNWRITTEN.append(exc)


#: an error writing --help or --version to standard output (see _Parser._print_message)
_UNWRITTEN: list[OSError] = []


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__
    from .core import DEFAULT_DB
    from .filters import add_options
    from .server.lifecycle import DEFAULT_MAX_BODY

    p = _Parser(
        prog="hooklab",
        description="Capture, inspect, verify, replay and analyse webhooks.",
        epilog="Run 'hooklab COMMAND --help' for a command's options.",
    )
    # (answered before the required COMMAND is asked for: it exited 2, "the following
    # arguments are required: COMMAND")
    p.add_argument("--version", action="version", version=f"hooklab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run a capture server and print one line per capture")
    s.add_argument("--host", type=_host_arg, default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; an IPv6 one as ::1 or [::1])")
    s.add_argument("--port", type=_int_in(0, 65535), default=8765,
                   help="port (default 8765; 0 = any free); a taken port moves to the next "
                   "free one with a warning, as Jupyter's does")
    s.add_argument("--strict-port", action="store_true",
                   help="fail when --port is taken instead of moving on")
    s.add_argument("--db", type=_db_arg, default=DEFAULT_DB,
                   help=f"capture database (default {DEFAULT_DB})")
    s.add_argument("--max-body", type=_int_in(0, None), default=DEFAULT_MAX_BODY,
                   metavar="BYTES", help="largest body in bytes; a larger one gets 413 "
                   f"(default {DEFAULT_MAX_BODY}: {DEFAULT_MAX_BODY / (1 << 20):g} MiB)")
    s.add_argument("--max-connections", type=_int_in(1, None), default=None, metavar="N",
                   help="connections open at once; one more closes the one idle longest, or "
                   "gets 503 when all are busy (default: half of 'ulimit -n', at most 8192; "
                   "more than half of 'ulimit -n' is lowered to it, with a warning)")
    s.add_argument(
        "--forward", action="append", metavar="BIN=URL",
        help="relay captures of BIN to URL (repeat for other bins: one URL per bin)"
    )
    s.add_argument("--timeout", type=_seconds, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="seconds a --forward target has to answer before the forward is "
                   "FAILED (timed out) (default 10)")
    s.add_argument(
        "--resign", action="store_true",
        help="sign each forward afresh for its target with its bin's --secret-file secret "
        "(a URL-signed provider, Twilio, verifies at the app then)"
    )
    s.add_argument(
        "--secret-file", action="append", metavar="BIN=FILE",
        help="verify captures of BIN with the signing secret in FILE (a leading byte order "
        "mark and trailing line breaks dropped; never on the command line, where other users see it): each line then says "
        "verified or SIGNATURE-INVALID"
    )
    s.add_argument(
        "--provider", action="append", metavar="BIN=NAME",
        help="the provider that sends to BIN (github, stripe, slack, ...): how its signature is "
        "checked and its endpoint handshake answered; without it, the one detected"
    )
    s.add_argument("--quiet", action="store_true",
                   help="do not print a line per capture or per forward; a failed forward is "
                   "still said, on stderr (10 a second at most)")
    s.add_argument(
        "--durability",
        choices=("full", "normal"),
        default="full",
        help="full: fsync every group commit (default); normal: survives a process crash only",
    )
    s.add_argument("--retention-count", type=_retention_count, default=None, metavar="N",
                   help="keep only the newest N captures (1 or more), trimmed about once a "
                   "second (default: keep every capture)")
    s.add_argument("--retention-age", type=_duration, default=None, metavar="AGE",
                   help="delete captures older than AGE: seconds (3600) or a number and a "
                   "unit, s, m, h or d (90s, 30m, 12h, 7d; at most 36500d) (default: keep "
                   "captures of any age)")
    s.set_defaults(func=_serve)

    se = sub.add_parser("send", help="send a realistic (optionally signed) sample webhook")
    se.add_argument("url", help="where to send it, e.g. http://127.0.0.1:8765/github")
    se.add_argument("--provider", help="github, stripe, shopify, slack, standardwebhooks, ...")
    se.add_argument("--event", help="event type, e.g. push or payment_intent.succeeded")
    se.add_argument("--secret", help="sign with this secret (other local users can read a "
                    "command line: prefer --secret-file or $HOOKLAB_SECRET)")
    se.add_argument("--secret-file", metavar="FILE",
                    help="sign with the secret in FILE ('-': standard input; a leading byte "
                    "order mark and trailing line breaks dropped)")
    se.add_argument("--data", metavar="JSON",
                    help="a JSON object: the body, sent as written (Content-Type: "
                    "application/json); with --provider, merged into the sample's payload "
                    "(deep merge); @FILE: the JSON in FILE, every byte as in the file "
                    "(@-: standard input), as curl reads -d @FILE")
    se.add_argument("--header", action="append", metavar="NAME:VALUE",
                    help="extra header (repeat: each is sent, in order, as curl -H does; "
                    "NAME: leaves that header out, NAME; sends it with an empty value)")
    se.add_argument("--timeout", type=_seconds, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                    help="seconds the whole exchange may take, 0.1 to 86400 (default 10)")
    se.set_defaults(func=_send)

    r = sub.add_parser("replay", help="re-send stored captures exactly")
    r.add_argument("--db", type=_db_arg, default=DEFAULT_DB,
                   help=f"capture database or Parquet export folder (default {DEFAULT_DB})")
    r.add_argument("--id", type=_ids_arg, action="extend", required=True,
                   help="capture id, a range of them (13-40) or several (3,5,9-12); repeat "
                   "for more. Sent in the order given; a range skips the ids named before it "
                   "(1-3,2-4 sends 1, 2, 3, 4), an id written alone is sent each time (2,2: "
                   "twice)")
    r.add_argument("--to", required=True, help="target URL, e.g. http://127.0.0.1:5000/webhook")
    r.add_argument("--timeout", type=_seconds, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="seconds the target has to answer each capture (default 10)")
    r.add_argument("--resign-file", metavar="FILE", default=None,
                   help="sign each capture afresh with the secret in FILE ('-': standard input) "
                   "for --to, body and delivery id kept: a replay past the signature's time "
                   "window (Stripe's 300 s) or to a URL-signed provider's app (Twilio)")
    r.add_argument("--provider", metavar="NAME", default=None,
                   help="with --resign-file (refused without it): sign as NAME (default: "
                   "each capture's detected provider)")
    r.set_defaults(func=_replay)

    e = sub.add_parser("export", help="export captures as HAR, JSON Lines, CSV or Parquet")
    e.add_argument("--db", type=_db_arg, default=DEFAULT_DB,
                   help=f"capture database or Parquet export folder (default {DEFAULT_DB})")
    e.add_argument("--format", choices=("har", "jsonl", "csv", "parquet"),
                   help="default: from -o's extension (parquet: a folder); har on standard "
                   "output")
    e.add_argument("-o", "--output", type=_output_arg,
                   help="file to write (default, or '-': standard output); a folder for parquet")
    # the filters of %hooklab export and lab.export(**filters), by the same names
    add_options(e, helps={"since": (
        "only captures after this capture id or time (ISO 8601, UTC unless it has an offset; "
        "parquet: default, after the last export)")})
    e.set_defaults(func=_export)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hooklab`` command: its exit code.

    Ctrl-C, SIGTERM and SIGHUP stop it cleanly at any moment, from the first line of
    hooklab that runs (a signal that comes while Python is still loading the command is acted
    on as soon as it can be): one line (``hooklab: interrupted``, ``hooklab: stopped by
    SIGTERM``), exit 128 + the signal's number, no traceback; ``serve`` once serving exits 0.
    A command whose work is done (an export written and in place) is not undone by a signal
    that comes after: it exits as that work says.

    >>> main(["--version"])  # doctest: +SKIP
    hooklab 0.1.0
    """
    stops = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    stops = [n for n in stops if n not in _IGNORED_AT_START  # (nohup)
             and signal.getsignal(n) is not signal.SIG_IGN]
    if threading.current_thread() is not threading.main_thread():
        stops = []  # (only the main thread may set handlers)
    before: dict[int, Any] = {}
    del _RAISED[:]
    try:
        if _PROGRAM:  # the handlers the command runs with, in place of those that held back
            # a signal while Python loaded it; one that came meanwhile is acted on now
            for n in stops:
                signal.signal(n, _stopped)
            if signal.SIGINT not in _IGNORED_AT_START:
                signal.signal(signal.SIGINT, _interrupted)
            if _EARLY:
                if _EARLY[0] == signal.SIGINT:
                    raise KeyboardInterrupt
                raise _Stopped(_EARLY[0])
        else:  # (serve sets its own)
            before = {n: signal.signal(n, _stopped) for n in stops}
        return _command(argv)
    except KeyboardInterrupt:  # Ctrl-C: what was done is said; a temporary file is removed
        return _said_stopped(signal.SIGINT)
    except _Stopped as exc:
        return _said_stopped(exc.signum)
    except Exception as exc:
        # (one raised while a class was being made, in an import, comes wrapped: Python 3.11's
        # "RuntimeError: Error calling __set_name__ ..." from a KeyboardInterrupt)
        cause = _interrupt_in(exc)
        if cause is not None:
            return _said_stopped(getattr(cause, "signum", signal.SIGINT))
        raise
    finally:
        if _PROGRAM:  # what is left is Python's own exit: a signal now changes nothing (it
            _finished()  # said "interrupted", 130, of an export written and announced)
        for n, handler in before.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(n, signal.SIG_DFL if handler is None else handler)


def _option_names(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and of its commands' parsers (``--secret-file``...)."""
    names: set[str] = set()
    for action in parser._actions:  # (argparse keeps them there, and its subparsers'
        names.update(action.option_strings)  # in the choices of its _SubParsersAction)
        choices = action.choices if isinstance(action.choices, dict) else {}
        for sub in choices.values():
            if isinstance(sub, argparse.ArgumentParser):
                names |= _option_names(sub)
    return names


def _interrupt_in(exc: BaseException) -> BaseException | None:
    """The Ctrl-C (``KeyboardInterrupt``) or stop signal (:class:`_Stopped`) that ``exc``
    came from, if it did: one raised where Python cannot let it through as it is comes out
    as another exception, with it as its context (a class being made in an import: "Error
    calling __set_name__"; a ``threading`` wait that the interrupt left without its lock:
    "release unlocked lock"). None when ``exc`` is an error of its own."""
    cause: BaseException | None = exc
    for _ in range(8):
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
        if isinstance(cause, KeyboardInterrupt | _Stopped):
            return cause
    return None


def _said_stopped(signum: int) -> int:
    """A stop signal ended the command: said in one line; the exit code (128 + its number)."""
    _finished()  # (a second one while this is said: no traceback)
    if signum == signal.SIGINT:
        print("hooklab: interrupted", file=sys.stderr)
    else:
        print(f"hooklab: stopped by {signal.Signals(signum).name}", file=sys.stderr)
    return 128 + signum


def _command(argv: Sequence[str] | None) -> int:
    """The command line ``argv`` (None: ``sys.argv``) parsed and run: its exit code; what goes
    wrong said in one line."""
    import sqlite3

    from .store.store import StoreError

    parser = build_parser()
    del _UNWRITTEN[:]
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # (--help, --version: written, or said that it could not be)
        if _UNWRITTEN and exc.code in (0, None):
            said = _stdout_lost(_UNWRITTEN[0])  # (a reader gone, `| head -0`: silent, as
            if not isinstance(_UNWRITTEN[0], BrokenPipeError):  # for an export)
                print(f"hooklab: {said}", file=sys.stderr)
            return 1
        raise
    if extra:  # (argparse's own words quote every one: `hooklab send URL --token sk_live_...`
        from .credentials import shown_words  # went to the terminal and CI logs as typed)

        parser.error(f"unrecognized arguments: {shown_words(extra, _option_names(parser))}")
    errors_were = {}
    for stream in (sys.stdout, sys.stderr):  # a terminal that is not UTF-8 (LC_ALL=C,
        try:  # PYTHONIOENCODING=latin-1) gets escapes, not an error, for what it cannot show
            errors_were[stream] = stream.errors
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            errors_were.pop(stream, None)
    import warnings

    def one_line(message: Warning | str, *_: object, **__: object) -> str:  # (not the source line)
        text = str(message)
        if text.startswith("hooklab is "):  # ("hooklab is binding 0.0.0.0: ...", the library's
            text = text[len("hooklab is "):]  # sentence: "hooklab: binding ..." as the others)
        return (text if text.startswith("hooklab:") else f"hooklab: {text}") + "\n"

    was = warnings.formatwarning
    warnings.formatwarning = one_line  # type: ignore[assignment]
    try:
        return int(args.func(args) or 0)
    except (StoreError, FileNotFoundError) as exc:
        print(f"hooklab: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # (export, replay: a raw traceback, after the busy wait)
        print(f"hooklab: {_database_error(args, exc)}", file=sys.stderr)
        return 1
    except (LookupError, ValueError) as exc:  # e.g. no capture with that id, a bad --since
        print(f"hooklab: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `hooklab export ... | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (no error at exit)
        return 1
    except OSError as exc:  # a folder, a full disk, no permission: said in one line
        print(f"hooklab: {exc}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = was  # (main() called in a process of its own: as it was)
        for stream, errors in errors_were.items():  # (main() called in a program: as it was)
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors=errors)  # type: ignore[union-attr]

if __name__ == "__main__":
    raise SystemExit(main())
