"""After ``%reload_ext hooklab`` a ``lab`` handle kept from before (``lab = hooklab.lab()``,
the README's tour) is a lab that was stopped: a secret, answer or forward set on it went
nowhere, without a word, and its ``url_for`` advised ``lab.start()``, which started a second
server beside the one serving (an outside tester, in a real kernel). Each of those calls now
says the lab was replaced and to take ``hooklab.lab()`` again; the new handle works."""

from __future__ import annotations

import pytest
from _http import free_port
from nbclient.exceptions import CellExecutionError
from test_kernel import Kernel

pytestmark = pytest.mark.timeout(180)

STALE = "this lab was stopped by %reload_ext hooklab (or %unload_ext); the lab serving now is " \
        "hooklab.lab(): lab = hooklab.lab(), then "

CALLS = [("lab.secret('github', 's3cret')", "lab.secret(...)"),
         ("lab.respond('orders', status=503)", "lab.respond(...)"),
         ("lab.forward('orders', 'http://127.0.0.1:9/x')", "lab.forward(...)"),
         ("lab.url_for('github')", "lab.url_for('github')"),
         ("lab.start()", "lab.start()")]


def test_a_handle_kept_across_a_reload_says_so_and_the_new_one_works(tmp_path) -> None:
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%config HookLab.db = ':memory:'\n"
              "%load_ext hooklab\nimport hooklab\nlab = hooklab.lab()")
        k.run("%reload_ext hooklab")
        for code, call in CALLS:
            with pytest.raises(CellExecutionError) as info:
                k.run(code)
            assert STALE + call + " again" in str(info.value), (code, info.value)
        out = k.run("print(hooklab.lab().bound_port, lab.is_running)")
        assert out.split() == [str(port), "False"]  # (one lab serving, on its port: the old
        # handle's lab.start() started no second one)
        out = k.run("lab = hooklab.lab()\nlab.secret('github', 's3cret')\n"
                    "r = hooklab.send(lab.url_for('github'), provider='github', event='push', "
                    "secret='s3cret')\nprint(lab.wait(1, timeout=30)[-1].verified)")
        assert out.strip() == "True"
        k.run("%hooklab stop")
