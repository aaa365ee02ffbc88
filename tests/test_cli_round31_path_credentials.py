"""A credential in a URL's path is written ``[secret]`` for any host, as one in ``?token=``:
``hooklab serve``'s forward lines and ``hooklab send``'s errors printed a self-hosted
incoming-webhook URL whole (Mattermost's ``/hooks/<26-character key>``, Rocket.Chat's
``/hooks/<id>/<token>``), and ``hooklab.credentials.scrubbed_url`` gave back the legacy Teams
(``outlook.office.com/webhook/...``) and IFTTT (``.../with/key/<key>``) URLs unmasked.

Expected values are written out by hand from each service's documented URL form."""

from __future__ import annotations

import subprocess

import pytest
from _http import free_port, post
from _serve_lines import gather, serve
from _target import Target
from test_cli import ENV, EXE

from hooklab.credentials import scrubbed_url

MM = "q7w3xkz9fhb5ocy8jr1tmdn4ea"  # Mattermost: 26 lowercase letters and digits
RC = "Yq3ZkP9sLw2RtX7vBn5MhJ4cFd8GaE6u"  # Rocket.Chat's token
G = "a1b2c3d4-0000-1111-2222-333344445555"

HIDDEN = [
    (f"http://127.0.0.1:8065/hooks/{MM}", "http://127.0.0.1:8065/hooks/[secret]"),
    (f"https://chat.example.test/hooks/{MM}?x=1", "https://chat.example.test/hooks/[secret]?x=1"),
    (f"http://127.0.0.1:3000/hooks/6571c2/{RC}", "http://127.0.0.1:3000/hooks/[secret]"),
    (f"https://rc.example.test/api/hooks/Fh6yQiAsDoKrbZTdb/{RC}",
     "https://rc.example.test/api/hooks/[secret]"),
    (f"https://outlook.office.com/webhook/{G}@{G}/IncomingWebhook/0123456789abcdef0123456789abcdef/{G}",
     "https://outlook.office.com/webhook/[secret]"),
    (f"https://outlook.office365.com/webhook/{G}@{G}/IncomingWebhook/abc/{G}",
     "https://outlook.office365.com/webhook/[secret]"),
    ("https://maker.ifttt.com/trigger/door_open/with/key/dX3k9PqLm2Zr7TbW1yVn8s",
     "https://maker.ifttt.com/trigger/door_open/with/key/[secret]"),
    ("https://maker.ifttt.com/trigger/door_open/json/with/key/dX3k9PqLm2Zr7TbW1yVn8s",
     "https://maker.ifttt.com/trigger/door_open/json/with/key/[secret]"),
    ("https://maker.ifttt.com/use/dX3k9PqLm2Zr7TbW1yVn8s", "https://maker.ifttt.com/use/[secret]"),
    # a secret-looking segment anywhere: random base64, a known key's beginning
    (f"http://app.test/in/{RC}/events", "http://app.test/in/[secret]/events"),
    ("http://app.test/k/sk_live_51HxYzAbCdEfGhIjKl/x", "http://app.test/k/[secret]/x"),
    # (path parameters still hidden by their names, beside a hidden segment)
    (f"http://app.test/hooks/{MM};token=t1", "http://app.test/hooks/[secret];token=[secret]"),
]

KEPT = [  # names, ids and hashes among folders, as the secret-looking rule documents them
    "http://127.0.0.1:8000/hooks",
    "http://127.0.0.1:8000/hooks/github",
    "http://127.0.0.1:8000/hooks/stripe/events",
    "http://127.0.0.1:8000/hooks/mywebhookhandlerforgithub",
    f"http://app.test/deliveries/{G}",
    "http://app.test/events/evt_1NqXyZ2eZvKYlo2C0abc1234",
    "http://app.test/messages/msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    "http://app.test/commits/4f7890604024d3f45b3bb91f4f7890604024d3f4",
    "http://app.test/nix/store/6m1n6sj0ql5v7ckfm2wg7yfvg1n7xq8l-python3/x",
    "http://app.test/api/v1/MyWebhookHandler2024/x",
    "https://outlook.office.com/mail/inbox",
    "https://maker.ifttt.com/trigger/door_open",
]


@pytest.mark.parametrize(("url", "shown"), HIDDEN)
def test_a_path_credential_is_hidden(url: str, shown: str) -> None:
    assert scrubbed_url(url) == shown


@pytest.mark.parametrize("url", KEPT)
def test_names_ids_and_hashes_in_a_path_are_kept(url: str) -> None:
    assert scrubbed_url(url) == url


def test_send_error_hides_a_mattermost_key() -> None:
    port = free_port()  # (nothing listens there: the send fails)
    r = subprocess.run([EXE, "send", f"http://127.0.0.1:{port}/hooks/{MM}", "--data", "{}"],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode != 0
    assert f"could not send to http://127.0.0.1:{port}/hooks/[secret]" in r.stderr, r.stderr
    assert MM not in r.stderr + r.stdout


def test_serve_forward_lines_hide_self_hosted_keys() -> None:
    with Target() as t, serve("--port", "0", "--db", ":memory:",
                              "--forward", f"m={t.url}/hooks/{MM}",
                              "--forward", f"r={t.url}/hooks/6571c2/{RC}") as (lines, errs):
        out: list[str] = []
        err: list[str] = []
        gather([(lines, out), (errs, err)], lambda: any("listening on" in x for x in out))
        url = next(x for x in out if "listening on" in x).split("listening on ")[1].split()[0]
        for b in ("m", "r"):
            post(f"{url}/{b}", b'{"text": "hi"}', {"Content-Type": "application/json"})
        gather([(lines, out), (errs, err)],
               lambda: sum("forwarded to" in x for x in out) >= 2)
    said = [x for x in out if "forwarded to" in x]
    assert len(said) == 2, out + err
    for n in (1, 2):  # (in either order)
        assert any(f"#{n} forwarded to {t.url}/hooks/[secret]: 200" in x for x in said), said
    assert not [x for x in out + err if MM in x or RC in x]
    assert sorted(r.path for r in t.received) == sorted([f"/hooks/{MM}", f"/hooks/6571c2/{RC}"])
