"""What the HAR and JSON Lines imports share of ``hooklab.export``: a wrong value as an error
names it (``shown_value``), a status as both read it (``status_number``). ``hooklab.export.jsonl``
imported them as private names (``_shown``, ``_har_status``) of its package; now they are the
subpackage's own vocabulary, and no module of it reaches into another's private names."""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest

import hooklab.export
import hooklab.export.jsonl
from hooklab.export import shown_value, status_number

LONG = "9" * 1_000_000

#: value -> how an error names it (a repr; what a terminal acts on escaped; cut at 80)
SHOWN: list[tuple[Any, str]] = [
    ("yesterday", "'yesterday'"),
    ("", "''"),
    (200.9, "200.9"),
    (True, "True"),
    (None, "None"),
    ([200], "[200]"),
    ({}, "{}"),
    ("2024-05-01T10:00:00Z\x1b[2J", "'2024-05-01T10:00:00Z\\x1b[2J'"),
    ("\x1b]0;pwned\x07", "'\\x1b]0;pwned\\x07'"),
    ("a\u202eb", "'a\\u202eb'"),  # (RIGHT-TO-LEFT OVERRIDE: escaped, not drawn)
    ("a\u200bb", "'a\\u200bb'"),
    ("\u0664\u0660\u0664", "'\u0664\u0660\u0664'"),  # (Arabic digits: printable, kept)
    ("caf\u00e9", "'caf\u00e9'"),
    (LONG, "'" + "9" * 79 + f"...(+{len(LONG) + 2 - 80} chars)"),
    (2**70, str(2**70)),
]


@pytest.mark.parametrize(("value", "shown"), SHOWN, ids=[repr(v)[:30] for v, _ in SHOWN])
def test_shown_value_names_an_untrusted_value(value: Any, shown: str) -> None:
    assert shown_value(value) == shown


#: value -> the status it is (a whole number, or its text)
READ: list[tuple[Any, int]] = [
    (200, 200), (0, 0), (-1, -1), (999, 999), (1000, 1000), (200.0, 200), (1e3, 1000),
    ("404", 404), ("-1", -1), ("0", 0), (2**70, 2**70),
]
#: value -> how the error names it, after the field's name
REFUSED: list[tuple[Any, str]] = [
    (200.9, "200.9"), (float("nan"), "nan"), (float("inf"), "inf"), (True, "True"),
    (False, "False"), (None, "None"), ("OK", "'OK'"), ("", "''"), (" 404", "' 404'"),
    ("404 ", "'404 '"), ("404.0", "'404.0'"), ("+404", "'+404'"), ("0x1f", "'0x1f'"),
    ("\u0664\u0660\u0664", "'\u0664\u0660\u0664'"), ("1" * 13, repr("1" * 13)),
    ("\x1b[2J", "'\\x1b[2J'"), ([200], "[200]"), ({}, "{}"),
]


@pytest.mark.parametrize(("value", "number"), READ, ids=[repr(v) for v, _ in READ])
def test_status_number_reads_a_whole_number(value: Any, number: int) -> None:
    got = status_number(value, "response.status")
    assert got == number and type(got) is int


@pytest.mark.parametrize(("value", "shown"), REFUSED, ids=[repr(v) for v, _ in REFUSED])
@pytest.mark.parametrize("what", ["response.status", "_hooklab.status", "status"])
def test_status_number_refuses_the_rest_naming_the_field(value: Any, shown: str,
                                                         what: str) -> None:
    with pytest.raises(ValueError) as refused:
        status_number(value, what)
    assert str(refused.value) == f"{what} {shown} is not an HTTP status (a whole number)"


def test_jsonl_takes_the_shared_names_not_private_ones() -> None:
    """``hooklab.export.jsonl`` imports the two shared names from where they live (now
    ``hooklab.capture``, which the forwarding outcomes' check in it also reads a status with),
    not the private ones they were."""
    tree = ast.parse(inspect.getsource(hooklab.export.jsonl))
    taken = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.level == 2 and node.module == "capture" for a in node.names}
    assert {"shown_value", "status_number"} <= taken
    assert hooklab.export.status_number is hooklab.capture.status_number
    assert {"_shown", "_har_status"} & taken == set()
    assert not hasattr(hooklab.export, "_shown") and not hasattr(hooklab.export, "_har_status")
