"""A live view opened while its lab is not serving: "Copy as curl" goes to the lab's address.

A user's flow: start a lab, receive a webhook, ``lab.stop_serving()`` or ``lab.stop()``,
open ``lab.live()`` and copy the curl command. It went to ``http://127.0.0.1:8765``, a port
the lab may never have used, while ``lab.start()`` listens again where it listened before.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import pytest
from _http import free_port

import hooklab


class _Comm:
    """A comm that talks to no front end (the view's widgets need one)."""

    kernel = "Truthy"

    def __init__(self, **kwargs: Any) -> None:
        import uuid

        self.comm_id = uuid.uuid4().hex

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _no_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: _Comm(**kw))


def _curl_target(view: Any) -> str:
    """The URL the view's "Copy as curl" command sends to (the line that runs curl)."""
    line = next(line for line in view.curl.value.splitlines() if line.startswith("curl "))
    return next(word.strip("'") for word in line.split() if word.strip("'").startswith("http://"))


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on: a lab asked for it moves to the next free one."""
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        yield port


@pytest.mark.parametrize("how", ["stop_serving", "stop"])
@pytest.mark.parametrize("asked", ["fixed", "any free (port=0)", "taken (moved on)"])
def test_copy_as_curl_of_a_view_opened_while_stopped_goes_to_the_lab(
        tmp_path: Path, request: pytest.FixtureRequest, how: str, asked: str) -> None:
    port = {"fixed": free_port, "any free (port=0)": lambda: 0,
            "taken (moved on)": lambda: request.getfixturevalue("held_port")}[asked]()
    with pytest.warns(RuntimeWarning) if asked.startswith("taken") else _nothing():
        lab = hooklab.start(port=port, db=str(tmp_path / "c.sqlite3"))
    views: list[Any] = []
    try:
        served_at = lab.url  # (what the sender was given)
        if port:
            assert (served_at == f"http://127.0.0.1:{port}") == (asked == "fixed")
        with urllib.request.urlopen(urllib.request.Request(
                served_at + "/orders/new?x=1", data=b'{"a": 1}'), timeout=10) as resp:
            resp.read()
        (cap,) = lab.wait(1, timeout=10)
        getattr(lab, how)()
        assert not lab.is_running
        view = lab.live(bin="orders")
        views.append(view)
        view.select(cap.id)
        assert _curl_target(view) == served_at + "/orders/new?x=1", view.curl.value
        lab.start()  # (and the lab does listen there again: the command reaches it)
        assert lab.url == served_at
    finally:
        for v in views:
            v.close()
        lab.stop()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
