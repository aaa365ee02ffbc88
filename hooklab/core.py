"""``HookLab``: one config object, a store and (optionally) a capture server.

>>> lab = HookLab(port=0, db=":memory:").start()
>>> lab
<HookLab hooklab listening on http://127.0.0.1:... (db :memory:, 0 captures)>
>>> hooklab.send(lab.url_for("github"), provider="github", event="push").status
200
>>> lab.wait(1, timeout=10)
[<Capture #1 POST /github 200 ...B push at ...>]
>>> lab.dataframe()[["id", "bin", "method", "provider", "event_type", "status"]]
   id     bin method provider event_type  status
0   1  github   POST   github       push     200
>>> lab.stop()
"""

from __future__ import annotations

import atexit
import contextlib
import math
import numbers
import os
import sqlite3
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import (
    Bool,
    Enum,
    Float,
    Int,
    List,
    TraitError,
    TraitType,
    Unicode,
    observe,
    validate,
)
from traitlets.config import Configurable

from . import ingress
from .capture import Capture, bin_of, header_text_as_sent, n_captures, printable, target_as_sent
from .filters import check_bin, describe, is_capture_id
from .providers import TABLE, unknown_provider
from .server.lifecycle import (
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_IN_FLIGHT,
    FIRST_BYTE_TIMEOUT,
    CaptureServer,
    ServerError,
    bind_address,
    server_url,
    user_stacklevel,
)
from .server.responses import ResponseRules
from .signatures import check_secret
from .signatures.book import SecretBook
from .store.store import CaptureStore, check_retention
from .store.view import CaptureView

if TYPE_CHECKING:
    import pandas as pd

    from .outbound.forward import ForwardsLeft

__all__ = [
    "DEFAULT_DB",
    "HookLab",
    "default_lab",
    "open_lab",
    "set_default",
    "start_default",
    "stop_default",
]

DEFAULT_DB = ".hooklab/captures.sqlite3"
_ALL_LABS: weakref.WeakSet[HookLab] = weakref.WeakSet()


class ForwardLoopError(ValueError):
    """A forward (``lab.forward(bin, to=...)``) found to lead back into the lab only once it was
    bound, on a port other than the one asked for: :meth:`HookLab.start` raises it and serves
    nothing. ``bin`` and ``target`` name the forward.

    >>> mine = HookLab(port=8765, db=":memory:")  # 8765 taken: it takes 8766  # doctest: +SKIP
    >>> mine.forward("a", "http://127.0.0.1:8766/a")                         # doctest: +SKIP
    >>> mine.start()                                                        # doctest: +SKIP
    Traceback (most recent call last):
    ...
    hooklab.core.ForwardLoopError: forwarding bin 'a' to http://127.0.0.1:8766/a would send every capture back to itself (port 8765 was in use: this lab listens on 8766)
    """

    def __init__(self, message: str, bin: str, target: str) -> None:
        super().__init__(message)
        self.bin, self.target = bin, target


class SettingsRefused(Exception):
    """Settings a lab could not take (:meth:`HookLab._apply`), all of them put back: why,
    and where the lab goes on. ``%hooklab start`` says it as a ``UsageError``, a trait
    set (``lab.db = ...``, ``%config HookLab.db``) as a :class:`~traitlets.TraitError`.

    >>> str(SettingsRefused(OSError("no room"), HookLab(db=":memory:"), {"db": ":memory:"}))
    "no room; the lab goes on as it was (not serving, db ':memory:')"
    """

    def __init__(self, cause: BaseException, lab: HookLab, before: dict[str, Any]) -> None:
        where = f"serving at {lab.server.url}" if lab.is_running else "not serving"  # type: ignore[union-attr]
        kept = "".join(f", {k} {v!r}" for k, v in before.items())
        super().__init__(f"{printable(str(cause), 300)}; the lab goes on as it was "
                         f"({where}{kept})")
        self.cause = cause

    def trait_error(self, change: Any) -> TraitError:
        """As a trait set says it: ``HookLab.db = 'x' refused: <why>; the lab goes on...``."""
        return self.settings_error({change["name"]: change["new"]})

    def settings_error(self, settings: dict[str, Any]) -> TraitError:
        """As a config of several settings says it: ``HookLab.db = 'x', HookLab.port = 1
        refused: <why>; the lab goes on...``."""
        given = ", ".join(f"HookLab.{k} = {v!r}" for k, v in settings.items())
        return TraitError(f"{given} refused: {self}")


class _Moving(TraitType):  # type: ignore[type-arg]
    """A setting that moves an open lab (``lab.db = ...``, ``lab.port = ...``): the move is
    made by :meth:`HookLab._apply` before the value is taken, as one change. Made by the
    trait's observer after traitlets had taken it, a Ctrl-C as the observer began left
    ``lab.db`` saying the new file while the lab went on with the old one."""

    def set(self, obj: Any, value: Any) -> None:
        move = getattr(obj, "_move_to", None)
        if move is None or not move(self.name, value):
            super().set(obj, value)


class _MovingUnicode(_Moving, Unicode):  # type: ignore[misc]
    """``db``, ``host``: see :class:`_Moving`."""


class _MovingInt(_Moving, Int):  # type: ignore[misc]
    """``port``: see :class:`_Moving`."""


class _MovingEnum(_Moving, Enum):  # type: ignore[misc]
    """``durability``: see :class:`_Moving`."""


