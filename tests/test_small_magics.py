"""``%hooklab`` as a notebook user meets it, in a real IPython shell: a mistyped header or
option is said without its text, ``--data`` is a JSON object as ``hooklab send --data``
wants it, a URL holding a control character is refused, and ``%hooklab COMMAND --help``
prints that command's usage."""

from __future__ import annotations

import socket

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

SECRET = "sk_live_S3CR3T-42"


@pytest.fixture
def shell(memory_shell: InteractiveShell) -> InteractiveShell:
    """IPython with ``%load_ext hooklab`` done: a lab on a free port, captures in memory
    (loaded per test: the suite stops the default lab after each; conftest's memory_shell)."""
    return memory_shell


def _refused(shell: InteractiveShell, line: str) -> str:
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", line)
    return str(err.value)


@pytest.mark.parametrize("header,says", [
    (f"Authorization Bearer {SECRET}",
     "--header takes Name:value, got 38 characters with no ':' (not shown"),
    (f"Authorization=Bearer {SECRET}", "got 38 characters with no ':'"),
    ("x", "got 1 character with no ':'"),
    (f": Bearer {SECRET}", "got no name before the ':' (24 characters after it, not shown)"),
    (f"Authorization: Bearer {SECRET}\u20ac", "header 'Authorization' has an invalid value: "
     "U+20AC at character 25 of 25"),
    (f"Authorization: Bearer {SECRET}\x01", "U+0001 at character 25 of 25"),
    (f"Authorization Bearer: {SECRET}", "invalid header name"),
], ids=["no-colon", "equals-sign", "one-char", "no-name", "past-latin-1", "control", "bad-name"])
def test_respond_header_mistakes_never_quote_the_header(shell, header, says) -> None:  # type: ignore[no-untyped-def]
    said = _refused(shell, f"respond orders --header '{header}'")
    assert said.startswith("%hooklab respond: --header") and says in said, said
    assert "S3CR3T" not in said, said  # (a bad name is quoted, as hooklab send's is)


def test_respond_header_still_answers(shell) -> None:  # type: ignore[no-untyped-def]
    import hooklab

    shell.run_line_magic("hooklab", "respond okh --status 201 --header 'X-Tag:  a b '")
    r = hooklab.send(hooklab.lab().url_for("okh"), payload={"a": 1})
    assert (r.status, r.header("X-Tag")) == (201, "a b")


@pytest.mark.parametrize("line,shown,hidden", [
    (f"send orders --header 'Authorization: Bearer {SECRET}'",
     "unrecognized arguments: --header <hidden: 39 characters>", SECRET),
    (f"send orders --secret-file {SECRET}", "--secret-file <hidden: 17 characters>", SECRET),
    (f"df --token={SECRET}", "--token=<hidden: 17 characters>", SECRET),
    (f"df --api-key {SECRET} more", "--api-key <hidden: 17 characters> <hidden: 4 characters>",
     SECRET),
    ("df --colour red", "unrecognized arguments: --colour red", None),  # (as it was)
    # (security review: a header pasted without --header, quoted or not)
    (f"respond b 'Authorization: Bearer {SECRET}'",
     "unrecognized arguments: Authorization: <hidden: 24 characters>", SECRET),
    (f"respond b Authorization: Bearer {SECRET}",
     "unrecognized arguments: Authorization: <hidden: 6 characters> <hidden: 17 characters>",
     SECRET),
    (f"respond b X-Api-Key:{SECRET}", "unrecognized arguments: X-Api-Key: <hidden: 17 characters>",
     SECRET),
], ids=["send-header", "secret-file", "token-equals", "api-key", "harmless", "pasted-quoted",
        "pasted-words", "pasted-key"])
def test_unrecognised_options_hide_what_may_be_a_credential(shell, line, shown, hidden) -> None:  # type: ignore[no-untyped-def]
    said = _refused(shell, line)
    assert shown in said, said
    assert hidden is None or hidden not in said, said


@pytest.mark.parametrize("data,kind", [
    ("[1, 2]", "list"), ("null", "null"), ('"text"', "str"), ("42", "int"), ("true", "bool"),
], ids=["list", "null", "string", "number", "bool"])
def test_send_data_is_a_json_object_as_the_cli_wants(shell, data, kind) -> None:  # type: ignore[no-untyped-def]
    """``hooklab send --data`` refuses these (README); ``%hooklab send`` sent them."""
    import hooklab

    lab = hooklab.lab()
    before = len(lab.captures)
    for extra, role in (("", "the body, sent as written"),  # (no sample without --provider)
                        (" --provider github --event push", "merged into the sample's payload")):
        said = _refused(shell, f"send dataless --data '{data}'{extra}")
        assert said == f"%hooklab send: --data must be a JSON object ({role}), not {kind}", said
    assert len(lab.captures) == before  # nothing was sent


