"""EHC needs assessment / SEN2 events: contracts, reader and Dagster asset.

Contract (the brief's SOURCES.md "EHC needs assessment / SEN2 events", not in this repository: this docstring is
the contract), files ``raw/ehcna/<module>_<extract date>.csv|xlsx``,
one file per module, exported together from the case-management system (e.g. ``request_2023-06-30.csv``):

* ``person_``: person_id, upn, dob, sex, ethnicity, postcode -> raw.ehcna_persons
* ``request_``: request_id, person_id, received_date, request_outcome, request_outcome_date -> raw.ehcna_requests
* ``assessment_``: assessment_id, request_id, assessment_outcome, assessment_outcome_date, week20_exception
  -> raw.ehcna_assessments
* ``plan_``: plan_id, assessment_id, start_date, cease_date, cease_reason, primary_need -> raw.ehcna_plans
* ``annual_review_``: plan_id, review_date, due_date -> raw.ehcna_annual_reviews

Every column named here must be in the header (a missing one fails the whole extract set, naming file and
column, before anything is loaded); values may be empty where the rules below allow it.

The extract date is the file name's: ``<module>_<YYYY-MM-DD>``, then anything (``request_2023-06-30_corrected.csv``).
A file under raw/ehcna/ no module reads - its name gives no date, or no such day, or starts with no module's name
(``requests_...``), or it is in a subfolder - fails the whole set naming it, before anything is loaded, and stops
``send-pipeline run``, the schedule and the sensor before they start (``pipeline.drop_zone.unread_ehcna_files``: the
names are defined there, with no Dagster or DuckDB, for those checks). Every
row keeps its file's date (``extract_date``), and an event dated after it cannot have been seen by the extract (a
cease date entered ahead, a typing error): the row is quarantined, ``<column>_after_extract_date`` (dob,
received_date, request_outcome_date, assessment_outcome_date, start_date, cease_date, review_date; not due_date:
a review falls due after the extract).

Codes, as SEN2 defines them:

* request_outcome (did the request proceed to assessment) and assessment_outcome (was it decided to issue a
  plan): ``Y`` yes, ``N`` no, ``A`` decision yet to be made, ``W`` withdrawn or ceased before a decision,
  ``H`` historical (decided before the period the system holds; a plan transferred in from another LA too).
  The outcome date is required with Y/N for a request and with N for an assessment (for an assessment with
  Y it is the date the plan was issued, empty while the plan is not yet issued); it must be empty with A.
* week20_exception: 1 when an exception to the 20-week time limit applies, 0 when not (true/false, Y/N are
  read too); required once the assessment outcome is Y or N.
* cease_reason (SEN2 item "reason EHC plan ceased"): 1 maximum age, 2 needs met without a plan, 3 higher
  education, 4 paid employment/apprenticeship, 5 transferred to another LA, 6 no longer wishes to engage,
  7 moved outside England, 8 deceased, 9 other. Required exactly when cease_date is given.
* primary_need (added to the plan module: SEN2 records the SEN type on the plan, and a child's need can differ
  from one plan to the next): the CBDS SEN type codes, AUT accepted (recoded to ASD in dbt staging); NSA is
  not an EHC plan need.

Pseudonymisation: person_id and the UPN become the same keyed HMAC as every other source (the UPN pseudonym is
``pupil_id``, equal to the census ``pupil_id`` of the same UPN). The record ids (request, assessment, plan)
also become pseudonyms: in the case-management system they lead straight to a child. The date of birth is
reduced to its month, the postcode to its district; names never enter the warehouse.

Referential rules are quarantine rules, checked within the extract set: the modules are ingested parent first
(person, request, assessment, plan, annual review) and a row whose parent is not in the warehouse is
quarantined (``person_not_in_person_module`` ...); a quarantined parent therefore takes its children with it,
by rule, visibly. Rules that need the parent's values are checked the same way (an assessment whose request did
not proceed to assessment, an assessment decided before the decision to assess, a plan issued before its request was
received or starting before its assessment's outcome date, the date the plan was issued: the 20-week measure counts
to the plan's start_date, ...). When a file of one module is
loaded (new, changed, corrected), the files of the modules after it are loaded again, unchanged or not, so their
rows are checked against the parents as they now are, as a build from raw/ would check them (a child whose parent
left is quarantined, one whose parent arrived is loaded); a load of the set stopped between modules (killed, a step
retried) is recorded in ``raw.sets_in_progress``, and the next run loads every module again; dbt ``relationships``
tests on the staging models flag any orphan all the same.

Each file is the module's full history as at its extract date, so every file of a module covers the same
period (``extract_scope = 'full_history'``): a later or corrected extract replaces every earlier file of that
module, whatever its name. Files are taken oldest name first (the date, then what follows it). The modules' dates
may differ (one module extracted again alone is loaded, its rows checked against its parents as they are): the
set's "data as at" is then the earliest of the modules' extract dates (dbt ``int_ehcp_reporting_periods``), so no
period is counted past what every module covers.

Timeliness (6 and 20 weeks) is never read from the extract: dbt computes it from the dates
(``int_ehcna_requests_timed``, ``int_ehcna_plans_timed``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.drop_zone import (
    EHCNA_SOURCE,
    ehcna_name_pattern,
    unread_ehcna_files,
    unread_ehcna_message,
)
from pipeline.ingest import (
    MACROS,
    Contract,
    ExtractError,
    FileResult,
    Rule,
    drop_staged,
    ensure_raw_schema,
    ensure_target_table,
    ingest_source,
    is_bool,
    is_date,
    one_of,
    required,
    source_files,
    sql_list,
    stage_extract,
)
from pipeline.nightly_state import REMOVED
from pipeline.postcode import postcode_district_sql
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import DUCKDB_WRITER_POOL, TRANSIENT_RETRY, SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources.asset_support import (
    configured_or_fail,
    ingest_metadata,
    not_retried,
)
from pipeline.sources.census import ETHNICITIES, SEN_NEEDS
from pipeline.upn import upn_rules

SOURCE = EHCNA_SOURCE
EXTRACT_SCOPE = "full_history"
OUTCOMES = ("Y", "N", "A", "W", "H")
SEXES = ("M", "F", "U")
CEASE_REASONS = tuple(str(code) for code in range(1, 10))
PLAN_NEEDS = tuple(code for code in SEN_NEEDS if code != "NSA")  # NSA: SEN support only, never an EHC plan

# The referential rules compare a row's pseudonymised id with its parent table. Rules run without query
# parameters, so the padded key reaches them as session variables (set by ingest_ehcna, reset after it),
# never as SQL text.
_IPAD_VARIABLE, _OPAD_VARIABLE = "ehcna_hmac_ipad", "ehcna_hmac_opad"
_KEY_GUARD = (
    f"SELECT CASE WHEN getvariable('{_IPAD_VARIABLE}') IS NULL OR getvariable('{_OPAD_VARIABLE}') IS NULL "
    "THEN error('the EHCNA contracts check references between modules: ingest them with ingest_ehcna()') END;"
)


def rule_pseudonym_sql(expression: str) -> str:
    """The same HMAC as hmac_sql(), reading the padded key from the session variables set by ingest_ehcna."""
    return (
        hmac_sql(expression)
        .replace("$hmac_ipad", f"getvariable('{_IPAD_VARIABLE}')")
        .replace("$hmac_opad", f"getvariable('{_OPAD_VARIABLE}')")
    )


@dataclass(frozen=True)
class Module:
    name: str  # file prefix and the word used in rule names
    table: str  # raw.<table>
    columns: tuple[str, ...]  # all required in the header


MODULES: tuple[Module, ...] = (
    Module("person", "ehcna_persons", ("person_id", "upn", "dob", "sex", "ethnicity", "postcode")),
    Module(
        "request",
        "ehcna_requests",
        ("request_id", "person_id", "received_date", "request_outcome", "request_outcome_date"),
    ),
    Module(
        "assessment",
        "ehcna_assessments",
        ("assessment_id", "request_id", "assessment_outcome", "assessment_outcome_date", "week20_exception"),
    ),
    Module(
        "plan",
        "ehcna_plans",
        ("plan_id", "assessment_id", "start_date", "cease_date", "cease_reason", "primary_need"),
    ),
    Module("annual_review", "ehcna_annual_reviews", ("plan_id", "review_date", "due_date")),
)


def _after_extract_date(column: str) -> Rule:
    """An event dated after the extract date its file's name gives (entered ahead, or a typing error): the extract
    cannot have seen it happen, and it would move the extract's "data as at" past the date."""
    return Rule(column, f"{column}_after_extract_date", f"send_date({column}) > send_date(extract_date)")