class _Retention(TraitType):  # type: ignore[type-arg]
    """``retention_count``, ``retention_age``: a value is taken as the store takes it
    (:func:`~hooklab.store.store.check_retention`), or refused saying that ``None`` turns
    retention off (``0`` was taken, and kept every capture). Refused, it is never set: a lab
    goes on with the value it had, a ``%config`` of several settings changes none."""

    def validate(self, obj: Any, value: Any) -> Any:
        try:
            return check_retention(self.name, value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise TraitError(f"HookLab.{exc}") from None


class _RetentionInt(_Retention, Int):  # type: ignore[misc]
    """``retention_count``: see :class:`_Retention` (``Int``: read from a command line's
    ``--HookLab.retention_count=1000`` as a number)."""


class _RetentionFloat(_Retention, Float):  # type: ignore[misc]
    """``retention_age``: see :class:`_Retention`."""


class _Timeout(Float):  # type: ignore[misc]
    """``forward_timeout``, ``idle_timeout``, ``first_byte_timeout``, ``body_timeout``,
    ``stream_write_timeout``: seconds, taken as ``lab.replay`` and ``hooklab serve --timeout``
    take them (:func:`~hooklab.outbound.sender.check_timeout`: 0.1 to 86400), or refused:
    ``NaN`` and ``inf`` (every forward failed "timed out after nan s"), a ``bool`` (``True``
    was 1 s), text, 0 or less (``body_timeout = -1`` answered 408 to a body 0.5 s behind its
    head, ``first_byte_timeout = 0`` turned the slow-client guard off, ``idle_timeout = -5``
    left a keep-alive connection's second request unanswered). Refused, it is never set."""

    def validate(self, obj: Any, value: Any) -> Any:
        from .outbound.sender import check_timeout  # (imported when set: hooklab stays light)

        try:
            return check_timeout(value)
        except ValueError as exc:
            raise TraitError(f"HookLab.{self.name}: {exc}") from None


class _Uninterrupted:
    """``work()`` done once, to its end, whatever comes meanwhile: on a thread of its own,
    which a Ctrl-C (a KeyboardInterrupt, raised in the main thread only) never reaches.
    :meth:`run` begins it and waits for its end; called again after an interrupt (as it began,
    or while it waited) it waits for the same work, begun only if it never was.

    >>> done = []
    >>> closing = _Uninterrupted(lambda: done.append(1))
    >>> closing.run(); closing.run(); done
    [1]
    """

    def __init__(self, work: Callable[[], None]) -> None:
        self._work = work
        self._taken = threading.Lock()  # (by the thread that does the work)
        self._threads: list[Any] = []
        self.done = False
        self.error: BaseException | None = None

    def _do(self) -> None:
        if not self._taken.acquire(blocking=False):  # (another thread does it)
            return
        try:
            self._work()
        except BaseException as exc:  # (said by run(), in the thread that waits)
            self.error = exc
        finally:
            self.done = True

    def run(self) -> None:
        if not self._taken.locked():
            t = threading.Thread(target=self._do, name="hooklab-closing", daemon=True)
            self._threads.append(t)
            t.start()
        while not self.done:  # (no lock waited on here: a Ctrl-C as one is taken keeps it)
            time.sleep(0.002)
        for t in self._threads:  # (ended: no thread of it outlives run())
            if t.is_alive():
                t.join()
        if self.error is not None:
            raise self.error


class HookLab(Configurable):
    """A webhook lab: capture server + persistent store + analysis helpers.

    Configure with traitlets (``%config HookLab.port = 9000``) or keyword arguments; as a
    context manager it starts, then stops (and closes its database) at the end of the block:

    >>> with HookLab(port=0, db=":memory:", max_body=1024) as small:
    ...     print(hooklab.send(small.url_for("notes"), payload="hello").status)
    ...     print(hooklab.send(small.url_for("notes"), payload="x" * 2048).status)  # > max_body
    ...     print(small.wait(1)[-1].text)
    200
    413
    hello
    >>> small.is_running
    False

    ``hooklab.start()`` makes the default lab (``hooklab.lab()``, what ``%hooklab`` uses);
    ``HookLab(...).start()`` one more beside it.
    """

    host = _MovingUnicode("127.0.0.1", help="Address to bind; 127.0.0.1 keeps captures private.").tag(
        config=True
    )
    port = _MovingInt(8765, min=0, max=65535, help="Port to listen on (0: any free port).").tag(config=True)

    @validate("host")
    def _host_valid(self, proposal: Any) -> str:
        # an IPv6 address spelt as in a URL (``[::1]``) is bound as ``::1``, as by the CLI
        try:
            return bind_address(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from None
    strict_port = Bool(
        False, help="Fail when the port is in use, instead of listening on the next free one."
    ).tag(config=True)
    db = _MovingUnicode(
        DEFAULT_DB, help="SQLite capture database (relative to the working directory) or :memory:."
    ).tag(config=True)
    max_body = Int(DEFAULT_MAX_BODY, min=0, help="Largest body accepted; bigger ones get 413.").tag(
        config=True
    )
    max_in_flight = Int(
        DEFAULT_MAX_IN_FLIGHT, min=0,
        help="Bytes of request bodies (and unfinished heads) all connections may hold at once; "
        "a request that would go over it gets 503 with Retry-After (never less than max_body and a head).",
    ).tag(config=True)
    durability = _MovingEnum(
        ["full", "normal"],
        "full",
        help="'full': fsync each group commit (survives power loss); 'normal': survives a "
        "process crash only, faster on slow disks.",
    ).tag(config=True)
    allowed_hosts = List(
        Unicode(),
        help="Host names (besides loopback) the /_hooklab/ API, page and stream answer to, "
        "e.g. behind jupyter-server-proxy; ['*'] allows any (no DNS-rebinding protection).",
    ).tag(config=True)
    retention_count = _RetentionInt(
        None, allow_none=True, help="Keep only the newest N captures (1 or more; None: off)."
    ).tag(config=True)
    retention_age = _RetentionFloat(
        None, allow_none=True, help="Drop captures older than N seconds (more than 0; None: off)."
    ).tag(config=True)
    idle_timeout = _Timeout(
        120.0, help="Close a keep-alive connection idle this many seconds."
    ).tag(config=True)
    first_byte_timeout = _Timeout(
        FIRST_BYTE_TIMEOUT,
        help="Close a new connection that has sent nothing within this many seconds.",
    ).tag(config=True)
    max_connections = Int(
        None, allow_none=True, min=1,
        help="Connections open at once (WebSocket streams included); one more closes the one "
        "idle longest (or an upload stalled for 2 s, or one whose answers went unread for 2 s), "
        "or gets 503 when all are busy. None: half "
        "the soft limit of open files (ulimit -n), at most 8192, so a flood of connections "
        "cannot leave the kernel unable to open a file. A number above half that limit is "
        "lowered to it, with a warning (past it, connections would take every descriptor "
        "before the limit is reached, and a new one is reset unanswered).",
    ).tag(config=True)
    body_timeout = _Timeout(
        60.0, help="Answer 408 when a request body does not arrive within this many seconds."
    ).tag(config=True)
    forward_timeout = _Timeout(
        10.0,
        help="Seconds a forward target (lab.forward) has to answer; after that the capture's "
        "forward is recorded as failed (timed out). Raise it for a local app that takes longer.",
    ).tag(config=True)
    stream_origins = List(
        Unicode(),
        help="Browser origins (besides the page's own local host) allowed to open the "
        "/_hooklab/ws stream, e.g. ['http://localhost:3000']; ['*'] allows any.",
    ).tag(config=True)
    stream_max_pending = Int(
        1000, min=1, help="Stream: captures queued for one slow client before it is cut off."
    ).tag(config=True)
    stream_max_pending_bytes = Int(
        16 * 1024 * 1024, min=1, help="Stream: bytes queued for one slow client before it is cut off."
    ).tag(config=True)
    stream_write_timeout = _Timeout(
        30.0, help="Stream: seconds a client may take to accept a write before it is cut off."
    ).tag(config=True)
    handshakes = Bool(
        True,
        help="Answer endpoint handshakes (Slack url_verification, Zoom, Meta hub.challenge, "
        "Microsoft Graph, ...) automatically; a response rule for the bin always wins.",
    ).tag(config=True)
    redact_credentials = Bool(
        True,
        help="Store Cookie, X-XSRFToken and Jupyter-style 'Authorization: token ...' headers "
        "as [redacted] (a browser opening a capture URL sends Jupyter's login cookie). "
        "Webhook credentials such as Basic or Bearer are kept, but a bin's secret sent "
        "in them is stored as [secret] (lab.secret).",
    ).tag(config=True)

    @observe("handshakes")
    def _handshakes_changed(self, change: Any) -> None:
        if getattr(self, "_secrets", None) is not None:  # set before __init__ ends
            self._secrets.handshakes = bool(change["new"])

    def __init__(self, **kwargs: Any) -> None:
        from .server.guard import new_token

        self.server: CaptureServer | None = None
        self._api_token = new_token()
        self._relay_nonce = new_token()
        self._memory_gone = False  # stop() closed an in-memory store: its captures are gone
        self._undoing = False  # a refused setting is being put back: the observers let it be
        #: (host, port asked for, port listened on) of a lab that listened elsewhere than it
        #: asked (port=0, or a taken port it moved past) until stop_serving(): start() takes
        #: that port again while host and port are still the ones asked for then
        self._last_bound: tuple[str, int, int] | None = None
        #: (host, port asked for, URL) of the server stop_serving() stopped: while host and
        #: port are still those, the address the lab listens on again (see _home_url)
        self._last_url: tuple[str, int, str] | None = None
        #: made by hooklab.open() and not served since (nor stopped): the status line says so
        self._opened = False
        super().__init__(**kwargs)
        self._secrets = SecretBook()
        self._secrets.handshakes = self.handshakes
        self._made_handshakes = self.handshakes  # (what reset() goes back to)
        self.rules = ResponseRules()
        self._store: CaptureStore | None = None
        self._forwarder: Any = None
        self._forwards_left: Any = None  # (what the last forwarder closed left: forwards_left)
        self._views: weakref.WeakSet[Any] = weakref.WeakSet()
        #: stopped by %unload_ext / %reload_ext hooklab (see _not_replaced)
        self._unloaded = False
        #: views a newer lab.live() replaced: one line each still on screen, closed at stop
        self._replaced: weakref.WeakSet[Any] = weakref.WeakSet()
        _ALL_LABS.add(self)

    def update_config(self, config: Any) -> None:
        """Apply ``config`` (traitlets; IPython's ``%config HookLab.port = 9000`` calls this).

        A value that cannot be applied (an address that cannot be bound, a ``db`` that is a
        folder or no database) is refused with :class:`~traitlets.TraitError` and the lab
        stays as it was, serving on the same port. IPython's ``%config`` only logs what a
        configurable raises (``ERROR:root:...``) and the cell succeeded, so "Run All" went on
        with a lab left stopped: from ``%config`` the refusal is shown as a ``UsageError``
        and the cell fails (its reply status is ``error``), as ``%hooklab start`` does, and
        the value is taken out of ``config``, so that the shell's configuration, which a lab
        made later (``%reload_ext hooklab``) starts from, does not keep it either.
        """
        import sys

        try:
            together = self._moves_in(config)
            if together:  # (one change, made whole or not at all: traitlets sets them one
                import copy  # after the other, and a db moved before a port was refused)

                rest = copy.deepcopy(config)  # (the config's other settings first: a
                for k in together:  # strict_port=True given with the port decides the move)
                    del rest[type(self).__name__][k]
                super().update_config(rest)
                try:
                    self._apply(together)
                except SettingsRefused as refused:
                    raise refused.settings_error(together) from refused.cause
            super().update_config(config)  # (the settings above are the lab's now: no change)
        except TraitError as exc:
            caller = sys._getframe(1).f_globals.get("__name__")
            said = str(exc)
            if "the lab goes on as it was" not in said:  # (a value the trait itself refused)
                where = f"serving at {self.server.url}" if self.is_running else "not serving"  # type: ignore[union-attr]
                said += f"; nothing was changed ({where})"
                exc.args = (said, *exc.args[1:])  # (said when called directly too)
            if caller != "IPython.core.magics.config" or not _fail_the_cell(said):
                raise
            with contextlib.suppress(Exception):  # (the configurables after this one,
                config.pop(type(self).__name__, None)  # the shell among them, get nothing)

    def _move_to(self, name: str, value: Any) -> bool:
        """Whether setting ``name`` to ``value`` moves the lab (:meth:`_moves_for`), moved
        now by :meth:`_apply` as one change: the traits ``db``, ``durability``, ``port`` and
        ``host`` ask this before they take a value (:class:`_Moving`)."""
        if self.__dict__.get("_undoing", True) or self._cross_validation_lock:  # (_apply's
            return False  # own, or config being loaded: see update_config)
        moves = self._moves_for({name: value})
        if not moves:
            return False
        try:
            self._apply(moves)
        except SettingsRefused as refused:
            raise refused.settings_error(moves) from refused.cause
        if name in ("port", "host"):
            ingress.refresh(self)  # same public URL, new port
        return True

    def _moves_for(self, values: dict[str, Any]) -> dict[str, Any]:
        """Those of ``values`` (validated as the traits do: a value they refuse raises their
        :class:`~traitlets.TraitError`) that move the lab: a new ``db`` or ``durability`` of
        one whose database is open, a new ``port`` or ``host`` of a serving one."""
        moves = {}
        for k, v in values.items():
            v = getattr(type(self), k)._validate(self, v)
            if v != getattr(self, k) and (self.is_running if k in ("port", "host") else
                                          getattr(self, "_store", None) is not None):
                moves[k] = v
        return moves

    def _moves_in(self, config: Any) -> dict[str, Any]:
        """The settings of ``config`` that move an open lab (:meth:`_moves_for`), which
        :meth:`update_config` applies as one change (:meth:`_apply`) before the rest; one to
        another database together with another that restarts it (``db`` or ``durability``
        with ``port`` or ``host``) as given: ``{}`` unless there are such."""
        from traitlets.config import LazyConfigValue

        if getattr(self, "_store", None) is None:
            return {}
        section = dict.get(config, type(self).__name__) if isinstance(config, dict) else None
        if not isinstance(section, dict):
            return {}
        values = {k: dict.get(section, k) for k in ("db", "durability", "port", "host")
                  if k in section}
        if any(isinstance(v, LazyConfigValue) for v in values.values()):
            return {}
        values = {k: v for k, v in values.items() if v != getattr(self, k)}
        if not ({"db", "durability"} & set(values) and {"port", "host"} & set(values)):
            # (taken by traitlets and moved by the observers, a Ctrl-C as one began left the
            # setting taken and the lab where it was)
            return self._moves_for(values)
        return values

    # -- store / server ----------------------------------------------------------------------
    @property
    def db_path(self) -> str:
        """The database as an absolute path (a relative ``db`` is read from the working
        directory), or ``":memory:"``.

        >>> lab.db_path
        ':memory:'
        >>> HookLab(db="captures.sqlite3").db_path       # nothing is opened yet
        '/.../captures.sqlite3'
        """
        if self.db == ":memory:":
            return ":memory:"
        return str(Path(os.path.expanduser(self.db)).absolute())

    @property
    def store(self) -> CaptureStore:
        """The :class:`~hooklab.store.CaptureStore` underneath (opened on first use): counts
        and queries without building :class:`Capture` objects or DataFrames.

        >>> lab.store.count(), lab.store.count(provider="github")
        (1, 0)
        """
        if self._store is None:
            if self._memory_gone:  # (an empty store opened silently read as "no captures")
                raise RuntimeError("this lab was stopped and its captures were in memory "
                                   "(db=':memory:'): they are gone; lab.start() begins anew, "
                                   "a file db keeps them")
            # the lab holds it before it opens, and it closes what it opened if its opening
            # fails (a Ctrl-C too): a Ctrl-C just as "CaptureStore(...)" returned left a store
            # open, its threads and its file, that nothing held or closed
            store = CaptureStore.__new__(CaptureStore)
            self._store = store
            try:
                store.__init__(  # type: ignore[misc]
                    self.db_path,
                    retention_count=self.retention_count,
                    retention_age=self.retention_age,
                    secrets=self._secrets,
                    durability=self.durability,
                )
            except BaseException:  # (one that failed closed what it opened: not the lab's;
                # one interrupted just after it opened is, and is closed as the lab's)
                if self._store is store and getattr(store, "_closed", True):
                    self._store = None
                    # a connection it made and did not hold yet (a Ctrl-C just as it was
                    # made) is held only by its own statement cache: collected now, it lets
                    # the file go, which a failed start or move then removes (it was left)
                    import gc

                    gc.collect()
                raise
        return self._store

    def _not_replaced(self, call: str) -> None:
        """``RuntimeError`` when ``%reload_ext hooklab`` (or ``%unload_ext``, then
        ``%load_ext``) stopped this lab and another serves as ``hooklab.lab()``: a secret,
        answer or forward set here went nowhere, without a word, ``url_for`` advised
        ``lab.start()``, which started a second server beside it."""
        current = _DEFAULT
        if self._unloaded and current is not None and current is not self:
            raise RuntimeError(
                f"this lab was stopped by %reload_ext hooklab (or %unload_ext); the lab "
                f"serving now is hooklab.lab(): lab = hooklab.lab(), then {call} again")

    def start(self) -> HookLab:
        """Start serving (idempotent). Returns ``self``.

        >>> mine = HookLab(port=0, db="captures.sqlite3").start()   # port=0: any free port
        >>> mine
        <HookLab hooklab listening on http://127.0.0.1:... (db captures.sqlite3, 0 captures)>
        >>> mine.start() is mine                 # already serving: nothing changes
        True
        >>> mine.stop()

        A forward (:meth:`forward`) that leads back into the lab on the port it takes (a
        taken ``port`` moves to the next free one) raises :class:`ForwardLoopError` and
        nothing is served: it would capture every webhook again and again.
        """
        self._not_replaced("lab.start()")
        if self.server is not None and self.server.is_running:
            return self
        last, self._last_bound = self._last_bound, None
        if last is not None and last[:2] == (self.host, self.port):
            # a lab stopped and started again (%hooklab stop / start) takes the port it
            # listened on again, the one port=0 picked or the next free one a taken port
            # moved it to (it went back to the taken one, freed meanwhile, the URLs handed out
            # dead): every URL handed out (lab.url, a sender's config) works after a pause.
            # Taken meanwhile: the next free one after it, as for a taken port asked for, with
            # the warning that names both (a strict_port lab: the port asked for, or any free
            # one for port=0)
            try:
                self._serve_on(last[2])
            except (OSError, ServerError):
                if not self.strict_port:
                    raise
                self.start()
                warnings.warn(f"hooklab: port {last[2]}, which this lab listened on, is in use "
                              f"now; listening on {self.bound_port} instead", RuntimeWarning,
                              stacklevel=user_stacklevel())
            return self
        from .store import new_paths, remove_new_paths

        # a database this start creates (the file, the folders for it) goes again if the
        # start fails, a Ctrl-C meanwhile too: an empty capture database was left behind
        made = new_paths(self.db) if self._store is None else []  # (before it is opened)
        try:
            self._memory_gone = False
            self.server = CaptureServer(
                self.store, self.host, self.port, max_body=self.max_body, rules=self.rules,
                strict_port=self.strict_port,
                idle_timeout=self.idle_timeout, body_timeout=self.body_timeout,
                first_byte_timeout=self.first_byte_timeout, max_connections=self.max_connections,
                api_token=self._api_token, relay_nonce=self._relay_nonce,
            )
            self._configure_server()
            self.server.handshakes = self._secrets
            # a server thread that ends on its own (an exception escaped its loop) withdraws the
            # public URLs as stop_serving() does: the relay answered 502, not 404, and
            # public_url() registered new ones that pointed at the dead port
            self.server.end_listeners.append(_withdraw_on_end(self))
            # what arrives is summarized for schema() in quiet moments: a first schema() of this
            # file, in any process, then merges summaries instead of parsing every body
            from .explore import keep_summaries_up

            keep_summaries_up(self.store)
            self.server.start()
            self._opened = False  # (served now: once stopped, it says "stopped")
            try:  # (a forward checked against the port asked for may name the one taken)
                self._check_forwards()
            except ForwardLoopError:
                self.stop_serving()
                raise
            if self.host not in ("127.0.0.1", "localhost", "::1"):  # (once bound: an address
                warnings.warn(  # (that cannot be bound is an error, not this warning)
                    f"hooklab is binding {self.host}: anyone who can reach this machine can send "
                    "webhooks to it; reading captures through /_hooklab/ still needs the lab's "
                    "read token (and a local Host or one in HookLab.allowed_hosts)",
                    RuntimeWarning,
                    stacklevel=user_stacklevel(),  # (the user's line: start(), %hooklab start...)
                )
            # public URLs given out before a stop_serving() work again
            ingress.refresh(self)
            self._tell_views()
        except BaseException:
            with contextlib.suppress(Exception):  # (a server half started, or none)
                self.stop_serving()
            if made:
                with contextlib.suppress(Exception):
                    self._close_store()
                remove_new_paths(made)
            raise
        return self

    def stop_serving(self) -> None:
        """Stop receiving (free the port, withdraw public URLs) but keep the database open.

        >>> port = lab.bound_port
        >>> lab.stop_serving()
        >>> lab.is_running, len(lab.captures)      # the captures are still there
        (False, 1)
        >>> lab.start()                            # and serving resumes on the same store
        <HookLab hooklab listening on http://127.0.0.1:... (db :memory:, 1 capture)>
        >>> lab.bound_port == port                 # on the same port (port=0's, a moved one's)
        True
        """
        # 404 instead of a dead relay; start() brings the URLs back
        ingress.withdraw(self)
        if self.server is not None:
            if self.server.is_running:
                self._last_url = (self.host, self.port, self.server.url)
                if self.server.port != self.port:
                    self._last_bound = (self.host, self.port, self.server.port)
            self.server.stop()
            self.server = None
        self._tell_views()

    def _home_url(self) -> str | None:
        """The lab's own address, also while it is not serving: its server's URL, else the
        one it listened on and :meth:`start` takes again (the port ``port=0`` picked, or the
        next free one a taken port moved it to), else the one ``host`` and ``port`` name
        (``None`` for ``port=0`` never bound). "Copy as curl" of a view opened while the lab
        is stopped goes there (it went to port 8765, which the lab may never have used)."""
        if self.server is not None:
            return self.server.url
        last = self._last_url
        if last is not None and last[:2] == (self.host, self.port):
            return last[2]
        return server_url(self.host, self.port) if self.port else None

    def _tell_views(self) -> None:
        """The live views' counters say whether this lab receives webhooks (a stopped lab's
        view looked as live as ever), and their "Copy as curl" follows a new port."""
        url = self.server.url if self.is_running else None  # type: ignore[union-attr]
        for view in list(self._views):
            view.set_serving(url)

    def stop(self, *, quiet_forwards: bool = False) -> None:
        """Stop the server and close the database (idempotent); ``close()`` is the same.

        Forwards still waiting for a slow target are not sent: a warning of the ``hooklab``
        logger says how many, and :attr:`forwards_left` which (``quiet_forwards=True``: no
        warning, for a caller that reads :attr:`forwards_left` and says it itself).

        >>> lab.stop()
        >>> lab.is_running
        False
        >>> len(lab.captures)                    # db=":memory:": its captures went with it
        Traceback (most recent call last):
        ...
        RuntimeError: this lab was stopped and its captures were in memory (db=':memory:'): they are gone; ...
        >>> lab.stop()                           # again: nothing happens

        A lab over a database file keeps them: ``lab.start()`` (or ``hooklab.open(path)``)
        finds them again. :meth:`stop_serving` frees the port but keeps the database open.
        """
        self.stop_serving()
        self._opened = False  # (its database closed: no more what hooklab.open() opened)
        # this lab is done: its public URLs end for good
        ingress.unregister(self)
        had = self._store is not None
        self._close_store(quiet_forwards=quiet_forwards)
        # (a second stop() keeps saying so: it found no store, and an empty one read as none)
        self._memory_gone = self._memory_gone or (had and self.db == ":memory:")

    close = stop

    def _close_store(self, *, quiet_forwards: bool = False) -> None:
        """Close the forwarder, the live views and the database (a next use opens it again)."""
        if self._forwarder is not None:
            self._forwards_left = self._forwarder.close(quiet=quiet_forwards)
            self._forwarder = None
        for view in list(self._views):  # their store is closing: stop their flusher threads
            view.close()
        for view in list(self._replaced):  # (the lines replaced views left: their comms too)
            view.close()
        self._replaced.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def is_running(self) -> bool:
        """Whether the capture server is listening.

        >>> lab.is_running
        True
        >>> hooklab.open(":memory:").is_running    # a lab for analysis only
        False
        """
        return self.server is not None and self.server.is_running

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server (``RuntimeError`` when not serving).

        >>> lab.url
        'http://127.0.0.1:...'
        >>> HookLab(db=":memory:").url
        Traceback (most recent call last):
        ...
        RuntimeError: this lab is not serving; call lab.start() or hooklab.start()
        """
        if self.server is None:
            raise RuntimeError("this lab is not serving; call lab.start() or hooklab.start()")
        return self.server.url

    @property
    def bound_port(self) -> int | None:
        """The port the server listens on (the one ``port=0`` picked, or the next free one
        when ``port`` was taken and ``strict_port`` is off); ``None`` when not serving.

        >>> lab.port, lab.bound_port              # asked for any free port, got this one
        (0, ...)
        >>> lab.url == f"http://127.0.0.1:{lab.bound_port}"
        True
        """
        return self.server.port if self.is_running else None  # (not a dead thread's port)

    @property
    def api_token(self) -> str:
        """The read token of this lab's ``/_hooklab/`` API, page and stream (random, per lab).

        Send it as ``Authorization: token <api_token>`` or ``?token=<api_token>``; capture paths
        need none. It is never stored with captures. Prefer :attr:`page_url` and
        :meth:`stream_url`, which carry it; do not print it into a notebook you will save.

        >>> import json, urllib.request
        >>> req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?bin=stripe",
        ...                              headers={"Authorization": f"token {lab.api_token}"})
        >>> with urllib.request.urlopen(req, timeout=10) as resp:
        ...     [c["event_type"] for c in json.load(resp)["captures"]]
        ['payment_intent.succeeded']
        """
        return self._api_token

    @property
    def page_url(self) -> str:
        """The live stream page, ready to open: ``http://127.0.0.1:<port>/_hooklab/?token=...``.

        >>> lab.page_url
        'http://127.0.0.1:.../_hooklab/?token=...'
        >>> import webbrowser; webbrowser.open(lab.page_url)     # doctest: +SKIP
        """
        return f"{self.url}/_hooklab/?token={self._api_token}"

    def stream_url(self, since: int | None = None, **query: Any) -> str:
        """The WebSocket stream with the read token: ``ws://127.0.0.1:<port>/_hooklab/ws?token=...``.

        ``since=<id>`` (the stream's cursor), ``body=0`` and every filter the stream takes
        (``bin``, ``provider``, ``event_type``, ``search``, ``until``, ...: the one filter
        vocabulary, :mod:`hooklab.filters`) are added as query arguments (see
        :mod:`hooklab.server.stream`).

        >>> lab.stream_url(since=0, bin="github", search="refund")
        'ws://127.0.0.1:.../_hooklab/ws?token=...&since=0&bin=github&search=refund'
        >>> lab.stream_url(bin=["github", "stripe"], verified=False)
        'ws://127.0.0.1:.../_hooklab/ws?token=...&bin=github&bin=stripe&verified=0'
        """
        from datetime import datetime
        from urllib.parse import urlencode

        from .filters import FILTER_KEYS

        query = {"since": since, **query}
        known = (*FILTER_KEYS, "body")  # (since is one of the filters' keys)
        unknown = set(query) - set(known)
        if unknown:
            raise ValueError(f"unknown stream filter(s) {sorted(unknown)}; use {', '.join(known)}")

        def text(value: Any) -> Any:  # (a time as ISO 8601, body=False as 0: as the stream reads them)
            if isinstance(value, bool):
                return "1" if value else "0"
            return value.isoformat() if isinstance(value, datetime) else value

        base = "ws" + self.url[len("http"):]
        extra = urlencode([(k, text(one)) for k, v in query.items() if v is not None
                           for one in (v if isinstance(v, list | tuple | set | frozenset) else [v])])
        return f"{base}/_hooklab/ws?token={self._api_token}" + (f"&{extra}" if extra else "")

    def url_for(self, bin: str, path: str = "") -> str:
        """URL that captures into ``bin`` (give it to the sender); ``path`` is appended.

        >>> lab.url_for("stripe")
        'http://127.0.0.1:.../stripe'
        >>> r = hooklab.send(lab.url_for("shop", "orders/create"), payload={"id": 7})
        >>> lab.captures[-1].bin, lab.captures[-1].path    # still bin "shop"
        ('shop', '/shop/orders/create')

        The bin is one path segment, every character of it percent-encoded but letters,
        digits and ``_.-~`` (``url_for("a b")`` is ``/a%20b``). In ``path`` what a URL cannot
        hold as it is gets percent-encoded: spaces, control characters, characters past
        ASCII (as UTF-8), ``"<>\\^`{|}``, a ``%`` that starts no ``%XX`` escape, and ``#``
        (a fragment never reaches the lab: ``#`` is sent as ``%23``). ``/`` separates
        segments, a ``%XX`` given stays as given, and the first ``?`` starts the query:

        >>> lab.url_for("x", "y z/ä?q=a b&r=%20#1")
        'http://127.0.0.1:.../x/y%20z/%C3%A4?q=a%20b&r=%20%231'
        >>> lab.url_for("x", "?q=1")      # a query alone: the bin's own URL with it
        'http://127.0.0.1:.../x?q=1'

        A ``.`` or ``..`` segment (the bin, or one of ``path``) is ``ValueError``: clients
        remove dot segments before they send (RFC 3986 5.2.4, ``%2E`` too in browsers and
        Node), which took ``url_for("..") + "/x"`` to bin x.
        """
        if self.server is None:
            self._not_replaced(f"lab.url_for({bin!r})")
            raise RuntimeError("this lab is not serving; call lab.start() or hooklab.start()")
        return self.server.url_for(bin, _url_text(path))

    @observe("forward_timeout")
    def _forward_timeout_changed(self, change: Any) -> None:
        forwarder = getattr(self, "_forwarder", None)  # (config is applied before __init__ ends)
        if forwarder is not None:  # (the next delivery takes it)
            forwarder.timeout = change["new"]

    @observe("allowed_hosts")
    def _hosts_changed(self, change: Any) -> None:
        if self.server is not None:
            self.server.allowed_hosts = tuple(change["new"])

    @observe("stream_origins", "stream_max_pending", "stream_max_pending_bytes",
             "stream_write_timeout", "idle_timeout", "body_timeout", "max_in_flight",
             "first_byte_timeout", "max_connections")
    def _stream_changed(self, change: Any) -> None:
        if self.server is not None:
            self.server.idle_timeout = self.idle_timeout
            self.server.body_timeout = self.body_timeout
            self.server.max_in_flight = self.max_in_flight
            self.server.first_byte_timeout = self.first_byte_timeout
            self.server.max_connections = self.max_connections
            self._configure_stream()
            if change["name"] == "max_connections" and self.server.is_running:
                lowered = self.server.connections_lowered()  # (as start() says it)
                if lowered:
                    warnings.warn(lowered, RuntimeWarning, stacklevel=user_stacklevel())

    def _configure_server(self) -> None:
        """The running server's settings as this lab's traits say (at start, and where a test
        set them on the server itself: the pytest plugin puts them back)."""
        assert self.server is not None
        self.server.allowed_hosts = tuple(self.allowed_hosts)
        self.server.redact_credentials = self.redact_credentials
        self.server.max_body = self.max_body
        self.server.max_in_flight = self.max_in_flight
        self.server.idle_timeout, self.server.body_timeout = self.idle_timeout, self.body_timeout
        self.server.first_byte_timeout = self.first_byte_timeout
        self.server.max_connections = self.max_connections
        self._configure_stream()

    def _configure_stream(self) -> None:
        from .server.stream import StreamLimits

        assert self.server is not None
        self.server.stream_origins = tuple(self.stream_origins)
        self.server.stream_limits = StreamLimits(
            max_pending=self.stream_max_pending,
            max_pending_bytes=self.stream_max_pending_bytes,
            write_timeout=self.stream_write_timeout,
        )

    @observe("redact_credentials")
    def _redaction_changed(self, change: Any) -> None:
        if self.server is not None:
            self.server.redact_credentials = bool(change["new"])

    @observe("retention_count", "retention_age")
    def _retention_changed(self, change: Any) -> None:
        if getattr(self, "_store", None) is not None:  # applied within a second, and
            setattr(self._store, change["name"], change["new"])
            wake = getattr(self._store, "retention_changed", None)  # (none: a Parquet
            if wake is not None:  # folder, read as it is) a :memory: store's idle writer
                wake()  # is woken

    @observe("db", "durability")
    def _move_on_db_change(self, change: Any) -> None:
        """A new ``db`` (or ``durability``) while a database is open: the lab moves to the
        new file, or opens the same one again (serving again on the same port if it was; its
        forwards and live views follow), instead of going on writing to the old file under
        the new name.

        The move is :meth:`_apply`'s, as ``%hooklab start --db`` makes it: a ``db`` that
        cannot be opened (a folder, a corrupt file, a place that cannot be written) is
        refused with :class:`~traitlets.TraitError` and the lab stays as it was, serving on
        the same port with its database, captures (a ``:memory:`` lab's too), forwards and
        live views (it was left stopped, the bad value kept)."""
        if (getattr(self, "_store", None) is None or change["old"] == change["new"]
                or getattr(self, "_undoing", False)):
            return
        name = change["name"]
        try:
            self._apply({name: change["new"]}, before={name: change["old"]})
        except SettingsRefused as refused:
            raise refused.trait_error(change) from refused.cause

    def _apply(self, settings: dict[str, Any], *, start: bool = False,
               before: dict[str, Any] | None = None) -> None:
        """Apply ``settings`` (``db``, ``durability``, ``port``, ``host``) as one change,
        made whole or not at all: the one way a lab moves, for ``%hooklab start --db --port
        --host`` and for a new ``lab.db`` (``%config HookLab.db``) alike.

        A new ``db`` (or ``durability``) is opened beside the old database, which is closed
        (its forwarder with it) only once the lab uses the new one; the forwards and the
        live views of ``lab.live()`` follow the lab. A lab that served serves again: on the port it was bound to
        when only the database changed (``port=0`` picked it, and the URLs handed out name
        it), else as ``port`` and ``host`` say; ``start=True`` starts one that did not serve.

        Whatever cannot be (a value a trait refuses, a ``db`` that is a folder, corrupt or
        cannot be created, an address that cannot be bound, a forward that would loop) puts
        every setting back, closes what the attempt opened (and removes the empty database
        file and folders it made), gives the lab its old store, forwarder and live views,
        serves again on the bound port and raises :class:`SettingsRefused`, saying why and where
        the lab goes on. ``before``: the values to put back, when ``settings`` are set
        already (a trait observer's change); else the lab's own.

        >>> port = lab.bound_port
        >>> lab._apply({"db": "moved.sqlite3"})      # on the port it had, a new database
        >>> lab.db, lab.bound_port == port, len(lab.captures)
        ('moved.sqlite3', True, 0)
        >>> lab._apply({"db": ".", "port": 0})        # a folder: nothing moves
        Traceback (most recent call last):
        ...
        hooklab.core.SettingsRefused: ...; the lab goes on as it was (serving at http://127.0.0.1:..., db 'moved.sqlite3', port 0)
        >>> lab.db, lab.bound_port == port
        ('moved.sqlite3', True)
        """
        from .store import StoreError, new_paths, remove_new_paths

        before = {k: getattr(self, k) for k in settings} if before is None else before
        db = settings.get("db", before.get("db", self.db))
        # (a :memory: lab has nothing to sync: a new durability is no move, whose new empty
        # store lost every capture)
        moving = ("db" in settings and settings["db"] != before["db"]) or (
            "durability" in settings and settings["durability"] != before["durability"]
            and db != ":memory:")
        was_serving, bound = self.is_running, self.bound_port
        old_store, old_forwarder, memory_gone = self._store, self._forwarder, self._memory_gone
        targets = old_forwarder.targets if moving and old_forwarder is not None else {}
        resigners = old_forwarder.resigners if targets else {}  # (resign= goes along)
        made = new_paths(settings.get("db", self.db)) if moving else []  # (before it is opened)
        # what a move leaves (made now: a Ctrl-C before the move took effect leaves nothing)
        views = list(self._views) if moving else []
        leaving = _Uninterrupted(lambda: self._close_other(old_store, old_forwarder, views))

        def set_quietly(values: dict[str, Any], *, undo: bool) -> None:
            self._undoing = True  # (the observers let it be: this method moves the lab)
            try:
                for k, v in values.items():
                    with contextlib.suppress(*((TraitError,) if undo else ())):
                        setattr(self, k, v)
            finally:
                self._undoing = False

        try:
            if was_serving:
                self.stop_serving()
            if moving:  # (the old store and forwarder are kept open meanwhile)
                self._store, self._forwarder, self._memory_gone = None, None, False
            with warnings.catch_warnings(record=True) as said:  # (shown if it works: a
                warnings.simplefilter("always")  # warning about an address then refused misleads)
                set_quietly(settings, undo=False)
                if moving:
                    self.store  # noqa: B018 - opened now: a mistake shows here, not at next use
                if was_serving and set(settings) <= {"db", "durability"}:
                    self._serve_on(bound)  # (URLs handed out keep working)
                elif was_serving or start:
                    self.start()
                for bin, to in targets.items():  # (after start: the loop check sees the port)
                    self.forward(bin, to)
                    if bin in resigners:
                        self._forwarder.add(bin, to, resign=resigners[bin])  # type: ignore[union-attr]
        except BaseException as exc:  # (a Ctrl-C too: the lab put back, nothing left behind)
            with contextlib.suppress(Exception):  # (a server half started, or none)
                self.stop_serving()
            if moving:  # (what the attempt opened, if it did: its forwarder and database)
                if self._forwarder is not None and self._forwarder is not old_forwarder:
                    self._forwarder.close()
                if self._store is not None and self._store is not old_store:
                    with contextlib.suppress(Exception):
                        self._store.close()
                remove_new_paths(made)
                self._store, self._forwarder = old_store, old_forwarder
                self._memory_gone = memory_gone
            set_quietly(before, undo=True)
            if was_serving:
                with contextlib.suppress(ServerError, StoreError, OSError, ValueError):
                    self._serve_on(bound)
            if not isinstance(exc, (TraitError, ServerError, StoreError, OSError, ValueError)):
                raise  # (not a setting refused: a bug or a Ctrl-C, with the lab put back)
            raise SettingsRefused(exc, self, before) from exc
        if moving:  # (the move took effect: the old store and forwarder close, all of it,
            try:  # whatever comes meanwhile; a Ctrl-C as they closed left their threads open)
                leaving.run()
            except BaseException:
                leaving.run()  # (a Ctrl-C as it began, or while it was waited for: the rest)
                raise
        for w in said:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def _close_other(self, store: Any, forwarder: Any, views: Iterable[Any]) -> None:
        """Close ``store`` and ``forwarder`` (the ones a move left); ``views`` (live views
        of that store) follow the lab to its new store before it closes (they were closed:
        the view on screen vanished, its counter blaming ``lab.stop()``)."""
        if forwarder is not None:
            self._forwards_left = forwarder.close()
        for view in views:
            try:
                view.set_store(self._store)
            except Exception:  # noqa: BLE001 - (closed meanwhile, or a view that cannot
                view.close()  # follow: closed, as before, rather than left on a closed store)
        if store is not None:
            store.close()

    def _serve_on(self, port: int | None) -> None:
        """Start serving on ``port``, the one the lab listened on, its ``port`` setting kept
        as it was (``None``: as ``port`` says). A lab started with ``port=0`` (or moved past
        a taken port) came back on another port from a failed or ``db``-only change: every
        URL handed out (``lab.url_for(...)``, a sender's config) stopped working.

        The setting is given the bound port only while the server starts, as the traits'
        own value, which no observer hears of (the change and its undoing restart nothing);
        given and put back with no moment between for a Ctrl-C to come, whatever comes
        meanwhile (a Ctrl-C as a trait set put it back left the bound port as the setting)."""
        asked = self.port
        if port is None or port == asked:
            self.start()
            return
        values = self._trait_values
        try:
            values["port"] = port
            self.start()
        finally:
            values["port"] = asked

    @observe("port", "host", "max_body")
    def _restart_on_change(self, change: Any) -> None:
        if change["old"] == change["new"]:  # (a change undone under hold_trait_notifications,
            return  # which reports the pair as one change: nothing moved)
        if change["name"] == "max_body" and self.server is not None:
            self.server.max_body = int(change["new"])
            ingress.refresh(self)  # the relay and tunnels enforce the limit too
            return
        if getattr(self, "_undoing", False):  # (a refused value put back: nothing moved)
            return
        if self.is_running:  # (an address that cannot be bound: the lab was left stopped,
            name = change["name"]  # the value kept; now it serves again as it was)
            try:
                self._apply({name: change["new"]}, before={name: change["old"]})
            except SettingsRefused as refused:
                raise refused.trait_error(change) from refused.cause
            # same public URL, new port
            ingress.refresh(self)

    def secret(
        self,
        bin: str,
        secret: str | bytes | None,
        provider: str | None = None,
        verify_token: str | None = None,
    ) -> None:
        """Verify captures to ``bin`` on arrival (``verified`` column); ``lab.secret(bin,
        None)`` removes what was set.

        ``provider`` (an id of ``hooklab.providers.PROVIDERS``) names the sender, which also
        answers its endpoint handshake the way it expects (Zoom's and X's are signed with
        ``secret``), with or without a secret (``secret=None``: stored as that provider's,
        unchecked; Nylas checks the URL before it gives the secret); ``verify_token`` is the token Meta or Strava subscriptions must present
        (a wrong one gets 403). The secret stays in memory only: captures that arrive from
        now on store it as ``[secret]``; one stored before keeps it in the database as it
        came, and exports and the live view write it as ``[secret]``. An empty secret (an
        environment variable not set) is ``ValueError``, a secret that is no str or bytes
        ``TypeError``: only ``None`` removes the bin's secret. A secret that cannot be
        ``provider``'s key (a Svix or Standard Webhooks secret that is no base64 after
        ``whsec_``, a hex key that is not hex) is refused with ``ValueError`` in the words
        ``hooklab serve`` uses, instead of every capture then failing its check.

        >>> lab.secret("github", "s3cret")
        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="push", secret="s3cret")
        >>> lab.wait(1, bin="github")[-1].verified
        True
        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="push", secret="nope")
        >>> lab.wait(2, bin="github")[-1].verify_reason
        'signature mismatch: ...'
        >>> lab.secret("github", None)               # captures from now on are not checked
        >>> lab.secret("zoom", "my-secret-token", provider="zoom")
        >>> lab.secret("wa", None, provider="meta", verify_token="tok")
        >>> lab.secret("ny", None, provider="nylas")  # its ?challenge= is stored as nylas
        """
        self._not_replaced("lab.secret(...)")
        # (checked before anything is set: an int secret or verify token was taken, and every
        # capture to any bin was then refused 503 "AttributeError" until the lab was reset)
        if secret is not None and not isinstance(secret, (str, bytes)):
            raise TypeError(f"secret must be str, bytes or None (None removes the bin's "
                            f"secret), not {type(secret).__name__}")
        if verify_token is not None and not isinstance(verify_token, str):
            raise TypeError(f"verify_token must be a str, not {type(verify_token).__name__}"
                            " (write a number as text: verify_token='123456')")
        if isinstance(secret, (str, bytes)) and not secret:  # (an unset environment variable:
            raise ValueError("empty secret: give the secret, or None to remove the bin's "
                             "secret")  # it removed the secret, and checks passed unrun)
        if verify_token == "":  # (a Meta check with no hub.verify_token at all then passed)
            raise ValueError("empty verify_token: give the token, or None for none")
        if provider is not None:
            given, provider = provider, provider.strip().lower()
            if provider not in TABLE:  # (named as given: a secret's shape is in its case)
                raise ValueError(f"unknown provider {unknown_provider(given)}; known: "
                                 f"{', '.join(sorted(TABLE))}")
            if secret is not None:  # (as `hooklab serve` refuses it: every capture failed)
                check_secret(provider, secret)
        self._secrets.set(check_bin(bin), secret, provider, verify_token)  # ("/orders": orders)
        for view in list(self._views):  # (a capture stored before: its secret shown [secret])
            view.secrets_changed()

    # -- reading -------------------------------------------------------------------------------
    @property
    def captures(self) -> CaptureView:
        """All captures, oldest first (a live sequence: ``len``, indexing, iteration).

        >>> lab.captures
        <1 capture>
        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="push")
        >>> len(lab.captures), lab.captures[-1].event_type      # it sees new arrivals
        (2, 'push')
        >>> [c.bin for c in lab.captures]
        ['stripe', 'github']

        Indexing reads one capture; for filters use :meth:`query` or :meth:`wait`.
        """
        return CaptureView(self.store)

    def get(self, capture_id: int) -> Capture:
        """The capture with id ``capture_id`` (as the live view, ``%hooklab`` and the
        DataFrame's ``id`` column show it); ``KeyError`` if there is none.

        >>> lab.get(1)
        <Capture #1 POST /stripe 200 ...B payment_intent.succeeded at ...>
        >>> lab.get(1) == cap
        True
        >>> lab.get(999)
        Traceback (most recent call last):
        ...
        KeyError: 'no capture with id 999'
        """
        cap = self.store.get(capture_id)
        if cap is None:
            raise KeyError(f"no capture with id {capture_id}")
        return cap

    def query(self, **filters: Any) -> list[Capture]:
        """The captures matching ``filters`` (:mod:`hooklab.filters`: ``bin``, ``provider``,
        ``event_type``, ``since``, ``search``...), oldest first, without waiting; ``limit``,
        ``offset`` and ``newest_first=True`` page through them.

        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="issues.opened")
        >>> lab.query(bin="github")
        [<Capture #2 POST /github 200 ...B issues.opened at ...>]
        >>> [c.event_type for c in lab.query(newest_first=True, limit=2)]
        ['issues.opened', 'payment_intent.succeeded']
        >>> [c.id for c in lab.query(search="payment_intent")]
        [1]
        >>> lab.query(provider="shopify")
        []
        """
        return self.store.query(**filters)

    def wait(self, count: int = 1, timeout: float = 10.0, **filters: Any) -> list[Capture]:
        """Block until ``count`` captures match ``filters``; return them oldest first.

        Captures already stored count too; ``since=<id or datetime>`` counts only newer ones.
        Raises ``TimeoutError`` saying how many matched.

        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="issues.opened")
        >>> lab.wait(1, bin="github")[-1].event_type         # (GitHub itself, in real use)
        'issues.opened'
        >>> lab.wait(2)                                      # every capture so far
        [<Capture #1 POST /stripe ...>, <Capture #2 POST /github ...>]
        >>> lab.wait(1, since=2, timeout=0.1)                # none newer than #2 yet
        Traceback (most recent call last):
        ...
        TimeoutError: waited 0.1 s for 1 capture(s) matching since=2; 0 matched (2 captures in total at http://127.0.0.1:...); newest captures: #2 POST /github issues.opened, #1 POST /stripe payment_intent.succeeded (verified=True)
        """
        __tracebackhide__ = True  # (pytest: a failure points at the test's line, not here)
        count = _check_count("wait", count, allow_none=False)
        timeout = _check_wait_timeout(timeout)
        store = self.store
        store.count(**filters)  # validate filters before waiting
        try:
            ok = store.wait_for(lambda: store.count(**filters) >= count, timeout)
        except sqlite3.ProgrammingError:
            if not store.closing:
                raise
            # stopped by another thread (a fixture's finaliser, a timer) while this waited:
            # sqlite3's "Cannot operate on a closed database" said nothing of what happened
            raise RuntimeError(
                f"the lab was stopped while wait() waited for {count} capture(s) matching "
                f"{printable(describe(filters))}") from None
        if not ok:  # (a provider= no capture can have was refused above, did-you-mean said)
            n = store.count(**filters)
            where = (f" at {self.server.url}" if self.server
                     else "; the lab is not serving: lab.start() serves again")
            raise TimeoutError(
                f"waited {timeout:g} s for {count} capture(s) matching {printable(describe(filters))}; "
                f"{n} matched ({n_captures(store.count())} in total{where}); "
                f"newest captures: {self._newest()}"
                + self._refused_note()
            )
        return store.query(**filters)

    def _newest(self) -> str:
        """The newest ten captures, one short label each, for a failure message (captured
        text is hostile: only visible characters reach test reports). A capture whose
        signature was checked says how that came out, and why it failed: a failed
        ``wait(verified=True)`` or ``assert_received(count=0, verified=False)`` is about
        that, and the message listed the capture without it (a debugger was needed to read
        ``verify_reason``, which the lab knew). A secret given with :meth:`secret` after a
        capture was stored is written ``[secret]``, as exports write it (such messages end
        up in CI logs and saved outputs)."""
        caps = self.store.query(limit=10, newest_first=True)
        return ", ".join(_label(self.store.shown(c)) for c in caps) or "none"

    def assert_received(self, count: int | None = None, **filters: Any) -> list[Capture]:
        """Assert captures matching ``filters`` arrived (exactly ``count`` if given); returns
        them. It does not wait: after the sender was answered, the capture is stored.

        >>> lab.assert_received(1, provider="stripe", verified=True)
        [<Capture #1 POST /stripe 200 ...B payment_intent.succeeded at ...>]
        >>> lab.assert_received(bin="github")
        Traceback (most recent call last):
        ...
        AssertionError: expected at least 1 capture(s) matching bin='github', got 0; newest captures: #1 POST /stripe payment_intent.succeeded (verified=True)
        """
        __tracebackhide__ = True  # (pytest: a failure points at the test's line, not at this
        # method's source and docstring, whose example error names another bin)
        count = _check_count("assert_received", count, allow_none=True)
        caps = self.store.query(**filters)
        if (count is None and not caps) or (count is not None and len(caps) != count):
            want = "at least 1" if count is None else str(count)
            raise AssertionError(
                f"expected {want} capture(s) matching {printable(describe(filters))}, got {len(caps)}; "
                f"newest captures: {self._newest()}" + self._refused_note()
            )
        return caps

    def _refused_note(self) -> str:
        """``"; 1 request refused since ... (413 body over max_body: 1)"`` when the server
        refused any since it started or the last :meth:`reset`, else ``""``: a sender whose
        webhook got 413 read "0 captures in total ... none" and hunted for a bug in itself
        (the counts /_hooklab/health says; no request's own text)."""
        note = self.server.refused_note() if self.server is not None else None
        return f"; {note}" if note else ""

    def dataframe(self, *, flatten: bool = False, **filters: Any) -> pd.DataFrame:
        """One typed row per capture; ``flatten=True`` adds ``payload.*`` columns. ``df`` is
        the same method.

        >>> r = hooklab.send(lab.url_for("github"), provider="github", event="push")
        >>> df = lab.dataframe()
        >>> df[["bin", "event_type", "verified"]]       # verified: <NA> where no secret was set
              bin                event_type  verified
        0  stripe  payment_intent.succeeded      True
        1  github                      push      <NA>
        >>> df.groupby("bin", observed=True).size()
        bin
        github    1
        stripe    1
        dtype: int64
        >>> lab.dataframe(provider="stripe", flatten=True)[["event_type", "payload.data.object.amount"]]
                         event_type  payload.data.object.amount
        0  payment_intent.succeeded                        2000
        """
        from .frame import captures_frame

        # (a provider= no capture can have, a typo: ValueError, did-you-mean said)
        return captures_frame(self.store, flatten=flatten, **filters)

    df = dataframe

    def live(self, **filters: Any) -> Any:
        """A live ipywidgets view of the captures matching ``filters``.

        Calling it again with the same filters (re-running the cell) closes the earlier view
        and its thread, leaving one line in its place that says a newer view replaced it; views with other filters keep running until ``view.close()`` or
        ``lab.stop()``. In a JupyterLab notebook the arrow keys of its tables go to the
        notebook; right-click the view, "Create New View for Cell Output", to use the keyboard
        (see :class:`~hooklab.widget.LiveView`).

        >>> view = lab.live(bin="stripe")      # the last line of a cell: the view shows there
        >>> view
        HookLab live view: 1 capture
        >>> view.close()                       # (lab.stop() closes it too)
        """
        from .widget.view import LiveView

        base = self._home_url()  # for "Copy as curl" (also while stopped: where start() listens)
        # (serving="auto": the view follows this lab's servers itself, also a server thread
        # that ends on its own; a lab that never served, hooklab.open's, says "not serving")
        view = LiveView(self.store, base_url=base, **filters)
        for old in list(self._views):
            if old.filters == view.filters:
                old.close(why="a newer view with the same filters replaced this one "
                               "(lab.live() ran again, in this cell or another)")
                self._views.discard(old)
                self._replaced.add(old)  # (its box and line: closed when the lab stops)
        self._views.add(view)
        return view

    # -- exploring ------------------------------------------------------------------------------
    def schema(self, *, reveal: bool = False, **filters: Any) -> pd.DataFrame:
        """Which fields the captures carry: one row per (provider, event_type, field) with
        ``types, present, count, distinct, example, first_seen, last_seen``. The example of
        a field named like a credential (``password``, ``data.api_key``, ``user[token]``) shows
        only its length unless ``reveal=True``, as the live view does.

        >>> s = lab.schema(event_type="payment_intent.succeeded")
        >>> s.loc[s.field == "data.object.amount", ["field", "types", "present", "example"]]
                        field    types  present example
        9  data.object.amount  integer      1.0    2000
        >>> new = s[s.first_seen > "2026-03-01"]     # drift: fields first seen since a date

        Fields are dotted paths with ``[]`` for array items (``data.lines[].amount``); bodies
        that are not JSON appear as their kind (``form``, ``text/xml``...). See
        :mod:`hooklab.explore.schema` for the columns and the bounds on hostile bodies.
        """
        from .explore import schema_frame

        return schema_frame(self.store, reveal=reveal, **filters)

    def json_schema(self, event_type: str | None, **filters: Any) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) inferred from the captures of ``event_type``.

        >>> lab.json_schema("payment_intent.succeeded", provider="stripe")["required"]
        ['id', 'object', 'api_version', 'created', 'data', 'livemode', 'pending_webhooks', 'request', 'type']

        ``None``: the captures matching ``filters`` that have no event type (your own app's
        webhooks); an empty string is refused (:class:`TypeError`), it is no event type.

        >>> _ = hooklab.send(lab.url_for("orders"), payload={"order": 7, "total": 9.5})
        >>> _ = lab.wait(1, bin="orders")
        >>> lab.json_schema(None, bin="orders")["required"]
        ['order', 'total']
        """
        from .explore import json_schema

        return json_schema(self.store, event_type, **filters)

    def diff(
        self, a: Capture | int, b: Capture | int, *, headers: bool = False, reveal: bool = False
    ) -> pd.DataFrame:
        """How capture ``b`` differs from ``a`` (captures or ids): ``field, change, a, b`` with
        ``change`` one of ``added``, ``removed``, ``changed``.

        >>> retry = hooklab.send(lab.url_for("stripe"), provider="stripe",
        ...                      event="payment_intent.succeeded", payload={"data": {"object": {"amount": 4200}}})
        >>> d = lab.diff(cap, lab.wait(2)[-1], headers=True)
        >>> print(d[d.field == "data.object.amount"].to_string(index=False))
                     field  change    a    b
        data.object.amount changed 2000 4200

        ``headers=True`` compares headers too (``headers.<name>``); credentials (header values,
        form fields such as ``password`` or ``token``, the values of JSON keys named so, such as
        ``data.api_key``) stay hidden unless ``reveal=True``. A secret given to
        ``lab.secret`` after a capture was stored is ``[secret]`` outside its body, with
        ``reveal=True`` too, as in the live view and exports (``store.shown``).
        """
        from .explore import diff_frame

        return diff_frame(self.store.shown(self._capture(a)), self.store.shown(self._capture(b)),
                          headers=headers, reveal=reveal)

    def sql(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] = (), *, timeout: float | None = 30.0
    ) -> pd.DataFrame:
        """Run one read-only SQL query over the ``captures`` view (the DataFrame's columns plus
        ``payload``, ``headers`` and ``query`` as JSON text); statements that would write are
        refused with :class:`hooklab.explore.ReadOnlyError`.

        >>> lab.sql("SELECT json_extract(payload, '$.data.object.amount') AS amount "
        ...         "FROM captures WHERE event_type = ?", ["payment_intent.succeeded"])
           amount
        0    2000

        ``received_at`` is ISO text in UTC (``2026-01-01T12:00:00.000123Z``); a ``datetime``,
        ``pandas.Timestamp`` or ``date`` parameter (``?``, ``:name`` or ``$name``) is bound in
        that form, so it compares as a time:

        >>> from datetime import datetime, timezone
        >>> lab.sql("SELECT count(*) AS n FROM captures WHERE received_at > :t",
        ...         {"t": datetime(2020, 1, 1, tzinfo=timezone.utc)})
           n
        0  1
        """
        from .explore import run_sql

        if hasattr(self.store, "duckdb"):  # a Parquet export, read in place by DuckDB
            from .explore.sql import run_duckdb

            return run_duckdb(self.store.duckdb(), query, params, timeout=timeout)  # type: ignore[union-attr]
        with self.store.read_connection() as db:
            return run_sql(db, query, params, timeout=timeout)  # type: ignore[arg-type]

    def _capture(self, c: Capture | int) -> Capture:
        if isinstance(c, Capture):
            return c
        if not is_capture_id(c):
            raise TypeError(f"expected a Capture or a capture id, not {c!r}")
        return self.get(int(c))

    def clear(self) -> int:
        """Delete all captures from the database; returns how many. Response rules, secrets
        and forwards stay (:meth:`reset` clears those too).

        >>> lab.clear()
        1
        >>> len(lab.captures)
        0
        """
        if self._forwarder is not None:  # (their captures and outcomes go: not sent either)
            self._forwarder.drop_waiting()
        return self.store.clear()

    def reset(self) -> None:
        """Back to a fresh lab: no captures, response rules, secrets or forwards (nor the
        outcomes of forwards still on their way), handshakes as the lab was made, and the
        server's ``refused`` counts (``/_hooklab/health``) from zero.

        >>> lab.respond("stripe", status=500)
        >>> lab.forward("stripe", app_url)
        >>> lab.reset()
        >>> len(lab.captures), len(lab.rules)
        (0, 0)
        >>> r = hooklab.send(lab.url_for("stripe"), provider="stripe", secret="whsec_test")
        >>> r.status, lab.wait(1)[-1].verified, lab.forwards()   # no rule, secret, forward
        (200, None, [])
        """
        if self._forwarder is not None:
            self._forwarder.clear()
        self.clear()
        self.rules.clear()
        self._secrets.clear()
        self.handshakes = self._made_handshakes
        if self.server is not None:  # (a test's 413s were still counted in the next test's)
            self.server.reset_refused()

    # -- responses -----------------------------------------------------------------------------
    def respond(
        self,
        bin_or_path: str,
        status: int | Sequence[int] = 200,
        body: bytes | str | Mapping[str, Any] | list[Any] = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        delay: float = 0.0,
        *,
        method: str | None = None,
    ) -> None:
        """Answer requests to a bin (``"stripe"``) or path glob (``"/stripe/*"``) this way.

        ``status=[503, 503, 200]`` answers 503 twice, then 200 (the last one repeats).
        ``delay`` up to 30 s; ``method="GET"`` limits the rule to one method. A rule for the
        same pattern (and method) replaces the earlier one; ``lab.rules.remove(pattern)``
        drops it, :meth:`reset` drops them all.

        >>> lab.respond("github", status=[503, 200], body="busy")    # watch a sender retry
        >>> [hooklab.send(lab.url_for("github"), provider="github", event="push").status
        ...  for _ in range(3)]
        [503, 200, 200]
        >>> lab.respond("/slow/*", status=202, body={"queued": True}, headers={"Retry-After": "1"},
        ...             delay=0.1)
        >>> r = hooklab.send(lab.url_for("slow", "jobs"), payload={"a": 1})
        >>> r.status, r.json(), r.header("retry-after")
        (202, {'queued': True}, '1')
        >>> lab.rules.remove("github"), lab.rules.remove("/slow/*")
        (True, True)
        """
        self._not_replaced("lab.respond(...)")
        self.rules.add(bin_or_path, status, body, headers, delay, method=method)

    # -- forward / replay / export ----------------------------------------------------------
    def forward(self, bin: str, to: str | None, *, resign: bool | str | bytes | Any = False) -> None:
        """Relay each new capture of ``bin`` to ``to`` (``None`` stops), like ``smee --target``.

        Method, path suffix, headers (minus hop-by-hop) and exact body are sent on; the target's
        status, latency or error is recorded (``lab.forwards()``) and never delays the capture.

        >>> lab.forward("github", app_url)        # app_url: http://127.0.0.1:<port>/webhook
        >>> r = hooklab.send(lab.url_for("github", "events"), provider="github", event="push")
        >>> lab.store.wait_for(lambda: lab.forwards(), timeout=10)   # it goes on in the background
        True
        >>> lab.forwards()[-1]["target"] == app_url + "/events", lab.forwards()[-1]["status"]
        (True, 200)
        >>> lab.forward("github", None)           # stop forwarding

        ``resign=True`` signs each forward afresh for ``to`` with the secret registered for
        the bin (``lab.secret(bin, secret, provider=...)``), ``resign="whsec_..."`` with that
        secret (see :meth:`replay`): a URL-signed provider (Twilio) verifies at the app then.
        """
        from .outbound.forward import Forwarder, book_resigner

        self._not_replaced("lab.forward(...)")
        bin = check_bin(bin)  # ("/orders" is the bin url_for("/orders") captures into;
        # "github/push" is no bin: POST /github/push is captured into bin "github")
        if to is not None:
            self._check_not_self(bin, to)
        if self._forwarder is None:
            if to is None:
                return
            self._forwarder = Forwarder(self.store, restore=self._secrets.restored,
                                        timeout=self.forward_timeout)
        if to is None:
            self._forwarder.remove(bin)
        else:
            self._forwarder.add(bin, to, resign=book_resigner(self._secrets, resign, bin=bin))

    def _check_not_self(self, bin: str, to: str) -> None:
        """Refuse a target that is no http(s) URL, or that leads back to ``bin`` through this
        lab's own bins and their forwards (a loop would store captures without end)."""
        from urllib.parse import urlsplit

        from .credentials import scrubbed_text, scrubbed_url, shown_url

        # (messages quote the target without its credentials: quoted, and bare)
        shown, bare = shown_url(to), shown_url(to, quote=False)
        try:
            u = urlsplit(to)
        except ValueError as exc:  # (its words may quote the credentials: scrubbed)
            raise ValueError(f"forward target {shown} is no URL: "
                             f"{scrubbed_text(str(exc), to)}") from None
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"forward target must be an http(s) URL, got {shown}")
        try:
            u.port  # noqa: B018 - a port past 65535 or not a number: refused now, not per capture
        except ValueError as exc:
            raise ValueError(f"forward target {shown}: {exc}") from None
        targets = {**(self._forwarder.targets if self._forwarder is not None else {}), bin: to}
        chain, url, current = [bin], to, self._own_bin(to)
        while current is not None:
            if not urlsplit(url).path.strip("/"):  # (the path suffix would pick the bin:
                root = shown_url(url, quote=False)  # /a/a/a comes back to a once per segment
                raise ValueError(  # ("//" too)
                    f"forward target {root} is this lab's root: the path after bin "
                    f"{chain[-1]!r} would choose the bin it lands in (name one: "
                    f"{root.rstrip('/') if root == scrubbed_url(url) else 'the URL'}/<bin>)")
            chain.append(current)
            if current == bin and len(chain) == 2:
                raise ValueError(
                    f"forwarding bin {bin!r} to {bare} would send every capture back to itself")
            if current in chain[:-1]:
                raise ValueError(f"forwarding bin {bin!r} to {bare} makes a loop through this "
                                 f"lab: {' -> '.join(map(repr, chain))}")
            url = targets.get(current) or ""
            current = self._own_bin(url) if url else None

    def _check_forwards(self) -> None:
        """Every forward checked again once the server is bound: :meth:`forward` checked it
        against ``port``, and the lab may have taken another (``port`` was taken: the next
        free one; ``port=0``). A forward to that next port was let through, and each webhook
        then came back as a second capture and a failed "forward loop"."""
        if self._forwarder is None:
            return
        for bin, to in self._forwarder.targets.items():
            try:
                self._check_not_self(bin, to)
            except ValueError as exc:
                moved = self.port not in (0, self.bound_port)
                raise ForwardLoopError(
                    f"{exc}" + (f" (port {self.port} was in use: this lab listens on "
                                f"{self.bound_port})" if moved else ""), bin, to) from None

    def _own_bin(self, url: str) -> str | None:
        """The bin of this lab that ``url`` names, or ``None`` (another server): a loopback or
        unspecified address in any spelling (``127.1``, ``2130706433``, ``0.0.0.0``,
        ``[::ffff:127.0.0.1]``, ``x.localhost``), the address the lab binds, a name resolving
        to one of those (this machine's own name, ``ip6-localhost``: looked up for at most
        a second) or, for a lab on every interface, any address of this machine; with its port
        (the one it was given, before it is bound). What this misses (a name that takes longer,
        a proxy) the forwarder's loop mark stops at the first capture that comes back."""
        from urllib.parse import urlsplit

        try:
            u = urlsplit(url)
            port = u.port or {"http": 80, "https": 443}.get(u.scheme)
        except ValueError:
            return None
        mine = self.bound_port if self.bound_port is not None else (self.port or None)
        if mine is None or port != mine or not u.hostname:
            return None
        if u.hostname == self.host or _this_machine(u.hostname) or _reaches(u.hostname, self.host):
            return bin_of(u.path or "/")
        return None

    def forwards(self, capture_id: int | None = None) -> list[dict[str, Any]]:
        """Outcomes of forwarding (target, status, latency_ms, error), oldest first;
        ``capture_id`` picks one capture's. The DataFrame has them too (``forward_*`` columns).

        >>> lab.forward("stripe", app_url)
        >>> r = hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid")
        >>> new = lab.wait(1, since=cap.id)[0]
        >>> lab.store.wait_for(lambda: lab.forwards(new.id), timeout=10)
        True
        >>> [(f["capture_id"], f["status"], f["error"]) for f in lab.forwards()]
        [(2, 200, None)]
        >>> lab.dataframe()[["id", "forward_status"]]
           id  forward_status
        0   1            <NA>
        1   2             200
        >>> lab.forward("stripe", None)
        """
        return self.store.forwards(capture_id)

    @property
    def forwards_pending(self) -> int:
        """Captures queued or on their way to a forward target, their outcome not known yet
        (``stop()`` drops them: :attr:`forwards_left` says which, and ``hooklab serve`` says
        which on Ctrl-C, with the ``hooklab replay`` command that sends those never sent).

        >>> lab.forwards_pending
        0
        """
        return self._forwarder.unfinished if self._forwarder is not None else 0

    @property
    def forwards_left(self) -> ForwardsLeft:
        """What the last :meth:`stop` (or a move to another ``db``) left of the forwards, a
        :class:`hooklab.outbound.forward.ForwardsLeft`: ``unsent``, those never sent
        (``lab.replay`` sends each once; after a move they are captures of the database the
        lab left, ``forwards_left.db``: ``hooklab.open(db).replay(...)``), and ``unanswered``, those sent with no answer when
        it stopped (the app may have them: a replay could deliver them twice), capture ids
        per bin and target; their outcomes are not recorded. Empty before any stop;
        :meth:`stop_serving` leaves the forwards running and this as it was.

        >>> lab.forward("orders", app_url)
        >>> r = hooklab.send(lab.url_for("orders"), payload={"n": 1})
        >>> lab.store.wait_for(lambda: lab.forwards(), timeout=10)
        True
        >>> lab.stop(quiet_forwards=True)
        >>> left = lab.forwards_left            # (the app answered: nothing left)
        >>> left.ids("unsent"), left.ids("unanswered"), bool(left)
        ([], [], False)
        """
        from .outbound.forward import ForwardsLeft

        return self._forwards_left if self._forwards_left is not None else ForwardsLeft()

    def replay(
        self, captures_or_ids: Capture | int | Iterable[Capture | int], to: str, *,
        timeout: float | None = None, resign: bool | str | bytes | Any = False,
    ) -> list[Any]:
        """Re-send stored captures exactly (method, path suffix, headers, body) to ``to``; a
        secret stored as ``[secret]`` goes out as the value registered for its bin with
        :meth:`secret` (a GitLab token, Basic credentials, Meta's verify token). Network
        errors do not raise: the result's ``error`` says what happened. A ``to`` that is no
        http(s) URL (as :meth:`forward` refuses it) is ``ValueError``, before anything is sent.

        ``captures_or_ids`` is a :class:`Capture`, one id (any integer: the DataFrame's
        ``id`` column hands out ``numpy.int64``) or several of either; text is refused with
        ``TypeError``, ``"12"`` as well (it replayed captures 1 and 2, the string's
        characters). ``timeout`` (seconds the target has to answer) is
        :attr:`forward_timeout` unless given, as for a forward to the same app.

        >>> results = lab.replay(cap, to=app_url)     # a Capture, an id, or several
        >>> results[0].status, results[0].body
        (200, b'{"ok": true}')
        >>> [r.ok for r in lab.replay([1], to=app_url)]
        [True]
        >>> lab.replay(cap, to="localhost:5000/webhook")     # no scheme
        Traceback (most recent call last):
        ...
        ValueError: forward/replay target must be an http(s) URL, got 'localhost:5000/webhook'
        >>> [r.ok for r in lab.replay(lab.dataframe().id.iloc[-1], to=app_url)]   # numpy.int64
        [True]
        >>> lab.replay("1", to=app_url)
        Traceback (most recent call last):
        ...
        TypeError: replay takes a Capture, a capture id (an integer) or several of them, not '1' (a str): lab.replay(1, ...)

        A replay carries the signature it came with: where it holds a time (Stripe's 300 s)
        the app refuses a late replay. ``resign=True`` signs each capture afresh for ``to``
        with the secret registered for its bin (``lab.secret(bin, secret, provider=...)``),
        ``resign="whsec_..."`` with that secret, ``resign=Resign(secret, provider)`` as that
        provider; the body bytes and the delivery id stay
        (:func:`hooklab.outbound.forward.resigned`). A capture that cannot be re-signed is
        ``ValueError`` before anything is sent.

        >>> lab.secret("stripe", "whsec_test", provider="stripe")
        >>> [r.status for r in lab.replay(cap, to=app_url, resign=True)]
        [200]
        """
        from .outbound.forward import book_resigner, check_target, replay

        check_target(to)  # (first: one mistake, not an "error" result per capture)
        one = isinstance(captures_or_ids, Capture) or is_capture_id(captures_or_ids)
        if isinstance(captures_or_ids, str | bytes | bytearray) or not (
                one or isinstance(captures_or_ids, Iterable)):
            raise TypeError(_not_a_capture(captures_or_ids))
        items = [captures_or_ids] if one else list(captures_or_ids)  # type: ignore[arg-type]
        for c in items:  # (all of them first: nothing is sent when one is wrong)
            if not (isinstance(c, Capture) or is_capture_id(c)):
                raise TypeError(_not_a_capture(c))
        caps = [self._secrets.restored(c if isinstance(c, Capture) else self.get(int(c))) for c in items]
        return replay(caps, to, timeout=self.forward_timeout if timeout is None else timeout,
                      resign=book_resigner(self._secrets, resign))

    @classmethod
    def from_har(cls, path: str | os.PathLike[str], *,
                 redact_credentials: bool | None = None) -> HookLab:
        """Import a HAR file into an in-memory, non-serving lab (``hooklab.load_har``); a big
        one written by hooklab is read a line at a time by helper processes (as
        :meth:`from_jsonl` reads), any other as a whole.

        ``redact_credentials`` (the new lab's setting): ``Cookie``, ``X-XSRFToken`` and
        Jupyter's ``Authorization: token ...`` are stored as ``[redacted]``, as on arrival
        (a browser's HAR holds your own cookies), and a warning says how many;
        ``False`` keeps them as the file has them (the export of a lab that kept them).
        ``None``: the default lab's setting (``%config HookLab.redact_credentials = False``),
        else ``True``.

        >>> lab.export_har("captures.har")
        1
        >>> old = HookLab.from_har("captures.har")
        >>> old.is_running
        False
        >>> old.dataframe().groupby("event_type", observed=True).size()
        event_type
        payment_intent.succeeded    1
        dtype: int64
        >>> old.stop()
        """
        from .export import read_har
        from .export.jsonl import load_har
        from .store import ImportFailed

        name = os.fspath(path)
        redact = _import_redacts(redact_credentials)
        lab = cls(db=":memory:", redact_credentials=redact)
        try:
            # a big file as hooklab writes it: helper processes prepare its rows
            if load_har(lab.store, path, redact_credentials=redact) is None:
                lab.stop()  # (and whatever it stored)
                # the whole file, which says what is wrong with it
                records = read_har(path, redact_credentials=redact)
                lab = cls(db=":memory:", redact_credentials=redact)
                lab.store.add_many(records)  # one bulk write: thousands of rows per INSERT
        except ValueError as exc:  # e.g. out-of-range numbers
            lab.stop()
            # (an in-memory lab: nothing is kept, whatever chunks the store had taken)
            why = exc.reason if isinstance(exc, ImportFailed) else str(exc)
            if why.startswith(repr(name)):  # (read_har's own)
                if why == str(exc):
                    raise
                raise ValueError(why) from None
            raise ValueError(f"{name!r}: HAR {why.replace('record', 'entry', 1)}") from None
        except BaseException:
            lab.stop()
            raise
        return lab

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike[str], *, db: str = ":memory:",
                   skip: int = 0, redact_credentials: bool | None = None) -> HookLab:
        """Import a JSON Lines export into a non-serving lab (``hooklab.load_jsonl``), streaming:
        a million captures in seconds, memory bounded (``db`` may name a database file, new
        or holding captures already: the file's are added to them).

        >>> lab.export("captures.jsonl")
        1
        >>> old = HookLab.from_jsonl("captures.jsonl")
        >>> len(old.captures)
        1
        >>> old.stop()

        Interrupted (Ctrl-C, a kernel interrupt), it raises
        :class:`~hooklab.store.ImportInterrupted` (a ``KeyboardInterrupt``) saying how many
        records of the file are stored in ``db`` and how to import the rest: ``skip=N``
        leaves out the first ``N`` records of the file (importing them all again stored
        every one of them twice). A second Ctrl-C while it waits for the chunk being written
        says "at least N" (its ``maybe``: how many more may be stored).

        A line that is no capture (or a record that cannot be stored) raises ``ValueError``
        naming it; into a file, after chunks before it were stored (thousands of rows per
        transaction), it is an :class:`~hooklab.store.ImportFailed` that says how many records
        of the file are stored and the ``skip=`` that imports the rest once the line is put
        right. An in-memory lab keeps nothing.

        ``redact_credentials``: as :meth:`from_har` (``Cookie`` and Jupyter's
        ``Authorization: token ...`` stored as ``[redacted]``, said in a warning; ``False``
        keeps them).
        """
        from .export.jsonl import load
        from .store import ImportFailed, ImportInterrupted, ImportNotWritten

        redact = _import_redacts(redact_credentials)
        lab = cls(db=db, redact_credentials=redact)
        try:
            load(lab.store, path, skip=skip, redact_credentials=redact)
        except ImportInterrupted as exc:
            lab.stop()
            name, done = os.fspath(path), skip + exc.stored
            if db == ":memory:":
                raise ImportInterrupted(exc.stored, f"import of {name!r} interrupted: nothing is "
                                        "kept (an in-memory lab)", maybe=exc.maybe) from None
            if exc.maybe:  # (a second Ctrl-C cut the wait for the writer short)
                raise ImportInterrupted(exc.stored, (
                    f"import of {name!r} interrupted: at least the first {done} records of the "
                    f"file are stored in {db!r}, perhaps the first {done + exc.maybe} (the "
                    f"writer was still storing {exc.maybe} when the wait for it was cut short):"
                    " count them, then import the rest with "
                    f"hooklab.load_jsonl({name!r}, db={db!r}, skip=<that count>)"),
                    maybe=exc.maybe) from None
            raise ImportInterrupted(exc.stored, (
                f"import of {name!r} interrupted: the first {done} records of the file are "
                f"stored in {db!r}; to import the rest: hooklab.load_jsonl({name!r}, db={db!r},"
                f" skip={done})")) from None
        except ImportFailed as exc:
            lab.stop()
            if db == ":memory:":  # (nothing is kept)
                raise ValueError(exc.reason) from None
            if skip:  # (the file's records: those an earlier import stored too)
                raise ImportFailed(exc.reason, exc.stored, skip) from None
            raise
        except ImportNotWritten as exc:  # (a full disk: the records of the file, as above)
            lab.stop()
            if skip:
                raise ImportNotWritten(exc.stored, exc.count, exc.why, skip) from exc.__cause__
            raise
        except BaseException:
            lab.stop()
            raise
        return lab

    def export_har(self, path: str | os.PathLike[str], /, **filters: Any) -> int:
        """Write captures matching ``filters`` as HAR 1.2; returns how many.

        >>> lab.export_har("stripe.har", provider="stripe")
        1
        >>> import json
        >>> with open("stripe.har") as f:
        ...     json.load(f)["log"]["entries"][0]["request"]["method"]
        'POST'

        ``hooklab.load_har("stripe.har")`` reads it back; browsers' devtools open it too.
        """
        from .export import export

        return export(self.store, path, fmt="har", **filters)

    def export(self, path: str | os.PathLike[str], /, fmt: str | None = None, **filters: Any) -> int:
        """Write captures as ``har``, ``jsonl``, ``csv`` (by extension when ``fmt`` is None) or
        ``parquet`` (a folder, added to on each call: see :mod:`hooklab.export.parquet`);
        returns how many captures it wrote.

        >>> lab.export("captures.jsonl")                    # the format from the extension
        1
        >>> lab.export("stripe.csv", provider="stripe")     # filters as everywhere
        1
        >>> lab.export("exports/captures", fmt="parquet")   # a folder: hooklab.open() reads it
        1
        >>> len(hooklab.load_jsonl("captures.jsonl").captures)
        1
        """
        from .export import export

        return export(self.store, path, fmt=fmt, **filters)

    def public_url(self, bin: str, *, host: str | None = None) -> str:
        """A URL for ``bin`` reachable through the Jupyter server, without its token.

        See :mod:`hooklab.ingress`: an unguessable key is registered with the hooklab Jupyter
        server extension, which relays requests to this lab. ``host`` states the public
        address when hooklab cannot know it yet (its warning says so): an origin such as
        ``"https://hub.example.org"`` (the server's ``base_url`` is appended) or the full
        server URL, read as ``$HOOKLAB_PUBLIC_URL`` is (:func:`hooklab.ingress.public_url`).

        >>> lab.public_url("github")       # in Jupyter with hooklab's server extension  # doctest: +SKIP
        'https://hub.example.org/user/ada/hooklab/in/4fG...'
        >>> lab.public_url("github", host="https://hub.example.org")  # doctest: +SKIP
        'https://hub.example.org/user/ada/hooklab/in/9Qx...'
        """
        from .ingress import public_url

        return public_url(self, bin, host=host)

    # -- status ----------------------------------------------------------------------------------
    def status_line(self) -> str:
        """One line on where the lab listens and what it holds (``%hooklab`` prints it).

        >>> lab.status_line()
        'hooklab listening on http://127.0.0.1:... (db :memory:, 1 capture)'

        A lab :func:`hooklab.open` made, which never served, says what it opened (a Parquet
        export, a database read as it is: ``read-only``):

        >>> hooklab.open(":memory:").status_line()
        'hooklab opened, not serving (db :memory:, 0 captures)'
        """
        db = _shown_path(self.db_path)
        if self._opened and self._store is not None and not self.is_running:
            store = self._store
            if hasattr(store, "sources"):  # (a Parquet export, read in place)
                return (f"hooklab opened, not serving (Parquet {_shown_path(store.path)}, "
                        f"{n_captures(store.count())})")
            how = ", read-only" if store.readonly else ""
            return f"hooklab opened, not serving (db {db}{how}, {n_captures(store.count())})"
        if self._memory_gone:
            return "hooklab stopped (db :memory:, its captures went with stop())"
        if self._store is None and not self.is_running and self.db_path != ":memory:" \
                and not os.path.exists(self.db_path):
            # (a lab never started, on a file not made yet: its repr makes no file)
            return f"hooklab stopped (db {db}, {n_captures(0)})"
        n = self.store.count()
        if self.is_running:
            return f"hooklab listening on {self.url} (db {db}, {n_captures(n)})"
        return f"hooklab stopped (db {db}, {n_captures(n)})"

    def __enter__(self) -> HookLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<HookLab {self.status_line()}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def _shown_path(path: str) -> str:
    """``path`` (absolute, or ``:memory:``) as a status line shows it: relative to the working
    folder when under it, else as it is (not ``../../../abs.sqlite3``); control and invisible
    characters escaped (a line break in a folder's name would forge a line of ``hooklab
    serve``'s output)."""
    if path == ":memory:":
        return path
    path = os.path.abspath(path)
    rel = os.path.relpath(path)
    return printable(path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel)


@atexit.register
def _stop_all() -> None:
    views = sys.modules.get("hooklab.widget.view")
    if views is not None:  # (first: stopping a lab closes its views, which then went blank)
        views.LiveView.kernel_exiting()
    for lab in list(_ALL_LABS):
        try:
            lab.stop()
        except Exception:  # noqa: BLE001
            pass


def _fail_the_cell(message: str) -> bool:
    """Make the running IPython cell fail with ``message`` said as a ``UsageError`` (one line,
    as a magic's mistakes are), though nothing is raised: ``%config`` catches every exception
    a configurable raises and only logs it. The cell's ``ExecutionResult`` (the one its
    displayhook fills) then reports the error: the kernel's reply says ``error`` and "Run All"
    stops. False when no cell is running (nothing done)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    if shell is None or result is None:
        return False
    from IPython.core.error import UsageError

    err = UsageError(f"%config: {message}")
    result.error_in_exec = err
    shell.showtraceback((UsageError, err, None))
    return True


def _import_redacts(given: bool | None) -> bool:
    """Whether an import stores ``Cookie`` and Jupyter's ``Authorization: token ...`` as
    ``[redacted]``: ``given``, or (``None``) as the default lab does, else as a new lab does."""
    if given is None:
        lab = default_lab()
        return bool(lab.redact_credentials) if lab is not None else True
    if not isinstance(given, bool):
        raise TypeError(f"redact_credentials must be True, False or None, not {given!r}")
    return given


# -- the default lab (``hooklab.start()``, ``hooklab.lab()``, ``%load_ext hooklab``) -------------
_DEFAULT: HookLab | None = None


def default_lab() -> HookLab | None:
    """The default lab (``hooklab.lab()``), or ``None``."""
    return _DEFAULT


def set_default(new: HookLab | None) -> None:
    """Make ``new`` the default lab (the magics use this; it does not start or stop anything)."""
    global _DEFAULT
    _DEFAULT = new


def start_default(*, host: str = "127.0.0.1", port: int = 8765, db: str | os.PathLike[str] = DEFAULT_DB,
                  **config: Any) -> HookLab:
    """Stop the current default lab, then start a new one and make it the default.

    Captures the old lab held in memory (``db=":memory:"``) go with it: a warning says how many
    (a second lab beside the default one is ``HookLab(port=0, ...).start()``). A setting
    the new lab refuses (``retention_count=0``) is refused before the old one is stopped:
    it goes on as it was."""
    new = HookLab(host=host, port=port, db=os.fspath(db), **config)  # (nothing opened yet)
    if _DEFAULT is not None:
        old = _DEFAULT
        lost, where = 0, old.server.url if old.server is not None else "not serving"
        if old.db == ":memory:" and not old._memory_gone and old._store is not None:
            with contextlib.suppress(Exception):  # (a store that cannot count loses nothing more)
                lost = old.store.count()
        old.stop()
        if lost:
            warnings.warn(
                f"hooklab.start() stopped the default lab it replaces ({where}), "
                f"and its {lost} capture{'s' if lost != 1 else ''} in memory (db=':memory:') "
                "are gone; for a second lab beside the default one: "
                "hooklab.HookLab(port=0, db=...).start()",
                RuntimeWarning, stacklevel=user_stacklevel(),
            )
    new.start()
    set_default(new)
    return new


def _withdraw_on_end(lab: HookLab) -> Callable[[Any], None]:
    """An end listener of ``lab``'s server (held weakly: the server does not keep the lab)."""
    ref = weakref.ref(lab)

    def ended(server: Any) -> None:
        owner = ref()
        if owner is not None and owner.server is server:  # (not an older, replaced server)
            ingress.withdraw(owner)

    return ended


def stop_default() -> None:
    """Stop the default lab (if any) and forget it."""
    if _DEFAULT is not None:
        _DEFAULT.stop()
        set_default(None)


def _this_machine(host: str | None) -> bool:
    """Whether ``host`` (a URL's host name) is this machine by its spelling alone: a loopback
    or unspecified address as ``inet_aton`` / ``ipaddress`` read it, or ``localhost``."""
    import ipaddress
    import socket

    if not host:
        return False
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        try:  # the shorthands a URL library accepts: 127.1, 0x7f.1, 2130706433
            ip = ipaddress.ip_address(socket.inet_aton(name))
        except (OSError, ValueError):
            return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback or ip.is_unspecified


#: how long a forward target's host name may take to resolve (``lab.forward`` waits for it)
_RESOLVE_SECONDS = 1.0


def _addresses(host: str, timeout: float = _RESOLVE_SECONDS) -> list[str]:
    """The addresses ``host`` resolves to, or ``[]`` when that fails or takes longer than
    ``timeout`` (``getaddrinfo`` has no timeout of its own: it runs in a daemon thread that
    is left to finish alone)."""
    import ipaddress
    import socket
    import threading

    bare = host.strip("[]").split("%", 1)[0]
    try:
        return [str(ipaddress.ip_address(bare))]
    except ValueError:
        pass
    found: list[str] = []

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError, ValueError):
            return
        found.extend(str(info[4][0]) for info in infos)

    t = threading.Thread(target=look_up, name="hooklab-resolve", daemon=True)
    t.start()
    t.join(timeout)
    return [] if t.is_alive() else list(found)


def _is_local(address: str) -> bool:
    """Whether ``address`` is one of this machine's own (a socket can be bound to it; no
    packet is sent)."""
    import socket

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((address, 0))
    except OSError:
        return False
    return True


def _reaches(host: str, lab_host: str) -> bool:
    """Whether a request to ``host`` (a name or an address) on the lab's port reaches the lab
    bound to ``lab_host``: it resolves to a loopback or unspecified address, to the lab's own
    address, or (a lab on every interface) to any address of this machine."""
    import ipaddress

    try:
        every = not lab_host or ipaddress.ip_address(lab_host.strip("[]")).is_unspecified
    except ValueError:
        every = False
    addresses = _addresses(host)
    if any(_this_machine(a) or (every and _is_local(a)) for a in addresses):
        return True
    return not every and bool(addresses) and not set(addresses).isdisjoint(_addresses(lab_host))


def _check_count(call: str, count: Any, *, allow_none: bool) -> int | None:
    """``count`` of :meth:`HookLab.wait` / :meth:`HookLab.assert_received`: a whole number of
    captures, 0 or more (``None`` too where ``allow_none``). A bin named first, as ``url_for``,
    ``respond`` and ``secret`` take it (``assert_received("orders")``), read "expected orders
    capture(s)" or raised a ``TypeError`` about ``>=``; ``"1"`` or ``0.5`` compared as counts.

    >>> _check_count("wait", "orders", allow_none=False)
    Traceback (most recent call last):
    ...
    TypeError: wait(count=...) is a number of captures, 0 or more: got 'orders' (a bin is a filter: wait(1, bin='orders'))
    """
    __tracebackhide__ = True  # (pytest: the caller's mistake, shown at its line)
    if count is None and allow_none:
        return None
    whole = isinstance(count, numbers.Integral) or (
        isinstance(count, float) and count.is_integer())  # (wait(1.0) worked: it still does)
    if isinstance(count, bool) or not isinstance(count, numbers.Real):
        hint = f" (a bin is a filter: {call}(1, bin={count!r}))" if isinstance(count, str) else ""
        raise TypeError(f"{call}(count=...) is a number of captures, 0 or more: "
                        f"got {printable(repr(count))}{hint}")
    if not whole or count < 0:
        raise ValueError(f"{call}(count=...) is a number of captures, 0 or more: "
                         f"got {printable(repr(count))}")
    return int(count)


def _check_wait_timeout(timeout: Any) -> float | None:
    """:meth:`HookLab.wait`'s ``timeout``: seconds, 0 or more (0 looks once), or ``None``
    for no limit. NaN and infinity waited for ever while reading as a bound; a negative
    value said "waited -1 s"; text raised a ``TypeError`` about ``+``.

    >>> _check_wait_timeout(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: wait(timeout=nan) refused: seconds, 0 or more (None waits with no limit)
    """
    __tracebackhide__ = True  # (pytest: the caller's mistake, shown at its line)
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"wait(timeout=...) is seconds, 0 or more (None waits with no limit): "
                        f"got {printable(repr(timeout))}")
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"wait(timeout={timeout!r}) refused: seconds, 0 or more "
                         "(None waits with no limit)")
    return float(timeout)


def _not_a_capture(value: Any) -> str:
    hint = (f": lab.replay({int(value)}, ...)" if isinstance(value, str) and value.strip().isdigit()
            else "")
    return (f"replay takes a Capture, a capture id (an integer) or several of them, not "
            f"{printable(repr(value), 80)} (a {type(value).__name__}){hint}")


#: what a URL holds as it is (printable ASCII but ``"<>\\^`{|}``, ``#`` and ``%``)
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}#%')


