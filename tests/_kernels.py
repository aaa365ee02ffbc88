"""A real kernel for tests that look at what a notebook gets: cells run one at a time, every
message the kernel publishes kept (widget comm messages too), as a browser receives them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel


class KernelSession:
    """A kernel started in ``cwd``; :meth:`cell` runs code and returns what it printed;
    :attr:`published` holds every iopub message so far."""

    def __init__(self, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)
        self.published: list[dict[str, Any]] = []

    def cell(self, code: str, timeout: float = 60) -> str:
        """Run ``code``; its stdout text (AssertionError with the traceback if it failed)."""
        parent = self.kc.execute(code)
        printed: list[str] = []
        idle = False
        while not idle:  # (bounded: each message waited for at most ``timeout`` seconds)
            msg = self.kc.get_iopub_msg(timeout=timeout)
            self.published.append(msg)
            if msg["parent_header"].get("msg_id") != parent:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            if kind == "stream" and content["name"] == "stdout":
                printed.append(content["text"])
            idle = kind == "status" and content["execution_state"] == "idle"
        return "".join(printed)

    def comms_closed(self, since: int = 0) -> set[str]:
        """The widgets the kernel closed (a notebook removes their views) in the messages
        published from index ``since`` on."""
        return {m["content"]["comm_id"] for m in self.published[since:]
                if m["msg_type"] == "comm_close"}

    def texts_sent(self, since: int = 0) -> list[str]:
        """Every text a widget update carried to the browser from index ``since`` on (values,
        option labels)."""
        texts: list[str] = []
        for m in self.published[since:]:
            if m["msg_type"] in ("comm_open", "comm_msg"):
                for value in m["content"].get("data", {}).get("state", {}).values():
                    items = value if isinstance(value, list) else [value]
                    texts += [v for v in items if isinstance(v, str)]
        return texts

    def sent(self, model: str, key: str, default: Any = None) -> Any:
        """The last value of trait ``key`` the kernel sent the browser for widget ``model``
        (``default``: none sent yet), in the messages published so far."""
        value = default
        for m in self.published:
            if m["msg_type"] in ("comm_open", "comm_msg") and m["content"].get("comm_id") == model:
                value = m["content"].get("data", {}).get("state", {}).get(key, value)
        return value

    def until_sent(self, model: str, key: str, ok: Any, timeout: float = 15) -> Any:
        """Take in what the kernel publishes until the last ``key`` sent for ``model``
        satisfies ``ok(value)`` (at most ``timeout`` seconds, no cell run); that value."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while not ok(value := self.sent(model, key)) and time.monotonic() < deadline:
            try:
                self.published.append(self.kc.get_iopub_msg(timeout=0.2))
            except queue.Empty:
                pass
        return value

    def browser_sets(self, model: str, **state: Any) -> None:
        """What the browser sends when a person changes widget ``model`` (a row's or a
        dropdown's ``index``, a tab's ``selected_index``...)."""
        msg = self.kc.session.msg("comm_msg", {
            "comm_id": model, "data": {"method": "update", "state": state, "buffer_paths": []}})
        self.kc.shell_channel.send(msg)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@contextmanager
def kernel_in(cwd: Path, setup: str | None = None) -> Iterator[KernelSession]:
    """A :class:`KernelSession` in ``cwd`` that ran ``setup`` first; shut down afterwards."""
    k = KernelSession(cwd)
    try:
        if setup is not None:
            k.cell(setup)
        yield k
    finally:
        k.close()


def kernel_per_test() -> Any:
    """A fixture named ``kernel``: a :class:`KernelSession` started in the test's ``tmp_path``,
    closed after it. In a test module: ``kernel = kernel_per_test()``."""

    @pytest.fixture
    def kernel(tmp_path: Path) -> Iterator[KernelSession]:
        with kernel_in(tmp_path) as k:
            yield k

    return kernel
