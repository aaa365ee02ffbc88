"""Real kernels (nbclient): %load_ext, captures from outside and inside, restart, %reload_ext."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import nbformat
import pytest
from _http import free_port, post
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = pytest.mark.timeout(180)


def _outputs_text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o["text"])
        elif "data" in o:
            out.append(o["data"].get("text/plain", ""))
        elif o.get("output_type") == "error":
            out.append("\n".join(o.get("traceback", [])))
    return "".join(out)


class Kernel:
    """Run cells one at a time in a real kernel whose working directory is ``path``."""

    def __init__(self, path: Path) -> None:
        self.nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path)}}
        )

    def __enter__(self) -> Kernel:
        # ipykernel sends what the process writes to its stderr (fd 2: Tornado's log, a
        # thread's traceback) to the notebook, except under pytest: here as for a user
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        self._ctx = self.client.setup_kernel(env=env)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)

    def run(self, source: str) -> str:
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return _outputs_text(cell)


def _port_is_free(port: int) -> bool:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do; ignores TIME_WAIT
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_load_ext_captures_from_outside_and_inside_and_builds_dataframe(tmp_path):
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}")
        out = k.run("%load_ext hooklab")
        assert out.strip() == (
            f"hooklab listening on http://127.0.0.1:{port} (db .hooklab/captures.sqlite3, 0 captures)"
        )
        k.run("import hooklab, urllib.request\nlab = hooklab.lab()")
        # from outside the kernel (this test process)
        status, _ = post(
            f"http://127.0.0.1:{port}/github",
            json.dumps({"action": "opened"}).encode(),
            {"X-GitHub-Event": "pull_request", "Content-Type": "application/json"},
        )
        assert status == 200
        # from inside the kernel: a synchronous request must not deadlock
        out = k.run(
            "r = urllib.request.urlopen(urllib.request.Request(lab.url_for('inside'), data=b'hi'),"
            " timeout=10)\nprint(r.status)"
        )
        assert out.strip() == "200"
        out = k.run("print(len(lab.wait(2, timeout=30)))")
        assert out.strip() == "2"
        out = k.run(
            "df = lab.dataframe()\nprint(list(df['bin']), list(df['event_type'].astype(object)),"
            " str(df['received_at'].dtype))"
        )
        assert "['github', 'inside']" in out and "pull_request.opened" in out
        assert "datetime64[ns, UTC]" in out
        assert "hooklab listening" in k.run("%hooklab")
        assert "status" in k.run("%hooklab --help")
    assert (tmp_path / ".hooklab" / "captures.sqlite3").exists()
    # the kernel is gone: its server went with it and the port is free again
    deadline = time.monotonic() + 10
    while not _port_is_free(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _port_is_free(port)


def test_server_answers_while_a_cell_is_busy(tmp_path):
    port = free_port()
    timings: list[float] = []

    flag = tmp_path / "busy.flag"

    def poster() -> None:
        # the sleep cell creates the flag as its first statement: then it is running (proven)
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not flag.exists():
            return  # timings stays empty: the assertion below says so
        t0 = time.monotonic()
        status, _ = post(f"http://127.0.0.1:{port}/busy", b"while busy")
        timings.append(time.monotonic() - t0 if status == 200 else 99)

    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%load_ext hooklab")
        t = threading.Thread(target=poster)
        t.start()
        k.run("import time; open('busy.flag', 'w').close(); time.sleep(3)")
        t.join(30)
        assert timings and timings[0] < 1.0
        assert k.run("print(hooklab.lab().captures[-1].body)".replace("hooklab.", "__import__('hooklab').")).strip() == "b'while busy'"


def test_captures_survive_kernel_restart(tmp_path):
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%load_ext hooklab")
        for i in range(3):
            post(f"http://127.0.0.1:{port}/keep", str(i).encode())
        k.run("import hooklab; hooklab.lab().wait(3, timeout=30)")
    with Kernel(tmp_path) as k:  # a new kernel process on the same working directory
        out = k.run(f"%config HookLab.port = {port}\n%load_ext hooklab")
        assert "(db .hooklab/captures.sqlite3, 3 captures)" in out
        post(f"http://127.0.0.1:{port}/keep", b"3")
        out = k.run("import hooklab; print([c.id for c in hooklab.lab().wait(4, timeout=30)])")
        assert out.strip() == "[1, 2, 3, 4]"


def test_reload_ext_frees_the_port(tmp_path):
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%config HookLab.db = ':memory:'")
        assert f":{port} " in k.run("%load_ext hooklab")
        out = k.run("%reload_ext hooklab")
        assert f"http://127.0.0.1:{port} " in out and "in use" not in out
        out = k.run("%unload_ext hooklab")
        assert _port_is_free(port)


def test_config_port_restarts_on_new_port(tmp_path):
    p1, p2 = free_port(), free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {p1}\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        k.run(f"%config HookLab.port = {p2}")
        out = k.run("%hooklab status")
        assert f"http://127.0.0.1:{p2} " in out
        assert post(f"http://127.0.0.1:{p2}/moved", b"1")[0] == 200
        assert _port_is_free(p1)


def test_start_with_another_db_moves_the_lab_to_that_file(tmp_path):
    """`%hooklab stop` then `%hooklab start --db other`: captures go to the new file (not
    on into the old one under the new name), and `%hooklab clear` deletes only the new
    file's captures. The same while serving, and with a forward set: it follows."""
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%load_ext hooklab")
        assert post(f"http://127.0.0.1:{port}/old", b"1")[0] == 200
        k.run("import hooklab; hooklab.lab().wait(1, timeout=30)")
        k.run("%hooklab stop")
        out = k.run("%hooklab start --db a.sqlite3")
        assert "(db a.sqlite3, 0 captures)" in out
        assert post(f"http://127.0.0.1:{port}/new", b"2")[0] == 200
        out = k.run("lab = hooklab.lab(); lab.wait(1, timeout=30)\n"
                    "lab.forward('new', 'http://127.0.0.1:9/x')\n"
                    "print(lab.store.path.endswith('a.sqlite3'), [c.bin for c in lab.captures])")
        assert out.strip() == "True ['new']"
        out = k.run("%hooklab start --db b.sqlite3")  # while serving
        assert "(db b.sqlite3, 0 captures)" in out
        out = k.run("print(lab.store.path.endswith('b.sqlite3'), lab.is_running, "
                    "lab._forwarder.targets)")
        assert out.strip() == "True True {'new': 'http://127.0.0.1:9/x'}"
        assert post(f"http://127.0.0.1:{port}/newer", b"3")[0] == 200
        k.run("lab.wait(1, timeout=30)")
        assert "deleted 1 capture\n" in k.run("%hooklab clear")
        k.run("%unload_ext hooklab")
    counts = {}
    for name in (".hooklab/captures.sqlite3", "a.sqlite3", "b.sqlite3"):
        db = sqlite3.connect(tmp_path / name)
        counts[name] = db.execute("SELECT group_concat(bin) FROM captures").fetchone()[0]
        db.close()
    assert counts == {".hooklab/captures.sqlite3": "old", "a.sqlite3": "new", "b.sqlite3": None}


