"""``%%hooklab sql --timeout S`` on a query that runs longer, in a real kernel (nbclient).

It gave a full ``TimeoutError`` traceback (8 frames of hooklab and IPython), while every other
refusal of the magic is one ``UsageError`` line. Now it is one line too: what was stopped,
the limit, how to raise it; the cell's output holds no traceback frame, and the lab answers
queries and webhooks after it.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.timeout(180)

#: a query that never ends on its own (SQLite stops it at the limit)
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
SETUP = "%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab"
#: (cell, what its one error line says)
CELLS = [
    (f"%%hooklab sql --timeout 1\n{ENDLESS}", "ran longer than its time limit (1 s) and was "
     "stopped; give it longer with %%hooklab sql --timeout 60"),
    (f"%%hooklab sql --timeout=0.5\n{ENDLESS}", "(0.5 s) and was stopped"),
    (f"%hooklab sql --timeout 0.25 {ENDLESS}", "(0.25 s) and was stopped"),
    (f"%%hooklab sql --timeout 7.5\nSELECT count(*) FROM captures a, captures b, (\n{ENDLESS}\n)",
     "(7.5 s) and was stopped; give it longer with %%hooklab sql --timeout 75"),
]
#: what a traceback frame looks like in a notebook's error output
FRAME = re.compile(r"Traceback|File \"|Cell In\[|-{3,}>|\bline \d+\b|site-packages|hooklab/")


def test_a_query_past_its_timeout_is_one_usage_error_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sources = [SETUP, *(cell for cell, _ in CELLS),
               "%%hooklab sql\nSELECT count(*) AS n FROM captures",
               "import hooklab\nr = hooklab.send(hooklab.lab().url_for('after'), payload={'a': 1})\n"
               "print(r.status, [c.bin for c in hooklab.lab().wait(1, timeout=10)])",
               "%unload_ext hooklab"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for cell, (source, says) in zip(nb.cells[1:], CELLS, strict=False):
        # (IPython shows a UsageError as one stderr line, "UsageError: ...", and no error
        # output; the TimeoutError was an error output of 8 frames)
        assert [o.output_type for o in cell.outputs] == ["stream"], (source, cell.outputs)
        (shown,) = cell.outputs
        assert shown.name == "stderr", shown
        assert shown.text.startswith("UsageError: %hooklab sql: the query ran longer than its "
                                     "time limit"), shown.text
        assert says in shown.text, shown.text
        assert shown.text.count("\n") == 1 and shown.text.endswith("\n"), shown.text
        assert not FRAME.search(shown.text), shown.text
    after = nb.cells[1 + len(CELLS):]
    assert "".join(o.get("data", {}).get("text/plain", "") for o in after[0].outputs).split() == [
        "n", "0", "0"], after[0].outputs
    assert [o.get("text", "") for o in after[1].outputs] == ["200 ['after']\n"], after[1].outputs
    assert not [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
