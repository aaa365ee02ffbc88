"""Review of round 31: ``check_bin("caf%C3%A9")`` returned ``"caf%C3%A9"``, while a capture
to ``/caf%C3%A9/x`` is in bin ``"café"``: ``lab.secret`` / ``lab.respond`` / ``lab.forward``
with the escaped spelling were taken and never applied, the silent failure ``check_bin`` was
added to refuse. A bin spelt with ``%XX`` escapes is now refused, saying the bin to write;
that bin, and every name without an escape, works as before (``url_for("café")`` too).
Met as a user meets it: ``import hooklab``, a lab on a real SQLite file, requests on a real
socket to 127.0.0.1.
"""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _labs import file_module_lab

import hooklab

# (name as written, the bin a capture to /<name>/x is in: read by hand, UTF-8 where the
# escaped bytes are UTF-8, a character a byte where they are not)
ESCAPED = [
    ("caf%C3%A9", "café"),
    ("caf%c3%a9", "café"),
    ("/caf%C3%A9/", "café"),
    ("caf%E9", "café"),
    ("a%20b", "a b"),
    ("%F0%9F%AA%9D", "\U0001fa9d"),
    ("100%25", "100%"),
    ("caf%C3%A9?", "café?"),
]
#: names with no escape (or a "%" that starts none) are bins as written
PLAIN = ["café", "a?b", "100%", "x%zz", "%", "orders"]


lab = file_module_lab()


def _post(lab: hooklab.HookLab, target: str) -> int:
    u = urlsplit(lab.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request("POST", target, body=b"{}", headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


@pytest.mark.parametrize("name, bin_", ESCAPED)
def test_an_escaped_bin_is_refused_saying_the_bin_to_write(lab: hooklab.HookLab, name: str,
                                                           bin_: str) -> None:
    calls = {"secret": lambda: lab.secret(name, "tok-123456"),
             "forward": lambda: lab.forward(name, to="http://127.0.0.1:9/app")}
    if not name.startswith("/"):  # (with a leading "/" a rule's pattern is a path glob)
        calls["respond"] = lambda: lab.respond(name, status=418)
    for what, call in calls.items():
        with pytest.raises(ValueError, match="spelt with %XX escapes") as info:
            call()
        assert f"write {bin_!r}" in str(info.value), what
    assert lab.rules.remove(name) is False and lab.forwards() == []
    # the bin it says to write is the bin the escaped path reaches
    lab.respond(bin_, status=418)
    try:
        target = "/" + name.strip("/").replace("?", "%3F") + "/x"
        assert _post(lab, target) == 418
        assert lab.captures[-1].bin == bin_
        assert _post(lab, urlsplit(lab.url_for(bin_, "x")).path) == 418
    finally:
        assert lab.rules.remove(bin_)


@pytest.mark.parametrize("name", PLAIN)
def test_a_name_without_escapes_is_a_bin_as_written(lab: hooklab.HookLab, name: str) -> None:
    lab.respond(name, status=418)
    try:
        assert _post(lab, urlsplit(lab.url_for(name, "x")).path) == 418
        assert lab.captures[-1].bin == name
    finally:
        assert lab.rules.remove(name)


def test_serve_refuses_an_escaped_secret_file_bin(tmp_path: Path) -> None:
    import os
    import subprocess

    from _serve_lines import EXE

    key = tmp_path / "k"
    key.write_text("s3cret-value-0123456789\n")
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(tmp_path / "c.sqlite3"),
                        "--secret-file", f"caf%C3%A9={key}"], capture_output=True, text=True,
                       encoding="utf-8", timeout=60,
                       env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("hooklab: --secret-file caf%C3%A9=") and "write 'café'" in r.stderr
