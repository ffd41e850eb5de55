"""The BI-facing release: warehouse/published/send_reporting.duckdb, schema `reporting`.

Built from the exact marts with every count suppressed and validated (GX suites published_counts, published_ees and
published_matches_marts; no identifier column; no percentage shown beside a suppressed count, rule 5) before
anything is written; then written to warehouse/releases/.building-<id>/ with the report built from it (the caller's
write_report), renamed to releases/<id>/, and swapped in by replacing the symlink warehouse/published with
os.replace. A reader that opens published/send_reporting.duckdb or published/report/index.html sees the last good
release and its report, never half of one nor one release's report beside another's data; a failed build (a check,
the report) leaves it byte-identical.
"""

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.checks.gx import CELL_COLUMN, CELL_VALUE, SuiteResult, cells, run_suite, write_data_docs
from pipeline.ees import (
    COUNT,
    EES_TIME_IDENTIFIERS,
    GEOGRAPHY_COLUMNS,
    PublishedTable,
    column_descriptions,
    ees_frame,
    meta_frame,
    percent_texts,
    public_frame,
    whole_rows,
)
from pipeline.published_model import ModelPart, model_parts, relation_tables
from pipeline.published_tables import DATE_COLUMNS, PUBLIC_FIGURES, PUBLISHED_TABLES
from pipeline.stop_signals import raise_if_stopped
from pipeline.stored_keys import to_current_la_code, upgrade_stored_keys
from pipeline.suppression import (
    EARLIER_RELEASES,
    SuppressionResult,
    TableSet,
    earlier_release_table,
    key_from_text,
    keys_from_records,
    pattern_records,
    published_count_records,
    summary_records,
    suppress,
    table_from_frame,
    unsuppressed_since,
    verify,
)
from pipeline.suppression.derived import is_number
from pipeline.suppression.differences import EARLIER_FIGURES, difference_tables
from pipeline.suppression.model import Cell, CellKey, Table, describe
from pipeline.suppression.rules import DEFAULT_RULES, SUPPRESSED, SuppressionRules

# Column-name fragments that mean a pupil-level identifier; none may reach a published table.
IDENTIFIER_FRAGMENTS = ("upn", "pupil_id", "person_id", "register_id", "dob", "birth", "postcode", "surname",
                        "forename")  # fmt: skip
BUILDING_PREFIX = ".building-"
KEEP_RELEASES = 3  # the live release and the two before it (a BI session may still hold one open)
PATTERN_DDL = """
CREATE SCHEMA IF NOT EXISTS publication;
CREATE TABLE IF NOT EXISTS publication.suppression_pattern (
    release_id VARCHAR NOT NULL,
    published_table VARCHAR NOT NULL,
    cell_key VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS publication.published_counts (
    release_id VARCHAR NOT NULL,
    cell_key VARCHAR NOT NULL,
    value BIGINT NOT NULL
);
"""


def ensure_pattern_tables(con: duckdb.DuckDBPyConnection, home: Mapping[str, str] | None = None) -> None:
    """The publication schema's tables, their stored keys in the release's current form (with ``home``, the home
    LA's geography: keys made under a GSS code DfE gave the LA before carry its current one)."""
    con.execute(PATTERN_DDL)
    upgrade_stored_keys(con)
    if home is not None:
        to_current_la_code(con, home["old_la_code"], home["new_la_code"])


def earlier_release_folders(published: Path) -> list[Path]:
    """The releases published before and kept in releases/."""
    return [p for p in releases_dir(published).iterdir() if p.is_dir() and not p.name.startswith(BUILDING_PREFIX)]


