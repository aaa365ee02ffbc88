"""Credential headers are hidden by the rule query and form fields are, in a real kernel.

The live view hid a header only when its name was one of a fixed list (``Authorization``,
``X-Api-Key``, ...), while the same names as a query or form field were hidden by their words:
``?X-Amz-Security-Token=`` and ``?subscription-key=`` were hidden, the
``X-Amz-Security-Token`` and ``Ocp-Apim-Subscription-Key`` headers (AWS's session token,
Azure API Management's key) and ``X-Client-Secret``, ``X-Refresh-Token``, ``X-Vault-Token``,
``X-Password``, Azure's ``X-Functions-Key`` were shown in clear in the Details, Diff and
curl tabs, so in the widget state a saved notebook keeps, and in ``lab.diff``. Now a header
is hidden when the list names it, when its last word is ``authorization``, or when a query
field of its name would be (last word ``token``, ``secret``, ``password``, ``passwd``,
``passphrase``, ``pwd``, ``apikey``; last two ``api key``, ``subscription key``, ``access
key``, ``private key``, ``auth key``...), the name read in lower case (a header's letter
case says nothing, and ``lab.diff`` names it in lower case).
Signatures and names whose last word names no credential stay shown: a person checks them.

The kernel is real (jupyter_client), the requests are raw bytes over 127.0.0.1 to its lab
(on a real SQLite file), and what is checked is every text the kernel sent the browser, the
saved widget state, the stream page's hidden view and ``lab.diff``'s rows. Each expected
value is written by hand from the rule above (a hidden value shows ``<hidden: N chars>``,
N its length; curl's shows ``<hidden>``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from _http import raw_request
from _kernels import KernelSession, kernel_in
from _views import lines

pytestmark = pytest.mark.timeout(300)

#: (header name as sent, hidden?, why: the rule's reading of the name)
HEADERS: list[tuple[str, bool, str]] = [
    # credentials
    ("Authorization", True, "listed (its words name no field)"),
    ("Proxy-Authorization", True, "listed"),
    ("X-Amzn-Remapped-Authorization", True, "last word authorization"),
    ("X-API-KEY", True, "listed; last two api key"),
    ("X-Webhook-Secret", True, "listed; last word secret"),
    ("X-Functions-Key", True, "listed (functions key: no credential's words)"),
    ("Ocp-Apim-Subscription-Key", True, "last two subscription key"),
    ("X-CONSUL-TOKEN", True, "in capitals: last word token"),
    ("X-Amz-Security-Token", True, "last word token"),
    ("x-nomad-token", True, "in lower case: last word token"),
    ("X-Client-Secret", True, "last word secret"),
    ("X_Client_Secret", True, "underscores split words too"),
    ("X-Refresh-Token", True, "last word token"),
    ("X-Token", True, "last word token"),
    ("X-Vault-Token", True, "last word token"),
    ("X-Password", True, "last word password"),
    ("X-Db-Passwd", True, "last word passwd"),
    ("X-Passphrase", True, "last word passphrase"),
    ("X-Hasura-Admin-Secret", True, "last word secret"),
    ("X-Auth-Key", True, "last two auth key"),
    ("X-Goog-Api-Key", True, "last two api key"),
    ("X-Access-Key", True, "last two access key"),
    ("X-Private-Key", True, "last two private key"),
    ("X-Secret-Key", True, "last two secret key"),
    ("X-Aws-Secret-Access-Key", True, "last two access key"),
    ("Apikey", True, "last word apikey"),
    ("X-Session-Token", True, "last word token"),
    ("X-Csrf-Token", True, "last word token"),
    # not credentials: what a webhook user reads
    ("Stripe-Signature", False, "signature: an HMAC of the body, not the secret"),
    ("X-Hub-Signature-256", False, "last word 256"),
    ("X-Slack-Signature", False, "last word signature"),
    ("X-Shopify-Hmac-Sha256", False, "last word 256"),
    ("Webhook-Signature", False, "last word signature"),
    ("X-GitHub-Delivery", False, "last word delivery"),
    ("X-Request-Id", False, "last word id"),
    ("Idempotency-Key", False, "a key after another word is no credential"),
    ("X-Sort-Key", False, "the same"),
    ("X-Key", False, "key only as a whole name"),
    ("X-Api-Key-Id", False, "last word id"),
    ("X-Token-Type", False, "last word type"),
    ("X-Token-Count", False, "last word count"),
    ("X-Max-Tokens", False, "tokens is not token"),
    ("X-Authorization-Type", False, "last word type"),
    ("X-Session", False, "session is no field credential"),
    ("Cache-Control", False, "no credential word"),
    ("X-SessionToken", False, "case says nothing in a header name: one word sessiontoken"),
]
IDS = [name for name, _, _ in HEADERS]


def value(i: int, which: str) -> str:
    """The value capture ``which`` ("a" or "b") sends for row ``i``: unique (no value holds
    another), of a length that varies with the row."""
    return f"cv{i:02d}{which}-{secrets.token_hex(3 + i % 5)}"


SETUP = """import json, time, hooklab, ipywidgets as W
lab = hooklab.HookLab(port=0, db="c.sqlite3").start()
print(lab.bound_port)"""

#: open the second capture as a person does: the row clicked, "compare headers too" ticked,
#: every tab opened, each waited for until it shows the request
SHOW = """caps = lab.wait(2, timeout=10, bin="cred")
view = lab.live()
view.select(caps[1].id)
view.diff_headers.value = True
panes = {"Details": view.detail, "Diff with previous": view.diff_pane, "Copy as curl": view.curl}
titles = [view.tabs.get_title(t) for t in range(len(view.tabs.children))]
for t, title in enumerate(titles):
    view.tabs.selected_index = t
    deadline = time.monotonic() + 15
    while title in panes and "x-request-id" not in panes[title].value.lower() \\
            and time.monotonic() < deadline:
        time.sleep(0.05)
