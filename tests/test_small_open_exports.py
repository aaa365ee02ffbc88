"""``hooklab.open(path)`` on an export says which importer reads it, whatever its wrapping.

A HAR or JSON Lines export that starts with a UTF-8 byte order mark (Windows tools write
one), and a Playwright ``.zip`` HAR, gave SQLite's "file is not a database" although the
importers read them; the same files without a mark were refused with the importer to use.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hooklab
from hooklab.store import StoreError

BOM = b"\xef\xbb\xbf"
EXE = str(Path(sys.executable).with_name("hooklab"))  # the command as installed


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A HAR and a JSON Lines export of two real captures, as bytes."""
    where = tmp_path_factory.mktemp("exports")
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for event in ("push", "ping"):
            assert hooklab.send(lab.url_for("gh"), provider="github", event=event).status == 200
        lab.wait(2, timeout=10)
        assert lab.export_har(where / "x.har") == 2
        assert lab.export(where / "x.jsonl") == 2
    finally:
        lab.stop()
    return {"har": (where / "x.har").read_bytes(), "jsonl": (where / "x.jsonl").read_bytes()}


def _zipped(har: bytes, name: str = "recording.har", bom: bool = False) -> bytes:
    """A Playwright-like ``.zip`` HAR: the ``.har`` (and a body file beside it) in a zip."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("abc123.json", b'{"unused": true}')
        z.writestr(name, (BOM if bom else b"") + har)
    return buf.getvalue()


# (file name, how its bytes are made from the exports, importer named, captures it imports)
CASES = [
    ("x.har", lambda e: BOM + e["har"], "load_har", 2),
    ("x.jsonl", lambda e: BOM + e["jsonl"], "load_jsonl", 2),
    ("x.json", lambda e: BOM + e["har"], "load_har", 2),
    # (no telling extension: a HAR is known by its "log", pretty-printed or not)
    ("captures.data", lambda e: BOM + e["har"], "load_har", 2),
    ("captures.data", lambda e: BOM + e["jsonl"], "load_jsonl", 2),
    ("captures.data", lambda e: b'{\r\n  "log" :' + e["har"].split(b'"log":', 1)[1],
     "load_har", 2),
    ("x.jsonl", lambda e: BOM + b"\r\n\t " + e["jsonl"], "load_jsonl", 2),
    ("x.zip", lambda e: _zipped(e["har"]), "load_har", 2),
    ("x.zip", lambda e: _zipped(e["har"], bom=True), "load_har", 2),
    ("x.zip", lambda e: _zipped(e["har"], name="dir/Session.HAR"), "load_har", 2),
    ("recording", lambda e: _zipped(e["har"]), "load_har", 2),  # (no extension at all)
    # (what was refused before stays so)
    ("x.har", lambda e: e["har"], "load_har", 2),
    ("x.jsonl", lambda e: e["jsonl"], "load_jsonl", 2),
]
IDS = ["bom-har", "bom-jsonl", "bom-json", "bom-har-no-extension", "bom-jsonl-no-extension",
       "pretty-har-no-extension", "bom-then-blank-jsonl", "playwright-zip", "zip-bom-har",
       "zip-har-in-folder-upper-case", "zip-no-extension", "plain-har", "plain-jsonl"]


@pytest.mark.parametrize("name,make,importer,n", CASES, ids=IDS)
def test_opening_an_export_names_its_importer(tmp_path, exports, name, make, importer, n) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    data = make(exports)
    path.write_bytes(data)
    with pytest.raises(ValueError) as err:
        hooklab.open(path)
    assert str(err.value) == (
        f"{str(path)!r} is a {'zipped HAR file (a .har inside a zip)' if data[:2] == b'PK' else 'HAR file' if importer == 'load_har' else 'JSON Lines file'}"
        f", not a capture database: import it with hooklab.{importer}(path)")
    assert path.read_bytes() == data  # (left as it was: no -wal, no database written in)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    # and the importer named does read it
    imported = getattr(hooklab, importer)(path)
    try:
        assert sorted(c.event_type for c in imported.captures) == ["ping", "push"][:n]
    finally:
        imported.stop()


@pytest.mark.parametrize("name,data", [
    ("x.zip", b"PK\x03\x04" + b"\x00" * 60),  # (a zip's start, then nothing a zip holds)
    ("x.zip", None),  # a real zip without a .har in it
    ("x.har", b"SQLite format 3\x00" + b"\x00" * 80),  # (not JSON at all)
    # random bytes that happen to start like JSON (one random file in a hundred did, and
    # was called a JSON Lines file)
    ("random.db", b"{\x93\xfe\x00\x11" + bytes(range(256)) * 4),
    ("random.db", b"[\xc3\x28\x00" + bytes(range(255, -1, -1)) * 4),
    ("random.db", b" \t{\x80\x81" + b"\xff" * 500),
    ("random.db", b'{"\xff\xfe\x00' + b"\x01" * 500),  # (a quote, then no UTF-8)
    ("notes.db", b"{ this is not JSON }\n" * 20),
    ("numbers.db", b"[1, 2, 3]\n" * 20),
], ids=["broken-zip", "zip-without-har", "not-json", "random-brace", "random-bracket",
        "blanks-then-random-brace", "brace-quote-then-binary", "brace-text", "array-of-numbers"])
def test_what_is_no_export_is_left_to_the_store(tmp_path, name, data) -> None:  # type: ignore[no-untyped-def]
    """Not an export: no importer is named (the store says what is wrong)."""
    if data is None:
        import io

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("notes.txt", "hello")
        data = buf.getvalue()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(StoreError) as err:
        hooklab.open(path).stop()
    assert "import it with" not in str(err.value)
    assert path.read_bytes() == data


def test_the_cli_names_the_importer_of_a_bom_or_zip_export(tmp_path, exports) -> None:  # type: ignore[no-untyped-def]
    """``hooklab export --db`` meets the same refusal, in one line, exit 2."""
    for name, data, how in [("x.har", BOM + exports["har"], "load_har"),
                            ("x.jsonl", BOM + exports["jsonl"], "load_jsonl"),
                            ("x.zip", _zipped(exports["har"]), "load_har")]:
        path = tmp_path / name
        path.write_bytes(data)
        r = subprocess.run([EXE, "export", "--db", str(path),
                            "--format", "jsonl"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and f"import it with hooklab.{how}(path)" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and r.stdout == "", r.stderr