@pytest.mark.parametrize("data,said", [
    ('{"a": NaN}', "NaN is no JSON value"), ('{"a": Infinity}', "Infinity is no JSON value"),
    ('{"a": [-Infinity]}', "-Infinity is no JSON value"),
    ('{"a": 1e999}', "a number too large for a float"),
], ids=["nan", "infinity", "minus-infinity-in-a-list", "past-a-float"])
def test_send_data_that_no_json_reader_has_to_take_is_refused(shell, data, said) -> None:  # type: ignore[no-untyped-def]
    """``%hooklab send --data '{"a": NaN}'`` sent ``{"a": NaN}`` (no JSON, RFC 8259) and
    ``1e999`` went out as ``Infinity``: refused as ``hooklab send --data`` refuses them."""
    import hooklab

    lab = hooklab.lab()
    before = len(lab.captures)
    for extra in ("", " --provider github --event push"):
        assert said in _refused(shell, f"send nan --data '{data}'{extra}")
    assert len(lab.captures) == before  # nothing was sent


def test_send_data_object_is_sent(shell, capsys) -> None:  # type: ignore[no-untyped-def]
    import hooklab

    lab = hooklab.lab()
    shell.run_line_magic("hooklab", """send withdata --data '{"a": [1, 2]}'""")
    assert capsys.readouterr().out == f"sent to {lab.url}/withdata: 200\n"
    assert lab.wait(1, bin="withdata", timeout=10)[0].json() == {"a": [1, 2]}


@pytest.mark.parametrize("flag", ["--event push", "--secret s"])
def test_send_event_or_secret_without_provider_in_the_magic_s_words(shell, flag) -> None:  # type: ignore[no-untyped-def]
    said = _refused(shell, f"send orders {flag}")
    assert said == (f"%hooklab send: {flag.split()[0]} needs --provider (e.g. --provider "
                    "github --event push)"), said


@pytest.mark.parametrize("tail", ["/tab\there", "/a?token=" + SECRET + "\tx", "/lf\x0b"],
                         ids=["tab", "tab-after-token", "vertical-tab"])
def test_send_refuses_a_url_with_a_control_character(shell, tail) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        said = _refused(shell, f"send 'http://127.0.0.1:{port}{tail}'")
        with pytest.raises(BlockingIOError):
            listener.accept()  # (nothing connected)
    assert said.startswith(f"%hooklab send: http://127.0.0.1:{port}/"), said
    assert said.endswith("percent-encode it (a space is %20)"), said
    assert "S3CR3T" not in said and "\t" not in said and "\x0b" not in said, said  # (escaped)


@pytest.mark.parametrize("line,first", [
    ("send --help", "usage: %hooklab send [--provider PROVIDER]"),
    ("send -h", "usage: %hooklab send [--provider PROVIDER]"),
    ("send orders --provider github --help", "usage: %hooklab send [--provider PROVIDER]"),
    ("start --help", "usage: %hooklab start [--port PORT] [--host HOST] [--db DB]"),
    ("respond --help", "usage: %hooklab respond [--status STATUS [STATUS ...]]"),
    ("df --help", "usage: %hooklab df [--flatten]"),
    ("help send", "usage: %hooklab send [--provider PROVIDER]"),
    ("sql --help", "usage: %hooklab sql [--timeout SECONDS] [QUERY ...]"),
    ("--help", "usage: %hooklab command ..."),
    ("help", "usage: %hooklab command ..."),
    ("frobnicate --help", "usage: %hooklab command ..."),
], ids=["send", "send-h", "send-after-args", "start", "respond", "df", "help-send", "sql",
        "all", "help-word", "unknown-command"])
def test_a_command_s_help_is_its_own(shell, capsys, line, first) -> None:  # type: ignore[no-untyped-def]
    assert shell.run_line_magic("hooklab", line) is None
    out = capsys.readouterr().out
    assert out.startswith(first), out
    command = line.split()[0]
    if first == "usage: %hooklab command ...":
        assert "%hooklab send" in out and "%hooklab respond" in out  # (every command)
    else:
        name = "send" if command == "help" else command
        assert f"%hooklab {name}" in out and "%hooklab export" not in out, out
        assert "options:" in out
    if "send" in line and "frobnicate" not in line and line not in ("--help", "help"):
        assert "a JSON object merged into the sample payload" in out
        assert "send a realistic sample webhook to a bin or URL" in out
