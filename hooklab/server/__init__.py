"""The capture server: a daemon thread with its own asyncio loop that receives and answers.

>>> server = CaptureServer(store, "127.0.0.1", 0).start()   # doctest: +SKIP
>>> server.url                                             # doctest: +SKIP
'http://127.0.0.1:54321'
"""

from .lifecycle import DEFAULT_MAX_BODY, RESERVED_PREFIX, CaptureServer, ServerError
from .responses import Response, ResponseRules, Rule

__all__ = [
    "DEFAULT_MAX_BODY",
    "RESERVED_PREFIX",
    "CaptureServer",
    "Response",
    "ResponseRules",
    "Rule",
    "ServerError",
]