def _duplicate(column: str, *partition: str) -> Rule:
    keys = ", ".join(partition or (column,))
    return Rule(column, "duplicate_in_file", f"{column} IS NOT NULL AND count(*) OVER (PARTITION BY {keys}) > 1")


def _parent_exists(column: str, parent_table: str, parent_column: str, parent: str) -> Rule:
    return Rule(
        column,
        f"{column.removesuffix('_id')}_not_in_{parent}_module",
        f"{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM (SELECT {parent_column} AS _parent_key "
        f"FROM raw.{parent_table}) WHERE _parent_key = {rule_pseudonym_sql(column)})",
    )


# The parent's columns are renamed (_key, _value) inside the subqueries, so a bare column name in the id
# expression still means the extract row's column (raw.ehcna_requests has a request_id too).
def _lookup(table: str, key_column: str, id_sql: str, column: str) -> str:
    """SQL for one column of the parent row a (pseudonymised) id points to; NULL when there is none."""
    return (
        f"(SELECT min(_value) FROM (SELECT {key_column} AS _key, {column} AS _value FROM raw.{table}) "
        f"WHERE _key = {id_sql})"
    )


def _request_of(request_id_sql: str, column: str) -> str:
    return _lookup("ehcna_requests", "request_id", request_id_sql, column)


