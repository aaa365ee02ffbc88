r"""A lone surrogate in a webhook's JSON, as ``schema()``, ``diff()`` and ``flatten=True`` show it.

``"\ud83d"`` is valid JSON (what JavaScript's ``JSON.stringify`` writes for a string cut inside
an emoji) but no character: Python reads it into a ``str`` that cannot be written as UTF-8,
and a notebook's output is UTF-8. One such capture made ``lab.schema()``, ``lab.diff(a, b)``
and ``lab.dataframe(flatten=True)`` fail to show in a real kernel (``UnicodeEncodeError: ...
surrogates not allowed``), a surrogate in a key made ``flatten=True`` raise. Each is shown as
JSON escapes it, the six characters ``\ud83d``, in every value these return (keys and field
names too); ``schema()``'s ``distinct`` still counts the values as sent.

Webhooks are posted over real sockets to real labs; the display is checked in a real kernel.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from _http import post
from nbclient import NotebookClient

import hooklab
from hooklab import Capture, HookLab
from hooklab.explore import displayable

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

#: (name, hostile body, its content type, a plain body after it, schema rows {field: example},
#: flatten=True columns {column: (hostile's value, plain's value)}, diff rows of the two)
CASES: list[tuple[str, bytes, dict[str, str], bytes, dict[str, str], dict[str, tuple[Any, Any]],
                  list[tuple[str, str, Any, Any]]]] = [
    ("lone-high", rb'{"title": "Party time \ud83d", "n": 1}', JSON, b'{"title": "ok", "n": 2}',
     {"title": r'"Party time \ud83d"', "n": "1"},
     {"payload.title": (r"Party time \ud83d", "ok"), "payload.n": (1, 2)},
     [("title", "changed", r"Party time \ud83d", "ok"), ("n", "changed", 1, 2)]),
    ("lone-low", rb'{"s": "x\udc80y"}', JSON, b'{"s": "xy"}',
     {"s": r'"x\udc80y"'},
     {"payload.s": (r"x\udc80y", "xy")},
     [("s", "changed", r"x\udc80y", "xy")]),
    ("reversed-pair", rb'{"s": "\ude00\ud83d"}', JSON, b'{"s": "\\ud83d\\ude00"}',
     {"s": r'"\ude00\ud83d"'},
     {"payload.s": (r"\ude00\ud83d", "\U0001f600")},
     [("s", "changed", r"\ude00\ud83d", "\U0001f600")]),
    ("in-a-key", rb'{"k\ud800": "v", "o": {"\udbff": 1}}', JSON, b'{"k": "v", "o": {}}',
     {r"k\ud800": '"v"', "o": None, r"o.\udbff": "1", "k": '"v"'},
     {r"payload.k\ud800": ("v", None), r"payload.o.\udbff": (1, None), "payload.k": (None, "v")},
     [(r"k\ud800", "removed", "v", None), (r"o.\udbff", "removed", 1, None), ("k", "added", None, "v")]),
    ("nested-array", rb'{"a": [{"b": ["\udfff", "ok"]}]}', JSON, b'{"a": [{"b": ["ok", "ok"]}]}',
     {"a": None, "a[]": None, "a[].b": None, "a[].b[]": r'"\udfff"'},
     {"payload.a": ([{"b": [r"\udfff", "ok"]}], [{"b": ["ok", "ok"]}])},
     [("a[0].b[0]", "changed", r"\udfff", "ok")]),
    ("whole-value", rb'{"o": {"\ud800": ["\udc00"]}}', JSON, b'{"p": 1}',
     {"o": None, r"o.\ud800": None, r"o.\ud800[]": r'"\udc00"', "p": "1"},
     {r"payload.o.\ud800": ([r"\udc00"], None), "payload.p": (None, 1)},
     [("o", "removed", {r"\ud800": [r"\udc00"]}, None), ("p", "added", None, 1)]),
    ("json-in-a-form", b"team=T1&payload=" + urllib.parse.quote(r'{"t": "\ud83d!"}').encode(), FORM,
     b"team=T1&payload=" + urllib.parse.quote('{"t": "ok"}').encode(),
     {"team": '"T1"', "payload": "(JSON inside a form field)", "payload.t": r'"\ud83d!"'},
     {},  # (forms have no payload.* columns)
     [("payload.t", "changed", r"\ud83d!", "ok")]),
]


@pytest.fixture(scope="module", params=["memory", "file"])
def sent(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A lab (in memory, or on a file) with each case's two captures in a bin of its own."""
    db = ":memory:" if request.param == "memory" else str(tmp_path_factory.mktemp("db") / "c.sqlite3")
    lab = HookLab(port=0, db=db).start()
    try:
        caps = {}
        for name, hostile, ctype, plain, *_ in CASES:
            for body in (hostile, plain):
                status, answer = post(lab.url_for(name), body, ctype)
                assert status == 200, (name, answer)
            caps[name] = lab.wait(2, bin=name, timeout=10)
        yield lab, caps
    finally:
        lab.stop()