time.sleep(0.3)  # (the last coalesced updates sent)
d = lab.diff(caps[0], caps[1], headers=True)
print(json.dumps({
    "detail": view.detail.value, "diff_pane": view.diff_pane.value, "curl": view.curl.value,
    "state": W.Widget.get_manager_state(drop_defaults=True)["state"],
    "stream": hooklab.credentials.hidden_view(caps[1]),
    "diff": [[r.field, r.a, r.b] for r in d.itertuples()],
    "error": view.error,
}, default=str))
view.close()
lab.stop()"""


def _send(port: int, values: dict[str, str]) -> None:
    head = "".join(f"{name}: {v}\r\n" for name, v in values.items())
    request = (f"POST /cred HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: 2\r\n{head}Connection: close\r\n\r\n{{}}").encode("latin-1")
    assert raw_request(port, request, timeout=10).startswith(b"HTTP/1.1 200")


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """What the kernel showed of the two captures: the texts it sent the browser, and the
    ``SHOW`` cell's output."""
    a = {name: value(i, "a") for i, (name, _, _) in enumerate(HEADERS)}
    b = {name: value(i, "b") for i, (name, _, _) in enumerate(HEADERS)}
    k: KernelSession
    with kernel_in(tmp_path_factory.mktemp("cred-headers")) as k:
        port = int(k.cell(SETUP))
        _send(port, a)
        _send(port, b)
        out = json.loads(k.cell(SHOW))
        out["sent"] = "\n".join(k.texts_sent())
    out["a"], out["b"] = a, b
    yield out


def test_nothing_failed(shown: dict[str, Any]) -> None:
    assert shown["error"] is None


@pytest.mark.parametrize("name,hidden,why", HEADERS, ids=IDS)
def test_a_header_is_shown_as_the_rule_says(shown: dict[str, Any], name: str, hidden: bool,
                                            why: str) -> None:
    va, vb = shown["a"][name], shown["b"][name]
    everything = shown["sent"] + json.dumps(shown["state"]) + json.dumps(shown["diff"])
    # the Details tab (the second capture): the header's row
    want = f"{name} <hidden: {len(vb)} chars>" if hidden else f"{name} {vb}"
    assert want in lines(shown["detail"]), (why, [x for x in lines(shown["detail"]) if name in x])
    # Copy as curl (proxy-* headers are not sent by curl)
    if not name.lower().startswith("proxy-"):
        assert f"{name}: {'<hidden>' if hidden else vb}" in shown["curl"], why
    # lab.diff(a, b, headers=True) and the Diff tab with "compare headers too"
    field = f"headers.{name.lower()}"
    rows = [r for r in shown["diff"] if r[0] == field]
    pair = ([f"<hidden: {len(va)} chars>", f"<hidden: {len(vb)} chars>"] if hidden
            else [va, vb])
    assert rows == [[field, *pair]], (why, rows)
    want = f"{field} changed {json.dumps(pair[0])} {json.dumps(pair[1])}"  # (as JSON text)
    assert want in lines(shown["diff_pane"]), why
    # the stream page's hidden view: the header's value as it shows it
    stream = dict(map(tuple, shown["stream"]["headers"]))
    assert stream[name] == (f"<hidden: {len(vb)} chars>" if hidden else vb), why
    # and a hidden value is nowhere the browser or a saved notebook gets it
    for v in (va, vb):
        assert (v in everything) is not hidden, (why, v)
