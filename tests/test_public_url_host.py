"""``lab.public_url(bin, host=...)``: the address the warning of an unknown address asks for,
given to the lab itself, against a real Jupyter server with hooklab's extension.

(found by an outside-in tester) While the server's address is not known yet,
``lab.public_url("stripe")`` warns "... set HOOKLAB_PUBLIC_URL=https://your.host (or pass
host=)", but ``lab.public_url("stripe", host=...)`` was a TypeError: only
``hooklab.ingress.public_url(lab, bin, host=...)`` took it.
"""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import pytest
from _http import post
from _jupyter_server import server_fixtures

from hooklab import HookLab

TOKEN = "host-token-0123456789"
BASE = "/user/test/"

# (a fresh server per module: no request has taught it its address, so it warns)
jupyter, env, lab = server_fixtures("jupyter-host", TOKEN, BASE)

# host= -> the root of the URLs: an origin gets the server's base_url, a URL with a path is
# the full server URL (as $HOOKLAB_PUBLIC_URL is read); None: refused, ValueError
HOSTS = [
    ("https://hub.example.org", "https://hub.example.org/user/test/"),
    ("https://HUB.example.org:443/", "https://hub.example.org/user/test/"),
    ("http://hub.example.org:8080", "http://hub.example.org:8080/user/test/"),
    ("https://hub.example.org/jupyter/", "https://hub.example.org/jupyter/"),
    ("hub.example.org", None),                          # no scheme
    ("javascript:alert(1)", None),
    ("https://ada:pw@hub.example.org", None),          # user info
    ("https://hub.example.org/?token=" + TOKEN, None),  # a query
    ("https://hub.example.org/#x", None),
    ("", None),                                        # (empty: not said; the warning again)
]


@pytest.mark.parametrize("host,root", HOSTS)
def test_the_lab_takes_the_host_its_warning_asks_for(lab: HookLab, env: dict[str, object],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     host: str, root: str | None) -> None:
    monkeypatch.delenv("HOOKLAB_PUBLIC_URL", raising=False)
    with pytest.warns(RuntimeWarning, match=r"not known yet.*pass host=") as said:
        lab.public_url("unknown-yet")
    assert "hooklab.ingress.public_url" not in str(said[0].message)
    if host == "":
        with pytest.warns(RuntimeWarning, match=r"not known yet"):
            lab.public_url("h", host=host)
        return
    if root is None:
        with pytest.raises(ValueError, match="host= must be an http") as refused:
            lab.public_url("h", host=host)
        assert TOKEN not in str(refused.value) and ":pw@" not in str(refused.value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the address was said: nothing to warn about)
        url = lab.public_url("h", host=host)
    assert url.rsplit("/", 1)[0] == root + "hooklab/in", url
    # (reached here through the local server: the key in the URL is what routes it)
    key = urlsplit(url).path.rsplit("/", 1)[1]
    assert len(key) >= 32
    status, _ = post(f"{env['local']}hooklab/in/{key}/x", body=b'{"said": "host="}')
    assert status == 200
    (cap,) = lab.wait(1, timeout=10, bin="h")
    assert (cap.path, cap.body) == ("/h/x", b'{"said": "host="}')
