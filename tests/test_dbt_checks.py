"""Every dbt test of the project fails on a row that breaks it.

The demo warehouse is built by `send-pipeline run` (every dbt test passes there). A copy has each relation a dbt
test checks frozen into a plain table (a view would carry rows added upstream into other tests), and `dbt test`
passes on it. Then, for each dbt test, one row is added to the relation it checks that breaks that test's rule
alone: a copy of a row the test's `where` keeps, with a NULL in each column a not-null test names, repeated as it
is for a unique test, with a value no other row or parent has (one per test) in the column an accepted-values or
relationships test checks, with one more in the first column a total_is_sum_of_parts test sums (a part, not its
total), and with the change an expression_is_true test declares in its `meta: breaking_row` (no rule can turn any
expression false). `dbt test` on that copy must report every test failed (warned, for a test of severity
warn), and each not_null_columns test must name every column it lists. A test no row can break (a `where` that
keeps nothing, accepted values that hold anything, a relationship to the column itself, an expression its declared
row does not break) fails here, and so does a kind of dbt test this file does not know how to break.

The same demo warehouse shows what the ingest loaded: every raw table but the ingest's own bookkeeping is a dbt
source, and its dbt docs describe every column it has (README: "dbt docs of every model and column"); every model
and seed it built lists its columns, as built, in its yml.
"""

import json
from pathlib import Path

import duckdb
import pytest

from support import dbt, dbt_statuses, dbt_test_failures, generated_and_published

KINDS = ("not_null_columns", "not_null", "unique", "unique_combination", "accepted_values", "relationships",
         "total_is_sum_of_parts", "expression_is_true")  # fmt: skip