def _url_text(text: str) -> str:
    """``text`` (a path, and a query after ``?``) with what a URL cannot hold as it is
    percent-encoded; ``%XX`` escapes kept (see :meth:`HookLab.url_for`).

    >>> _url_text("a b/%2F/100%/#x")
    'a%20b/%2F/100%25/%23x'
    """
    import re
    from urllib.parse import quote

    parts = re.split(r"(%[0-9A-Fa-f]{2})", text)  # (odd items: the escapes, kept)
    return "".join(p if i % 2 else quote(p, safe=_URL_SAFE) for i, p in enumerate(parts))


def _label(c: Capture) -> str:
    """``#12 POST /orders payment_intent.succeeded (verified=False: signature mismatch: ...)``:
    a capture in a failure message, every part cut (a sender's megabyte path) and escaped;
    the check's outcome when one ran, with its reason (but a passed check's ``ok``)."""
    # (a raw UTF-8 path or event type read as its sender wrote it, as hooklab serve shows it)
    event = header_text_as_sent(c.event_type or "", c.header_section)
    label = (f"#{c.id} {printable(c.method, 20)} {printable(target_as_sent(c.path), 120)} "
             f"{printable(event, 120)}").strip()
    reason = "" if c.verified and c.verify_reason == "ok" else (c.verify_reason or "")
    if c.verified is not None:
        label += f" (verified={c.verified}" + (f": {printable(reason, 160)})" if reason else ")")
    elif reason:  # (no verdict, yet something to say)
        label += f" (not verified: {printable(reason, 160)})"
    return label


