"""An error that quotes a URL never quotes the credential in it.

``hooklab send "http://127.0.0.1:P/x y?k=sk_live_..."`` said ``URL 'http://.../x y?k=sk_live_...'
holds a space``: the URL was shown without the credentials hooklab knows by their *name*
(``?token=``, ``user:password@``), but a key under a name that says nothing (``?k=``), in a
fragment or in a query without names was quoted whole (so were a bad port, a trailing tab,
``replay --to`` and ``serve --forward``, which even said it twice). README "Command line":
such a value "is said as its length when any word of it ... looks like a credential". Now every
message quoting a URL (``hooklab.send``, ``lab.forward(to=)``, ``lab.replay(to=)``,
``hooklab send``, ``replay --to``, ``serve --forward``) shows it without its credentials, or as
``<hidden: N characters>`` (N: the URL as written) when what is left still reads as one.

Real labs on 127.0.0.1 and the ``hooklab`` command.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from test_small_magics import shell  # noqa: F401 - the fixture (%load_ext hooklab, port 0)

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))

#: credential shapes: issuers' documented beginnings, a JWT, a password, 40 hex digits, base64
SHAPES = {
    "stripe": "sk_live_51HxYzAbCdEfGhIjKlMnOpQr",
    "whsec": "whsec_MfKQ9r8GKYqrTwjUPD8Iabcd",
    "github": "ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT",
    "slack": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmVfeHh4",
    "password": "Tr0ub4dor-S3cret!",
    "hex": "4f7890604024d3f45b3bb91fa1b2c3d4e5f60718",
    "base64": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2Rl",
}

#: where the credential sits: (scheme and authority, path, after the path); {t} is it
PLACES = {
    "query under a plain name": ("http://127.0.0.1:{port}", "/x{gap}y", "?k={t}"),
    "query without names": ("http://127.0.0.1:{port}", "/x{gap}y", "?{t}"),
    "path segment": ("http://127.0.0.1:{port}", "/x{gap}y/{t}/z", ""),
    "userinfo password (Basic user:pass@)": ("http://alice:{t}@127.0.0.1:{port}", "/x{gap}y", ""),
    "userinfo alone (curl -u key:)": ("http://{t}@127.0.0.1:{port}", "/x{gap}y", ""),
    "fragment": ("http://127.0.0.1:{port}", "/x{gap}y", "#k={t}"),
}

#: how the URL is broken: (port, the gap in its path, what follows it, the scheme instead)
BREAKS = {
    "a space": ("9", " ", "", None),
    "a trailing tab": ("9", "", "\t", None),
    "a bad port": ("99999", "", "", None),
    "no http(s) scheme": ("9", "", "", "ftp"),
}


def _url(place: str, token: str, brk: str) -> str:
    port, gap, tail, scheme = BREAKS[brk]
    head, path, after = PLACES[place]
    url = "".join(part.format(t=token, port=port, gap=gap) for part in (head, path, after)) + tail
    return url.replace("http", scheme, 1) if scheme else url


def _assert_hidden(message: str, url: str, token: str) -> None:
    """The credential is not in ``message`` (nor 10 characters of it), and each URL quoted is
    ``url`` with the credential written ``[secret]`` where it was; else the URL is said as its
    length as written."""
    assert token not in message, message
    assert all(token[i:i + 10] not in message for i in range(len(token) - 9)), message
    quoted = re.findall(r"'((?:ftp|http)[^']*)'", message)  # (as repr writes it)
    for said in quoted:
        assert said.replace("[secret]", token) == url.replace("\t", "\\t"), message
    bare = re.findall(r"(?:--forward b=|%hooklab send: )(<hidden: \d+ characters>|(?:ftp|http).+?)"
                      r": ", message)  # (as written; %hooklab's argument without the tab after it)
    for said in bare:
        assert said.rstrip("\t") in (f"<hidden: {len(url)} characters>",
                                     url.replace(token, "[secret]").rstrip("\t")), message
    assert quoted or bare or f"<hidden: {len(url)} characters>" in message, message


#: (a password is Basic's user:pass@, or a query's value; not a path's segment, which is
#: judged as paths are: a hash among folders is shown)
CASES = [(s, p, b) for s in SHAPES for p in PLACES for b in BREAKS
         if (s, p) != ("password", "path segment")]


@pytest.mark.parametrize(("shape", "place", "brk"), CASES)
def test_python_api_errors_never_quote_the_credential(lab, shape: str, place: str, brk: str) -> None:
    token = SHAPES[shape]
    url = _url(place, token, brk)
    for call in (lambda: hooklab.send(url, timeout=2), lambda: lab.forward("b", to=url),
                 lambda: lab.replay([], to=url)):
        with pytest.raises(ValueError) as raised:
            call()
        _assert_hidden(str(raised.value), url, token)


#: the command's messages: one shape per place (every shape and place met), every break
CLI_CASES = [(shape, place, brk) for (shape, place), brk in
             ((sp, b) for sp in zip(SHAPES, [*PLACES, *PLACES], strict=False) for b in BREAKS)]


@pytest.mark.parametrize(("shape", "place", "brk"), CLI_CASES)
@pytest.mark.parametrize("command", ["send", "replay --to", "serve --forward"])
def test_command_errors_never_quote_the_credential(tmp_path, command: str, shape: str, place: str,
                                                   brk: str) -> None:
    token = SHAPES[shape]
    url = _url(place, token, brk)
    db = tmp_path / "never.db"
    argv = {"send": ["send", url],
            "replay --to": ["replay", "--db", str(db), "--id", "1", "--to", url],
            "serve --forward": ["serve", "--db", str(db), "--port", "0", "--forward", f"b={url}"],
            }[command]
    r = subprocess.run([EXE, *argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("hooklab: ") and r.stderr.count("\n") == 1, r.stderr
    _assert_hidden(r.stderr, url, token)
    assert not db.exists()


@pytest.mark.parametrize(("shape", "place", "brk"), CLI_CASES)
def test_the_magic_never_quotes_the_credential(shell, shape: str, place: str,  # noqa: F811
                                               brk: str) -> None:
    token = SHAPES[shape]
    url = _url(place, token, brk)
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", f"send '{url}'")
    said = str(err.value)
    assert said.startswith("%hooklab send: "), said
    _assert_hidden(said.replace("\\t", "\t") if brk == "a trailing tab" else said, url, token)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x y?page=2&event=evt_1NqXyZ2eZvKYlo2C0abc1234",
                                 "http://127.0.0.1:99999/orders/123e4567-e89b-12d3-a456-426614174000",
                                 "ftp://127.0.0.1:9/webhooks/stripe"])
def test_a_url_without_credentials_is_still_quoted_whole(lab, url: str) -> None:
    """The length alone is for credentials: an id, a UUID, a name stay to be read and fixed."""
    for call in (lambda: hooklab.send(url, timeout=2), lambda: lab.forward("b", to=url)):
        with pytest.raises(ValueError) as raised:
            call()
        assert repr(url) in str(raised.value), str(raised.value)


@pytest.mark.parametrize("secret", ["sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "ghp_" + "a1B2" * 9])
def test_cli_send_to_nothing_listening_hides_a_key_under_a_plain_name(tmp_path, secret) -> None:
    """(the helper who made shown_url) "could not send to URL" kept scrubbed_url, which only
    hides a value by its name: ?k=<key> was printed whole when nothing listened there."""
    import subprocess

    from _http import free_port
    from test_cli import ENV, EXE

    url = f"http://127.0.0.1:{free_port()}/x?k={secret}"
    run = subprocess.run([EXE, "send", url, "--data", "{}"], capture_output=True, text=True,
                         env=ENV, cwd=tmp_path, timeout=60)
    assert run.returncode == 1
    assert secret not in run.stderr and "could not send to <hidden: " in run.stderr, run.stderr
