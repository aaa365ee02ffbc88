"""``%hooklab send`` with values from the notebook, as a user types them in a cell (a real
IPython shell: its own ``$name`` / ``{name}`` expansion, the default lab on 127.0.0.1).

- ``--data-var body`` sends the JSON held in ``body`` exactly: the README's former recipe
  ``--data {body!r}`` went through ``repr`` and ``shlex`` (``caf\\u00e9`` arrived as
  ``caf\\\\u00e9``, an apostrophe was "No closing quotation").
- a ``$name`` / ``{name}`` that reaches hooklab as typed is refused in every spelling
  (``--secret=$sec`` and ``--secret {sec}`` were sent, signed with that text).
- ``github/push`` is bin ``github``, path ``push``; ``localhost:PORT/webhook`` is
  ``http://localhost:PORT/webhook`` (it was a bin of the lab).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError

import hooklab

#: JSON texts a notebook holds in a variable, each sent as its exact bytes
HOSTILE_JSON = {
    "escaped-non-ascii": json.dumps({"note": "café", "e": "😀"}),
    "raw-non-ascii": json.dumps({"note": "café", "e": "😀"}, ensure_ascii=False),
    "backslashes": json.dumps({"path": "C:\\dir\\new", "re": "\\d+"}),
    "double-quotes": json.dumps({"q": 'say "hi"'}),
    "apostrophe": json.dumps({"q": "it's"}),
    "newline-escaped": json.dumps({"text": "line1\nline2\r\t"}),
    "newlines-between": json.dumps({"a": [1, 2], "b": {"c": None}}, indent=2),
    "dollar": json.dumps({"price": "$5", "name": "$body", "d": "$$"}),
    "braces": json.dumps({"t": "{}", "u": "{body}", "v": "{body!r}"}),
    "compact": '{"a":1,"b":[true,false,null]}',
    "everything": json.dumps({"k'\"$": "{x}\\ é\n\u2028"}, ensure_ascii=False),
}


def _cell(shell: Any, code: str) -> Any:
    """Run ``code`` as a cell (IPython expands the magic's line); its error, or None."""
    return shell.run_cell(code).error_in_exec


@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_data_var_sends_the_variable_s_json_exactly(memory_shell: Any, body: str) -> None:
    lab = hooklab.lab()
    memory_shell.user_ns["body"] = body
    assert _cell(memory_shell, "%hooklab send v --data-var body") is None
    got = lab.wait(1, bin="v", timeout=10)[0]
    assert got.body == body.encode("utf-8")
    assert got.content_type == "application/json"
    # with a provider, the object is merged into the sample: each of its keys as given
    assert _cell(memory_shell, "%hooklab send w --provider github --event push "
                               "--data-var body") is None
    merged = lab.wait(1, bin="w", timeout=10)[0].json()
    assert {k: merged[k] for k in json.loads(body)} == json.loads(body)


def test_data_var_without_a_provider_sends_a_number_past_a_float_as_written(
        memory_shell: Any) -> None:
    """(a reviewer) It was refused, "merged into the sample's payload", with no provider."""
    lab = hooklab.lab()
    memory_shell.user_ns["big"] = '{"amount": 1e999}'
    assert _cell(memory_shell, "%hooklab send v --data-var big") is None
    assert lab.wait(1, bin="v", timeout=10)[0].body == b'{"amount": 1e999}'


def test_data_var_takes_a_dict_and_says_what_it_cannot_take(memory_shell: Any) -> None:
    lab = hooklab.lab()
    ns = memory_shell.user_ns
    ns.update(d={"note": "café", "q": "it's"}, n=42, bad_bytes=b"\xff{}", nan={"a": float("nan")})
    assert _cell(memory_shell, "%hooklab send v --data-var d") is None
    assert lab.wait(1, bin="v", timeout=10)[0].json() == {"note": "café", "q": "it's"}
    for line, said in [
        ("send x --data-var nowhere", "--data-var nowhere: the notebook has no variable nowhere"),
        ("send x --data-var n", "--data-var n holds a int"),
        ("send x --data-var bad_bytes", "the bytes are no UTF-8 text"),
        ("send x --data-var nan", "the dict is no JSON"),
        ("send x --data-var 'a.b'", "--data-var takes a variable's name"),
        ("send x --data-var n --data '{}'", "not allowed with argument"),
    ]:
        with pytest.raises(UsageError, match=said):
            memory_shell.run_line_magic("hooklab", line)
    assert [c.bin for c in lab.captures] == ["v"]  # (nothing else was sent)


#: (the cell's magic line, refused?) with sec = "s3cr3t" and hook defined, nosuch not
LINES = [
    ("send v --provider github --event push --secret=$sec --data '{\"a\": 1}'", True),
    ("send v --provider github --event push --secret {sec} --data '{\"a\": 1}'", True),
    ("send v --provider github --event push --secret={sec} --data '{\"a\": 1}'", True),
    ("send v --provider github --event push --secret $nosuch", True),
    ("send v --provider github --event push --secret {nosuch}", True),
    ("send v --provider github --event push --secret={nosuch.attr!r}", True),
    ("send {nosuch}", True),
    ("send $nosuch", True),
    ("send v --data {nosuch}", True),
    ("send v --provider github --event push --secret=$sec", False),  # (expanded: the secret)
    ("send v --provider github --event push --secret {sec}", False),
]


@pytest.mark.parametrize(("line", "refused"), LINES)
def test_a_name_left_as_typed_is_refused_in_every_spelling(memory_shell: Any, line: str,
                                                           refused: bool) -> None:
    lab = hooklab.lab()
    memory_shell.user_ns.update(sec="s3cr3t", hook=lab.url_for("v"))
    lab.secret("v", "s3cr3t")
    error = _cell(memory_shell, f"%hooklab {line}")
    if refused:
        assert isinstance(error, UsageError)
        assert "was not expanded" in str(error), error
        assert "hooklab.send(sec" not in str(error)  # (the secret was named as the URL)
        hooklab.send(lab.url_for("sentinel"))  # (had the line sent, it came before this)
        assert [c.bin for c in lab.wait(1, bin="sentinel", timeout=10)] == ["sentinel"]
        assert [c.bin for c in lab.captures] == ["sentinel"]
    else:
        assert error is None
        assert lab.wait(1, bin="v", timeout=10)[0].verified is True


@pytest.mark.parametrize(("line", "hint"), [
    ("send v --provider github --secret=$nosuch", "hooklab.send(url, ..., secret=nosuch)"),
    ("send {nosuch}", "hooklab.send(nosuch, ...)"),
    ("send v --data={nosuch}", "--data-var nosuch"),
    ("respond v --status {nosuch}", "lab.respond(bin_or_path, ..., status=nosuch)"),
    ("df --event-type $nosuch", "lab.dataframe(..., event_type=nosuch)"),
])
def test_the_refusal_names_the_python_keyword(memory_shell: Any, line: str, hint: str) -> None:
    with pytest.raises(UsageError) as err:
        memory_shell.run_line_magic("hooklab", line)
    assert "the notebook has no variable nosuch" in str(err.value)
    assert hint in str(err.value), err.value


@pytest.fixture
def app() -> Iterator[tuple[int, list[str]]]:
    """An HTTP app on 127.0.0.1 (a free port): the paths it was posted to."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize(("target", "bin", "path", "query"), [
    ("github/push", "github", "/github/push", {}),
    ("/github/push", "github", "/github/push", {}),
    ("github/a/b?x=1", "github", "/github/a/b", {"x": ["1"]}),
    ("github?x=1", "github", "/github", {"x": ["1"]}),
    ("github", "github", "/github", {}),
    # (a name that is no address, localhost or dotted name stays a bin: build:42 was sent to
    # http://build:42, a reviewer)
    ("build:42", "build:42", "/build%3A42", {}),
    ("build:42/push", "build:42", "/build%3A42/push", {}),
])
def test_bin_and_path_as_a_sender_s_post_is_captured(memory_shell: Any, target: str, bin: str,
                                                     path: str, query: dict[str, Any]) -> None:
    lab = hooklab.lab()
    lab.secret(bin, "s")
    assert _cell(memory_shell, f"%hooklab send {target} --provider github --event push "
                               "--secret s") is None
    got = lab.wait(1, timeout=10)[0]
    assert (got.bin, got.path, got.query, got.verified) == (bin, path, query, True)


@pytest.mark.parametrize(("target", "path"), [
    ("127.0.0.1:{port}/webhook", "/webhook"),
    ("localhost:{port}/webhook", "/webhook"),
    ("127.0.0.1:{port}", "/"),
    ("127.0.0.1:{port}/hook?x=1", "/hook?x=1"),
    ("http://127.0.0.1:{port}/full", "/full"),
])
def test_host_port_without_a_scheme_is_an_http_url(memory_shell: Any, app: Any, capsys: Any,
                                                   target: str, path: str) -> None:
    port, hits = app
    lab = hooklab.lab()
    line = f"%hooklab send {target.format(port=port)} --provider github --event push"
    assert _cell(memory_shell, line) is None
    assert hits == [path]
    url = "http://" + target.format(port=port).removeprefix("http://")
    assert capsys.readouterr().out.endswith(f"to {url}: 204\n")
    hooklab.send(lab.url_for("sentinel"))
    assert [c.bin for c in lab.wait(1, timeout=10)] == ["sentinel"]  # (nothing to the lab)


def test_in_a_real_kernel_the_variable_s_json_and_secret_arrive_as_they_are(tmp_path: Any) -> None:
    """The tester's cells, in a kernel: the JSON of ``json.dumps`` (escapes, ``\\n``, ``\\\\``,
    an apostrophe) arrives byte for byte, and ``--secret=$sec`` with JSON braces on the line is
    refused, where it was sent signed with ``$sec``."""
    from _kernels import kernel_in

    setup = ("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab\n"
             "import hooklab, json; lab = hooklab.lab(); sec = 's3cr3t'; lab.secret('v', sec)\n"
             "body = json.dumps({'note': 'café', 'text': 'a\\nb', 'path': 'C:\\\\dir', "
             "'q': \"it's\"})")
    with kernel_in(tmp_path, setup) as k:
        k.cell("%hooklab send v --data-var body")
        assert k.cell("print(lab.wait(1, timeout=10)[0].body == body.encode())") == "True\n"
        since = len(k.published)
        k.cell("%hooklab send v --provider github --event push --secret=$sec "
               "--data '{\"a\": 1}'")  # (a UsageError: IPython prints it on stderr)
        said = "".join(m["content"].get("text", "") for m in k.published[since:]
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        assert "UsageError: %hooklab: $sec was not expanded" in said, said
        k.cell("%hooklab send v --provider github --event push --secret $sec")
        assert k.cell("print([c.verified for c in lab.wait(2, timeout=10)])") == "[False, True]\n"  # (unsigned, then signed)


@pytest.mark.parametrize(("line", "check"), [
    # (a reviewer: text searched for or answered is the user's own; '$price' and '{ok}' were
    # refused, and IPython's escape {{ok}} arrives as {ok}: nothing to write them with)
    ("respond lit --body {ok}", "body"),
    ("respond lit --body $ok", "body"),
    ("df --search $price", "search"),
])
def test_a_search_or_an_answer_body_is_taken_as_typed(memory_shell: Any, line: str,
                                                       check: str) -> None:
    lab = hooklab.lab()
    out = memory_shell.run_line_magic("hooklab", line)
    if check == "body":
        word = line.rsplit(" ", 1)[1]
        assert hooklab.send(lab.url_for("lit")).body == word.encode()
    else:
        assert len(out) == 0  # (a frame: nothing holds $price)