def open_lab(db_path: str | os.PathLike[str]) -> HookLab:
    """A lab over an existing capture database, not serving (``hooklab.open``); a Parquet
    dataset exported by hooklab (a folder, or one ``.parquet`` file) is read in place.

    A path that is not there, or an empty file (no database was ever written into it: a
    placeholder, a path mistyped onto an empty file), is refused with ``FileNotFoundError``
    and left as it is; ``hooklab.start(db=path)`` is the way to begin a new database there.
    """
    path = os.fspath(db_path)
    if path != ":memory:" and not os.path.exists(path):
        raise FileNotFoundError(f"no capture database at {path!r}")
    if path != ":memory:" and _empty_file(path):
        # (SQLite makes a new database of an empty file: opening to read wrote 69,632 bytes
        # of mode 0600 into the user's file, and showed 0 captures as if that were all)
        raise FileNotFoundError(f"no capture database at {path!r} (the file is empty); "
                                "it was left untouched")
    from .store.parquet import ParquetStore, is_parquet_dataset

    if path != ":memory:" and is_parquet_dataset(path):  # analysed in place, read-only
        opened = HookLab(db=":memory:")
        opened._store = ParquetStore(path)  # type: ignore[assignment]
        opened._opened = True
        return opened
    if os.path.isdir(path):  # (not a database: what SQLite would say about it misleads)
        raise FileNotFoundError(f"{path!r} is a folder without Parquet files: no captures were "
                                "exported there (an export that matches nothing writes none)")
    if path != ":memory:":
        _refuse_an_export(path)
    opened = HookLab(db=path)
    theirs = (path != ":memory:" and hasattr(os, "getuid")
              and os.stat(os.path.realpath(path)).st_uid != os.getuid())
    if path != ":memory:" and (theirs or not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)):
        from .store import CaptureStore  # a read-only mount, or another user's database (not

        opened._store = CaptureStore(path, readonly=True)  # written into): read as it is
    from .store import DiskFull

    try:
        opened.store  # noqa: B018 - open now so errors surface here
    except DiskFull:  # (no room for SQLite's -wal and -shm: an analysis only reads, so the
        from .store import CaptureStore  # file is read as it is, if nobody else has it open)

        opened._store = CaptureStore(path, readonly=True)
    opened._opened = True
    return opened


