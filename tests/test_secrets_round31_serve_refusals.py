"""``hooklab serve``'s refusal lines (413, 400) are scrubbed as its capture lines are: a bin's
secret as ``[secret]``, the user's Jupyter token and the lab's read token as ``[redacted]``,
a credential-looking query value as ``[secret]`` (stderr ends up in CI logs and terminals)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from _http import free_port, raw_request
from _serve_lines import gather, serve

SECRET = "Zq9xK7wP"
JUPYTER = "f00dfacecafe1234567890abcdef0011223344556677"

# (the request sent, its status, the target its refusal line must show); {S}: the secret,
# {J}: the Jupyter token, {R}: the lab's read token
CASES = [
    ("POST /orders/{S}?k={S}&j={J} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
     413, "/orders/[secret]?k=[secret]&j=[redacted]"),
    ("POST /orders/{S}/{J} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     400, "/orders/[secret]/[redacted]"),
    ("POST /orders/%5Aq9xK7wP HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
     413, "/orders/[secret]"),
    ("POST /other/WnE5eEs3d1A HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
     413, "/other/[secret]"),
    ("POST /a?t={R} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
     413, "/a?t=[redacted]"),
    ("POST /a?api_key=plainvalue1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
     413, "/a?api_key=[secret]"),
    ("PUT /orders/{S}?{J}=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     400, "/orders/[secret]?[redacted]=1"),
]


def test_refusal_lines_hide_what_capture_lines_hide(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_TOKEN", JUPYTER)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o600)
    port = free_port()
    out: list[str] = []
    err: list[str] = []
    with serve("--port", str(port), "--strict-port", "--db", str(tmp_path / "c.sqlite3"),
               "--secret-file", f"orders={secret_file}", "--max-body", "100") as (lines, errs):
        gather([(lines, out), (errs, err)], lambda: any("token=" in e for e in err))
        read = re.search(r"token=([A-Za-z0-9_-]+)", " ".join(err))
        assert read is not None, err
        for request, status, _ in CASES:
            sent = request.format(S=SECRET, J=JUPYTER, R=read.group(1))
            answer = raw_request(port, sent.encode())
            assert answer.startswith(f"HTTP/1.1 {status} ".encode()), (sent, answer[:80])
            time.sleep(0.12)  # (10 refusal lines a second at most: every one said)
        gather([(lines, out), (errs, err)],
               lambda: sum("refused" in e for e in err) >= len(CASES))
    refused = [e for e in err if "refused" in e]
    assert len(refused) == len(CASES), err
    for line, (request, status, target) in zip(refused, CASES, strict=True):
        method = request.split(" ", 1)[0]
        assert line.startswith(f"hooklab: refused {method} {target} from 127.0.0.1: {status} "), line
    text = "\n".join(out + refused)
    for value in (SECRET, JUPYTER, read.group(1), "WnE5eEs3d1A", "plainvalue1"):
        assert value not in text