def test_magic_commands(tmp_path):
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        out = k.run("%hooklab respond orders --status 503 200 --header X-Test:yes")
        assert "orders answers 503 then 200" in out
        out = k.run("%hooklab send orders --provider shopify --event orders/create")
        assert ": 503" in out
        out = k.run("%hooklab send orders --provider shopify --event orders/create")
        assert ": 200" in out
        out = k.run("df = %hooklab df --bin orders\nprint(df['status'].tolist(), df['provider'].astype(str).tolist())")
        assert "[503, 200] ['shopify', 'shopify']" in out
        out = k.run("d2 = %hooklab df --since 1 --until 2\nprint(d2['status'].tolist())")
        assert "[200]" in out  # ids: newer than 1, up to 2
        out = k.run("w = %hooklab live --bin orders\nprint(w._repr_mimebundle_()['text/plain'])")
        assert "HookLab live view (live while its kernel runs)" in out
        out = k.run(f"%hooklab export {tmp_path / 'out.har'}")
        assert "wrote 2 captures" in out
        assert (tmp_path / "out.har").exists()
        assert "wrote 2 captures" in k.run(f"%hooklab export {tmp_path / 'pq'} --format parquet")
        assert "wrote 0 captures" in k.run(f"%hooklab export {tmp_path / 'pq'} --format parquet")
        assert list((tmp_path / "pq").glob("day=*/provider=shopify/part-*.parquet"))
        assert "deleted 2 captures" in k.run("%hooklab clear")
        # mistakes are UsageErrors: the cell fails, so "Run All" stops there
        for bad, says in [
            ("%hooklab frobnicate", "invalid choice: 'frobnicate'"),
            ("%hooklab df --since yesterday", "since must be a capture id or an ISO 8601 time"),
            ("%hooklab df --until soon", "until must be a capture id or an ISO 8601 time"),
            ("%hooklab df --colour red", "unrecognized arguments: --colour red"),
            # (the usage of the command typed: it showed the top level's "%hooklab command ...")
            ("%hooklab df --bogus", "usage: %hooklab df [--flatten]"),
            ("%hooklab export out.har --bni github", "usage: %hooklab export [--format"),
            ("%hooklab send orders --data '{not json'", "--data is not JSON"),
            ("%hooklab df --bin 'unclosed", "No closing quotation"),
            ("%hooklab export nodir/out.har", "No such file or directory: 'nodir/out.har'"),
            ("%hooklab export out.xml", ".csv file, or a .parquet folder, or pass --format"),
            ("%hooklab respond orders --status 99", "HTTP status must be an int in 200..599"),
            ("%hooklab respond orders --status 100", "HTTP status must be an int in 200..599"),
            ("%hooklab respond orders --header novalue",
             "--header takes Name:value, got 7 characters with no ':' (not shown"),
            ("%hooklab respond orders --header :x",
             "--header takes Name:value, got no name before the ':' (1 character after it"),
            ("%hooklab send orders --provider github --event pushh", "did you mean 'push'"),
            ("%hooklab send orders --provider githb", "did you mean 'github'"),
            ("%hooklab sql SELECT nope FROM captures", "no such column: nope"),
            # (found by an outside-in check: these gave tracebacks, the first two stopped the lab)
            ("%hooklab start --host 999.1.1.1", "%hooklab start:"),
            ("%hooklab start --port 99999", "should not be greater than 65535"),
            ("%hooklab send http://127.0.0.1:9/x", "%hooklab send: http://127.0.0.1:9/x:"),
        ]:
            with pytest.raises(CellExecutionError) as err:
                k.run(bad)
            assert "UsageError" in str(err.value) and says in str(err.value), bad
            assert "Traceback" not in str(err.value) and "magics.py" not in str(err.value), bad
        # the failed starts left the lab serving as it was, on its port
        assert f"hooklab listening on http://127.0.0.1:{port} " in k.run("%hooklab status")
        helptext = k.run("%hooklab --help")
        for command in ("status", "start", "stop", "clear", "live", "df", "send", "respond", "export"):
            assert f"%hooklab {command}" in helptext
        assert "--search SEARCH" in helptext
        assert "stopped" in k.run("%hooklab stop")
        assert _port_is_free(port)
        assert f"http://127.0.0.1:{port} " in k.run("%hooklab start")
        out = k.run("%hooklab send orders --data '{\"a\": [1, 2]}'")  # (it said "sent  to")
        assert out.startswith(f"sent to http://127.0.0.1:{port}/orders: 200"), out
        out = k.run("%hooklab send orders --provider github --data '{}'")
        assert out.startswith(f"sent github to http://127.0.0.1:{port}/orders: 200"), out
        k.run("%hooklab stop")
        with pytest.raises(CellExecutionError) as err:
            k.run("%hooklab send orders --data '{}'")
        assert "UsageError" in str(err.value) and "not serving" in str(err.value)
        assert f"http://127.0.0.1:{port} " in k.run("%hooklab start")


