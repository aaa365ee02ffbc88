"""The tracer of the interrupt-point tests (``_interrupt_points.py``) on code of known shape,
in a process of its own: a KeyboardInterrupt comes out at each point counted and at no other,
the work done before it grows with the point, and a count from a function's nth call, or one
cut short, is what its definition says."""

from __future__ import annotations

import pytest
from _interrupt_points import run_script

pytestmark = pytest.mark.timeout(60)

_SCRIPT = r'''
import json
from _interrupt_points import Points, interrupted

WATCH = ("<string>",)  # (this script's code)


def step(log, i):
    log.append(i)


def loop(log):
    for i in range(4):
        step(log, i)


def squares(n):
    for i in range(n):
        yield i * i


def generator(log):
    for v in squares(3):
        log.append(v)


def caught(log):
    for i in range(3):
        try:
            if i == 1:
                raise ValueError(i)
            log.append(i)
        except ValueError:
            log.append("v")


class Held:
    def __init__(self, log):
        self.log = log

    def __enter__(self):
        self.log.append("in")
        return self

    def __exit__(self, *exc):
        self.log.append("out")


def held(log):
    with Held(log):
        step(log, 0)


class Worker:
    def work(self, log):
        step(log, len(log))


def three_calls(log):
    w = Worker()
    for _ in range(3):
        w.work(log)


CASES = {"loop": loop, "generator": generator, "caught": caught, "held": held,
         "three calls": three_calls}
out = {}
for name, func in CASES.items():
    whole = []
    func(whole)
    hit, counted = interrupted(lambda: func([]), -1, watch=WATCH)
    n = counted.count
    logs, missed = [], []
    for at in range(1, n + 2):
        log = []
        hit, points = interrupted(lambda: func(log), at, watch=WATCH)
        if hit != (at <= n) or points.raised != (at <= n):
            missed.append(at)
        logs.append(log)
    out[name] = {"count": n, "hit at": len(logs) - 1 - len(missed), "missed": missed,
                 "growing": all(len(a) <= len(b) for a, b in zip(logs, logs[1:])),
                 "first": logs[0], "after the last": logs[-1] == whole, "whole": whole,
                 "uninterrupted": not hit}

single = Points(watch=WATCH)
with single:
    Worker().work([])
froms = {}
for nth in (1, 2, 3):
    p = Points(watch=WATCH, start=(Worker, "work"), nth=nth)
    with p:
        three_calls([])
    froms[nth] = [p.count, p.at_return]
short = Points(watch=WATCH, start=(Worker, "work"), nth=2, until_return=True)
with short:
    three_calls([])
cut = Points(watch=WATCH, until=5)
with cut:
    loop([])
out["from a call"] = {"single": single.count, "from": froms, "until return": short.count,
                      "until 5": cut.count,
                      "unwrapped": not hasattr(Worker.__dict__["work"], "__wrapped__")}
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def traced() -> dict:
    return run_script(_SCRIPT, timeout=50)


@pytest.mark.parametrize("name", ["loop", "generator", "caught", "held", "three calls"])
def test_an_interrupt_comes_out_at_each_point_and_nowhere_else(traced: dict, name: str) -> None:
    got = traced[name]
    assert got["uninterrupted"], got
    assert got["count"] >= 5 and got["missed"] == [] and got["hit at"] == got["count"], got
    # (the first point is as the function starts: nothing done; after the last point there is
    # none, and the work is done whole; in between, the later the point, the more is done)
    assert got["first"] == [] and got["after the last"] and got["growing"], got


def test_a_count_from_a_calls_nth_time_is_that_call_and_those_after(traced: dict) -> None:
    got = traced["from a call"]
    one = got["single"]
    assert one > 0, got
    # (three calls of Worker.work: from the nth one, 3 - n + 1 calls' points; the count as that
    # call returned: one call's)
    assert got["from"] == {"1": [3 * one, one], "2": [2 * one, one], "3": [one, one]}, got
    assert got["until return"] == one and got["until 5"] == 5, got
    assert got["unwrapped"], got  # (the wrapper is gone after the block)
