"""Each engine's refusal of a statement names what that engine runs, and a write is no typo.

On a Parquet dataset ``lab.sql("COPY ...")`` said the statement must start with "SELECT, WITH,
VALUES, EXPLAIN or PRAGMA ... (a typo?)", and ``PRAGMA version`` was then refused with "use
SELECT, WITH, VALUES, FROM, DESCRIBE or EXPLAIN". The words each message may name are written
out here per engine, from what each engine runs (the accepted statements below are run too).
"""

from __future__ import annotations

import re

import pytest
from _import_records import imported_lab

from hooklab.explore import ReadOnlyError

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(180)

#: what each engine runs, as its refusals must name it
RUNS = {
    "sqlite": "SELECT, WITH, VALUES, EXPLAIN or a read-only PRAGMA",
    "parquet": "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN",
}
#: statements each engine runs (a refusal naming a word must not refuse these)
ACCEPTED = {
    "sqlite": ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "VALUES (1)",
               "EXPLAIN SELECT 1", "PRAGMA table_info(captures)"],
    "parquet": ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "VALUES (1)",
                "FROM captures", "DESCRIBE captures", "SUMMARIZE captures", "SHOW TABLES",
                "EXPLAIN SELECT 1"],
}
#: statements that write or change the session: refused as such, on both engines
WRITES = ["COPY (SELECT 1) TO '{root}/x.csv'", "EXPORT DATABASE '{root}/d'",
          "INSTALL httpfs", "LOAD httpfs", "SET threads = 1", "RESET threads", "CALL f()",
          "CHECKPOINT", "USE memory", "TRUNCATE captures", "DELETE FROM captures",
          "INSERT INTO captures VALUES (1)", "ATTACH '{root}/a.db' AS a", "VACUUM",
          "/* c */ (copy captures TO '{root}/y.csv')"]
TYPOS = ["SELEC 1", "captures", "FORM captures"]


@pytest.fixture(scope="module", params=["sqlite", "parquet"])
def opened(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("refusals")
    return request.param, imported_lab(root, [b'{"a": 1}'], request.param), root


def test_what_the_engine_runs_it_runs(opened) -> None:  # noqa: ANN001
    engine, lab, _ = opened
    for q in ACCEPTED[engine]:
        lab.sql(q)  # (no ReadOnlyError)


@pytest.mark.parametrize("statement", WRITES)
def test_a_write_is_refused_naming_what_this_engine_runs(opened, statement: str) -> None:  # noqa: ANN001
    engine, lab, root = opened
    with pytest.raises(ReadOnlyError) as caught:
        lab.sql(statement.format(root=root))
    said = str(caught.value)
    assert "typo" not in said, said
    assert "read-only" in said or "reads the dataset only" in said, said
    named = re.search(r"\(use ([^)]*)\)", said)
    if named:  # every engine-level refusal that names words names this engine's
        assert named.group(1) == RUNS[engine], said
    assert not list(root.glob("*.csv")) and not (root / "d").exists()


@pytest.mark.parametrize("statement", ["PRAGMA version", "PRAGMA table_info('captures')",
                                       "PRAGMA threads = 1"])
def test_pragma_is_refused_on_a_parquet_dataset_and_read_only_ones_run_on_sqlite(
        opened, statement: str) -> None:  # noqa: ANN001
    engine, lab, _ = opened
    if engine == "sqlite":  # (table_info reads; version is no SQLite pragma, threads sets)
        if "table_info" in statement:
            assert "payload" in lab.sql(statement)["name"].tolist()
        else:
            with pytest.raises(ReadOnlyError, match="read-only: refused pragma"):
                lab.sql(statement)
        return
    with pytest.raises(ReadOnlyError, match=re.escape(f"(use {RUNS['parquet']})")):
        lab.sql(statement)


@pytest.mark.parametrize("statement", TYPOS)
def test_a_word_that_is_no_sql_is_a_typo_naming_what_this_engine_runs(
        opened, statement: str) -> None:  # noqa: ANN001
    engine, lab, _ = opened
    with pytest.raises(ReadOnlyError) as caught:
        lab.sql(statement)
    said = str(caught.value)
    assert "(a typo?)" in said and f"not {statement[:20]!r}" in said, said
    words = said.split("starts with ", 1)[1].split(", not ", 1)[0]
    assert words == RUNS[engine].replace(" a read-only ", " "), said
    if engine == "parquet":
        assert "PRAGMA" not in said


def test_an_empty_statement_names_what_this_engine_runs(opened) -> None:  # noqa: ANN001
    engine, lab, _ = opened
    with pytest.raises(ReadOnlyError, match=re.escape(f"lab.sql runs {RUNS[engine]}")):
        lab.sql("  -- nothing\n")