def _assessment_of(assessment_id_sql: str, column: str) -> str:
    return _lookup("ehcna_assessments", "assessment_id", assessment_id_sql, column)


def _plan_of(plan_id_sql: str, column: str) -> str:
    return _lookup("ehcna_plans", "plan_id", plan_id_sql, column)


def person_rules() -> tuple[Rule, ...]:
    return (
        required("person_id"),
        _duplicate("person_id"),
        *upn_rules(),
        required("dob"),
        is_date("dob"),
        _after_extract_date("dob"),
        required("sex"),
        one_of("sex", SEXES),
        one_of("ethnicity", ETHNICITIES),
        Rule("postcode", "postcode_not_a_uk_postcode",
             f"postcode IS NOT NULL AND {postcode_district_sql('postcode')} IS NULL"),
    )  # fmt: skip


def request_rules() -> tuple[Rule, ...]:
    outcome = "upper(request_outcome)"
    return (
        required("request_id"),
        _duplicate("request_id"),
        required("person_id"),
        _parent_exists("person_id", "ehcna_persons", "person_id", "person"),
        required("received_date"),
        is_date("received_date"),
        _after_extract_date("received_date"),
        required("request_outcome"),
        one_of("request_outcome", OUTCOMES),
        is_date("request_outcome_date"),
        _after_extract_date("request_outcome_date"),
        Rule("request_outcome_date", "required_with_outcome_y_or_n",
             f"{outcome} IN ('Y', 'N') AND request_outcome_date IS NULL"),
        Rule("request_outcome_date", "given_while_decision_pending",
             f"{outcome} = 'A' AND request_outcome_date IS NOT NULL"),
        Rule("request_outcome_date", "before_received_date",
             "send_date(request_outcome_date) < send_date(received_date)"),
    )  # fmt: skip


