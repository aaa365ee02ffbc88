"""What a capture relayed by the Jupyter server extension says of the URL the sender called:
the query exactly as sent (only ``token`` parameters go), and a URL-signing provider's
signature checked again later, although ``capture.url`` shows the relay's key as ``[key]``.
A real ``jupyter server`` with the extension, real sockets on 127.0.0.1.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from _jupyter_server import server_fixtures

from hooklab import HookLab
from hooklab.signatures import sign_request

TOKEN = "query-test-token-0123456789"

jupyter, env, lab = server_fixtures("jupyter-query", TOKEN, "/user/bob/")


def _origin(env: dict[str, object]) -> str:
    return f"http://127.0.0.1:{env['port']}"


def _post(port: int, target: str, body: bytes = b"{}", headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", target, body=body, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


#: query sent -> the query the capture shows (and the lab got): as sent, each ``token``
#: parameter (the name in any escaping) taken out with its ``&``, nothing else changed
QUERIES = {
    "a=1&&b=2&": "a=1&&b=2&",
    "&": "&",
    "&&x": "&&x",
    "a=&=b&&": "a=&=b&&",
    "a=%26&&": "a=%26&&",
    ";a=1;;b": ";a=1;;b",
    "a=1&token=x&": "a=1&",
    "token=secret&&a=1": "&a=1",
    "%74oken=x&b": "b",
    "token=x": "",
    "x=token&tokens=1": "x=token&tokens=1",
}


@pytest.mark.parametrize("sent", list(QUERIES))
def test_the_query_arrives_as_sent(lab: HookLab, env: dict[str, object], sent: str) -> None:
    """The relay rebuilt the query without its empty parameters: ``?a=1&&b=2&`` was stored
    as ``?a=1&b=2`` (sent straight to ``lab.url``, as sent)."""
    path = urlsplit(lab.public_url("q", host=_origin(env))).path
    assert _post(int(str(env["port"])), f"{path}/x?{sent}") == 200
    (cap,) = lab.wait(1, timeout=10)
    want = QUERIES[sent]
    assert cap.url.partition("?")[2] == want, cap.url
    assert cap.url.endswith("/[key]/x" + (f"?{want}" if want else "")), cap.url
    if want == sent:  # the same request straight to the lab is stored alike
        assert _post(int(lab.bound_port or 0), f"/q/x?{sent}") == 200
        direct = lab.wait(2, timeout=10)[-1]
        assert direct.url.partition("?")[2] == want and direct.query == cap.query


AUTH = "twilio-auth-token-0123456789"


def test_a_relayed_twilio_capture_verifies_again_with_the_public_url(
        lab: HookLab, env: dict[str, object]) -> None:
    """Verified on arrival, but ``cap.verify(token, "twilio")`` said False afterwards: the
    capture's URL holds ``[key]``, and the reason blamed a proxy or another account."""
    lab.secret("tw", AUTH, provider="twilio")
    public = lab.public_url("tw", host=_origin(env))
    called = public + "/sms?x=1&&y="
    body = b"Body=hello&From=%2B15550001"
    signed = sign_request("twilio", AUTH, url=called, body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    target = urlsplit(called)
    assert _post(int(str(env["port"])), f"{target.path}?{target.query}", body, {
        "Content-Type": "application/x-www-form-urlencoded", **signed.headers}) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.verified is True, cap.verify_reason
    assert cap.url == called.replace(urlsplit(public).path.rsplit("/", 1)[1], "[key]")
    # later, without a URL: False, and the reason says why and what to pass
    later = cap.verify(AUTH, "twilio")
    assert later.valid is False
    assert "[key]" in later.reason and "url=lab.public_url('tw')" in later.reason, later.reason
    # with the bin's public URL (what the reason says), or the whole URL called: True
    assert cap.verify(AUTH, "twilio", url=lab.public_url("tw", host=_origin(env))).valid is True
    assert cap.verify(AUTH, "twilio", url=called).valid is True
    # the public URL of another bin, of another host, a wrong token: False
    for url, secret in [(lab.public_url("other", host=_origin(env)), AUTH),
                        (public.replace("127.0.0.1", "localhost"), AUTH), (public, AUTH + "x")]:
        assert cap.verify(secret, "twilio", url=url).valid is False, url


def test_the_note_is_only_where_the_signature_covers_the_url(
        lab: HookLab, env: dict[str, object]) -> None:
    """A Stripe signature covers the body only: a wrong secret's reason says nothing of keys."""
    import hooklab

    url = lab.public_url("st", host=_origin(env))
    assert hooklab.send(url + "/e", provider="stripe", secret="whsec_right").status == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.verify("whsec_right", "stripe").valid is True
    wrong = cap.verify("whsec_wrong", "stripe")
    assert wrong.valid is False and "[key]" not in wrong.reason, wrong.reason