def test_explore_magics(tmp_path):
    """%hooklab schema / diff, %%hooklab sql and --search, in a real kernel."""
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        for i, note in enumerate(["first refund", "second charge", "third refund"]):
            status, _ = post(f"http://127.0.0.1:{port}/shop",
                             json.dumps({"n": i, "note": note, **({"extra": 1} if i else {})}).encode(),
                             {"Content-Type": "application/json"})
            assert status == 200
        status, _ = post(f"http://127.0.0.1:{port}/other", b"a=1",
                         {"Content-Type": "application/x-www-form-urlencoded"})
        k.run("import hooklab\nhooklab.lab().wait(4, timeout=10)")
        out = k.run("s = %hooklab schema --bin shop\n"
                    "print(s[['field', 'types']].values.tolist(), round(s['present'].iloc[3], 3))")
        assert "[['(body)', 'object'], ['n', 'integer'], ['note', 'string'], " \
               "['extra', 'integer']] 0.667" in out
        out = k.run("s = %hooklab schema --search refund\nprint(s.set_index('field')['count'].to_dict())")
        assert "{'(body)': 2, 'n': 2, 'note': 2, 'extra': 1}" in out
        out = k.run("d = %hooklab diff 1 2\nprint(d.values.tolist())")
        assert "[['n', 'changed', 0, 1], ['note', 'changed', 'first refund', 'second charge'], " \
               "['extra', 'added', None, 1]]" in out
        out = k.run("d = %hooklab diff 1 2 --headers\nprint(d['field'].tolist()[:1])")
        assert "['headers.content-length']" in out
        out = k.run("%%hooklab sql\nSELECT bin, json_extract(payload, '$.n') AS n\nFROM captures "
                    "WHERE payload IS NOT NULL ORDER BY id")
        assert out.split() == ["bin", "n", "0", "shop", "0", "1", "shop", "1", "2", "shop", "2"]
        out = k.run("r = %hooklab sql SELECT count(*) AS n FROM captures WHERE bin = 'other'\n"
                    "print(r['n'].tolist())")
        assert "[1]" in out
        out = k.run("%%hooklab sql --timeout 5\nSELECT count(*) AS n FROM captures")
        assert out.split() == ["n", "0", "4"]
        for bad, says in [
            ("%%hooklab sql\nDELETE FROM captures", "lab.sql is read-only: DELETE statements are refused"),
            ("%%hooklab sql\nSELECT 1; DROP TABLE captures", "one statement at a time"),
            ("%%hooklab sql --bin x\nSELECT 1", "takes only --timeout"),
            ("%%hooklab schema\nSELECT 1", "only %%hooklab sql is a cell magic"),
            ("%hooklab sql", "no query"),
            ("%hooklab diff 1 99", "no capture with id 99"),
            ("%hooklab diff 1", "the following arguments are required: B"),
            ("%hooklab schema --colour red", "unrecognized arguments"),
        ]:
            with pytest.raises(CellExecutionError) as err:
                k.run(bad)
            assert "UsageError" in str(err.value) and says in str(err.value), bad
        assert "4" in k.run("print(len(hooklab.lab().captures))")  # nothing was deleted
        helptext = k.run("%hooklab --help")
        for command in ("schema", "diff", "sql"):
            assert f"%hooklab {command}" in helptext
        for i in (1, 2):  # a credential: hidden in the outputs unless --reveal
            status, _ = post(f"http://127.0.0.1:{port}/login", f"user=u{i}&password=hunter{i}".encode(),
                             {"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 200
        k.run("hooklab.lab().wait(6, timeout=10)")
        out = k.run("%hooklab schema --bin login")
        assert "hunter1" not in out and "<hidden: 7 chars>" in out and '"u1"' in out
        assert '"hunter1"' in k.run("%hooklab schema --bin login --reveal")
        out = k.run("%hooklab diff 5 6")
        assert "hunter" not in out and "<hidden: 7 chars>" in out and "u2" in out
        assert "hunter2" in k.run("%hooklab diff 5 6 --reveal")


def test_refused_api_requests_write_nothing_into_the_notebook(tmp_path):
    """Any local process asking the read API without the token wrote Tornado's
    "WARNING:tornado.access:401 GET /_hooklab/api/captures" into the running cell."""
    from jupyter_client.manager import start_new_kernel

    # (ipykernel sends what is written to the process's stderr (fd 2) to the notebook, except
    # under pytest: the kernel is a user's here)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        streams = []
        for code in ("import hooklab\nlab = hooklab.start(port=0, db=':memory:')",
                     "import time, urllib.request, urllib.error\n"
                     "for path in ('/_hooklab/api/captures', '/_hooklab/nope', '/_hooklab/health'):\n"
                     "    try:\n"
                     "        urllib.request.urlopen(lab.url + path, timeout=10)\n"
                     "    except urllib.error.HTTPError as e:\n"
                     "        print(e.code)\n"
                     "time.sleep(0.5)",
                     "time.sleep(0.5)"):
            msg_id = kc.execute(code)
            while True:  # every stream message, whichever cell it is said to belong to
                m = kc.get_iopub_msg(timeout=60)
                if m["msg_type"] == "stream":
                    streams.append(m["content"]["text"])
                if (m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                        and m["parent_header"].get("msg_id") == msg_id):
                    break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "".join(streams).split() == ["401", "404"], streams


def test_a_taken_port_warning_points_at_the_cell_not_at_hooklab(tmp_path):
    """``%load_ext hooklab`` on a taken port warned from ``.../hooklab/magics.py:314``: a
    path of the machine, and not the line that asked."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with Kernel(tmp_path) as k:
            out = k.run(f"%config HookLab.port = {port}\n%config HookLab.db = ':memory:'\n"
                        "%load_ext hooklab")
    assert f"RuntimeWarning: hooklab: port {port} is in use; listening on" in out, out
    assert "hooklab/" not in out.split("RuntimeWarning")[0], out
    assert "run_line_magic('load_ext', 'hooklab')" in out, out


def test_start_mistakes_and_warnings_as_a_notebook_user_meets_them(tmp_path):
    """An empty ``--host`` (a quoting slip) bound every interface while the status line said
    127.0.0.1; the exposure warning of ``%hooklab start`` named hooklab's own magics.py; a
    second ``hooklab.start()`` dropped the first lab's in-memory captures without a word."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        for spelled in ("''", '" "', "'\t'"):
            with pytest.raises(CellExecutionError) as err:
                k.run(f"%hooklab start --host {spelled}")
            assert "UsageError" in str(err.value) and "is empty" in str(err.value), spelled
            status = k.run("import hooklab; print(hooklab.lab().host, hooklab.lab().is_running)")
            assert status.strip() == "127.0.0.1 True", status
        out = k.run("%hooklab start --host 127.0.0.2")
        assert "RuntimeWarning: hooklab is binding 127.0.0.2" in out, out
        assert "hooklab/" not in out.split("RuntimeWarning")[0], out
        assert "run_line_magic('hooklab', 'start --host 127.0.0.2')" in out, out
        out = k.run("import urllib.request\n"
                    "first = hooklab.start(port=0, db=':memory:')\n"
                    "for i in range(3):\n"
                    "    urllib.request.urlopen(urllib.request.Request(first.url_for('a'), data=b'x'))\n"
                    "second = hooklab.start(port=0, db=':memory:')\n"
                    "print('first', first.is_running, 'second', second.is_running)")
        assert "first False second True" in out, out
        assert "RuntimeWarning: hooklab.start() stopped the default lab it replaces" in out, out
        assert "its 3 captures in memory (db=':memory:') are gone" in out, out
        assert "hooklab/" not in out.split("RuntimeWarning")[0], out
        out = k.run("third = hooklab.start(port=0, db=':memory:')")  # (nothing lost: no warning)
        assert "Warning" not in out, out
        k.run("hooklab.stop()")


def test_filter_magics_take_verified_and_several_values(tmp_path):
    """``--verified true|false``, and a field filter given again for any of several values."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab\n"
              "import hooklab\nlab = hooklab.lab()\n"
              "lab.secret('gh', 'right', provider='github')\n"
              "for s in ('right', 'wrong'):\n"
              "    hooklab.send(lab.url_for('gh'), provider='github', event='push', secret=s)\n"
              "hooklab.send(lab.url_for('plain'), payload={'a': 1})\n"
              "_ = lab.wait(3, timeout=10)")
        for magic, ids in (("df --verified false", "[2]"),
                           ("df --bin plain --bin gh --verified true", "[1]"),
                           ("df --bin plain --bin gh", "[1, 2, 3]")):
            out = k.run(f"df = %hooklab {magic}\nprint(df.id.tolist())")
            assert out.strip() == ids, (magic, out)
        with pytest.raises(CellExecutionError) as err:
            k.run("%hooklab df --verified maybe")
        assert "UsageError" in str(err.value) and "verified= takes True or False" in str(err.value)
        assert "--verified true|false" in k.run("%hooklab --help")


def test_a_failed_start_keeps_the_port_that_port_0_picked(tmp_path):
    """``%hooklab start --port 0`` then a start that fails (``--db`` in a folder that cannot
    exist) raised UsageError, as it should, but the lab came back on a new port: the URLs
    handed out stopped working, although a failed start "leaves the lab as it was"."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.db = 'c.sqlite3'\n%load_ext hooklab")
        k.run("%hooklab start --port 0")
        url = k.run("import hooklab; lab = hooklab.lab(); print(lab.url)").strip()
        assert url.startswith("http://127.0.0.1:"), url
        for bad, says in [
            ("%hooklab start --db /proc/nope/x.sqlite3", "%hooklab start:"),
            ("%hooklab start --port 99999", "should not be greater than 65535"),
            ("%hooklab start --host 999.1.1.1", "%hooklab start:"),
            ("%hooklab start --port 0 --db /proc/nope/x.sqlite3", "%hooklab start:"),
        ]:
            with pytest.raises(CellExecutionError) as err:
                k.run(bad)
            assert "UsageError" in str(err.value) and says in str(err.value), bad
            out = k.run("print(lab.url, lab.port, lab.is_running, lab.db)")
            assert out.strip() == f"{url} 0 True c.sqlite3", (bad, out)
            assert post(f"{url}/still", b"1")[0] == 200, bad
        out = k.run("print(len(lab.wait(4, bin='still', timeout=30)))")
        assert out.strip() == "4", out
        k.run("%unload_ext hooklab")


def test_a_failed_start_keeps_a_memory_labs_captures_forwards_and_port(tmp_path):
    """A ``db=':memory:'`` lab whose ``%hooklab start --db BAD`` failed lost its captures
    (and its forwards): the start closed the old store before it found the new one could
    not be opened, then came back on an empty one; a ``--db`` that is a folder or a file
    SQLite cannot open was a traceback, and left the lab not serving with ``db`` set to it.
    Now every failed start (the database, or the address once the database was found
    good) is a UsageError and leaves the lab as it was: its captures, forwards, port."""
    import socket

    from _target import Target

    (tmp_path / "folder").mkdir()
    (tmp_path / "placeholder.sqlite3").touch()  # (empty: a start makes it a new database)
    with Target(status=202) as app, socket.socket() as taken, Kernel(tmp_path) as k:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        k.run("%config HookLab.db = ':memory:'\n%config HookLab.port = 0\n"
              "%config HookLab.strict_port = True\n%load_ext hooklab")
        url = k.run("import hooklab; lab = hooklab.lab(); print(lab.url)").strip()
        assert url.startswith("http://127.0.0.1:"), url
        k.run(f"lab.forward('fw', {app.url + '/hook'!r})")
        assert post(f"{url}/kept", b"1")[0] == 200 and post(f"{url}/fw", b"2")[0] == 200
        k.run("lab.wait(2, timeout=30); lab.store.wait_for(lambda: lab.forwards(), timeout=30)")
        app.wait(1)
        for bad, says in [
            ("--db /proc/nope/x.sqlite3", "No such file or directory: '/proc/nope'"),
            (f"--db {tmp_path / 'folder'}", "as a hooklab capture database"),
            ("--db /proc/version", "as a hooklab capture database"),
            (f"--db {tmp_path / 'new.sqlite3'} --port {taken.getsockname()[1]}",
             f"port {taken.getsockname()[1]}"),  # (the database was good; the port taken)
        ]:
            with pytest.raises(CellExecutionError) as err:
                k.run(f"%hooklab start {bad}")
            assert "UsageError" in str(err.value) and says in str(err.value), (bad, str(err.value))
            assert "Traceback" not in str(err.value), bad
            out = k.run("print(lab.url, lab.db, lab.is_running, [c.bin for c in lab.captures])")
            assert out.strip() == f"{url} :memory: True ['kept', 'fw']", (bad, out)
        # the attempt on a good new file whose port was taken leaves no empty database behind
        # (as hooklab serve does; it was left, and a later hooklab.open refused it as empty)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "placeholder.sqlite3"]
        assert post(f"{url}/fw", b"3")[0] == 200  # still forwarded, from the same store
        out = k.run("print([c.bin for c in lab.wait(3, timeout=30)])\n"
                    "lab.store.wait_for(lambda: len(lab.forwards()) == 2, timeout=30)\n"
                    "print([(f['capture_id'], f['status']) for f in lab.forwards()])")
        assert out.split("\n")[:2] == ["['kept', 'fw', 'fw']", "[(2, 202), (3, 202)]"], out
        assert [r.body for r in app.wait(2)] == [b"2", b"3"]
        out = k.run("%hooklab start --db placeholder.sqlite3")  # a good one moves the lab
        assert "(db placeholder.sqlite3, 0 captures)" in out, out
        k.run("%unload_ext hooklab")
    assert (tmp_path / "placeholder.sqlite3").stat().st_size > 0


def test_sql_magic_refuses_a_timeout_that_is_no_time_limit(tmp_path):
    """``%%hooklab sql --timeout nan`` ran with no time limit and ``--timeout -1`` said
    "stopped after -1 s": a UsageError now, before the query runs."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        for bad in ("nan", "-1", "0", "inf", "-inf", "1e300"):
            with pytest.raises(CellExecutionError) as err:
                k.run(f"%%hooklab sql --timeout {bad}\nSELECT count(*) AS n FROM captures")
            assert "UsageError" in str(err.value), bad
            assert f"--timeout takes seconds above 0, not '{bad}'" in str(err.value), bad
            assert "Traceback" not in str(err.value), bad
        out = k.run("%%hooklab sql --timeout 5\nSELECT count(*) AS n FROM captures")
        assert out.split() == ["n", "0", "0"], out
        k.run("%unload_ext hooklab")


def test_a_saved_notebook_keeps_no_credential_of_an_outbound_target(tmp_path, monkeypatch):
    """An outside tester sharing saved notebooks: ``lab.replay(..., to=os.environ[...])``'s
    result, ``hooklab.send``'s and ``%hooklab send``'s outputs and errors wrote the target's
    token into the notebook file (``text/plain``, tracebacks), while the app must get it."""
    from _target import Target

    secret = "KERNEL_TOKEN_S51"
    closed = socket.socket()  # (bound, never listening: refused)
    closed.bind(("127.0.0.1", 0))
    with closed, Target() as app:
        monkeypatch.setenv("APP_HOOK", f"{app.url}/hook?token={secret}")
        monkeypatch.setenv("CLOSED_HOOK", f"http://admin:{secret}@127.0.0.1:"
                           f"{closed.getsockname()[1]}/h?token={secret}")
        with Kernel(tmp_path) as k:
            k.run("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab\n"
                  "import os, hooklab\nlab = hooklab.lab()\nhook = os.environ['APP_HOOK']\n"
                  "closed = os.environ['CLOSED_HOOK']")
            out = k.run("hooklab.send(lab.url_for('a'), payload={'x': 1})\n"
                        "lab.wait(1, timeout=10)\nlab.replay(1, to=hook)")
            assert "status=200" in out and "token=[secret]" in out, out
            assert "status=200" in k.run("hooklab.send(hook, payload={'y': 2})")
            assert "token=[secret]: 200" in k.run("%hooklab send $hook")
            assert "ConnectionRefusedError" in k.run("lab.replay(1, to=closed)")
            for cell in ("%hooklab send $closed", "hooklab.send(closed.replace('http', 'ftp'))",
                         "hooklab.send(hook + '\\x7f')"):
                with pytest.raises(CellExecutionError):
                    k.run(cell)
            k.run("%unload_ext hooklab")
        saved = nbformat.writes(k.nb)
        got = app.wait(3)
    assert [r.path for r in got] == [f"/hook?token={secret}"] * 3  # replay, send, %hooklab send
    assert "[secret]" in saved and secret not in saved


_COUNTER = """
def shown(v):
    import re
    return v.rows, re.sub('<[^>]+>', '', v.counter.value)
"""


def test_a_second_notebook_s_live_view_shows_what_the_first_stores_into_the_shared_file(tmp_path):
    """Two notebooks in one folder share ``.hooklab/captures.sqlite3`` (the second moves to
    the next port). The second kernel's ``lab.live(bin='a')`` said "0 captures ... waiting for
    webhooks" while the first stored captures of bin ``a`` into the file: a view fed by its
    own server never looked at the file. The first notebook here is this process's lab on the
    kernel's default database."""
    import hooklab

    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {free_port()}\n%load_ext hooklab")
        k.run("import hooklab, time\nlab = hooklab.lab()\nv_all = lab.live()\n"
              "v_a = lab.live(bin='a')" + _COUNTER)
        assert "waiting for webhooks" in k.run("print(shown(v_a))")
        first = hooklab.HookLab(port=0, db=str(tmp_path / ".hooklab" / "captures.sqlite3")).start()
        try:
            assert [hooklab.send(first.url_for("a"), payload={"i": i}).status
                    for i in range(3)] == [200] * 3
            wait = ("deadline = time.monotonic() + 10\n"
                    "while shown({v})[0] != {rows} and time.monotonic() < deadline:\n"
                    "    time.sleep(0.05)\n"
                    "time.sleep(1.5)\n"  # (the counter is drawn on a refresh after the rows)
                    "print(shown({v}))")
            out = k.run(wait.format(v="v_a", rows=[3, 2, 1]))
            assert out.startswith("([3, 2, 1], '3 captures"), out
            assert "waiting for webhooks" not in out
            assert k.run("print(hooklab.send(lab.url_for('b'), payload={'i': 9}).status)"
                         ).strip() == "200"
            assert [hooklab.send(first.url_for("a"), payload={"i": i}).status
                    for i in (3, 4)] == [200] * 2
            out = k.run(wait.format(v="v_a", rows=[6, 5, 3, 2, 1]))
            assert out.startswith("([6, 5, 3, 2, 1], '5 captures"), out
            out = k.run(wait.format(v="v_all", rows=[6, 5, 4, 3, 2, 1]))
            assert out.startswith("([6, 5, 4, 3, 2, 1], '6 captures"), out
            assert k.run("print(lab.is_running, len(lab.captures))").strip() == "True 6"
        finally:
            first.stop()


def _run_all(k: Kernel, cells: list[str]) -> list[tuple[str, str]]:
    """Send ``cells`` as JupyterLab's "Run All" does (every request at once, the kernel
    queueing them); each reply's status and, for an error, its ``ename: evalue``."""
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(k.client.km.get_connection_info())
    kc.start_channels()
    try:
        ids = [kc.execute(c) for c in cells]
        replies: dict[str, tuple[str, str]] = {}
        deadline = time.monotonic() + 60
        while len(replies) < len(ids) and time.monotonic() < deadline:
            msg = kc.get_shell_msg(timeout=60)
            mid = msg["parent_header"].get("msg_id")
            if mid in ids:
                c = msg["content"]
                replies[mid] = (c["status"], f"{c.get('ename', '')}: {c.get('evalue', '')}")
    finally:
        kc.stop_channels()
    return [replies.get(i, ("none", "")) for i in ids]


def test_a_config_setting_that_cannot_be_applied_fails_the_cell_and_leaves_the_lab(tmp_path):
    """``%config HookLab.host = 'not a host'`` (``db``: a folder, a corrupt file) only logged
    ``ERROR:root:...``: the cell's status was ok, "Run All" went on, and the lab was left
    stopped with the bad value kept. Now the cell fails with one UsageError, the cells
    queued after it are not run, and the lab goes on serving on the same port (that
    ``port = 0`` picked) with the same settings; the shell keeps no bad value either (a
    ``%reload_ext hooklab`` after it starts as before)."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "corrupt.sqlite3").write_bytes(b"this is not a database" * 100)
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%load_ext hooklab\nimport hooklab\nlab = hooklab.lab()")
        url = k.run("print(lab.url)").strip()
        assert url.startswith("http://127.0.0.1:"), url
        for line, says in [
            ("%config HookLab.host = 'not a host'", "cannot be bound"),
            ("%config HookLab.host = '192.0.2.1'", "cannot be bound"),
            ("%config HookLab.db = 'folder'", "folder"),
            ("%config HookLab.db = 'corrupt.sqlite3'", "not a database"),
            ("%config HookLab.port = 70000", "65535"),
        ]:
            got = _run_all(k, [line, "print('ran after it')"])
            assert got[0][0] == "error" and got[0][1].startswith("UsageError: %config: "), (
                line, got)
            assert says in got[0][1], (line, got)
            assert got[1][0] == "aborted", (line, got)  # ("Run All" stopped there)
            out = k.run("print(lab.is_running, lab.url, lab.host, lab.port, lab.db)")
            assert out.strip() == f"True {url} 127.0.0.1 0 .hooklab/captures.sqlite3", (line, out)
            assert post(f"{url}/still", b"1")[0] == 200, line
        with pytest.raises(CellExecutionError) as err:  # (as nbclient, and a notebook, show it)
            k.run("%config HookLab.db = 'folder'")
        text = str(err.value)
        assert "UsageError" in text and "the lab goes on as it was" in text, text
        assert "ERROR:root" not in text
        assert k.run("print(len(lab.wait(5, bin='still', timeout=30)))").strip() == "5"
        out = k.run("%reload_ext hooklab")
        assert out.startswith("hooklab listening on http://127.0.0.1:"), out
        assert "(db .hooklab/captures.sqlite3, 5 captures)" in out, out
        k.run("%unload_ext hooklab")


def test_load_ext_on_a_corrupt_database_is_one_usage_error_and_leaves_no_broken_lab(tmp_path):
    """``%load_ext hooklab`` on a corrupt ``.hooklab/captures.sqlite3`` raised, and the
    broken lab stayed the default: every later ``%hooklab`` and ``hooklab.lab()`` shown raised
    a raw StoreError. Now it is one UsageError saying what to do, and the advice works."""
    (tmp_path / ".hooklab").mkdir(mode=0o700)
    (tmp_path / ".hooklab" / "captures.sqlite3").write_bytes(b"this is not a database" * 100)
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}")
        with pytest.raises(CellExecutionError) as err:
            k.run("%load_ext hooklab")
        text = str(err.value)
        assert "UsageError: %load_ext hooklab: the lab did not start:" in text, text
        assert "%hooklab start --db other.sqlite3" in text and "StoreError" not in text, text
        assert k.run("import hooklab\nprint(hooklab.lab())").strip() == "None"
        with pytest.raises(CellExecutionError) as err:
            k.run("%hooklab")
        assert "UsageError: hooklab: no lab is running; use %hooklab start" in str(err.value)
        out = k.run("%hooklab start --db other.sqlite3")
        assert out.strip() == f"hooklab listening on http://127.0.0.1:{port} (db other.sqlite3, 0 captures)"
        assert post(f"http://127.0.0.1:{port}/a", b"1")[0] == 200
        assert k.run("print(len(hooklab.lab().wait(1, timeout=30)))").strip() == "1"
        k.run("%unload_ext hooklab")


def test_a_db_move_keeps_the_port_that_port_0_picked(tmp_path):
    """``%hooklab start --db NEW`` on a lab started with ``port = 0`` moved it to another
    port: every URL handed out (``lab.url_for(...)`` given to a sender) broke, though only the
    database changed (a failed start kept the port). Also ``%config HookLab.db`` and a plain
    ``%hooklab start``; a ``--port`` asked for is taken."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%load_ext hooklab\nimport hooklab\nlab = hooklab.lab()")
        given = k.run("print(lab.url_for('stripe'))").strip()
        assert given.startswith("http://127.0.0.1:"), given
        url = given.rsplit("/", 1)[0]
        sent = 0
        for line, db in [
            ("%hooklab start --db moved.sqlite3", "moved.sqlite3"),
            ("%hooklab start --db sub/new.sqlite3", "sub/new.sqlite3"),
            ("%config HookLab.db = 'third.sqlite3'", "third.sqlite3"),
            ("%hooklab start", "third.sqlite3"),
            ("%hooklab start --db .hooklab/captures.sqlite3", ".hooklab/captures.sqlite3"),
        ]:
            k.run(line)
            out = k.run("print(lab.url, lab.port, lab.is_running, lab.db)")
            assert out.strip() == f"{url} 0 True {db}", (line, out)
            assert post(given, b'{"a": 1}')[0] == 200, line
            sent += 1
        out = k.run("print(len(lab.wait(1, timeout=30)))")
        assert out.strip() == "1", out
        port = free_port()
        k.run(f"%hooklab start --port {port} --db third.sqlite3")
        out = k.run("print(lab.url, lab.db, len(lab.captures))")
        assert out.strip() == f"http://127.0.0.1:{port} third.sqlite3 2", out
        k.run("%unload_ext hooklab")
    assert sent == 5


