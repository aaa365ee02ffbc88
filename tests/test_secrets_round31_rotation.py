"""A secret the lab was given stays hidden after it was rotated or removed: an old secret is
still a credential (Stripe keeps one valid up to 24 h after a roll). Captures stored before
any secret was given are written with every one of them as ``[secret]`` by the exports, the
read API and ``lab.wait``/``assert_received`` failure messages, until ``lab.reset()``."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from _http import exact_request

import hooklab

OLD, NEW = "OldSecret_7xQ", "NewSecret_9zR"


def _send(lab: hooklab.HookLab, bin_: str, value: str) -> None:
    """A capture that carries ``value`` in its path, a header, the query and its event type."""
    status, _ = exact_request(lab.bound_port, "POST", f"/{bin_}/{value}?k={value}",
                              [("X-Token", value), ("X-GitHub-Event", value)])
    assert status == 200


def _everywhere(lab: hooklab.HookLab, tmp: Path) -> dict[str, str]:
    """What a user reads of the lab's captures: each export, the read API, and the failure
    messages of ``wait`` and ``assert_received``."""
    seen = {}
    for fmt in ("jsonl", "har", "csv"):
        path = tmp / f"out.{fmt}"
        lab.export(str(path), fmt=fmt)
        seen[fmt] = path.read_text(encoding="utf-8")
    req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?limit=50",
                                 headers={"Authorization": "token " + lab.api_token})
    with urllib.request.urlopen(req, timeout=10) as r:
        seen["read API"] = r.read().decode()
    with pytest.raises(TimeoutError) as waited:
        lab.wait(99, timeout=0.2)
    seen["wait"] = str(waited.value)
    with pytest.raises(AssertionError) as asserted:
        lab.assert_received(99)
    seen["assert_received"] = str(asserted.value)
    return seen


# (what was given to lab.secret in order, and the secrets each output must hide afterwards)
CASES = [
    ("rotated", [("orders", OLD), ("orders", NEW)], [OLD, NEW]),
    ("rotated twice", [("orders", OLD), ("orders", NEW), ("orders", "Third_Secret_3")], [OLD, NEW]),
    ("removed", [("orders", OLD), ("orders", None)], [OLD]),
    ("moved to another bin", [("orders", OLD), ("orders", None), ("billing", NEW)], [OLD, NEW]),
    ("given as verify token, then replaced", [("wa", ("meta", OLD)), ("wa", ("meta", NEW))],
     [OLD, NEW]),
]


@pytest.mark.parametrize(("name", "given", "hidden"), CASES, ids=[c[0] for c in CASES])
def test_every_secret_given_in_the_labs_life_stays_hidden(tmp_path: Path, name: str,
                                                          given: list, hidden: list[str]) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        for value in (OLD, NEW):  # (stored before any secret was given: kept as they came)
            _send(lab, "orders", value)
        lab.wait(2, timeout=10)
        for bin_, what in given:
            if isinstance(what, tuple):
                lab.secret(bin_, None, provider=what[0], verify_token=what[1])
            else:
                lab.secret(bin_, what)
        seen = _everywhere(lab, tmp_path)
        for where, text in seen.items():
            for secret in hidden:
                assert secret not in text, f"{name}: {secret} readable in {where}"
            assert "[secret]" in text or "%5Bsecret%5D" in text, (name, where)
        # the database keeps what came: the analysis outputs are the raw data
        assert {c.header("X-Token") for c in lab.captures} == {OLD, NEW}
    finally:
        lab.stop()


def test_reset_forgets_the_secrets_given(tmp_path: Path) -> None:
    """``lab.reset()`` is a fresh lab: a secret given before it is not hidden after it (a test
    suite's next test sends the value as plain data)."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        lab.secret("orders", OLD)
        lab.secret("orders", NEW)
        lab.reset()
        _send(lab, "orders", OLD)
        lab.wait(1, timeout=10)
        path = tmp_path / "out.jsonl"
        lab.export(str(path), fmt="jsonl")
        line = json.loads(path.read_text(encoding="utf-8"))
        assert line["path"] == f"/orders/{OLD}" and [OLD] in line["query"].values()
    finally:
        lab.stop()


def test_a_capture_after_a_rotation_stores_the_old_secret_hidden(tmp_path: Path) -> None:
    """A delivery signed or sent with the old secret after the roll (Stripe sends both for a
    while) is stored with it as ``[secret]``, as with the new one."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        lab.secret("orders", OLD)
        lab.secret("orders", NEW)
        _send(lab, "orders", OLD)
        (cap,) = lab.wait(1, timeout=10)
        assert OLD not in json.dumps([cap.path, cap.url, cap.headers, cap.query, cap.event_type])
        assert cap.header("X-Token") == "[secret]"
    finally:
        lab.stop()

