"""pytest plugin: a real hooklab capture server for testing your webhook code.

Installed with hooklab (entry point ``pytest11``), so the fixture is simply available::

    def test_my_app_sends_a_webhook(hooklab_server):
        my_app.notify(hooklab_server.url_for("orders"))
        hooklab_server.wait(1, bin="orders", timeout=5)
        hooklab_server.assert_received(1, bin="orders", method="POST")

One server (``127.0.0.1``, free port, in-memory store) runs per test session; before and after
each test its captures, response rules, secrets and forwards are cleared, so tests do not see each
other's traffic.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .core import HookLab

__all__ = ["hooklab_server", "hooklab_session_server"]


def _reset(lab: HookLab) -> None:
    lab.reset()


@pytest.fixture(scope="session")
def hooklab_session_server() -> Iterator[HookLab]:
    """The session-wide running :class:`~hooklab.core.HookLab` (not cleared between tests)."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def hooklab_server(hooklab_session_server: HookLab) -> Iterator[HookLab]:
    """A running :class:`~hooklab.core.HookLab`, empty at the start of each test."""
    _reset(hooklab_session_server)
    yield hooklab_session_server
    _reset(hooklab_session_server)
