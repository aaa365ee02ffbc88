"""A bin's secret (no provider) that comes as the *password* of ``Basic`` credentials.

A bin takes Basic credentials as its whole secret, ``user:password`` (README: the secret sent
whole as ``Bearer``/``Basic`` credentials). With ``lab.secret("hook", "hunter2-password")``
and ``Authorization: Basic base64("myapp:hunter2-password")`` the lab hid the secret in the
stored header, then said "the Authorization header does not hold the bin's secret (wrong
credentials?)" and advised picking a provider. It now says what it found: the secret is the
password, and the whole ``user:password`` is what to register. Real sockets on 127.0.0.1.
"""

from __future__ import annotations

import base64

from _http import post

S = "hunter2-password"
SAID = ("the bin's secret is the password of the Basic credentials in Authorization: "
        "register the whole user:password as the bin's secret to verify them")
NOT_IT = "the Authorization header does not hold the bin's secret (wrong credentials?); "
NO_PROVIDER = ("unknown provider: no known signature header found; give the bin a provider: "
               "lab.secret('hook', ..., provider='<id>') (ids: hooklab.providers.PROVIDERS)")


def _b64(text: str, pad: bool = True) -> str:
    out = base64.b64encode(text.encode()).decode()
    return out if pad else out.rstrip("=")


# (Authorization sent, verified, reason)
CASES = [
    (f"Basic {_b64('myapp:' + S)}", False, SAID),
    (f"Basic {_b64('myapp:' + S, pad=False)}", False, SAID),
    (f"basic   {_b64('u:' + S)} ", False, SAID),
    (f"BASIC {_b64(':' + S)}", False, SAID),
    (f"Basic {_b64('a:b:' + S)}", False, NOT_IT + NO_PROVIDER),  # (the password is b:<secret>)
    (f"Basic {_b64(S + ':x')}", False, NOT_IT + NO_PROVIDER),  # (the user, not the password)
    (f"Basic {_b64('myapp:' + S + 'x')}", False, NOT_IT + NO_PROVIDER),
    (f"Basic {_b64('myapp:' + S[:-1])}", False, NOT_IT + NO_PROVIDER),
    (f"Basic {_b64('myapp' + S)}", False, NOT_IT + NO_PROVIDER),  # (no colon)
    (f"Bearer {_b64('myapp:' + S)}", False, NOT_IT + NO_PROVIDER),
    ("Basic !!not-base64!!", False, NOT_IT + NO_PROVIDER),
    (f"Basic {_b64(S)}", True, None),  # (the secret whole: verifies, as before)
    (f"Bearer {S}", True, None),
]


def test_the_secret_as_a_basic_password_is_said_as_such(lab) -> None:  # type: ignore[no-untyped-def]
    """Every row sent to one bin; each capture checked against its row (all rows reported)."""
    lab.secret("hook", S)
    for i, (auth, _, _) in enumerate(CASES):
        status, _ = post(lab.url_for("hook", f"c{i}"), b'{"a": 1}',
                         {"Content-Type": "application/json", "Authorization": auth})
        assert status == 200
    got = {c.path: c for c in lab.wait(len(CASES), timeout=30)}
    wrong = []
    for i, (auth, verified, reason) in enumerate(CASES):
        cap = got[f"/hook/c{i}"]
        said = cap.verify_reason or ""
        ok = said == reason if reason is not None else said.startswith(
            "the bin's secret was sent as a token")
        if cap.verified is not verified or not ok:
            wrong.append((i, auth, cap.verified, said))
        assert S not in str(cap.headers) and "myapp" not in said, (i, cap.headers, said)
    assert not wrong, wrong


def test_registering_user_and_password_verifies(lab) -> None:  # type: ignore[no-untyped-def]
    """What the reason says to do works."""
    lab.secret("hook", "myapp:" + S)
    post(lab.url_for("hook"), b"{}", {"Authorization": f"Basic {_b64('myapp:' + S)}"})
    (cap,) = lab.wait(1, timeout=20)
    assert cap.verified is True, cap.verify_reason
    assert cap.header("Authorization") == "Basic [secret]"
