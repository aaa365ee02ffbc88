"""The capture server takes a head of up to ``MAX_HEAD`` bytes and trailer fields (after a
chunked body) of up to ``MAX_HEAD`` more; the imports (JSON Lines, HAR, a Parquet folder opened
with ``hooklab.open``) take what it can store: with ``trailers_at``, the header section and
the trailer fields each within the limit; without it, all the fields within it, as before.

A capture of a 600 KB header field and a 600 KB trailer field, sent to a real lab on
127.0.0.1, comes back whole from its own JSON Lines, HAR and Parquet exports; crafted files
with a part over its limit are refused, naming the line, HAR entry or file and row."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _chunked import FIRST, Fields, chunked_post
from _http import raw_request

import hooklab
from hooklab.capture import MAX_FIELDS, MAX_HEAD

BODY = b'{"big": "trailers"}'


def _size(fields: Fields) -> int:
    """Bytes of ``fields`` as the limits count them (``name: value`` and a line end each)."""
    return sum(len(k) + len(v) + 4 for k, v in fields)


def _padded(name: str, fields: Fields, total: int) -> tuple[str, str]:
    """The field ``name`` whose value makes ``fields`` plus it ``total`` bytes."""
    return name, "v" * (total - _size(fields) - len(name) - 4)


def _chunked(path: str, head: Fields, trailers: Fields, body: bytes) -> bytes:
    return chunked_post(path, head, trailers, body, first=[])  # (head starts with FIRST)


class Exported:
    def __init__(self, root: Path, headers: Fields, trailers_at: int) -> None:
        self.root, self.headers, self.trailers_at = root, headers, trailers_at
        self.jsonl, self.har, self.parquet = root / "c.jsonl", root / "c.har", root / "pq"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """A 600 KB header + 600 KB trailer capture, sent to a real lab and exported each way."""
    root = tmp_path_factory.mktemp("big_trailers")
    head = [*FIRST, ("X-Big-Head", "h" * 600_000)]
    trailers = [("X-Big-Trailer", "t" * 600_000)]
    lab = hooklab.HookLab(port=0, db=str(root / "c.sqlite3")).start()
    try:
        answer = raw_request(lab.bound_port, _chunked("/big/1", head, trailers, BODY), timeout=20)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        cap = lab.wait(1, timeout=10)[0]
        assert cap.headers == head + trailers and cap.trailers_at == len(head)
        out = Exported(root, cap.headers, len(head))
        assert lab.export(str(out.jsonl), fmt="jsonl") == 1
        assert lab.export(str(out.har), fmt="har") == 1
        assert lab.export(str(out.parquet), fmt="parquet") == 1
    finally:
        lab.stop()
    yield out


def _open(fmt: str, path: Path) -> hooklab.HookLab:
    return {"jsonl": hooklab.load_jsonl, "har": hooklab.load_har,
            "parquet": hooklab.open}[fmt](str(path))


@pytest.mark.parametrize("fmt", ["jsonl", "har", "parquet"])
def test_a_capture_the_server_took_comes_back_from_its_export(exported: Exported, fmt: str) -> None:
    lab = _open(fmt, getattr(exported, fmt))
    try:
        caps = lab.captures
        assert len(caps) == 1
        cap = caps[0]
        assert cap.headers == exported.headers
        assert cap.trailers_at == exported.trailers_at
        assert cap.trailers == [("X-Big-Trailer", "t" * 600_000)]
        assert cap.body == BODY and cap.json() == {"big": "trailers"}
        assert cap.path == "/big/1"
    finally:
        lab.stop()


#: crafted captures: (header section, trailer fields, trailers_at as written, what an import
#: says: None when it takes it, else the words of the refusal)
def _cases() -> dict[str, tuple[Fields, Fields, Any, str | None]]:
    head = FIRST
    half = [*head, _padded("X-Big-Head", head, 600_000)]
    full = [*head, _padded("X-Big-Head", head, MAX_HEAD)]
    over = [*head, _padded("X-Big-Head", head, MAX_HEAD + 1)]
    t_half = [_padded("X-Big-Trailer", [], 600_000)]
    t_full = [_padded("X-Big-Trailer", [], MAX_HEAD)]
    t_over = [_padded("X-Big-Trailer", [], MAX_HEAD + 1)]
    whole = f"header fields of {1_200_000:,} bytes: more than the capture server takes"
    many = [*head, *((f"X-H{i}", "1") for i in range(MAX_FIELDS - len(head)))]
    t_many = [(f"X-T{i}", "1") for i in range(MAX_FIELDS)]
    return {
        "each part at its limit": (full, t_full, len(full), None),
        "header section one byte over": (over, t_half, len(over),
                                         f"header fields of {MAX_HEAD + 1:,} bytes"),
        "trailer fields one byte over": (half, t_over, len(half),
                                         f"trailer fields of {MAX_HEAD + 1:,} bytes"),
        "both parts over": (over, t_over, len(over), f"header fields of {MAX_HEAD + 1:,} bytes"),
        "no trailers_at: the fields in all over": (half, t_half, None, whole),
        "trailers_at naming no field: the fields in all over": (half, t_half, 99, whole),
        "trailers_at a string: the fields in all over": (half, t_half, "4", whole),
        # (fields in number: 10,000 in the header section and as many trailer fields, as the
        # server counts them)
        "each part at its field count": (many, t_many, len(many), None),
        "one header field too many": ([*many, ("X-F", "1")], [("X-T", "1")], len(many) + 1,
                                      f"{MAX_FIELDS + 1:,} header fields"),
        "one trailer field too many": (many, [*t_many, ("X-T", "1")], len(many),
                                       f"{MAX_FIELDS + 1:,} trailer fields"),
        "no trailers_at: the fields in all too many": (many[:6_000], t_many[:6_000], None,
                                                       "12,000 header fields"),
        "trailers_at past the big header, the rest over": (
            [*head, _padded("X-Big-Head", head, 600_000),
             _padded("X-More", [], 600_000)], [("X-T", "1")], 5,
            f"header fields of {1_200_000:,} bytes"),
    }


CASES = _cases()


def _craft_jsonl(src: Path, dst: Path, fields: Fields, at: Any) -> None:
    line = json.loads(src.read_text().splitlines()[0])
    bad = dict(line, id=line["id"] + 1, headers=[list(f) for f in fields])
    bad.pop("trailers_at", None)
    if at is not None:
        bad["trailers_at"] = at
    dst.write_text(json.dumps(line) + "\n" + json.dumps(bad) + "\n")


def _craft_har(src: Path, dst: Path, fields: Fields, at: Any) -> None:
    har = json.loads(src.read_text())
    entry = har["log"]["entries"][0]
    bad = json.loads(json.dumps(entry))
    bad["request"]["headers"] = [{"name": k, "value": v} for k, v in fields]
    bad["_hooklab"]["id"] = entry["_hooklab"]["id"] + 1
    bad["_hooklab"].pop("trailers_at", None)
    if at is not None:
        bad["_hooklab"]["trailers_at"] = at
    har["log"]["entries"].append(bad)
    dst.write_text(json.dumps(har))


def _craft_parquet(src: Path, dst: Path, fields: Fields, at: Any) -> Path:
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(src, dst)
    (file,) = sorted(dst.rglob("*.parquet"))
    table = pq.read_table(file, partitioning=None)
    bad = table.to_pylist()[0]
    bad["id"] += 1
    bad["headers"] = json.dumps([list(f) for f in fields])
    bad["trailers_at"] = at if type(at) is int else None  # (an int64 column: "4" is no value)
    pq.write_table(pa.Table.from_pylist(table.to_pylist() + [bad], schema=table.schema), file)
    return file


@pytest.mark.parametrize("fmt", ["jsonl", "har", "parquet"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_crafted_import_is_checked_part_by_part(exported: Exported, tmp_path: Path,
                                                  fmt: str, name: str) -> None:
    head, trailers, at, refused = CASES[name]
    fields = head + trailers
    dst = tmp_path / {"jsonl": "c.jsonl", "har": "c.har", "parquet": "pq"}[fmt]
    craft: Callable[..., Any] = {"jsonl": _craft_jsonl, "har": _craft_har,
                                 "parquet": _craft_parquet}[fmt]
    file = craft(getattr(exported, fmt), dst, fields, at)
    if refused is None:
        lab = _open(fmt, dst)
        try:
            caps = lab.captures
            assert len(caps) == 2
            assert caps[1].headers == fields
            assert caps[1].trailers_at == at
            assert caps[1].trailers == trailers
        finally:
            lab.stop()
        return
    with pytest.raises(ValueError) as got:
        lab = _open(fmt, dst)
        try:
            list(lab.captures)  # (a Parquet folder's rows are checked as they are read)
        finally:
            lab.stop()
    message = str(got.value)
    where = {"jsonl": f"{str(dst)!r}: line 2 is not a capture",
             "har": f"{str(dst)!r}: HAR entry 1 is malformed",
             "parquet": f"{str(file)!r} in {str(dst)!r}: row 1 (0-based) is not a capture"}[fmt]
    assert message.startswith(where), message
    assert refused in message, message
    assert re.search(r"more than the capture server takes", message), message