def refuse_without_history(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Releases were published from this folder but send.duckdb holds no record of them (a warehouse rebuilt, or
    its file replaced): a new release would not know what they hid (rule 7) or showed, so it could show a count
    they hid, or one a reader subtracts from theirs. PublicationError, naming the folder."""
    history = con.execute(
        "SELECT (SELECT count(*) FROM publication.suppression_pattern) + "
        "(SELECT count(*) FROM publication.published_counts)"
    ).fetchone()[0]
    if history == 0 and (folders := earlier_release_folders(published)):
        raise PublicationError(
            f"{releases_dir(published)} holds {len(folders)} release(s) published before, but send.duckdb has no "
            "record of what they showed and hid (publication.suppression_pattern and published_counts are empty: "
            "a rebuilt warehouse?). Copy the publication schema from the warehouse that published them, or, to start "
            "a new series deliberately, move that folder and warehouse/published away"
        )


class PublicationError(RuntimeError):
    """The new release failed a blocking check; the previous release is untouched."""

    def __init__(self, message: str, checks: tuple[tuple[str, SuiteResult], ...] = ()) -> None:
        super().__init__(message)
        self.checks = checks  # (validated table, result) of the checks that ran, for the Data Docs


@dataclass(frozen=True)
class Release:
    release_id: str
    path: Path
    tables: dict[str, int]
    checks: tuple[SuiteResult, ...]
    suppression: list[dict]
    public_figures: dict = field(default_factory=dict)  # per source: cells known to the attacker, disagreeing
    report: object = None  # what publish's write_report returned


@dataclass(frozen=True)
class SuppressedRelease:
    frames: dict[str, pd.DataFrame]  # published text, EES layout
    tables: TableSet
    result: SuppressionResult


def identifier_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if any(fragment in c.lower() for fragment in IDENTIFIER_FRAGMENTS)]


def home_geography(con: duckdb.DuckDBPyConnection, la_code: str) -> dict[str, str]:
    """Region and codes of the home LA from the dbt model int_home_la_geography (DfE's latest published row for the
    LA, else the la_geography seed's): the one the marts' geography columns come from, so an LA that DfE renamed or
    recoded has one name and one code in the release, not two."""
    columns = ("region_code", "region_name", "new_la_code", "old_la_code", "la_name")
    row = con.execute(
        f"SELECT {', '.join(columns)} FROM intermediate.int_home_la_geography WHERE old_la_code = $la_code",
        {"la_code": la_code},
    ).fetchone()
    if row is None or None in row:
        raise PublicationError(
            f"LA {la_code} is not in the DfE release nor in the la_geography seed: cannot name its geography"
        )
    return dict(zip(columns, row, strict=True))


def exact_frames(con: duckdb.DuckDBPyConnection, geography: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Every published table with exact counts, in EES layout (internal: never written anywhere)."""
    return {spec.name: ees_frame(spec, con.execute(f"SELECT * FROM marts.{spec.mart}").df(), geography)
            for spec in PUBLISHED_TABLES}  # fmt: skip


def release_parts(frames: dict[str, pd.DataFrame]) -> list[tuple[str, ModelPart]]:
    return [(spec.name, part) for spec in PUBLISHED_TABLES for part in model_parts(spec, frames[spec.name])]


def release_tables(parts: list[tuple[str, ModelPart]]) -> TableSet:
    """The whole release as one set of additive tables (a population published twice is one cell), with each
    published table's relations as hidden tables (``published_model.relation_tables``)."""
    tables = [
        table_from_frame(
            part.name,
            part.frame,
            count=part.count,
            filters=part.filters,
            by=part.by,
            measure=part.measure,
            hierarchies=part.hierarchies,
        )  # fmt: skip
        for _, part in parts
    ]
    for spec in PUBLISHED_TABLES:
        tables += relation_tables(spec, [part for name, part in parts if name == spec.name])
    return TableSet(tables)


def public_tables(con: duckdb.DuckDBPyConnection, la_code: str, exact: dict[str, pd.DataFrame]):
    """Other publishers' figures for cells of this release (PUBLIC_FIGURES) as public tables of the model, and per
    source how many cells were known and how many disagreed with ours (counts only, never a value)."""
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    tables, used = [], {}
    for figures in PUBLIC_FIGURES:
        if figures.table not in exact:
            continue
        spec = specs[figures.table]
        try:
            found = con.execute(figures.query, {"la_code": la_code}).df()
        except duckdb.CatalogException:  # the source is not loaded: nothing public to add
            found = pd.DataFrame(columns=[*figures.match, "value"])
        frame, disagreeing = public_frame(spec, exact[figures.table], found, figures.match)
        cells = [
            Cell(key, int(value))
            for part in model_parts(spec, frame)
            for key, value in zip(part.keys(), part.frame[part.count], strict=True)
        ]
        if cells:
            tables.append(Table(f"public:{figures.name}", tuple(cells), public=True))
        used[figures.name] = {"source": figures.source, "cells_known": len(cells), "cells_disagreeing": disagreeing}
    return tables, used


def suppress_release(
    frames: dict[str, pd.DataFrame],
    previous: frozenset,
    public: Sequence[Table] = (),
    earlier: Mapping[CellKey, Iterable[int]] | None = None,
) -> SuppressedRelease:
    """Primary + secondary suppression over the whole release, with other publishers' figures for the same cells
    known to the attacker (`public`), and the figures our earlier releases showed (`earlier`: a reader may have
    kept them; one shown with another value or to another day is tied to this release's count by a protected
    difference, `difference_tables`), carrying the earlier pattern forward (rule 7), then the attacker as a guard:
    PublicationError unless every suppressed cell is protected."""
    parts = release_parts(frames)
    tables = TableSet([*release_tables(parts).tables, *public])
    if earlier and (shown_before := earlier_release_table(tables, earlier)) is not None:
        tables = TableSet([*tables.tables, shown_before])
    if earlier and (differences := difference_tables(tables, earlier)) is not None:  # other figures shown before
        tables = TableSet([*tables.tables, *differences])
    result = suppress(tables, previous=previous, with_intervals=False)  # the guard's attacker computes them
    if not result.safe:
        cells = ", ".join(describe(k) for k in result.unresolved[:5])
        raise PublicationError(f"{len(result.unresolved)} suppressed cell(s) cannot be protected: {cells}")
    if shown_again := unsuppressed_since(previous, result.suppressed, tables):
        cells = ", ".join(describe(k) for k in shown_again[:5])
        raise PublicationError(f"{len(shown_again)} cell(s) an earlier release hid would be shown (rule 7): {cells}")
    check = verify(tables, result.suppressed)
    if not check.safe:
        cells = ", ".join(describe(k) for k in (*check.pinned, *check.unsuppressed_primary)[:5])
        raise PublicationError(f"the attacker recovers or sees suppressed cells: {cells}")
    result = replace(result, intervals=check.intervals)
    published = {name: frame.astype({c: object for c in frame.columns}) for name, frame in frames.items()}
    for table, part in parts:
        for rows in (part.frame, part.aliases):
            if rows is None or rows.empty:
                continue
            texts = [result.published(key, value) for key, value in zip(part.keys(rows), rows[part.count], strict=True)]
            published[table].loc[rows.index, part.count] = texts
    for spec in PUBLISHED_TABLES:  # rule 5, now that the counts are suppressed
        for column, texts in percent_texts(spec, frames[spec.name], published[spec.name]).items():
            published[spec.name][column] = texts
    return SuppressedRelease(published, tables, result)


def earlier_published_counts(con: duckdb.DuckDBPyConnection) -> dict[CellKey, set[int]]:
    """Every figure an earlier release showed as a number: cell -> the values it was shown with (the publication
    tables exist: ensure_pattern_tables)."""
    shown: dict[CellKey, set[int]] = {}
    for text, value in con.execute("SELECT DISTINCT cell_key, value FROM publication.published_counts").fetchall():
        shown.setdefault(key_from_text(text), set()).add(value)
    return shown


def previous_pattern(con: duckdb.DuckDBPyConnection) -> frozenset:
    """The suppressed cells of the last published release (rule 7 carries them forward; the publication tables
    exist: ensure_pattern_tables)."""
    rows = con.execute(
        """
        SELECT cell_key FROM publication.suppression_pattern
        WHERE release_id = (SELECT max(release_id) FROM publication.suppression_pattern)
        """
    ).fetchall()
    return keys_from_records({"cell_key": r[0]} for r in rows)


def required_geography(frame: pd.DataFrame) -> list[str]:
    """EES leaves region and LA columns blank on National rows (and LA columns on Regional rows)."""
    levels = set(frame["geographic_level"]) if "geographic_level" in frame else set()
    if levels <= {"Local authority"}:
        return list(GEOGRAPHY_COLUMNS)
    return list(GEOGRAPHY_COLUMNS[:5])


def published_vs_exact(exact: dict[str, pd.DataFrame], published: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every published count cell that shows a number, beside the exact count it stands for."""
    rows = []
    for spec in PUBLISHED_TABLES:
        for column in spec.count_columns:
            shown = published[spec.name][column]
            numeric = shown.astype(str).str.fullmatch(r"\d+")
            rows.append(pd.DataFrame({
                "published": shown[numeric].astype("int64"),
                "exact": exact[spec.name].loc[numeric[numeric].index, column].astype("int64"),
            }))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def check_against_marts(exact: dict[str, pd.DataFrame], published: dict[str, pd.DataFrame]) -> SuiteResult:
    result = run_suite("published_matches_marts", published_vs_exact(exact, published))
    if not result.success:
        raise PublicationError(
            f"release not published, previous release left in place: {result.summary()}", (("release", result),)
        )
    return result


def ees_columns(frame: pd.DataFrame, spec) -> list[str]:
    """The columns EES requires of a published table: geography, time and filters, indicators."""
    return [*required_geography(frame), *spec.by, *spec.filter_columns, *spec.indicator_columns]


def release_cells(frames: dict[str, pd.DataFrame], columns: dict[str, list[str]]) -> pd.DataFrame:
    """The cells of each table's ``columns[table]`` as one frame (gx.cells), each named ``<table>.<column>``."""
    parts = []
    for table, frame in frames.items():
        part = cells(frame, columns[table])
        parts.append(part.assign(**{CELL_COLUMN: table + "." + part[CELL_COLUMN].astype(str)}))
    return pd.concat(parts, ignore_index=True) if parts else cells(pd.DataFrame(), [])


DATE_CELL = "date_column"  # in the EES check's cells: True where the cell's column is a date


def with_date_flag(named_cells: pd.DataFrame) -> pd.DataFrame:
    """Cells named <table>.<column> with DATE_CELL: the column is one of DATE_COLUMNS or is named *_date."""
    column = named_cells[CELL_COLUMN].astype(str).str.rsplit(".", n=1).str[-1]
    return named_cells.assign(**{DATE_CELL: column.isin(DATE_COLUMNS) | column.str.endswith("_date")})


RULE_5 = "rule_5"  # in rule_5_cells: True where rule 5 requires the percentage to be a symbol, not a number


def rule_5_flags(spec: PublishedTable, frame: pd.DataFrame, rules: SuppressionRules = DEFAULT_RULES) -> dict:
    """Per percentage column of a published table, True on each row whose percentage rule 5 requires to be a symbol:
    its count or its whole is `c` (percentage x whole gives the count back, count / percentage the whole), or, for a
    percentage of children, its whole is under ``rules.rate_min_denominator``. A percentage whose count or whole
    column is missing is left to the EES check."""
    flags = {}
    keys = frame.reindex(columns=spec.key_columns)  # a key column the table lacks matches every row alike
    kinds = {i.column: i.kind for i in spec.indicators}
    for indicator in spec.percent_indicators:
        whole_column = indicator.denominator or indicator.numerator
        if not {indicator.column, indicator.numerator, whole_column} <= set(frame.columns):
            continue
        whole = frame[whole_column].reindex(whole_rows(spec, keys, indicator.of_total)).to_numpy()
        hidden = (frame[indicator.numerator] == SUPPRESSED).to_numpy() | (whole == SUPPRESSED)
        if kinds[indicator.numerator] == COUNT:  # of children: a whole of 1 to 9 shown is itself too few
            hidden |= (pd.to_numeric(pd.Series(whole), errors="coerce") < rules.rate_min_denominator).to_numpy()
        flags[indicator.column] = hidden
    return flags


def rule_5_cells(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every percentage cell of the release, named ``<table>.<column>``, with RULE_5 (``rule_5_flags``): what the
    published_rates suite validates."""
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    parts = [
        pd.DataFrame({CELL_COLUMN: f"{table}.{column}", CELL_VALUE: frame[column].astype(object), RULE_5: flags})
        for table, frame in frames.items()
        for column, flags in rule_5_flags(specs[table], frame).items()
    ]
    empty = pd.DataFrame({CELL_COLUMN: [], CELL_VALUE: [], RULE_5: pd.Series([], dtype=bool)})
    return pd.concat(parts, ignore_index=True) if parts else empty


def shown_beside_suppressed(rule_5: pd.DataFrame) -> dict[str, int]:
    """Of ``rule_5_cells``, per ``<table>.<column>``, how many cells rule 5 requires to be a symbol show a number.
    Counts of cells only, never a value."""
    shown = rule_5[CELL_VALUE].map(lambda text: is_number(str(text))).astype(bool)
    return rule_5[rule_5[RULE_5].astype(bool) & shown].groupby(CELL_COLUMN).size().to_dict()


def check_frames(frames: dict[str, pd.DataFrame]) -> tuple[tuple[str, SuiteResult], ...]:
    """Every blocking check of the release, as (what was validated, result); raises PublicationError naming the
    failures.

    Each suite validates the cells of the whole release at once (GX's cost is per validation and per expectation:
    the demo's 38 validations table by table took ~0.6 s, these three ~0.1 s): the count cells, the percentage
    cells and the EES columns' cells, the last naming the ``<table>.<column>`` of a failing cell. The count suite
    reports how many cells failed, never which values (nor, so, where: GX names rows only by copying their values);
    when it fails, the release is blocked and every table is validated again on its own, so the failure also names
    the table and the column. A percentage shown as a number beside a `c` count or whole, or over fewer than ten
    children (rule 5: the published_rates suite over every percentage cell), blocks the release too, named by table
    and column with how many cells.
    """
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    problems = [
        f"{table}: identifier column(s) {', '.join(leaked)}"
        for table, frame in frames.items()
        if (leaked := identifier_columns(frame))
    ]
    percentages = rule_5_cells(frames)
    rule_5 = run_suite("published_rates", percentages)  # counts only: no value reaches the Data Docs
    if not rule_5.success:
        problems += [
            f"{column}: {n} percentage(s) shown beside a suppressed count or whole, or of too few children (rule 5)"
            for column, n in shown_beside_suppressed(percentages).items()
        ] or [f"release_percentage_rule_5: {rule_5.summary()}"]
    counts = {table: specs[table].count_columns for table in frames}
    percents = {table: specs[table].percent_columns for table in frames}
    required = {table: ees_columns(frame, specs[table]) for table, frame in frames.items()}
    results = [
        ("release_count_cells", run_suite(
            "published_counts", release_cells(frames, counts), columns={"count_column": [CELL_VALUE]}
        )),
        ("release_percentage_cells", run_suite(
            "published_counts", release_cells(frames, percents), columns={"percent_column": [CELL_VALUE]}
        )),
        ("release_percentage_rule_5", rule_5),
    ]  # fmt: skip
    failed = [f"{name}: {result.summary()}" for name, result in results if not result.success]
    if failed:
        problems += failed  # blocking whatever the tables alone say
        for table, frame in frames.items():
            columns = {"count_column": counts[table], "percent_column": percents[table]}
            result = run_suite("published_counts", frame, columns)
            results.append((table, result))
            if not result.success:
                problems.append(f"{table}: {result.summary()}")
    named = [f"{table}.{column}" for table, columns in required.items() for column in columns]
    ees = run_suite(
        "published_ees",
        with_date_flag(release_cells(frames, required)),
        {"ees_column": named, "ees_time_identifier": list(EES_TIME_IDENTIFIERS)},
        index_columns=(CELL_COLUMN,),
    )
    results.append(("release_ees_cells", ees))
    if not ees.success:
        problems.append(f"release_ees_cells: {ees.summary()}")
    if problems:
        message = "release not published, previous release left in place: " + " | ".join(problems)
        raise PublicationError(message, tuple(results))
    return tuple(results)


def run_checks(
    exact: dict[str, pd.DataFrame], published: dict[str, pd.DataFrame], quality_dir: Path | None, run_name: str
) -> tuple[SuiteResult, ...]:
    """Every blocking check of a release; their results go to the Data Docs whether they pass or not."""
    results: tuple[tuple[str, SuiteResult], ...] = ()
    try:
        results = check_frames(published)
        results += (("release", check_against_marts(exact, published)),)
    except PublicationError as error:
        results += error.checks
        raise
    finally:
        if quality_dir is not None:
            write_data_docs(quality_dir, run_name, results)
    return tuple(result for _, result in results)


RELEASE_TABLE_DESCRIPTION = "One row: which release this file is, when it was built and what it suppressed"
RELEASE_COLUMN_DESCRIPTIONS = {
    "release_id": "The release's id (also in a column of every table of the release)",
    "built_at": "When the release was built (UTC)",
    "tables": "The release's tables in schema reporting",
    "suppression_summary": "Per table: its count cells and how many are suppressed (c)",
}


def sql_literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes a literal, not a parameter)."""
    return "'" + text.replace("'", "''") + "'"


def comment_on(out: duckdb.DuckDBPyConnection, table: str, title: str, columns: dict[str, str]) -> None:
    """The table's and its columns' descriptions, stored in the file (duckdb_tables() / duckdb_columns().comment,
    shown by BI tools). Every column of the table must have one."""
    out.execute(f"COMMENT ON TABLE reporting.{table} IS {sql_literal(title)}")
    stored = [r[0] for r in out.execute(f"SELECT column_name FROM (DESCRIBE reporting.{table})").fetchall()]
    missing = [c for c in stored if not columns.get(c)]
    if missing:
        raise ValueError(f"reporting.{table}: no description for column(s) {', '.join(missing)}")
    for column in stored:
        out.execute(f'COMMENT ON COLUMN reporting.{table}."{column}" IS {sql_literal(columns[column])}')


READ_ONLY = 0o444  # the release file: r--r--r--


def write_reporting_db(
    path: Path, frames: dict[str, pd.DataFrame], release_id: str, built_at: datetime, summary: list[dict]
) -> None:
    """The release's DuckDB file. Every table carries release_id, so a reader can check it saw one release; every
    table and column carries its description. Left without write permission (a release never changes): a BI tool
    that opens it read-write (the DuckDB command line's default) would hold DuckDB's lock and keep every other reader
    out; it is refused instead ("Permission denied"; root excepted) and opens it read-only."""
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    with duckdb.connect(str(path)) as out:
        out.execute("BEGIN TRANSACTION")  # one commit for the file (each COMMENT ON alone is a commit: ~2x slower)
        out.execute("CREATE SCHEMA reporting")
        for table, frame in frames.items():
            out.register("_frame", frame)
            out.execute(
                f"CREATE TABLE reporting.{table} AS SELECT *, $release_id AS release_id FROM _frame",
                {"release_id": release_id},
            )
            out.unregister("_frame")
            comment_on(out, table, specs[table].title, column_descriptions(specs[table]))
        out.execute(
            "CREATE TABLE reporting.release AS SELECT $release_id AS release_id, $built_at::TIMESTAMPTZ AS built_at, "
            "$tables::VARCHAR[] AS tables, $summary::JSON AS suppression_summary",
            {"release_id": release_id, "built_at": built_at, "tables": sorted(frames), "summary": json.dumps(summary)},
        )
        comment_on(out, "release", RELEASE_TABLE_DESCRIPTION, RELEASE_COLUMN_DESCRIPTIONS)
        out.execute("COMMIT")
        out.execute("CHECKPOINT")
    path.chmod(READ_ONLY)


def write_ees(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    """EES open-data files: <table>.csv (UTF-8, symbols as published) and <table>.meta.csv."""
    folder.mkdir()
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    for table, frame in frames.items():
        frame.to_csv(folder / f"{table}.csv", index=False)
        meta_frame(specs[table]).to_csv(folder / f"{table}.meta.csv", index=False)


def write_parquet(folder: Path, frames: dict[str, pd.DataFrame], release_id: str) -> None:
    """The tables as Parquet, each row with its release_id as in send_reporting.duckdb: a reader of several files
    can check they come from one release (the EES CSVs keep EES's columns only: their release is their folder)."""
    folder.mkdir()
    with duckdb.connect() as con:
        for table, frame in frames.items():
            con.register("_frame", frame)
            con.execute(
                f"COPY (SELECT *, $release_id AS release_id FROM _frame) TO '{folder / (table + '.parquet')}' "
                "(FORMAT parquet)",
                {"release_id": release_id},
            )
            con.unregister("_frame")


def releases_dir(published: Path) -> Path:
    return published.parent / "releases"


def swap_in(published: Path, release_folder: Path) -> None:
    """Point `published` at the new release folder in one rename (a symlink replaced atomically).

    A reader resolves the link when it opens a file, so it gets the old release or the new one, never a mix.
    A `published` left as a real folder by an older version is moved into releases/ once.
    """
    if published.exists() and not published.is_symlink():
        # "00000000-" sorts before every release id, so pruning treats it as the oldest
        os.replace(published, releases_dir(published) / f"00000000-legacy-{uuid.uuid4().hex[:8]}")
    link = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}")
    link.symlink_to(os.path.relpath(release_folder, published.parent), target_is_directory=True)
    os.replace(link, published)


def prune_releases(published: Path, keep: int = KEEP_RELEASES) -> None:
    """Keep the live release and the newest few before it; remove abandoned builds and older releases."""
    live = published.resolve() if published.is_symlink() else None
    folders = sorted((p for p in releases_dir(published).iterdir() if p.is_dir()), key=lambda p: p.name)
    for folder in folders:
        if folder.name.startswith(BUILDING_PREFIX) and folder != live:
            shutil.rmtree(folder, ignore_errors=True)
    finished = sorted(earlier_release_folders(published), key=lambda p: p.name)
    for folder in finished[:-keep]:
        if folder != live:
            shutil.rmtree(folder, ignore_errors=True)


def publish(
    internal: duckdb.DuckDBPyConnection,
    published: Path,
    la_code: str,
    quality_dir: Path | None = None,
    write_report: Callable[[Path], object] | None = None,
) -> Release:
    """Build, suppress, check and swap in a new release. `published` is the BI-facing path (a link to
    releases/<id>/). `internal` is a read-write connection to send.duckdb (the pattern is stored there). With
    `quality_dir`, the checks' results (passed or failed) go to its GX Data Docs. `write_report` is called with the
    new release's folder once its tables are written, before anything is committed or swapped in: it writes the
    report from them into the folder (its result is Release.report), and when it raises, nothing is published."""
    releases = releases_dir(published)
    releases.mkdir(parents=True, exist_ok=True)
    prune_releases(published)
    built_at = datetime.now(UTC)
    release_id = built_at.strftime("%Y%m%dT%H%M%S%fZ-") + uuid.uuid4().hex[:6]
    home = home_geography(internal, la_code)
    exact = exact_frames(internal, home)
    public, public_used = public_tables(internal, la_code, exact)
    ensure_pattern_tables(internal, home)
    refuse_without_history(internal, published)
    earlier = earlier_published_counts(internal)
    release = suppress_release(exact, previous_pattern(internal), public, earlier)
    shown_before = next((t for t in release.tables.tables if t.name == EARLIER_RELEASES), None)
    other_figures = next((t for t in release.tables.tables if t.name == EARLIER_FIGURES), None)
    public_used[EARLIER_RELEASES] = {
        "source": "this project's earlier releases",
        "cells_known": len(shown_before.cells) if shown_before else 0,
        "cells_disagreeing": 0,  # a figure shown with another value is known too: EARLIER_FIGURES
    }
    if other_figures is not None:
        public_used[EARLIER_FIGURES] = {
            "source": "this project's earlier releases, figures since changed or counted to another day",
            "cells_known": len(other_figures.cells),
            "cells_disagreeing": 0,  # each is tied to this release's count by a protected difference
        }
    checks = run_checks(exact, release.frames, quality_dir, release_id)
    summary = summary_records(release.tables, release.result)
    building = releases / f"{BUILDING_PREFIX}{release_id}"
    building.mkdir()
    try:
        write_reporting_db(building / "send_reporting.duckdb", release.frames, release_id, built_at, summary)
        write_ees(building / "ees", release.frames)
        write_parquet(building / "parquet", release.frames, release_id)
        report = write_report(building) if write_report is not None else None
        raise_if_stopped()  # a stop signal whose exception native code dropped: nothing committed nor swapped in
        final = releases / release_id
        os.replace(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    # The pattern and the figures are committed before the swap, never after it: a commit that fails (a full disk, a
    # process killed) then leaves the previous release live, while a swap that fails after the commit leaves stored
    # figures of a release nobody saw, which only makes later releases' attacker stronger (a release live without
    # them would let the next one show a cell this one hid).
    internal.execute("BEGIN TRANSACTION")
    try:
        records = pattern_records(release.tables, release.result)
        if records:  # executemany refuses an empty list: a release may suppress nothing
            internal.executemany(
                "INSERT INTO publication.suppression_pattern (release_id, published_table, cell_key, reason) "
                "VALUES (?, ?, ?, ?)",
                [(release_id, r["table"], r["cell_key"], r["reason"]) for r in records],
            )
        # the figures not shown before (the table keeps the first release to show each value)
        shown = published_count_records(release.tables, release.result, earlier)
        if shown:
            internal.executemany(
                "INSERT INTO publication.published_counts (release_id, cell_key, value) VALUES (?, ?, ?)",
                [(release_id, r["cell_key"], r["value"]) for r in shown],
            )
        internal.execute("COMMIT")
    except BaseException:
        internal.execute("ROLLBACK")
        raise
    swap_in(published, final)
    prune_releases(published)
    tables = {t: len(f) for t, f in release.frames.items()}
    return Release(release_id, published / "send_reporting.duckdb", tables, checks, summary, public_used, report)
