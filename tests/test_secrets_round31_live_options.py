"""The live view's bin dropdown and filter note hide a secret the lab was given: a bin named by
the secret (a capture to ``/<secret>/x`` stored before ``lab.secret``) is offered as
``[secret]``, so the widget state a saved notebook keeps holds no secret, and choosing that
choice still shows the bin's captures."""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as W
import pytest
from _http import exact_request
from test_widget import wait_until

import hooklab

SECRET = "Zq9xK7wP"


def _state() -> str:
    return json.dumps(W.Widget.get_manager_state(drop_defaults=False)["state"], default=str)


# (the request target whose bin holds a secret; the secrets given, the last one current; the
# bin's label: its name with the secret's place marked)
CASES = [
    ("bin is the secret", f"/{SECRET}/x", [SECRET], "[secret]"),
    ("bin percent-encoded", "/%5Aq9xK7wP/x", [SECRET], "[secret]"),
    ("secret inside the bin", f"/pre-{SECRET}-post/x", [SECRET], "pre-[secret]-post"),
    ("bin is the secret's base64", "/WnE5eEs3d1A/x", [SECRET], "[secret]"),
    ("bin is a rotated secret", f"/{SECRET}/x", [SECRET, "NewSecret_9zR"], "[secret]"),
]


@pytest.mark.parametrize("opened", ["before the secret", "after the secret"])
@pytest.mark.parametrize(("name", "target", "given", "label"), CASES, ids=[c[0] for c in CASES])
def test_bin_dropdown_offers_a_secret_bin_as_secret(tmp_path: Path, opened: str, name: str,
                                                    target: str, given: list[str],
                                                    label: str) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    views = []
    try:
        assert exact_request(lab.bound_port, "POST", target)[0] == 200
        assert exact_request(lab.bound_port, "POST", "/plain/x")[0] == 200
        lab.wait(2, timeout=10)
        if opened == "before the secret":
            views.append(lab.live())
            assert wait_until(lambda: len(views[0].bin_filter.options) == 3, timeout=10)
        for secret in given:
            lab.secret("orders", secret)
        if opened == "after the secret":
            views.append(lab.live())
        view = views[0]
        offered = sorted(["all bins", label, "plain"])
        assert wait_until(lambda: sorted(t for t, _ in view.bin_filter.options) == offered,
                          timeout=10), (name, view.bin_filter.options)
        # the choice still filters to that bin (its value stays in the kernel)
        chosen = next(v for text, v in view.bin_filter.options if text == label)
        view.bin_filter.value = chosen
        assert wait_until(lambda: len(view.rows) == 1
                          and f"filter: bin={label}" in view.counter.value, timeout=10)
        state = _state()
        for secret in given:
            assert secret not in state, f"{name}: {secret} in the saved widget state"
        assert "WnE5eEs3d1A" not in state
    finally:
        for view in views:
            view.close()
        lab.stop()