def assessment_rules() -> tuple[Rule, ...]:
    outcome = "upper(assessment_outcome)"
    request = rule_pseudonym_sql("request_id")
    return (
        required("assessment_id"),
        _duplicate("assessment_id"),
        required("request_id"),
        _parent_exists("request_id", "ehcna_requests", "request_id", "request"),
        Rule("request_id", "request_did_not_proceed_to_assessment",
             f"request_id IS NOT NULL AND {_request_of(request, 'request_outcome')} NOT IN ('Y', 'H')"),
        required("assessment_outcome"),
        one_of("assessment_outcome", OUTCOMES),
        is_date("assessment_outcome_date"),
        _after_extract_date("assessment_outcome_date"),
        Rule("assessment_outcome_date", "required_with_outcome_n",
             f"{outcome} = 'N' AND assessment_outcome_date IS NULL"),
        Rule("assessment_outcome_date", "given_while_decision_pending",
             f"{outcome} = 'A' AND assessment_outcome_date IS NOT NULL"),
        Rule("assessment_outcome_date", "before_request_received_date",
             f"send_date(assessment_outcome_date) < {_request_of(request, 'received_date')}"),
        Rule("assessment_outcome_date", "before_request_outcome_date",
             f"send_date(assessment_outcome_date) < {_request_of(request, 'request_outcome_date')}"),
        is_bool("week20_exception"),
        Rule("week20_exception", "required_with_outcome_y_or_n",
             f"{outcome} IN ('Y', 'N') AND week20_exception IS NULL"),
    )  # fmt: skip


def plan_rules() -> tuple[Rule, ...]:
    assessment = rule_pseudonym_sql("assessment_id")
    request = _assessment_of(assessment, "request_id")
    return (
        required("plan_id"),
        _duplicate("plan_id"),
        required("assessment_id"),
        _duplicate("assessment_id"),  # one assessment issues one plan
        _parent_exists("assessment_id", "ehcna_assessments", "assessment_id", "assessment"),
        Rule("assessment_id", "assessment_did_not_decide_to_issue",
             f"assessment_id IS NOT NULL AND {_assessment_of(assessment, 'assessment_outcome')} NOT IN ('Y', 'H')"),
        required("start_date"),
        is_date("start_date"),
        _after_extract_date("start_date"),
        Rule("start_date", "before_request_received_date",
             f"send_date(start_date) < {_request_of(request, 'received_date')}"),
        Rule("start_date", "before_assessment_outcome_date",
             f"send_date(start_date) < {_assessment_of(assessment, 'assessment_outcome_date')}"),
        is_date("cease_date"),
        _after_extract_date("cease_date"),
        Rule("cease_date", "before_start_date", "send_date(cease_date) < send_date(start_date)"),
        one_of("cease_reason", CEASE_REASONS),
        Rule("cease_reason", "required_with_cease_date", "cease_date IS NOT NULL AND cease_reason IS NULL"),
        Rule("cease_reason", "given_without_cease_date", "cease_date IS NULL AND cease_reason IS NOT NULL"),
        required("primary_need"),
        Rule("primary_need", "nsa_is_not_an_ehc_plan_need", "upper(primary_need) = 'NSA'"),
        one_of("primary_need", (*PLAN_NEEDS, "NSA")),
    )  # fmt: skip


def annual_review_rules() -> tuple[Rule, ...]:
    plan = rule_pseudonym_sql("plan_id")
    return (
        required("plan_id"),
        _parent_exists("plan_id", "ehcna_plans", "plan_id", "plan"),
        required("due_date"),
        is_date("due_date"),
        _duplicate("due_date", "plan_id", "send_date(due_date)"),
        Rule("due_date", "before_plan_start_date", f"send_date(due_date) < {_plan_of(plan, 'start_date')}"),
        is_date("review_date"),
        _after_extract_date("review_date"),
        Rule("review_date", "before_plan_start_date", f"send_date(review_date) < {_plan_of(plan, 'start_date')}"),
    )  # fmt: skip


