"""``retention_count`` / ``retention_age`` take what ``hooklab serve --retention-count`` /
``--retention-age`` take: a count of 1 or more, an age of more than 0 seconds, or ``None``
(off). ``0`` was taken by every way in (``hooklab.start``, ``HookLab(...)``, ``lab.x = 0``,
``%config``, ``CaptureStore``) and turned retention off: every capture was kept, though the
README said 0 was a value and the CLI refused it. Each way in now refuses such a value, says
that ``None`` turns retention off, and leaves the lab (or store) as it was."""

from __future__ import annotations

import math
import time

import pytest
from _http import post
from traitlets import TraitError
from traitlets.config import Config

import hooklab
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(180)

SAYS = "(None turns retention off)"

#: values refused, for each setting: the type of error the store raises
REFUSED: list[tuple[str, object, type[Exception]]] = [
    *[("retention_count", v, e) for v, e in [
        (0, ValueError), (-1, ValueError), (-(2**70), ValueError), (2**63, ValueError),
        (0.0, TypeError), (-0.0, TypeError), (1.0, TypeError), (math.nan, TypeError),
        (math.inf, TypeError), (True, TypeError), (False, TypeError), ("0", TypeError),
        ("", TypeError), ("10", TypeError), ([], TypeError),
    ]],
    *[("retention_age", v, e) for v, e in [
        (0, ValueError), (-1, ValueError), (0.0, ValueError), (-0.0, ValueError),
        (-1e-9, ValueError), (math.nan, ValueError), (-math.inf, ValueError),
        (True, TypeError), (False, TypeError), ("0", TypeError), ("", TypeError),
        ("90s", TypeError), (b"1", TypeError), ([], TypeError),
    ]],
]

#: values taken, and what the setting then holds
TAKEN: list[tuple[str, object, object]] = [
    ("retention_count", None, None), ("retention_count", 1, 1), ("retention_count", 5, 5),
    ("retention_count", 2**63 - 1, 2**63 - 1),
    ("retention_age", None, None), ("retention_age", 0.5, 0.5), ("retention_age", 90, 90.0),
    ("retention_age", 1e-3, 1e-3), ("retention_age", 1e300, 1e300),
    ("retention_age", math.inf, math.inf), ("retention_age", 10**400, math.inf),
]

#: what a lab or store holds before a refused value is tried on it
BEFORE = {"retention_count": 7, "retention_age": 3600.0}


def _ids(cases):
    return [f"{n}={v!r}"[:40] for n, v, *_ in cases]


def _refused(exc: BaseException, name: str) -> None:
    said = str(exc)
    assert f"{name}=" in said and " refused: " in said and SAYS in said, said


@pytest.mark.parametrize(("name", "value", "error"), REFUSED, ids=_ids(REFUSED))
def test_a_new_lab_refuses(name, value, error) -> None:
    with pytest.raises(TraitError) as err:
        hooklab.HookLab(port=0, db=":memory:", **{name: value})
    _refused(err.value, name)


@pytest.mark.parametrize(("name", "value", "error"), REFUSED, ids=_ids(REFUSED))
def test_a_store_refuses_and_keeps_its_value(tmp_path, name, value, error) -> None:
    db = tmp_path / "s.sqlite3"
    with pytest.raises(error) as err:
        CaptureStore(str(db), **{name: value})
    _refused(err.value, name)
    assert not db.exists()  # (refused before anything was opened)
    store = CaptureStore(":memory:", **BEFORE)
    try:
        with pytest.raises(error) as err:
            setattr(store, name, value)
        _refused(err.value, name)
        assert (store.retention_count, store.retention_age) == (7, 3600.0)
    finally:
        store.close()


@pytest.mark.parametrize(("name", "value", "held"), TAKEN, ids=_ids(TAKEN))
def test_what_is_taken(name, value, held) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:", **{name: value})
    assert getattr(lab, name) == held
    store = CaptureStore(":memory:", **{name: value})
    try:
        assert getattr(store, name) == held
        setattr(store, name, value)
        assert getattr(store, name) == held
    finally:
        store.close()
    other = "retention_age" if name == "retention_count" else "retention_count"
    assert getattr(lab, other) is None


