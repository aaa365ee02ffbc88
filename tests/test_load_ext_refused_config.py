"""``%config HookLab.<name> = <bad value>`` before ``%load_ext hooklab``: IPython's ``%config``
keeps the value without checking it (no lab exists yet), and ``%load_ext`` then raised the
lab's bare ``TraitError`` traceback. It is a ``UsageError`` now ("Run All" stops on it, one
clear line), no lab is left behind, and the extension loads once the value is set right.
A real IPython shell, a lab on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import hooklab

REFUSED_BY_THE_TRAIT = "%load_ext hooklab: the configuration is refused: "
REFUSED_AT_START = "%load_ext hooklab: the lab did not start: "  # (a value only binding tells)
#: (setting, refused value, a good one, how it is refused)
REFUSED = [
    ("retention_count", "0", "5", REFUSED_BY_THE_TRAIT),
    ("retention_age", "-1", "60", REFUSED_BY_THE_TRAIT),
    ("port", "99999", "0", REFUSED_BY_THE_TRAIT),
    ("port", "-1", "0", REFUSED_BY_THE_TRAIT),
    ("durability", "'sometimes'", "'full'", REFUSED_BY_THE_TRAIT),
    ("max_body", "-5", "4096", REFUSED_BY_THE_TRAIT),
    ("host", "'not a host name!'", "'127.0.0.1'", REFUSED_AT_START),
]


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("config", "HookLab.port = 0")
    ip.run_line_magic("config", "HookLab.db = ':memory:'")
    try:
        yield ip
    finally:
        if "hooklab" in ip.extension_manager.loaded:
            ip.extension_manager.unload_extension("hooklab")
        hooklab.stop()
        ip.config.pop("HookLab", None)


@pytest.mark.parametrize(("name", "bad", "good", "how"), REFUSED)
def test_a_refused_config_value_is_a_usage_error_and_leaves_no_lab(
        shell: InteractiveShell, name: str, bad: str, good: str, how: str) -> None:
    shell.run_line_magic("config", f"HookLab.{name} = {bad}")
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("load_ext", "hooklab")
    said = str(err.value)
    assert said.startswith(how), said
    assert name in said and "No lab is running" in said, said
    assert hooklab.lab() is None
    assert not any(type(c).__name__ == "HookLab" for c in shell.configurables)
    # set right, the extension loads and the lab serves
    shell.run_line_magic("config", f"HookLab.{name} = {good}")
    if "hooklab" in shell.extension_manager.loaded:
        shell.extension_manager.reload_extension("hooklab")
    else:
        shell.run_line_magic("load_ext", "hooklab")
    lab = hooklab.lab()
    assert lab is not None and lab.is_running


@pytest.mark.parametrize(("name", "bad", "good"), [r[:3] for r in REFUSED if r[3] is REFUSED_BY_THE_TRAIT])
def test_hooklab_start_says_the_same_in_one_line(
        shell: InteractiveShell, name: str, bad: str, good: str) -> None:
    """``%hooklab start`` (the magics registered, no lab yet: the extension loaded and the lab
    stopped) met the same value with the same traceback."""
    shell.run_line_magic("load_ext", "hooklab")
    hooklab.stop()
    shell.run_line_magic("config", f"HookLab.{name} = {bad}")
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", "start")
    said = str(err.value)
    assert said.startswith("%hooklab start: the configuration is refused: "), said
    assert name in said and said.endswith("then %hooklab start again"), said
    shell.run_line_magic("config", f"HookLab.{name} = {good}")
    shell.run_line_magic("hooklab", "start")
    lab = hooklab.lab()
    assert lab is not None and lab.is_running