LOAD_SELECTS: dict[str, str] = {
    "person": f"""
        {hmac_sql("person_id")} AS person_id,
        {hmac_sql("upper(upn)")} AS pupil_id,
        date_trunc('month', send_date(dob))::DATE AS birth_month,
        upper(sex) AS sex,
        upper(ethnicity) AS ethnicity,
        {postcode_district_sql("postcode")} AS postcode_district
    """,
    "request": f"""
        {hmac_sql("request_id")} AS request_id,
        {hmac_sql("person_id")} AS person_id,
        send_date(received_date) AS received_date,
        upper(request_outcome) AS request_outcome,
        send_date(request_outcome_date) AS request_outcome_date
    """,
    "assessment": f"""
        {hmac_sql("assessment_id")} AS assessment_id,
        {hmac_sql("request_id")} AS request_id,
        upper(assessment_outcome) AS assessment_outcome,
        send_date(assessment_outcome_date) AS assessment_outcome_date,
        send_bool(week20_exception) AS week20_exception
    """,
    "plan": f"""
        {hmac_sql("plan_id")} AS plan_id,
        {hmac_sql("assessment_id")} AS assessment_id,
        send_date(start_date) AS start_date,
        send_date(cease_date) AS cease_date,
        cease_reason,
        upper(primary_need) AS primary_need
    """,
    "annual_review": f"""
        {hmac_sql("plan_id")} AS plan_id,
        send_date(due_date) AS due_date,
        send_date(review_date) AS review_date
    """,
}
RULES: dict[str, Callable[[], tuple[Rule, ...]]] = {
    "person": person_rules,
    "request": request_rules,
    "assessment": assessment_rules,
    "plan": plan_rules,
    "annual_review": annual_review_rules,
}


def module_contract(module: Module, key: bytes) -> Contract:
    return Contract(
        source=SOURCE,
        target_table=f"raw.{module.table}",
        file_glob=f"{module.name}_*",
        required_columns=module.columns,
        optional_columns=(),
        rules=RULES[module.name](),
        load_select=LOAD_SELECTS[module.name]
        + f", '{EXTRACT_SCOPE}' AS extract_scope, send_date(extract_date) AS extract_date",
        params=hmac_pads(key),
        period_column="extract_scope",
        macros=_KEY_GUARD,
        name_pattern=ehcna_name_pattern(module.name),  # the extract date, from the file's name
    )


def ehcna_contracts(key: bytes) -> tuple[Contract, ...]:
    """The five module contracts, parents first (the order ingest_ehcna loads them in)."""
    return tuple(module_contract(module, key) for module in MODULES)


def _preflight(con: duckdb.DuckDBPyConnection, contracts: tuple[Contract, ...], raw_dir: Path) -> None:
    """Read every header of the set before loading anything: a file no module reads (misnamed, no extract date, in a
    subfolder) or a broken file fails the set, naming file and column."""
    if unread := unread_ehcna_files(raw_dir):  # a misnamed module would otherwise go missing without a word
        raise ExtractError(unread_ehcna_message(unread))
    for contract in contracts:
        for path in source_files(raw_dir, contract.source, contract.file_glob):
            try:
                stage_extract(con, path, str(path.relative_to(raw_dir)), contract)
            finally:
                drop_staged(con)


