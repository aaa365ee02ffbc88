"""``hooklab.latency.compare(n=...)`` and ``format_table(results)`` say what is wrong with
their arguments before anything runs, as ``python -m hooklab.latency --n`` does ("is not a
whole number", "too few"), where a str, None or a float ended in an internal ``TypeError``
('<' not supported..., 'float' object cannot be interpreted as an integer) and ``True`` ran a
benchmark of one event. An integer of NumPy's still works."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import hooklab.latency as latency


@pytest.mark.parametrize("n, error, words", [
    ("10", TypeError, "n='10' is not a whole number (a str)"),
    (None, TypeError, "n=None is not a whole number (a NoneType)"),
    (2.5, TypeError, "n=2.5 is not a whole number (a float)"),
    (100.0, TypeError, "n=100.0 is not a whole number (a float)"),
    (np.float64(20.0), TypeError, "is not a whole number (a float64)"),
    (True, TypeError, "n=True is not a whole number (a bool)"),
    (False, TypeError, "n=False is not a whole number (a bool)"),
    ([5], TypeError, "n=[5] is not a whole number (a list)"),
    ("x" * 500, TypeError, "is not a whole number (a str)"),
    (1, ValueError, "n must be at least 2, got 1: 1 is too few"),
    (0, ValueError, "n must be at least 2, got 0"),
    (-5, ValueError, "n must be at least 2, got -5"),
    (np.int64(1), ValueError, "n must be at least 2, got 1"),
], ids=["str", "none", "float", "integral-float", "numpy-float", "true", "false", "list",
        "long-str", "one", "zero", "negative", "numpy-one"])
def test_compare_refuses_a_count_that_is_none_before_running(n, error, words: str) -> None:
    threads = {t.ident for t in threading.enumerate()}
    started = time.monotonic()
    with pytest.raises(error) as caught:
        latency.compare(n=n)
    assert words in str(caught.value)
    assert len(str(caught.value)) < 200  # (a long value is cut)
    assert time.monotonic() - started < 1.0
    assert {t.ident for t in threading.enumerate()} <= threads  # (nothing was started)


@pytest.mark.parametrize("n", [np.int64(3), np.int32(3), 3], ids=["int64", "int32", "int"])
def test_compare_takes_an_integer_of_numpy(n) -> None:
    results = latency.compare(n=n)
    assert {r["n"] for r in results.values()} == {3}
    assert all(type(r["n"]) is int and len(r["samples_ms"]) == 3 for r in results.values())


ROW = {"n": 2, "p50_ms": 0.1, "p99_ms": 0.25, "max_ms": 0.3, "per_second": 8000.0}


@pytest.mark.parametrize("results, error, words", [
    (None, TypeError, "format_table takes compare()'s results, a dict {mode: {n, p50_ms, ...}}, "
                      "not a NoneType"),
    ([ROW], TypeError, "not a list"),
    ({"push": {"n": 2}}, ValueError,
     "format_table: mode 'push' has no p50_ms, p99_ms, max_ms, per_second"),
    ({"push": 3}, ValueError, "mode 'push' has no n, p50_ms"),
], ids=["none", "list", "missing-keys", "not-a-mapping"])
def test_format_table_says_what_it_takes(results, error, words: str) -> None:
    with pytest.raises(error) as caught:
        latency.format_table(results)
    assert words in str(caught.value)


def test_format_table_of_some_modes() -> None:
    table = latency.format_table({"websocket push": ROW, "webhook, keep-alive": ROW})
    lines = table.splitlines()
    assert lines[0].split() == ["mode", "n", "p50", "ms", "p99", "ms", "max", "ms", "events/s"]
    assert lines[2].split() == ["websocket", "push", "2", "0.100", "0.250", "0.30", "8000"]
    assert len(lines) == 4 and set(lines[1]) == {"-"}