def shows_as_utf8(df: pd.DataFrame) -> None:
    """What a notebook does with a frame, each as UTF-8: its text, its HTML, its cells as JSON."""
    df.to_string().encode("utf-8")
    df._repr_html_().encode("utf-8")
    json.dumps(df.astype(object).to_numpy().tolist(), ensure_ascii=False, default=str).encode("utf-8")
    json.dumps([str(c) for c in df.columns], ensure_ascii=False).encode("utf-8")
    json.dumps(df.attrs, ensure_ascii=False, default=str).encode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_schema_shows_a_lone_surrogate_as_json_escapes_it(sent: Any, case: Any) -> None:
    lab, _ = sent
    name, _h, _c, _p, rows, _cols, _diff = case
    for reveal in (False, True):
        s = lab.schema(bin=name, reveal=reveal)
        shows_as_utf8(s)
        got = dict(zip(s["field"], s["example"].where(s["example"].notna(), None), strict=True))
        assert {k: got.get(k, "missing") for k in rows} == rows
        assert s["field"].tolist()[0] == "(body)" and set(got) == {"(body)", *rows}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_diff_shows_a_lone_surrogate_as_json_escapes_it(sent: Any, case: Any) -> None:
    lab, caps = sent
    name, _h, _c, _p, _rows, _cols, want = case
    a, b = caps[name]
    for headers in (False, True):
        d = lab.diff(a, b, headers=headers)
        shows_as_utf8(d)
        rows = [tuple(r) for r in d.itertuples(index=False)]
        assert [r for r in rows if not r[0].startswith("headers.")] == want


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_flatten_shows_a_lone_surrogate_as_json_escapes_it(sent: Any, case: Any) -> None:
    lab, caps = sent
    name, hostile, ctype, _p, _rows, cols, _diff = case
    df = lab.dataframe(flatten=True, bin=name)
    # (the json column holds each payload as parsed, as Capture.json() does: shown by repr)
    shows_as_utf8(df.drop(columns="json"))
    df.to_string().encode("utf-8")
    df._repr_html_().encode("utf-8")
    payload = sorted(c for c in df.columns if c.startswith("payload."))
    assert payload == sorted(cols)
    for col, (first, second) in cols.items():
        got = [None if not isinstance(v, (list, dict)) and pd.isna(v) else v for v in df[col]]
        assert got == [first, second], col
    if ctype is JSON:  # (Capture.json() keeps the value as parsed: the surrogates themselves)
        assert caps[name][0].json() == json.loads(hostile)


def test_distinct_counts_the_values_as_sent() -> None:
    """Five strings that differ as sent: schema counts five; flatten=True shows each lone
    surrogate as its escape, so only the string that is those six characters itself
    looks the same as one (said in ``displayable``'s docstring)."""
    values = ["\ud800", "\udc00", "\ufffd", "\ud800x", "\\ud800"]
    with HookLab(port=0, db=":memory:") as lab:
        for v in values:
            body = json.dumps({"s": v}).encode()  # (ensure_ascii: lone surrogates as escapes)
            assert post(lab.url_for("d"), body, JSON)[0] == 200
        lab.wait(len(values), timeout=10)
        s = lab.schema()
        assert s.loc[s.field == "s", "distinct"].tolist() == [5]
        assert s.loc[s.field == "s", "example"].tolist() == [r'"\ud800"']
        df = lab.dataframe(flatten=True)
        assert df["payload.s"].tolist() == [r"\ud800", r"\udc00", "\ufffd", r"\ud800x", "\\ud800"]
        shows_as_utf8(s)
        shows_as_utf8(df.drop(columns="json"))


#: (what a value holds, what displayable gives): strings, keys, nesting, the same object back
DISPLAYABLE = [
    ("\ud83d", r"\ud83d"),
    ("a\udc80b", r"a\udc80b"),
    ("\ude00\ud83d", r"\ude00\ud83d"),
    ("\ud83d\ude00", r"\ud83d\ude00"),  # (a pair Python holds as two halves: shown as two)
    ("caf\u00e9 \U0001f600", "caf\u00e9 \U0001f600"),
    ({"k\ud800": ["\udfff", {"x": "\ud800"}]}, {r"k\ud800": [r"\udfff", {"x": r"\ud800"}]}),
    ({"\ud800": 1, "\\ud800": 2}, {'"\\ud800"': 1, "\\ud800": 2}),  # (two keys stay two)
    ({"\\ud800": 2, "\ud800": 1}, {"\\ud800": 2, '"\\ud800"': 1}),
    ([2**70, "\ud800", None, 1.5, True], [2**70, r"\ud800", None, 1.5, True]),
    ({"n": 2**70, "s": "ok"}, {"n": 2**70, "s": "ok"}),
    (7, 7),
    (None, None),
]


@pytest.mark.parametrize(("value", "want"), DISPLAYABLE, ids=range(len(DISPLAYABLE)))
def test_displayable_values(value: Any, want: Any) -> None:
    got = displayable(value)
    assert got == want and type(got) is type(want)
    json.dumps(got, ensure_ascii=False).encode("utf-8")
    if json.dumps(value) == json.dumps(want):  # (nothing to escape: the same object back)
        assert got is value


