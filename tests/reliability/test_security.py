"""Security: secrets never leave memory; loopback by default, a warning otherwise."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from _http import post, raw_request
from _relsupport import HOOKLAB

import hooklab
from hooklab import HookLab
from hooklab.export import to_curl
from hooklab.providers import TABLE, sample
from hooklab.signatures import SIGNING_PROVIDERS, ed25519_keypair, keypair, sign_request

pytestmark = pytest.mark.timeout(120)

SENTINEL = "s3cr3t-SENTINEL-4f1d9c7e"
WHSEC_KEY = b"SENTINEL-key-bytes-0123456789abc"  # Standard Webhooks / Svix: whsec_<base64 key>
WHSEC = "whsec_" + base64.b64encode(WHSEC_KEY).decode()
# gitlab and the other token / Basic-auth providers send the secret itself (a header):
# see test_gitlab_token_is_not_stored and test_header_tokens_are_not_stored. Figma, Microsoft
# Graph and Strava send theirs inside the body, which is stored exactly as it arrived.
CARRIES_SECRET = [p for p in SIGNING_PROVIDERS if TABLE[p].scheme in ("token", "basic")]
IN_BODY_TOKEN = [p for p in CARRIES_SECRET if "json" in TABLE[p].sig]
HMAC_PROVIDERS = [p for p in SIGNING_PROVIDERS if p not in CARRIES_SECRET]
# bodies with a fixed structure (signature inside, or over some fields)
STRUCTURED = {"mailgun", "adyen", "braintree", "sns", "mandrill"}
PUBLIC_KEY = {p for p in SIGNING_PROVIDERS if TABLE[p].scheme in ("ed25519", "ecdsa", "paypal", "sns")
              or TABLE[p].sig.get("alg") == "ES256"}


DISCORD_PRIVATE, DISCORD_PUBLIC = ed25519_keypair()
KEYS = {p: keypair(p) for p in PUBLIC_KEY if p != "discord"}
KEYS["discord"] = (DISCORD_PRIVATE, DISCORD_PUBLIC)


def _secret_for(provider: str) -> str:
    p = TABLE[provider]
    if p.scheme == "standardwebhooks":
        return ("v1," + WHSEC) if provider == "supabase" else WHSEC
    if provider in KEYS:
        return KEYS[provider][0]  # signs; hooklab is given only the public key
    if provider == "adyen" or p.sig.get("key") == "hex":
        return SENTINEL.encode().hex()
    if p.sig.get("key") == "b64":
        return base64.b64encode(SENTINEL.encode()).decode()
    if p.scheme in ("braintree", "basic"):
        return "user:" + SENTINEL
    return SENTINEL


def _verifying(provider: str) -> str:
    return KEYS[provider][1] if provider in KEYS else _secret_for(provider)


def _needles(secret: str) -> list[bytes]:
    """Every form in which a secret could leak: raw, hex, base64, the key bytes of a whsec_."""
    out = [secret.encode(), secret.encode().hex().encode(), base64.b64encode(secret.encode())]
    if secret.startswith("v1,"):
        secret = secret[3:]
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret[6:])
        out += [secret[6:].encode(), key, key.hex().encode()]
    return out


def _send_signed(lab: HookLab, provider: str, secret: str) -> None:
    body = json.dumps({"type": "test.event", "id": f"evt_{provider}", "event": {"type": "x"},
                       "action": "opened", "note": "no secret here"}).encode()
    ctype = "application/json"
    if provider in STRUCTURED or provider in IN_BODY_TOKEN:
        s = sample(provider)
        body, ctype = s.body, s.header("Content-Type") or ctype
    url = lab.url_for(provider, "hook")
    signed = sign_request(provider, secret, url=url, body=body, headers={"Content-Type": ctype})
    headers = {"Content-Type": ctype, **signed.headers}
    status, _ = post(signed.url, signed.body, headers)
    assert status == 200


def _grep(blob: bytes, needles: list[bytes]) -> list[bytes]:
    return [n for n in needles if n and n in blob]


def test_secrets_never_reach_database_logs_exports_api_or_widgets(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "s.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    needles: list[bytes] = []
    try:
        for provider in HMAC_PROVIDERS:
            secret = _secret_for(provider)
            lab.secret(provider, _verifying(provider), provider=provider)
            needles += _needles(secret)
            _send_signed(lab, provider, secret)
        caps = lab.wait(len(HMAC_PROVIDERS), timeout=20)
        bad = {c.bin: c.verify_reason for c in caps if c.verified is not True}
        assert not bad, f"signatures should verify on arrival: {bad}"

        # exports: HAR, JSON Lines, CSV, curl
        outs = {}
        for fmt in ("har", "jsonl", "csv"):
            path = tmp_path / f"all.{fmt}"
            lab.export(path, fmt=fmt)
            outs[fmt] = path.read_bytes()
        outs["curl"] = "\n".join(to_curl(c) for c in caps).encode()
        # the JSON API and the stream page data
        auth = {"Authorization": f"token {lab.api_token}"}  # the lab's read token

        def api_get(path: str) -> bytes:
            req = urllib.request.Request(lab.url + path, headers=auth)
            return urllib.request.urlopen(req, timeout=10).read()

        outs["api"] = api_get("/_hooklab/api/captures")
        for c in caps:
            outs[f"api/{c.id}"] = api_get(f"/_hooklab/api/captures/{c.id}")
        # widget state: the live view with a capture open in the detail pane
        import ipywidgets

        view = lab.live()
        view.refresh()
        view.select(caps[0].id)
        outs["widgets"] = json.dumps(ipywidgets.Widget.get_manager_state(), default=str).encode()
        view.close()
        outs["repr"] = (repr(lab) + repr(caps) + lab.status_line()).encode()
        lab.store.flush()
    finally:
        lab.stop()
    # the database file and its WAL / shared-memory companions, byte by byte
    for f in sorted(tmp_path.glob("s.sqlite3*")):
        outs[f.name] = f.read_bytes()
    out, err = capfd.readouterr()
    outs["stdout+stderr"] = (out + err).encode()
    outs["logs"] = "\n".join(r.getMessage() for r in caplog.records).encode()

    leaks = {name: _grep(blob, needles) for name, blob in outs.items()}
    assert not {k: v for k, v in leaks.items() if v}, leaks
    print(f"\nsecrets: {len(HMAC_PROVIDERS)} providers, {len(needles)} secret forms, "
          f"{len(outs)} outputs searched ({sum(map(len, outs.values()))} bytes): no leak")


def test_gitlab_token_is_not_stored(tmp_path):
    db = tmp_path / "g.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        lab.secret("gitlab", SENTINEL, provider="gitlab")
        _send_signed(lab, "gitlab", SENTINEL)
        (cap,) = lab.wait(1, timeout=10)
        assert cap.verified is True
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("g.sqlite3*"))
    assert SENTINEL.encode() not in blob


@pytest.mark.parametrize("provider", [p for p in CARRIES_SECRET if p not in IN_BODY_TOKEN])
def test_header_tokens_are_not_stored(tmp_path, provider):
    """Providers that send the shared token (or Basic credentials) in a header: stored as
    [secret] (``Basic [secret]``: the scheme stays, for forward and replay to give the value
    back), never the token."""
    db = tmp_path / "t.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    secret = _secret_for(provider)
    try:
        lab.secret(provider, secret, provider=provider)
        _send_signed(lab, provider, secret)
        (cap,) = lab.wait(1, timeout=10)
        assert cap.verified is True, cap.verify_reason
        basic = TABLE[provider].scheme == "basic"
        assert ("Authorization" if basic else TABLE[provider].sig["header"]).lower() in {
            k.lower() for k, v in cap.headers if v == ("Basic [secret]" if basic else "[secret]")}
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("t.sqlite3*"))
    assert not _grep(blob, _needles(secret))


def test_default_bind_is_loopback_everywhere():
    import inspect

    from hooklab.cli import build_parser
    from hooklab.server import CaptureServer

    assert HookLab().host == "127.0.0.1"
    assert inspect.signature(CaptureServer).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(hooklab.start).parameters["host"].default == "127.0.0.1"
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
    lab = hooklab.start(port=0, db=":memory:")
    try:
        assert lab.url.startswith("http://127.0.0.1:")
        assert lab.server.host == "127.0.0.1"  # type: ignore[union-attr]
    finally:
        hooklab.stop()


def test_binding_elsewhere_warns_in_python_and_on_the_command_line(tmp_path):
    # 127.0.0.2 is still loopback (nothing leaves the machine) but is not the default address
    lab = HookLab(host="127.0.0.2", port=0, db=":memory:")
    with pytest.warns(RuntimeWarning, match="binding 127.0.0.2"):
        lab.start()
    lab.stop()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*HOOKLAB, "serve", "--host", "127.0.0.2", "--port", "0", "--db", ":memory:"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while b"listening" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    text = Path(log).read_text()
    assert "listening on http://127.0.0.2:" in text
    assert "binding 127.0.0.2" in text and "anyone who can reach this machine" in text


def test_xss_corpus_is_captured_exactly_and_never_reaches_widget_html_raw():
    """Every payload in path, query, header and body: stored exactly, rendered only escaped.

    (Execution in a real browser is checked by the live-view / stream-page browser tests, which
    import the same corpus.)
    """
    import ipywidgets
    from xss_corpus import MARKER, PAYLOADS, header_safe, path_safe

    lab = HookLab(port=0, db=":memory:").start()
    try:
        hs = set(header_safe())
        for i, (p, seg) in enumerate(zip(PAYLOADS, path_safe(), strict=True)):
            headers = {"X-Xss": p} if p in hs else {}
            status, _ = post(f"{lab.url}/xss/{seg}?q={seg}", p.encode(), {**headers,
                             "Content-Type": "text/html"})
            assert status == 200, (i, p)
        caps = lab.wait(len(PAYLOADS), timeout=20, bin="xss")
        for c, p, seg in zip(caps, PAYLOADS, path_safe(), strict=True):
            assert c.body == p.encode() and c.path == f"/xss/{seg}" and c.query["q"] == [p]
            if p in hs:
                assert c.header("x-xss") == p.strip(" \t")  # optional whitespace (RFC 9110)
        view = lab.live()
        view.refresh()
        html = []
        for c in caps:
            view.select(c.id)
            state = ipywidgets.Widget.get_manager_state()["state"]
            # only widgets whose value is set as innerHTML matter (Text/Textarea values are text)
            html += [str(w["state"].get("value", "")) for w in state.values()
                     if w["state"].get("_model_name") in ("HTMLModel", "HTMLMathModel")]
        view.close()
        blob = "\n".join(html)
        assert MARKER in blob  # the payloads were rendered...
        raw = [p for p in PAYLOADS if any(ch in p for ch in "<>\"'") and p in blob]
        assert not raw, f"rendered unescaped: {raw[:3]}"  # ...but only escaped
    finally:
        lab.stop()
    print(f"\nxss corpus: {len(PAYLOADS)} payloads x path/query/header/body captured exactly, "
          "widget HTML escaped")


_SPELLINGS = [  # (bin, target suffix, headers): a registered secret, spelled as senders do
    ("gitlab", "", [("Authorization", "bearer {s}")]),  # lowercase scheme
    ("gitlab", "", [("Authorization", "Bearer  {s}")]),  # two spaces
    ("gitlab", "?token={s}", []),  # in the query
    ("gitlab", "?{s}=1", []),  # as a query key
    ("gitlab", "/{s}/x", []),  # in the path
    ("GitLab", "", [("X-Gitlab-Token", "{s}")]),  # another bin's spelling
    ("gitlab2", "", [("X-Gitlab-Token", "{s}")]),  # another bin
    ("other", "", [("X-Api-Key", "prefix-{s}-suffix")]),  # inside a value
    ("wa", "?hub.mode=subscribe&hub.verify_token={vt}&hub.challenge=1", []),  # Meta's token
    ("wa", "/%73{s_rest}", []),  # percent-encoded in the path and URL
    ("raw", "", [("Authorization", "Basic {b64}")]),  # Basic auth of the secret
    # (found by a second outside-in attack on the first version of this fix)
    ("github", "", [("X-GitHub-Event", "{s}"), ("X-GitHub-Delivery", "{vt}")]),  # detected
    ("gitlab", "/{s}?x={s_pct}", []),  # raw and percent-encoded in one URL
    ("gitlab", "/{s_pct2}?y={s_pct2}", []),  # percent-encoded twice
    ("other", "", [("X-{s}", "1")]),  # a header name
    ("raw", "", [("Authorization", "Basic {b64_user}")]),  # Basic user:secret
    ("raw", "", [("X-Key", "{b64_bare}"), ("X-Url-Key", "{b64_url}")]),  # base64 variants
    ("raw", "", [("Authorization", "Bearer {s_upper}")]),  # upper case
]


@pytest.mark.parametrize("bin_,suffix,headers", _SPELLINGS)
def test_a_registered_secret_is_never_stored_however_it_is_spelled(tmp_path, bin_, suffix, headers):
    """What lab.secret() was given (secrets, verify tokens) never reaches the database file
    or an export, in any bin, header, path, query or URL form; the body stays exact."""
    secret, vt = SENTINEL, "vt-SENTINEL-verify-token-77"
    raw_s = secret.encode()
    fill = {"s": secret, "vt": vt, "s_rest": secret[1:], "s_upper": secret.upper(),
            "b64": base64.b64encode(raw_s).decode(),
            "b64_user": base64.b64encode(b"user:" + raw_s).decode(),
            "b64_bare": base64.b64encode(raw_s + b"!").decode().rstrip("=")[:-2],
            "b64_url": base64.urlsafe_b64encode(raw_s).decode().rstrip("="),
            "s_pct": "".join(f"%{b:02X}" for b in raw_s),
            "s_pct2": "".join(f"%25{b:02X}" for b in raw_s)}
    db = tmp_path / "s.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        lab.secret("gitlab", secret, provider="gitlab")
        lab.secret("wa", None, provider="meta", verify_token=vt)
        url = lab.url_for(bin_) + suffix.format(**fill)
        post(url, b'{"body": "exact"}', {k.format(**fill): v.format(**fill) for k, v in headers})
        (cap,) = lab.wait(1, timeout=10)
        assert cap.body == b'{"body": "exact"}'
        lab.export(str(tmp_path / "x.har"))
        lab.export(str(tmp_path / "x.jsonl"))
        lab.export(str(tmp_path / "x.csv"))
        lab.export(str(tmp_path / "pq"), fmt="parquet")
        lab.store.flush()
    finally:
        lab.stop()
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    blob = b"".join(f.read_bytes() for f in files)
    needles = [secret.encode(), vt.encode(), fill["b64"].encode(), secret[1:].encode(),
               secret.upper().encode(), fill["b64_url"].encode(), fill["s_pct"].encode(),
               fill["s_pct2"].encode(), fill["b64_user"].encode()]
    assert not _grep(blob, needles), [f.name for f in files if _grep(f.read_bytes(), needles)]


@pytest.mark.parametrize("where", ["path", "query key", "percent-encoded"])
def test_the_read_token_is_never_stored_in_a_path_or_query_key(tmp_path, where):
    db = tmp_path / "t.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        tok = lab.api_token
        suffix = {"path": f"/api/x/{tok}", "query key": f"?{tok}=1",
                  "percent-encoded": "?t=%" + tok[0].encode().hex().upper() + tok[1:]}[where]
        post(lab.url + "/in" + suffix, b"{}")
        (cap,) = lab.wait(1, timeout=10)
        assert tok not in cap.path + cap.url + json.dumps(cap.query)
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("t.sqlite3*"))
    assert tok.encode() not in blob and tok[1:].encode() not in blob


def test_what_a_sender_hands_over_never_scrubs_other_captures(tmp_path):
    """A secret learned from a handshake is the sender's choice: it is never searched for
    in other bins' captures (a sender could otherwise hand over "github" or
    "application/json" and have every later capture rewritten), and only so many bins
    learn one."""
    from hooklab.providers.handshake import MAX_LEARNED

    lab = HookLab(port=0, db=":memory:").start()
    try:
        for word in ("github", "application/json", "sha256="):
            post(lab.url_for("squat" + str(len(word))), b"", {"X-Hook-Secret": word})
        post(lab.url_for("github", "hook"), b'{"a": 1}',
             {"Content-Type": "application/json", "X-GitHub-Event": "push"})
        got = lab.wait(1, timeout=10, bin="github")[-1]
        assert got.path == "/github/hook" and got.content_type == "application/json"
        assert "[secret]" not in repr(got.headers) + got.url
        learned = sum(e.learned for e in lab._secrets.entries())
        for i in range(MAX_LEARNED + 5 - learned):
            lab._secrets.remember(f"b{i}", f"secret-{i:06d}", "asana")
        assert sum(e.learned for e in lab._secrets.entries()) == MAX_LEARNED
        assert "bins learned a secret already" in (lab._secrets.remember("one-more", "x" * 8, "asana") or "")
    finally:
        lab.stop()


def test_a_query_key_made_equal_by_redaction_keeps_every_value(tmp_path):
    lab = HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("gitlab", SENTINEL, provider="gitlab")
        post(lab.url_for("q") + f"?{SENTINEL}=1&%5Bsecret%5D=2", b"{}")
        (cap,) = lab.wait(1, timeout=10)
        assert cap.query == {"[secret]": ["1", "2"]}
    finally:
        lab.stop()


@pytest.mark.parametrize("bin_,secret,provider,suffix,headers", [
    # a verification reason quotes the header it refused (cut short): scrubbed there too
    ("gh", "whsec_SuperSecretValue1234567890-abcdefghijklmnop", "github", "",
     [("X-Hub-Signature-256", "{s}")]),
    # base64 secrets hold "+": a query string reads it as a space
    ("b64", "abc+def/ghij+klmnopq", None, "?token={s}", []),
    # bytes that are not UTF-8, as Latin-1 text in a header
    ("bin", b"\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1", None, "", [("X-Key", "{latin1}")]),
])
def test_a_secret_is_not_stored_in_reasons_query_spaces_or_as_latin1(
        tmp_path, bin_, secret, provider, suffix, headers):
    from urllib.parse import quote

    db = tmp_path / "r.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    raw = secret if isinstance(secret, bytes) else secret.encode()
    fill = {"s": quote(secret, safe="/+") if isinstance(secret, str) else "",
            "latin1": raw.decode("latin-1")}
    try:
        lab.secret(bin_, secret, provider=provider)
        hs = [(k, v.format(s=secret if isinstance(secret, str) else "", latin1=fill["latin1"]))
              for k, v in headers]
        raw_request(lab.bound_port, (f"POST /{bin_}{suffix.format(**fill)} HTTP/1.1\r\nHost: a\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in hs)
                    + "Content-Length: 2\r\nConnection: close\r\n\r\n{}").encode("latin-1"))
        (cap,) = lab.wait(1, timeout=10)
        shown = repr((cap.headers, cap.query, cap.url, cap.verify_reason, cap.handshake))
        assert raw.decode("latin-1") not in shown, shown
        if isinstance(secret, str):
            assert secret.replace("+", " ") not in shown and secret[:20] not in shown, shown
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("r.sqlite3*"))
    assert raw not in blob and raw.decode("latin-1").encode("utf-8") not in blob
    if isinstance(secret, str):
        assert secret[:20].encode() not in blob and secret.replace("+", " ").encode() not in blob


def test_a_record_that_cannot_be_scrubbed_is_refused_not_stored(tmp_path):
    """``store.add`` of a record whose header values are not strings, in a lab with secrets:
    refused with an error naming the header, and the secret is nowhere on disk (it used to
    be stored unscrubbed: the failure was swallowed with the verification's)."""
    from hooklab.capture import new_record

    db = tmp_path / "r.sqlite3"
    lab = HookLab(port=0, db=str(db))
    try:
        lab.secret("gh", SENTINEL, provider="github")
        for bad in (12345, b"raw", None):
            rec = new_record("POST", f"/gh/x?k={SENTINEL}", [("X-Auth", SENTINEL), ("X-N", bad)], b"{}")
            with pytest.raises(TypeError, match="'X-N'.*not a pair of strings"):
                lab.store.add(rec).result(10)
        good = lab.store.add(new_record("POST", "/gh/y", [("X-Auth", SENTINEL)], b"{}")).result(10)
        assert good.header("x-auth") == "[secret]" and len(lab.captures) == 1
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("r.sqlite3*"))
    assert SENTINEL.encode() not in blob


def test_a_verification_that_fails_unexpectedly_still_scrubs(tmp_path, monkeypatch):
    """A verifier that raises (a fault injected here) leaves the capture stored, unverified
    with the reason, and scrubbed of the secret like any other."""
    import hooklab.signatures

    def broken(*args, **kwargs):
        raise RuntimeError("verifier bug")

    monkeypatch.setattr(hooklab.signatures, "verify_signature", broken)
    db = tmp_path / "v.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        lab.secret("gitlab", SENTINEL, provider="gitlab")
        post(lab.url_for("gitlab") + f"?t={SENTINEL}", b"{}", {"X-Gitlab-Token": SENTINEL})
        (cap,) = lab.wait(1, timeout=10)
        assert cap.verified is False and cap.verify_reason == "could not be verified (RuntimeError)"
        assert cap.header("x-gitlab-token") == "[secret]" and SENTINEL not in cap.url
        lab.store.flush()
    finally:
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("v.sqlite3*"))
    assert SENTINEL.encode() not in blob
