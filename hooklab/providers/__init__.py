"""Who sent a webhook: the provider table, detection, handshakes and sample deliveries.

>>> detect([("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d1")],
...        b'{"action": "opened"}')
('github', 'pull_request.opened', 'd1')
>>> "stripe" in PROVIDERS and TABLE["stripe"].scheme
'hmac'

- :data:`TABLE` / :data:`PROVIDERS`: one :class:`Provider` entry per sender (see
  :mod:`hooklab.providers.table`);
- :func:`detect`, :func:`detect_record`, :func:`describe`: provider, event type, delivery id;
- :func:`handshake_answer` with :class:`BinSecrets`: endpoint handshakes, answered on capture
  (and recognised when another answer goes out: ``answering=False``);
- :func:`sample`, :data:`EVENTS`: realistic deliveries for :func:`hooklab.send`.
"""

from .detect import describe, detect, detect_record
from .handshake import (
    HANDSHAKE_SEEN,
    MAX_ECHO,
    Answer,
    BinSecret,
    BinSecrets,
    found_in_header,
    handshake_answer,
    header_found_in,
)
from .samples import EVENTS, Sample, deep_merge, provider_refusal, sample, unknown_provider
from .table import DEFAULT_TOLERANCE, PROVIDERS, TABLE, Provider

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENTS",
    "HANDSHAKE_SEEN",
    "MAX_ECHO",
    "PROVIDERS",
    "TABLE",
    "Answer",
    "BinSecret",
    "BinSecrets",
    "Provider",
    "Sample",
    "deep_merge",
    "describe",
    "detect",
    "detect_record",
    "found_in_header",
    "handshake_answer",
    "header_found_in",
    "provider_refusal",
    "sample",
    "unknown_provider",
]
