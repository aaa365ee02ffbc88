"""``%reload_ext hooklab`` starts the lab again with what ``%hooklab start --port/--host/--db``
set, as it does with what ``%config HookLab.*`` set. It went back to the port and database of
before: senders aimed at the port ``start`` moved the lab to were refused, new captures went
to another file (an outside tester, in a real kernel)."""

from __future__ import annotations

import re

import pytest
from _http import free_port, post
from test_kernel import Kernel

pytestmark = pytest.mark.timeout(180)


def _listening(out: str) -> tuple[int, str]:
    found = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(db ([^,]+),", out)
    assert found, out
    return int(found.group(1)), found.group(2)


def test_a_reload_starts_the_lab_where_start_moved_it(tmp_path) -> None:
    first, moved = free_port(), free_port()
    with Kernel(tmp_path) as k:
        out = k.run(f"%config HookLab.port = {first}\n%load_ext hooklab")
        assert _listening(out)[0] == first
        out = k.run(f"%hooklab start --db team.sqlite3 --port {moved}")
        assert _listening(out) == (moved, "team.sqlite3")
        assert post(f"http://127.0.0.1:{moved}/before", b"{}")[0] == 200
        out = k.run("%reload_ext hooklab")
        assert _listening(out) == (moved, "team.sqlite3"), out
        assert post(f"http://127.0.0.1:{moved}/after", b"{}")[0] == 200
        out = k.run("import hooklab; lab = hooklab.lab(); lab.wait(2, timeout=30)\n"
                    "print(sorted(c.bin for c in lab.captures))")
        assert out.strip() == "['after', 'before']"  # (one file: both there)
        # a later %config still wins over what start set, as one %config over another
        out = k.run(f"%config HookLab.port = {first}\n%reload_ext hooklab")
        assert _listening(out) == (first, "team.sqlite3"), out
        k.run("%hooklab stop")