def test_send_magic_says_a_url_it_cannot_send_in_one_usage_error(tmp_path):
    """``%hooklab send 'http://127.0.0.1:PORT/with space'`` raised a raw
    ``http.client.InvalidURL`` traceback (the magic caught ValueError, LookupError and
    OSError only); its words quoted the URL, credentials and all. A bin or a path with a
    space is sent encoded."""
    port = free_port()
    with Kernel(tmp_path) as k:
        k.run(f"%config HookLab.port = {port}\n%load_ext hooklab\nimport hooklab\n"
              "lab = hooklab.lab()")
        base = f"http://127.0.0.1:{port}"
        for target in [f"{base}/with space", f"{base}/a?token=S3CR3T x", f"{base}/esc\x1bthere",
                       f"{base}/del\x7fthere", f"{base}/nul\x00there", f"{base}/ok?q=a b"]:
            with pytest.raises(CellExecutionError) as err:
                k.run(f"%hooklab send '{target}'")  # (the characters themselves, in quotes)
            text = str(err.value)
            said = [line for line in text.splitlines() if line.startswith("UsageError")]
            assert len(said) == 1 and said[0].startswith("UsageError: %hooklab send: http://"), (
                target, text)
            assert said[0].endswith("percent-encode it (a space is %20)"), (target, text)
            assert "InvalidURL" not in text and "Traceback" not in text, (target, text)
            assert "S3CR3T" not in said[0], said
        assert k.run("%hooklab send 'bin with space'").strip() == (
            f"sent to {base}/bin%20with%20space: 200")
        out = k.run("print(hooklab.send(lab.url_for('x', 'y z'), payload={'a': 1}).status)")
        assert out.strip() == "200"
        out = k.run("print([(c.bin, c.path) for c in lab.wait(2, timeout=30)])")
        assert out.strip() == "[('bin with space', '/bin%20with%20space'), ('x', '/x/y%20z')]", out
        k.run("%unload_ext hooklab")
