"""pytest plugin: a real hooklab capture server for testing your webhook code.

Installed with hooklab (entry point ``pytest11`` named ``hooklab``: ``-p no:hooklab`` turns it
off), so the fixture is simply available::

    def test_my_app_sends_a_webhook(hooklab_server):
        my_app.notify(hooklab_server.url_for("orders"))
        hooklab_server.wait(1, bin="orders", timeout=5)
        hooklab_server.assert_received(1, bin="orders", method="POST")

``hooklab_server``: one server (``127.0.0.1``, free port, in-memory store) per test session
(per xdist worker); before and after each test its captures, response rules, secrets,
forwards, live views, the ``refused`` counts of ``/_hooklab/health`` and settings (``max_body``, ``redact_credentials``, ``allowed_hosts``, ...
as the lab was made, also where set on ``lab.server``) are reset, and a test that stopped it (``stop()``, ``stop_serving()``) or moved it (``host``,
``port``) leaves the next one a fresh server. A request your app sends *after* its test
ended (a background thread, a retry) reaches the next test's lab: wait for your app's own
sends before the test returns. In ``async`` tests, wait off the event loop so your app's
sends can run: ``await asyncio.to_thread(hooklab_server.wait, 1, bin="orders")``.
Subscriptions a test makes itself (``lab.store.subscribe``) last until it unsubscribes.

``hooklab_session_server``: a second lab of its own for session-, module- or class-scoped
fixtures; the plugin never clears it.

Loaded by hand, it is named by its entry point's name: ``-p hooklab`` or
``pytest_plugins = ["hooklab"]`` in the root conftest.py, which work with autoloading on and
with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` alike (pytest looks the name up among the entry
points first). ``-p hooklab.pytest_plugin`` or ``pytest_plugins = ["hooklab.pytest_plugin"]``
work only with autoloading off: with it on, they register the module a second time under
another name and pytest stops ("Plugin already registered under a different name").
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .core import HookLab

__all__ = ["hooklab_server", "hooklab_session_server"]


def _new_lab() -> HookLab:
    # (imported when a fixture first needs a lab: pytest loads this module in every run of an
    # environment where hooklab is installed, and each xdist worker does; at the top it cost
    # every run, the lab's or not, tornado, traitlets, sqlite3 and the server: +0.34 s)
    from .core import HookLab

    return HookLab(port=0, db=":memory:").start()


class _PerTestLab:
    """The lab ``hooklab_server`` hands each test, and its settings as it was made."""

    def __init__(self) -> None:
        self.lab: HookLab | None = None
        self.settings: dict[str, Any] = {}
        self.bound: tuple[str, int] = ("", 0)

    def ready(self) -> HookLab:
        """The lab, reset: a fresh one if a test stopped it or moved its address."""
        lab = self.lab
        if lab is not None and (not lab.is_running or (lab.host, lab.port) != self.bound):
            with contextlib.suppress(Exception):
                lab.stop()
            lab = None
        if lab is None:
            lab = self.lab = _new_lab()
            # (copies: a list setting changed in place, allowed_hosts.append(...), is seen)
            self.settings = {n: copy.deepcopy(getattr(lab, n)) for n in lab.trait_names(config=True)}
            self.bound = (lab.host, lab.port)
        self.reset()
        return lab

    def reset(self) -> None:
        lab = self.lab
        if lab is None or not lab.is_running:  # (stopped by the test: replaced at the next one)
            return
        for name, value in self.settings.items():
            if getattr(lab, name) != value and name not in ("host", "port"):
                setattr(lab, name, copy.deepcopy(value))
        if lab.server is not None:  # (set on the server itself, lab.server.allowed_hosts = ...)
            lab._configure_server()
        for view in list(lab._views):  # a test's live views stop receiving the next test's
            view.close()
            lab._views.discard(view)
        ingress = sys.modules.get("hooklab.ingress")  # (loaded by a test's public_url only)
        if ingress is not None:  # a test's public URLs retire with it: a request to one in
            ingress.unregister(lab)  # the next test was that test's capture (and its key
            # stayed in the user's Jupyter runtime registry until the session ended)
        lab.reset()

    def close(self) -> None:
        if self.lab is not None:
            self.lab.stop()


@pytest.fixture(scope="session")
def _hooklab_per_test() -> Iterator[_PerTestLab]:
    labs = _PerTestLab()
    try:
        yield labs
    finally:
        labs.close()


@pytest.fixture(scope="session")
def hooklab_session_server() -> Iterator[HookLab]:
    """A running :class:`~hooklab.core.HookLab` for the whole session, never cleared by the
    plugin (a lab of its own, apart from ``hooklab_server``'s): for session-, module- or
    class-scoped fixtures."""
    lab = _new_lab()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def hooklab_server(_hooklab_per_test: _PerTestLab) -> Iterator[HookLab]:
    """A running :class:`~hooklab.core.HookLab`, empty and with its settings as made at the
    start of each test."""
    lab = _hooklab_per_test.ready()
    yield lab
    _hooklab_per_test.reset()
