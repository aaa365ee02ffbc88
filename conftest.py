"""Root pytest configuration: how nbval compares the example notebooks, and what the docstring
examples in ``hooklab/`` see when they run as tests (``pytest --doctest-modules hooklab``)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_collectstart(collector) -> None:
    """Compare notebooks on text only: widget ids, HTML tables and charts vary by run."""
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "text/html",
            "image/png",
            "application/vnd.jupyter.widget-view+json",
            "application/javascript",
        )


def pytest_configure(config) -> None:
    """nbval's kernels run without ``PYTEST_CURRENT_TEST``: under it ipykernel keeps what the
    kernel process writes to its stderr (a thread's traceback, a library's log) out of the
    notebook, where a person running it sees it; the comparison should see it too."""
    try:
        import nbval.kernel as nbval_kernel
    except ImportError:
        return
    start = nbval_kernel.start_new_kernel

    def start_as_a_user_would(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("env", {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"})
        return start(*args, **kwargs)

    nbval_kernel.start_new_kernel = start_as_a_user_would


# -- docstring examples ---------------------------------------------------------------------------
#: the signing secret of the Stripe delivery behind ``cap`` (``cap.verify(DOC_SECRET)``)
DOC_SECRET = "whsec_test"
_APP_TIMEOUT = 10.0


class _LocalApp:
    """A tiny receiving app on 127.0.0.1 (free port) in its own thread and event loop.

    ``POST/GET/... /<anything>`` answers ``200 {"ok": true}`` (what a webhook endpoint of the
    reader's own app would do); ``/feed`` is a WebSocket that answers each message it receives
    with two messages (``{"event": "subscribed"}``, ``{"event": "tick", "n": 1}``).
    """

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="doctest-app", daemon=True)
        self._thread.start()
        if not self._ready.wait(_APP_TIMEOUT):
            raise RuntimeError("the doctest app did not start")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        from tornado import web, websocket
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets

        class Hook(web.RequestHandler):
            SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

            def check_xsrf_cookie(self) -> None:
                return None

            def _answer(self, *args: str) -> None:
                self.write({"ok": True})

            get = post = put = patch = delete = options = _answer

            def head(self, *args: str) -> None:
                self.set_status(200)

        class Feed(websocket.WebSocketHandler):
            def on_message(self, message: str | bytes) -> None:
                self.write_message('{"event": "subscribed"}')
                self.write_message('{"event": "tick", "n": 1}')

        async def serve() -> None:
            app = web.Application([(r"/feed", Feed), (r"/.*", Hook)])
            socks = bind_sockets(0, address="127.0.0.1")
            self.port = socks[0].getsockname()[1]
            self._server = HTTPServer(app)
            self._server.add_sockets(socks)

        try:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
        except BaseException as exc:  # noqa: BLE001 - re-raised in __init__
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._server.close_all_connections())
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/feed"

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed() and self._server is not None:
            loop.call_soon_threadsafe(self._server.stop)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(_APP_TIMEOUT)


@pytest.fixture(autouse=True)
def _doctest_world(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fresh objects for each docstring example (other tests are left alone).

    Names the examples can use: ``hooklab``; ``lab``, a running lab (free port, in-memory
    store) that has received ``cap``: a Stripe ``payment_intent.succeeded`` delivery sent by
    :func:`hooklab.send`, signed with ``"whsec_test"`` (registered with ``lab.secret``);
    ``store`` (``lab.store``); ``app_url``, the webhook endpoint of a tiny local app on
    127.0.0.1 that answers 200 ``{"ok": true}``; ``ws_url``, that app's WebSocket feed. Each
    example runs in an empty temporary working directory with a private ingress registry and
    no proxy settings; the environment is restored afterwards.
    """
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    import hooklab

    tmp_path = request.getfixturevalue("tmp_path")
    saved_env = dict(os.environ)
    old_cwd = os.getcwd()
    os.chdir(tmp_path)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        os.environ.pop(name, None)  # urllib examples talk to 127.0.0.1 directly
    os.environ["HOOKLAB_INGRESS_REGISTRY"] = str(tmp_path / "ingress" / "hooklab-ingress.json")
    app = lab = None
    try:
        app = _LocalApp()
        lab = hooklab.HookLab(port=0, db=":memory:").start()
        lab.secret("stripe", DOC_SECRET)  # so ``cap.verified`` is True, as a user would set it up
        hooklab.send(lab.url_for("stripe"), provider="stripe", event="payment_intent.succeeded",
                     secret=DOC_SECRET, timeout=_APP_TIMEOUT)
        (cap,) = lab.wait(1, timeout=_APP_TIMEOUT)
        namespace = request.getfixturevalue("doctest_namespace")
        namespace.update(hooklab=hooklab, lab=lab, store=lab.store, cap=cap,
                         app_url=app.url, ws_url=app.ws_url)
        yield
    finally:
        hooklab.stop()  # an example may have started the default lab
        if lab is not None:
            lab.stop()
        if app is not None:
            app.stop()
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