# The ingest's own tables in schema raw (pipeline/ingest.py: ledger, quarantine, key check): not extracts, no source.
INGEST_TABLES = {
    "file_ledger",
    "quarantine",
    "pseudonym_key_check",
    "period_rules",
    "sets_in_progress",
    "reloads_pending",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    env = generated_and_published(tmp_path_factory.mktemp("dbt_checks"))
    return Path(env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"


@pytest.fixture(scope="module")
def manifest(demo, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("dbt_checks_parse")
    parsed = dbt(demo, work, "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    return json.loads((work / "target" / "manifest.json").read_text())


def relation_of(manifest: dict, unique_id: str) -> str:
    node = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
    return f'{node["schema"]}."{node.get("alias") or node["identifier"]}"'


def checked_relation(manifest: dict, test: dict) -> str:
    """The relation a dbt test checks (for a source test, the source table; for relationships, the child)."""
    attached = test.get("attached_node") or next(n for n in test["depends_on"]["nodes"] if n.startswith("source."))
    return relation_of(manifest, attached)


def parent_relation(manifest: dict, test: dict) -> str:
    """The relation a relationships test's `to` names (its other dependency, or the child itself)."""
    child = test["attached_node"]
    others = [n for n in test["depends_on"]["nodes"] if n != child]
    return relation_of(manifest, others[0] if others else child)


def freeze(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """The relation as a plain table of its current rows (no view, no constraint)."""
    schema, name = relation.split(".", 1)
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = $s AND table_name = $n",
        {"s": schema, "n": name.strip('"')},
    ).fetchone()[0]
    con.execute(f'CREATE TABLE {schema}."_frozen" AS SELECT * FROM {relation}')
    con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {relation}")
    con.execute(f'ALTER TABLE {schema}."_frozen" RENAME TO {name}')


def breaking_value(con: duckdb.DuckDBPyConnection, relation: str, column: str, n: int) -> str:
    """SQL of a value of the column's type that no row of any relation holds: one per test (n)."""
    schema, name = relation.split(".", 1)
    data_type = con.execute(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_schema = $s AND table_name = $n AND column_name = $c",
        {"s": schema, "n": name.strip('"'), "c": column},
    ).fetchone()[0]
    if data_type == "VARCHAR":
        return f"'zz_broken_{n}'"
    assert "INT" in data_type, f"{relation}.{column}: no breaking value for a {data_type}"
    return f"{987_654_000 + n}::{data_type}"


def break_row(con: duckdb.DuckDBPyConnection, manifest: dict, test: dict, n: int) -> None:
    """Add to the checked relation one row breaking this test: a copy of a row its `where` keeps, changed."""
    kind = test["test_metadata"]["name"]
    kwargs = test["test_metadata"]["kwargs"]
    relation = checked_relation(manifest, test)
    where = test["config"].get("where") or "true"
    if kind == "total_is_sum_of_parts":  # a part counted again, one more: its group's total no longer adds up
        first = kwargs["columns"][0]
        changes = {first: f"{first} + 1"}
        where = f"({where}) AND {kwargs['part_column']} <> '{kwargs.get('total_value', 'Total')}'"
    elif kind == "expression_is_true":
        changes = test["config"].get("meta", {}).get("breaking_row")
        assert changes, f"{test['name']}: an expression_is_true test declares its breaking row (meta: breaking_row)"
    elif kind == "not_null_columns":
        changes = {column: "NULL" for column in kwargs["columns"]}
    elif kind == "not_null":
        changes = {kwargs["column_name"]: "NULL"}
    elif kind in ("unique", "unique_combination"):
        changes = {}  # the row repeated
    elif kind in ("accepted_values", "relationships"):
        changes = {kwargs["column_name"]: breaking_value(con, relation, kwargs["column_name"], n)}
    else:
        raise AssertionError(f"{test['name']}: no way to break a dbt test of kind {kind}")
    replace = f"REPLACE ({', '.join(f'{v} AS {c}' for c, v in changes.items())})" if changes else ""
    source = relation.replace('."', '."_original_', 1)
    added = con.execute(f"INSERT INTO {relation} SELECT * {replace} FROM {source} WHERE {where} LIMIT 1").fetchone()[0]
    assert added == 1, f"{test['name']}: no row of {relation} that its where keeps"


def test_every_dbt_test_fails_on_a_row_that_breaks_it(demo, manifest, tmp_path):
    tests = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    assert len(tests) > 200 and {t["test_metadata"]["name"] for t in tests.values()} == set(KINDS)
    relations = {checked_relation(manifest, t) for t in tests.values()}
    relations |= {parent_relation(manifest, t) for t in tests.values() if t["test_metadata"]["name"] == "relationships"}
    copy = tmp_path / "send.duckdb"  # the same file name: the same catalog as the manifest's relations
    copy.write_bytes(demo.read_bytes())
    with duckdb.connect(str(copy)) as con:
        for relation in sorted(relations):
            freeze(con, relation)
    frozen = dbt(copy, tmp_path / "frozen", "test")
    assert frozen.returncode == 0, frozen.stdout[-3000:]
    assert set(dbt_statuses(tmp_path / "frozen", "test").values()) == {"pass"}
    assert set(dbt_statuses(tmp_path / "frozen", "test")) == set(tests)

    with duckdb.connect(str(copy)) as con:
        for relation in relations:  # the rows the copies are taken from: no row added for another test
            schema, name = relation.split(".", 1)
            con.execute(f'CREATE TABLE {schema}."_original_{name.strip(chr(34))}" AS SELECT * FROM {relation}')
        for n, uid in enumerate(sorted(tests)):
            break_row(con, manifest, tests[uid], n)
        for relation in relations:
            schema, name = relation.split(".", 1)
            con.execute(f'DROP TABLE {schema}."_original_{name.strip(chr(34))}"')
    broken = dbt(copy, tmp_path / "broken", "test")
    assert broken.returncode != 0
    statuses = dbt_statuses(tmp_path / "broken", "test")
    expected = {uid: "warn" if t["config"]["severity"].lower() == "warn" else "fail" for uid, t in tests.items()}
    assert {uid: s for uid, s in statuses.items() if s != expected.get(uid)} == {}
    assert set(statuses) == set(tests)
    failures = dbt_test_failures(copy, tmp_path / "broken")
    not_null_columns = {t["name"]: set(t["test_metadata"]["kwargs"]["columns"]) for t in tests.values()
                        if t["test_metadata"]["name"] == "not_null_columns"}  # fmt: skip
    assert {name: failures[name] for name in not_null_columns} == not_null_columns


def test_every_column_of_every_raw_table_is_described_in_the_dbt_sources(demo, manifest):
    """Each table the ingest loaded into raw is a dbt source whose yml lists its columns, in the table's order, each
    with a description: a column a contract adds and no yml describes fails here, and so does one the yml still
    lists after the contract dropped it."""
    with duckdb.connect(str(demo), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    loaded: dict[str, list[str]] = {}
    for table, column in rows:
        loaded.setdefault(table, []).append(column)
    assert set(loaded) >= INGEST_TABLES
    sources = {s["identifier"]: s for s in manifest["sources"].values() if s["schema"] == "raw"}
    assert set(sources) == set(loaded) - INGEST_TABLES
    problems = []
    for table, columns in sorted(loaded.items()):
        if table not in INGEST_TABLES:
            problems += documentation_problems(f"raw.{table}", sources[table], columns)
    assert problems == []


def documentation_problems(name: str, node: dict, columns: list[str]) -> list[str]:
    """What a dbt source table's, model's or seed's yml gets wrong about the relation's columns as they are: no
    description, a column not listed or listed and not there, another order, a column without a description."""
    problems = [] if node["description"].strip() else [f"{name}: no description"]
    documented = list(node["columns"])
    missing = [c for c in columns if c not in documented]
    stale = [c for c in documented if c not in columns]
    if missing or stale:
        problems.append(f"{name}: columns not documented {missing}, documented but not there {stale}")
    elif documented != columns:
        problems.append(f"{name}: columns documented in another order than the relation's")
    if undescribed := [c for c, column in node["columns"].items() if not column["description"].strip()]:
        problems.append(f"{name}: no description for {undescribed}")
    return problems


def test_every_column_of_every_model_and_seed_is_described_in_its_yml(demo, manifest):
    """Each model and seed built in the demo warehouse (the marts of every folder included) lists its columns in its
    yml, in the relation's order, each with a description, and the model itself has one: a column a model adds and
    no yml describes fails here, and so does one the yml still lists after the model dropped it."""
    with duckdb.connect(str(demo), read_only=True) as con:
        rows = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall()
    built: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        built.setdefault((schema, table), []).append(column)
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert {n["schema"] for n in nodes if n["resource_type"] == "model"} >= {"staging", "intermediate", "marts"}
    problems = []
    for node in sorted(nodes, key=lambda n: n["unique_id"]):
        name = f"{node['schema']}.{node.get('alias') or node['name']}"
        columns = built.get((node["schema"], node.get("alias") or node["name"]))
        problems += [f"{name}: not built"] if columns is None else documentation_problems(name, node, columns)
    assert problems == []