def test_a_serving_lab_refuses_every_way_and_goes_on_as_it_was() -> None:
    """``lab.retention_count = 0`` and ``lab.update_config`` (what ``%config`` calls), the
    refused value alone or beside a good setting: nothing changes, the store's settings
    neither, and the lab still trims to its count."""
    lab = hooklab.HookLab(port=0, db=":memory:", max_body=4096, **BEFORE).start()
    try:
        url = lab.url
        for name, value, _ in REFUSED:
            with pytest.raises(TraitError) as err:
                setattr(lab, name, value)
            _refused(err.value, name)
            for config in ({name: value}, {"max_body": 99, name: value},
                           {name: value, "retention_count" if name == "retention_age"
                            else "retention_age": 60}):
                with pytest.raises(TraitError) as err:
                    lab.update_config(Config({"HookLab": config}))
                _refused(err.value, name)
                # (called directly, as from %config: the message says the lab stays as it was)
                assert f"; nothing was changed (serving at {url})" in str(err.value), err.value
            held = (lab.retention_count, lab.retention_age, lab.max_body)
            assert held == (7, 3600.0, 4096), (name, value, held)
            assert (lab.store.retention_count, lab.store.retention_age) == (7, 3600.0)
        assert lab.url == url
        for i in range(10):
            assert post(lab.url_for("r"), str(i).encode())[0] == 200
        lab.wait(10, timeout=30)  # (all stored; then trimmed to the newest 7)
        deadline = time.monotonic() + 30
        while len(lab.captures) != 7 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [c.body for c in lab.captures] == [str(i).encode() for i in range(3, 10)]
    finally:
        lab.stop()


@pytest.mark.parametrize(("name", "value"), [("retention_count", 0), ("retention_age", 0),
                                             ("retention_count", -1), ("retention_age", math.nan),
                                             ("retention_count", True), ("retention_age", "0")])
def test_start_refuses_before_it_stops_the_default_lab(name, value) -> None:
    """``hooklab.start(retention_count=0)`` over a default lab: refused, and the default lab
    it would have replaced goes on serving (it was stopped first, then the refusal came)."""
    old = hooklab.start(port=0, db=":memory:")
    try:
        assert post(old.url_for("kept"), b"1")[0] == 200
        old.wait(1, timeout=30)
        with pytest.raises(TraitError) as err:
            hooklab.start(port=0, db=":memory:", **{name: value})
        _refused(err.value, name)
        assert hooklab.lab() is old and old.is_running
        assert post(old.url_for("kept"), b"2")[0] == 200
        assert [c.body for c in old.wait(2, timeout=30)] == [b"1", b"2"]
    finally:
        hooklab.stop()


def test_a_count_of_one_and_an_age_keep_what_they_say() -> None:
    """What is taken still works: ``retention_count=1`` keeps the newest capture,
    ``retention_age=inf`` (or an age past any date) deletes nothing."""
    with hooklab.HookLab(port=0, db=":memory:", retention_count=1) as one, \
            hooklab.HookLab(port=0, db=":memory:", retention_age=math.inf) as ever:
        for i in range(3):
            assert post(one.url_for("a"), str(i).encode())[0] == 200
            assert post(ever.url_for("a"), str(i).encode())[0] == 200
        one.wait(1, timeout=30)
        ever.wait(3, timeout=30)
        deadline = time.monotonic() + 30
        while len(one.captures) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [c.body for c in one.captures] == [b"2"]
        ever.store.retention_changed()
        time.sleep(2.5)  # (a pass ran, about once a second)
        assert ever.store.retention_failing is None
        assert [c.body for c in ever.captures] == [b"0", b"1", b"2"]


def test_config_in_a_kernel_is_a_usage_error_and_changes_nothing(tmp_path) -> None:
    """``%config HookLab.retention_count = 0`` in a notebook: the cell fails (one UsageError
    that says None turns retention off), and the lab keeps its setting and serves on."""
    from nbclient.exceptions import CellExecutionError
    from test_kernel import Kernel

    with Kernel(tmp_path) as k:
        k.run("%config HookLab.db = ':memory:'\n%config HookLab.port = 0\n"
              "%config HookLab.retention_count = 7\n%load_ext hooklab\n"
              "import hooklab; lab = hooklab.lab()")
        url = k.run("print(lab.url)").strip()
        for line in ["%config HookLab.retention_count = 0",
                     "%config HookLab.retention_age = 0",
                     "%config HookLab.retention_count = -1",
                     "%config HookLab.retention_age = float('nan')",
                     "%config HookLab.retention_count = True",
                     "%config HookLab.retention_count = '0'"]:
            with pytest.raises(CellExecutionError) as err:
                k.run(line)
            said = str(err.value)
            assert "UsageError" in said and SAYS in said and "nothing was changed" in said, said
            out = k.run("print(lab.url, lab.retention_count, lab.retention_age, "
                        "lab.store.retention_count)")
            assert out.strip() == f"{url} 7 None 7", (line, out)
        out = k.run("%config HookLab.retention_age = 90\n"
                    "print(lab.retention_age, lab.store.retention_age)")
        assert out.strip() == "90.0 90.0", out
        k.run("%unload_ext hooklab")