def test_displayable_is_bounded_on_deep_values() -> None:
    deep: Any = "\ud800"
    for _ in range(5000):
        deep = {"a": [deep]}
    got = displayable(deep)
    for _ in range(5000):
        got = got["a"][0]
    assert got == r"\ud800"


def test_a_header_with_a_lone_surrogate_in_a_diff() -> None:
    """Headers a user builds in Python (``os.fsdecode``'s surrogates, say) and trailer fields:
    ``diff(headers=True)`` shows them as JSON escapes them too."""
    now = datetime.now(timezone.utc)
    a = Capture(id=1, received_at=now, method="POST", path="/h", body=b"{}", trailers_at=3,
                headers=[("X-Note", "caf\udce9"), ("X-\ud800", "1"), ("Transfer-Encoding", "chunked"),
                         ("X-T", "\udc80"), ("Authorization", "k\ud800y")])
    b = Capture(id=2, received_at=now, method="POST", path="/h", body=b"{}",
                headers=[("X-Note", "ok"), ("Transfer-Encoding", "chunked")])
    with HookLab(port=0, db=":memory:") as lab:
        for reveal, auth in ((False, "<hidden: 3 chars>"), (True, r"k\ud800y")):
            d = lab.diff(a, b, headers=True, reveal=reveal)
            shows_as_utf8(d)
            assert [tuple(r) for r in d.itertuples(index=False)] == [
                ("headers.x-note", "changed", r"caf\udce9", "ok"),
                (r"headers.x-\ud800", "removed", "1", None),
                ("trailers.x-t", "removed", r"\udc80", None),
                ("trailers.authorization", "removed", auth, None),
            ]


def _outputs(cell: Any) -> list[dict[str, Any]]:
    return [dict(o) for o in cell.get("outputs", [])]


def test_a_real_kernel_shows_them(tmp_path: Path) -> None:
    """The tester's notebook: a kernel's output is UTF-8, and each table failed to show
    (``UnicodeEncodeError``) for one capture holding ``"\\ud83d"``. Now each shows as text
    and as HTML, the surrogate as ``\\ud83d``; ``%hooklab schema`` too, its hidden
    credential's length the value's (7 for ``hunter2``, not 9 with the JSON quotes)."""
    root = str(Path(hooklab.__file__).resolve().parent.parent)  # (this hooklab, in the kernel)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    setup = (
        "import hooklab, urllib.request\n"
        "def post(bin, body, ct='application/json'):\n"
        "    urllib.request.urlopen(urllib.request.Request(lab.url_for(bin), data=body,\n"
        "                           headers={'Content-Type': ct}), timeout=10).read()\n"
        "lab = hooklab.lab()\n"
        "post('e', rb'{\"title\": \"Party time \\ud83d\", \"k\\udc80\": [\"\\ude00\\ud83d\"]}')\n"
        "post('e', b'{\"title\": \"ok\"}')\n"
        "post('login', b'user=u1&password=hunter2', 'application/x-www-form-urlencoded')\n"
        "caps = lab.wait(3, timeout=10)\n"
        "print(hooklab.__file__)"
    )
    cells = [
        "%config HookLab.port = 0",
        "%load_ext hooklab",
        setup,
        "lab.schema(bin='e')",
        "lab.diff(caps[0], caps[1])",
        "lab.dataframe(flatten=True, bin='e')[['id', 'payload.title', 'payload.k\\\\udc80']]",
        "%hooklab schema --bin e",
        "%hooklab diff 1 2",
        "%hooklab schema --bin login",
        "print('still alive')",
        "lab.stop()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
    outs = [_outputs(c) for c in nb.cells]
    errors = [(c.source, o.get("ename"), o.get("evalue")) for c, os_ in zip(nb.cells, outs, strict=True)
              for o in os_ if o.get("output_type") == "error"]
    assert errors == []
    assert outs[2][0]["text"].strip() == str(Path(hooklab.__file__))

    def shown(i: int) -> tuple[str, str]:
        (result,) = [o for o in outs[i] if o.get("output_type") == "execute_result"]
        return result["data"]["text/plain"], result["data"]["text/html"]

    for i, wants in [(3, [r'"Party time \ud83d"', r"k\udc80[]", r'"\ude00\ud83d"']),
                     (4, [r"Party time \ud83d", r"k\udc80"]),
                     (5, [r"Party time \ud83d", r"\ude00\ud83d"]),
                     (6, [r'"Party time \ud83d"']),
                     (7, [r"Party time \ud83d"])]:
        text, html = shown(i)
        for want in wants:
            assert want in text and want in html.replace("&quot;", '"'), (cells[i], want)
    text, html = shown(8)
    assert "<hidden: 7 chars>" in text and "&lt;hidden: 7 chars&gt;" in html
    assert "hunter2" not in text + html
    assert [o["text"] for o in outs[9]] == ["still alive\n"]
