"""Requests hooklab sends: ``send`` (signed sample deliveries), forward and replay.

>>> send(lab.url_for("github"), provider="github", event="push").status
200
>>> [(r.capture_id, r.status) for r in replay(lab.captures[-2:], to=app_url)]
[(1, 200), (2, 200)]
"""

from .forward import Forwarder, ReplayResult, replay, target_url
from .sender import SendResponse, http_request, send

__all__ = [
    "Forwarder",
    "ReplayResult",
    "SendResponse",
    "http_request",
    "replay",
    "send",
    "target_url",
]
