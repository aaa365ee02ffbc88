"""``lab.diff(headers=True)`` compares the header section as headers and the trailer fields apart.

Trailer fields (sent after a chunked body) were merged into the headers: a capture whose header
section said ``Content-Type: application/json`` and whose trailer said ``text/plain`` showed
``headers.content-type`` as ``['application/json', 'text/plain']``. Now the header section is
``headers.<name>`` and the trailers ``trailers.<name>``, as ``Capture.header_section`` and
``Capture.trailers`` split them; a credential trailer is hidden as a credential header is.

Raw chunked requests are sent over real sockets to a real lab; every row is written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from _chunked import Fields, chunked_post
from _http import raw_request

from hooklab import HookLab

pytestmark = pytest.mark.timeout(120)

CT_JSON: Fields = [("Content-Type", "application/json")]

#: (name, (A's header fields, A's trailers), (B's header fields, B's trailers), rows while
#: credentials are hidden, rows with reveal=True (None: the same))
CASES: list[tuple[str, tuple[Fields, Fields], tuple[Fields, Fields], list[tuple[Any, ...]],
                  list[tuple[Any, ...]] | None]] = [
    ("content-type-trailer", (CT_JSON, [("Content-Type", "text/plain")]), (CT_JSON, []),
     [("trailers.content-type", "removed", "text/plain", None)], None),
    ("name-in-both", (CT_JSON + [("X-Sig", "a")], [("X-Sig", "b")]),
     (CT_JSON + [("X-Sig", "b")], [("X-Sig", "a")]),
     [("headers.x-sig", "changed", "a", "b"), ("trailers.x-sig", "changed", "b", "a")], None),
    ("moved-to-trailers", (CT_JSON + [("X-Checksum", "sha256=1")], []),
     (CT_JSON, [("X-Checksum", "sha256=1")]),
     [("headers.x-checksum", "removed", "sha256=1", None),
      ("trailers.x-checksum", "added", None, "sha256=1")], None),
    ("credential-trailer", (CT_JSON, [("Authorization", "Bearer aaa")]),
     (CT_JSON, [("Authorization", "Bearer bbbb")]),
     [("trailers.authorization", "changed", "<hidden: 10 chars>", "<hidden: 11 chars>")],
     [("trailers.authorization", "changed", "Bearer aaa", "Bearer bbbb")]),
    ("same-length-credential", (CT_JSON, [("Authorization", "Bearer aaa")]),
     (CT_JSON, [("Authorization", "Bearer bbb")]),
     [("trailers.authorization", "changed", "<hidden: 10 chars>", "<hidden: 10 chars>")],
     [("trailers.authorization", "changed", "Bearer aaa", "Bearer bbb")]),
    ("repeated-trailer", (CT_JSON, [("X-T", "1"), ("x-t", "2")]), (CT_JSON, [("X-T", "1")]),
     [("trailers.x-t", "changed", ["1", "2"], "1")], None),
    ("same-trailers", (CT_JSON, [("X-T", "1")]), (CT_JSON, [("X-T", "1")]), [], None),
    ("no-trailers", (CT_JSON + [("X-A", "1")], []), (CT_JSON + [("X-A", "2")], []),
     [("headers.x-a", "changed", "1", "2")], None),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def lab() -> Any:
    with HookLab(port=0, db=":memory:") as lab:
        for name, first, second, *_ in CASES:
            for side, (head, trailers) in (("a", first), ("b", second)):
                answer = raw_request(lab.bound_port, chunked_post(f"/{name}/{side}", head, trailers))
                assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        lab.wait(2 * len(CASES), timeout=20)
        yield lab


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trailers_are_compared_apart_from_the_header_section(lab: HookLab, case: Any) -> None:
    name, (head_a, trailers_a), (head_b, trailers_b), hidden, revealed = case
    a, b = lab.query(bin=name)
    assert (a.path, b.path) == (f"/{name}/a", f"/{name}/b")
    assert [(k.lower(), v) for k, v in a.trailers] == [(k.lower(), v) for k, v in trailers_a]
    for reveal, want in ((False, hidden), (True, revealed if revealed is not None else hidden)):
        rows = [tuple(r) for r in lab.diff(a, b, headers=True, reveal=reveal).itertuples(index=False)]
        assert rows == want, reveal
        # (without headers=True, neither: the bodies are the same)
        assert lab.diff(a, b, reveal=reveal).empty