def _empty_file(path: str) -> bool:
    """Whether ``path`` is a regular file of 0 bytes without a ``-wal`` holding its pages
    (a database whose pages are all still in its WAL is not empty)."""
    try:
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            wal = path + "-wal"
            return not (os.path.isfile(wal) and os.path.getsize(wal) > 0)
    except OSError:  # (gone meanwhile: the store says what is wrong)
        pass
    return False


def _refuse_an_export(path: str) -> None:
    """``ValueError`` when ``path`` is a JSON Lines or HAR file (SQLite would say "file is not
    a database"): they are imported, not opened. A UTF-8 byte order mark before the JSON (as
    Windows tools write one) and a Playwright ``.zip`` HAR (a zip holding a ``.har``) are
    recognised too, as the importers read them."""
    import re
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # (a FIFO: an open would wait for a writer)
            return
        with open(path, "rb") as f:
            head = f.read(512)
            zipped = head.startswith(b"PK\x03\x04") and _zip_holds_a_har(f)
    except OSError:
        return  # (the store says what is wrong)
    if zipped:
        raise ValueError(f"{path!r} is a zipped HAR file (a .har inside a zip), not a capture "
                         "database: import it with hooklab.load_har(path)")
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if _reads_as_json_text(start):
        har = (path.lower().endswith((".har", ".json"))
               or re.match(rb'\{\s*"log"\s*:', start) is not None)
        how = "hooklab.load_har(path)" if har else "hooklab.load_jsonl(path)"
        raise ValueError(f"{path!r} is a {'HAR' if har else 'JSON Lines'} file, not a capture "
                         f"database: import it with {how}")