def upgrade_to_extract_dates(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Raw tables an earlier version loaded without the extract date: dropped, with the set's quarantine, and every
    file of the set recorded REMOVED in the ledger, in one transaction, so the run loads the set again from raw/
    (every row checked against its file's extract date, as a build from raw/ would). Returns the tables dropped."""
    names = sql_list(m.table for m in MODULES)
    old = tuple(
        table
        for (table,) in con.execute(
            f"SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name IN ({names}) "
            "AND table_name NOT IN (SELECT table_name FROM duckdb_columns() "
            "WHERE schema_name = 'raw' AND column_name = 'extract_date') ORDER BY table_name"
        ).fetchall()
    )
    if not old:
        return ()
    ensure_raw_schema(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in old:
            con.execute(f"DROP TABLE raw.{table}")
        con.execute("DELETE FROM raw.quarantine WHERE source = $source", {"source": SOURCE})
        con.execute(
            "INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined) "
            f"SELECT source, file_name, '{REMOVED}', 0, 0, 0 FROM (SELECT source, file_name, "
            "arg_max(sha256, ingested_at) AS sha256 FROM raw.file_ledger WHERE source = $source GROUP BY ALL) "
            f"WHERE sha256 <> '{REMOVED}'",
            {"source": SOURCE},
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return old


def ingest_ehcna(con: duckdb.DuckDBPyConnection, raw_dir: Path, key: bytes, log=None) -> dict[str, list[FileResult]]:
    """Ingest every EHCNA module file, parents first; returns the FileResults per module name.

    Raises ExtractError (naming file and column, loading nothing) when any file of the set has a broken header.
    """
    raw_dir = Path(raw_dir)
    contracts = ehcna_contracts(key)
    pads = hmac_pads(key)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"SET VARIABLE {_IPAD_VARIABLE} = $ipad", {"ipad": pads["hmac_ipad"]})
    con.execute(f"SET VARIABLE {_OPAD_VARIABLE} = $opad", {"opad": pads["hmac_opad"]})
    try:
        _preflight(con, contracts, raw_dir)
        if (upgraded := upgrade_to_extract_dates(con)) and log:
            log(f"raw.{', raw.'.join(upgraded)}: loaded before the extract date was kept: the set is loaded again")
        con.execute(MACROS)
        for contract in contracts:
            ensure_target_table(con, contract)  # so a child's rules can always bind
        # A run stopped between modules (killed, or a step retried after a transient error) has committed a parent's
        # new rows but not checked its children against them, and the next run finds every file unchanged: the
        # set's load is marked started, and a set whose last load did not finish is loaded again whole.
        ensure_raw_schema(con)
        unfinished = con.execute("SELECT count(*) FROM raw.sets_in_progress WHERE source = $s", {"s": SOURCE})
        parents_loaded = unfinished.fetchone()[0] > 0
        if not parents_loaded:
            con.execute("INSERT INTO raw.sets_in_progress (source) VALUES ($s)", {"s": SOURCE})
        elif log:
            log("the last load of the EHCNA set did not finish: every module is loaded again")
        results = {}
        for module, contract in zip(MODULES, contracts, strict=True):
            results[module.name] = ingest_source(con, contract, raw_dir, log, reload_all=parents_loaded)
            parents_loaded = parents_loaded or any(r.status == "loaded" for r in results[module.name])
        con.execute("DELETE FROM raw.sets_in_progress WHERE source = $s", {"s": SOURCE})
        return results
    finally:
        con.execute(f"RESET VARIABLE {_IPAD_VARIABLE}")
        con.execute(f"RESET VARIABLE {_OPAD_VARIABLE}")


ASSET_SPECS = [
    dg.AssetSpec(
        ["raw", module.table],
        group_name="ehcna",
        kinds={"duckdb", "python"},
        description=f"EHCNA / SEN2 {module.name.replace('_', ' ')} module (pseudonymised), loaded from "
        f"raw/ehcna/{module.name}_*; bad rows go to raw.quarantine.",
    )
    for module in MODULES
]


@dg.multi_asset(specs=ASSET_SPECS, pool=DUCKDB_WRITER_POOL, retry_policy=TRANSIENT_RETRY, name="ehcna_extracts")
def ehcna_extracts(context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    """Every module of the EHCNA extract set, in one run so the referential rules see the whole set."""
    raw_dir = warehouse.settings.raw_dir
    missing = [m.name for m in MODULES if not source_files(raw_dir, SOURCE, f"{m.name}_*")]
    if missing:
        raise dg.Failure(
            f"no EHCNA extract for module(s) {', '.join(missing)} in {raw_dir / SOURCE} "
            f"(expected files named <module>_<extract date>.csv|xlsx)",
            allow_retries=False,
        )
    key = configured_or_fail(pseudonym_key)
    with warehouse.connect() as con:
        try:
            results = ingest_ehcna(con, raw_dir, key, log=context.log.info)
        except ExtractError as error:
            raise not_retried(error) from None
        for module in MODULES:
            yield dg.MaterializeResult(asset_key=["raw", module.table], metadata=ingest_metadata(results[module.name]))
