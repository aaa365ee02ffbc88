"""The capture server: a daemon thread with its own asyncio loop that receives and answers.

>>> from hooklab.store import CaptureStore
>>> store = CaptureStore(":memory:")
>>> server = CaptureServer(store, "127.0.0.1", 0).start()
>>> server.url
'http://127.0.0.1:...'
>>> server.stop(); store.close()
"""

from .lifecycle import (
    DEFAULT_MAX_BODY,
    RESERVED_PREFIX,
    CaptureServer,
    ServerError,
    Serving,
    serving_file,
    serving_of,
    watch_serving,
)
from .responses import Response, ResponseRules, Rule

__all__ = [
    "DEFAULT_MAX_BODY",
    "RESERVED_PREFIX",
    "CaptureServer",
    "Response",
    "ResponseRules",
    "Rule",
    "ServerError",
    "Serving",
    "serving_file",
    "serving_of",
    "watch_serving",
]
