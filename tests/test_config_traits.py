"""Every ``%config HookLab.*`` setting the README lists, set before the lab starts (as a
notebook's first cell or ``HookLab(...)`` does): the lab starts, serves and holds the value.
``forward_timeout`` set so made every start fail (AttributeError) in that kernel for good."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from _http import free_port, post
from test_kernel import Kernel

import hooklab

pytestmark = pytest.mark.timeout(180)

#: every configurable trait, with a legal value other than its default
VALUES: dict[str, Any] = {
    "allowed_hosts": ["hooks.example.org"],
    "body_timeout": 30.0,
    "db": ":memory:",
    "durability": "normal",
    "first_byte_timeout": 5.0,
    "forward_timeout": 30.0,
    "handshakes": False,
    "host": "127.0.0.1",
    "idle_timeout": 60.0,
    "max_body": 4096,
    "max_connections": 50,
    "max_in_flight": 1 << 20,
    "port": 0,
    "redact_credentials": False,
    "retention_age": 3600.0,
    "retention_count": 10,
    "stream_max_pending": 10,
    "stream_max_pending_bytes": 1 << 20,
    "stream_origins": ["https://lab.example.org"],
    "stream_write_timeout": 5.0,
    "strict_port": True,
}


def test_the_table_names_every_setting() -> None:
    assert set(VALUES) == set(hooklab.HookLab.class_traits(config=True))


def test_the_readme_lists_every_setting() -> None:
    """The README's ``%config HookLab.port = 9000 (also ...)`` line is where a user looks for
    what can be set: it named 11 of the 21."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("%config HookLab.port = 9000")
    listed = readme[start:readme.index(")", start)]
    named = set(re.findall(r"\b([a-z]+(?:_[a-z]+)*)\b", listed))
    assert set(VALUES) - named == set()


@pytest.mark.parametrize("name", sorted(VALUES))
def test_each_setting_given_before_start(name: str) -> None:
    extra = {"port": 0, "db": ":memory:"}
    extra[name] = VALUES[name]
    lab = hooklab.HookLab(**extra).start()
    try:
        assert getattr(lab, name) == VALUES[name]
        req = urllib.request.Request(lab.url_for("cfg"), data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        assert len(lab.wait(1, timeout=10)) == 1
    finally:
        lab.stop()


def test_every_setting_as_config_in_a_kernel(tmp_path) -> None:
    """A notebook's first cell sets them all with ``%config``, then ``%load_ext hooklab``."""
    port = free_port()
    values = {**VALUES, "port": port}
    lines = [f"%config HookLab.{k} = {v!r}" for k, v in values.items()]
    with Kernel(tmp_path) as k:
        out = k.run("\n".join([*lines, "%load_ext hooklab"]))
        assert f"hooklab listening on http://127.0.0.1:{port}" in out, out
        assert post(f"http://127.0.0.1:{port}/cfg", b"1")[0] == 200
        out = k.run("import hooklab; lab = hooklab.lab(); lab.wait(1, timeout=30)\n"
                    f"print({sorted(values)!r} == sorted(n for n in {sorted(values)!r} "
                    f"if getattr(lab, n) == {values!r}[n]))")
        assert out.strip() == "True"
