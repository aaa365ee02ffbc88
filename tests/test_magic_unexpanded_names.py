"""``%hooklab send $hook --data '{"a": 1}'``: IPython leaves the whole line as typed when any
part of it cannot be expanded (the braces are read as a Python expression), so hooklab saw
``$hook`` itself and sent the webhook to a bin named ``$hook``, saying it was sent. A name the
notebook defines that reaches hooklab unexpanded is now refused with a ``UsageError`` saying
why (so "Run All" stops), and nothing is sent.

A real IPython shell (its own expansion), the default lab serving on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

import hooklab

#: (the line, whether hooklab sends: expanded lines send, unexpanded names are refused)
LINES = [
    ("send $hook --data '{\"a\": 1}'", False),
    ("send $hook --data '{}'", False),
    ("send $hook --provider github --event push --data '{\"x\": [1]}'", False),
    ("send $hook", True),  # (expanded: the URL itself)
    ("send {hook}", True),
    ("send $hook --data {body!r}", True),  # (the JSON from a variable, as the error says)
    ("send target --data '{\"a\": 1}'", True),  # (no name to expand: the line as typed)
]


@pytest.mark.parametrize(("line", "sends"), LINES)
def test_an_unexpanded_name_is_refused_and_nothing_is_sent(memory_shell: Any, line: str,
                                                           sends: bool) -> None:
    lab = hooklab.lab()
    memory_shell.user_ns["hook"] = lab.url_for("target")
    memory_shell.user_ns["body"] = '{"b": 2}'
    try:
        if sends:
            memory_shell.run_line_magic("hooklab", memory_shell.var_expand(line))
            assert [c.bin for c in lab.wait(1, timeout=10)] == ["target"]
        else:
            with pytest.raises(UsageError, match=r"\$hook was not expanded: IPython leaves the "
                                                 r"whole line as typed"):
                memory_shell.run_line_magic("hooklab", memory_shell.var_expand(line))
            assert lab.captures == [] or len(lab.captures) == 0
    finally:
        lab.clear()


def test_through_run_cell_the_error_stops_the_cell(memory_shell: Any) -> None:
    lab = hooklab.lab()
    memory_shell.user_ns["hook"] = lab.url_for("target")
    result = memory_shell.run_cell("%hooklab send $hook --data '{\"a\": 1}'\nran_on = True")
    assert isinstance(result.error_in_exec, UsageError)
    assert "ran_on" not in memory_shell.user_ns
    assert len(lab.captures) == 0