def _reads_as_json_text(start: bytes) -> bool:
    """Whether ``start`` (a file's first bytes, byte order mark and leading blanks gone) begins
    as an export does: an object with a member name (``{"``) or an array of objects, in UTF-8 text.
    Arbitrary bytes that happen to start with ``{`` or ``[`` (one file in a hundred of random
    bytes) are not an export: the store says what they are.

    >>> _reads_as_json_text(b'{"log": {}}'), _reads_as_json_text(b'[ {"id": 1}]')
    (True, True)
    >>> _reads_as_json_text(b'{\\x93\\x00\\xfe'), _reads_as_json_text(b'[1, 2]')
    (False, False)
    """
    import re

    if re.match(rb'(?:\{[ \t\r\n]*"|\[[ \t\r\n]*\{[ \t\r\n]*")', start) is None:
        return False
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as e:  # (only a character cut by the end of the read may fail)
        return e.start >= len(start) - 3 and e.reason == "unexpected end of data"
    return True


def _zip_holds_a_har(f: Any) -> bool:
    """Whether the open file ``f`` is a zip with a ``.har`` in it (Playwright's
    ``record_har_path="x.zip"``), by its list of members only: nothing is unzipped."""
    import zipfile

    try:
        with zipfile.ZipFile(f) as archive:
            return any(i.filename.lower().endswith(".har") and not i.is_dir()
                       for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
