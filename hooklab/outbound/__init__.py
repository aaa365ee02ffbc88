"""Requests hooklab sends: ``send`` (signed sample deliveries), forward and replay.

>>> send("http://127.0.0.1:8765/github", provider="github", event="push")  # doctest: +SKIP
>>> replay(lab.captures[-3:], to="http://127.0.0.1:5000/webhook")           # doctest: +SKIP
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
