"""A bin with a ``/`` inside (``url_for("a/b")`` sends ``/a%2Fb``, ``capture.bin`` reads
``a/b``) is named ``"a%2Fb"`` to ``lab.secret``, ``lab.respond`` and ``lab.forward``: its only
spelling, as ``"a/b"`` is bin ``a``, path ``/b``. All three refused it, saying "a bin with a
'/' inside is named by no call (url_for makes none)", which was false: such a bin could be
captured into and never verified, answered or forwarded (an outside tester). Other escaped
spellings are still refused, saying the bin to write."""

from __future__ import annotations

import http.server
import threading

import pytest

import hooklab

#: (name given, the bin it names: what capture.bin reads for url_for(bin))
NAMES = [("a%2Fb", "a/b"), ("a%2fb", "a/b"), ("x%2Fy%2Fz", "x/y/z"),
         ("caf%C3%A9%2Fb", "café/b")]

#: spellings that name another bin's text: refused, saying which (unchanged)
REFUSED = [("caf%C3%A9", "write 'café'"), ("100%41", "write '100A'"),
           ("a/b", "write 'a'"),
           # (it said "write '100%41'", which the same call then refused: "write '100A'")
           ("100%2541", "a bin whose name holds %XX text, as '100%41' does, is named by no")]


class _App(http.server.BaseHTTPRequestHandler):
    got: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _App.got.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def app():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/in"
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize(("name", "bin_"), NAMES)
def test_a_bin_with_a_slash_inside_is_named_by_its_escaped_spelling(lab, app, name, bin_):
    _App.got.clear()
    lab.secret(name, "slash-secret-1", provider="github")
    lab.respond(name, status=202)
    lab.forward(name, app)
    url = lab.url_for(bin_, "x")
    r = hooklab.send(url, provider="github", event="push", secret="slash-secret-1")
    assert r.status == 202
    other = hooklab.send(lab.url_for(bin_.split("/")[0], "b/x"), payload={})
    assert other.status == 200  # (bin a's captures: none of the three applies to them)
    caps = lab.wait(2, timeout=20)
    assert (caps[0].bin, caps[0].verified) == (bin_, True)
    assert caps[1].bin != bin_ and caps[1].verified is None
    for _ in range(200):  # (the forward runs on a worker: bounded wait)
        if _App.got:
            break
        threading.Event().wait(0.05)
    assert _App.got == ["/in/x"]
    assert lab.rules.remove(name) is True


@pytest.mark.parametrize(("name", "words"), REFUSED)
def test_other_escaped_spellings_are_still_refused(lab, name, words):
    for call in (lambda: lab.secret(name, "s3cret-xyz"), lambda: lab.respond(name, status=202),
                 lambda: lab.forward(name, "http://127.0.0.1:9/x")):
        with pytest.raises(ValueError, match=words):
            call()
