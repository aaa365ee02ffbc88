r"""Requests hooklab sends: ``send`` (signed sample deliveries), forward and replay.

>>> send(lab.url_for("github"), provider="github", event="push").status
200
>>> [(r.capture_id, r.status) for r in replay(lab.captures[-2:], to=app_url)]
[(1, 200), (2, 200)]
>>> check_header("X-A", "1\r\nX-Injected: yes")      # what every request here checks first
Traceback (most recent call last):
...
ValueError: header 'X-A' has an invalid value: U+000D at character 2 of 18 is a line break: ...
"""

from .forward import Forwarder, ReplayResult, Resign, delivered, replay, resigned, target_url
from .sender import SendResponse, check_header, check_headers, http_request, send

__all__ = [
    "Forwarder",
    "ReplayResult",
    "Resign",
    "SendResponse",
    "check_header",
    "check_headers",
    "delivered",
    "http_request",
    "replay",
    "resigned",
    "send",
    "target_url",
]
