"""DfE published statistics: the "Education, health and care plans" release, reporting year 2025.

Files ``raw/dfe/ehcp_2025/<file>.csv`` exactly as explore-education-statistics publishes them (UTF-8 with BOM,
CRLF, one row per time period x geography x breakdown). ``pipeline.generate.dfe.copy_dfe_release`` puts the
committed subset (reference/dfe_ehcp_2025/) there for the demo; a full published file ingests the same way.

Each file has its own contract, strict: the required columns are the file's published header (names compared
case-insensitively, as the engine does) and a column the release does not have is an error too, so a file whose
header does not match the release it claims fails naming the file and the missing or unexpected column(s), and
loads nothing. Raw keeps every value as published text; a measure must be a number or one of the EES symbols
(``x`` unavailable, ``z`` not applicable, ``c`` suppressed, ``low`` rounds to zero, ``u`` low reliability) and
staging (dbt) casts it with TRY_CAST beside a ``<measure>_symbol`` column, so a symbol never becomes 0.

No person identifiers: these are aggregates, so nothing is pseudonymised. Each file is replaced by its own name
(one fixed name per file in a release folder); a new release gets a new folder and new contracts, because its
columns differ. Any other file under ``raw/dfe/`` (``caseload (1).csv``, ``Caseload.CSV``, another release's
folder, a file at the top of dfe/) is read by no contract: it fails the asset, and stops ``send-pipeline run``, the
schedule and the sensor (``pipeline.drop_zone.unread_extracts``), naming it and the names expected.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.drop_zone import DFE_RELEASE, DFE_SOURCE, unread_dfe_files, unread_dfe_message
from pipeline.ingest import Contract, ExtractError, Rule, ingest_source, matches, normalise_header, one_of, required
from pipeline.resources import DUCKDB_WRITER_POOL, TRANSIENT_RETRY, SendWarehouse
from pipeline.sources.asset_support import ingest_metadata, not_retried

SOURCE = DFE_SOURCE
RELEASE = DFE_RELEASE
SYMBOLS = ("x", "z", "c", "low", "u")
GEOGRAPHIC_LEVELS = ("National", "Regional", "Local authority")
TIME_IDENTIFIERS = ("Academic year", "Calendar year")

# The twelve leading columns every file of the release shares: time, geography as DfE codes it, filter.
LEADING_COLUMNS = (
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "new_la_code", "old_la_code", "la_name", "breakdown_topic", "breakdown",
)  # fmt: skip

PLACEMENT_MEASURES = (
    "mainstream_la_maintained", "mainstream_la_maintained_resourced_provision", "mainstream_la_maintained_senunit",
    "mainstream_academy", "mainstream_academy_resourced_provision", "mainstream_academy_senunit",
    "mainstream_free_school", "mainstream_free_school_resourced_provision", "mainstream_free_school_senunit",
    "mainstream_independent", "mainstream_total", "mainstream_total_pc", "special_la_maintained",
    "special_academy_free", "special_independent", "special_non_maintained", "special_total", "special_total_pc",
    "ap_pru_academy", "ap_pru_free_school", "ap_pru_la_maintained", "ap_pru_total", "AP_PRU_total_pc",
    "general_fe_tertiary_colleges", "specialist_post_16_institutions", "ukrlp_provider", "fe_total", "fe_total_pc",
    "elective_home_education", "other_arrangements_la", "other_arrangements_parents", "online_provider",
    "w_settings", "other_schools", "other_placement_settings", "neet", "neet_ntci", "neet_other", "neet_other_csa",
    "ed_elsewhere", "ed_elsewhere_pc", "nm_early_years", "nm_early_years_pc", "placement_unknown",
    "placement_unknown_pc", "await_prov_2022", "perm_ex_2022",
)  # fmt: skip

NEED_MEASURES = (
    "ehc_plans", "number_asd", "number_hi", "number_mld", "number_msi", "number_oth", "number_pd", "number_pmld",
    "number_semh", "number_slcn", "number_sld", "number_spld", "number_vi", "number_need_unknown", "asd_pc", "hi_pc",
    "mld_pc", "msi_pc", "oth_pc", "pd_pc", "pmld_pc", "semh_pc", "slcn_pc", "sld_pc", "spld_pc", "vi_pc",
    "unknown_pc",
)  # fmt: skip


@dataclass(frozen=True)
class DfeFile:
    """One data file of the release: its published name and header (case as published)."""

    stem: str
    header: tuple[str, ...]
    description: str

    @property
    def file_name(self) -> str:
        return f"{self.stem}.csv"

    @property
    def table(self) -> str:
        """Raw table (and asset key) name, e.g. dfe_ehcp_caseload."""
        return f"dfe_ehcp_{self.stem}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The header as the engine names columns (lower-cased, trimmed)."""
        return tuple(normalise_header(c) for c in self.header)

    @property
    def measures(self) -> tuple[str, ...]:
        return self.columns[len(LEADING_COLUMNS) :]


def is_percentage(measure: str) -> bool:
    """DfE marks every percentage indicator of this release with a ``pc`` word (asd_pc, pc_plans_..., PC_...)."""
    return re.search(r"(^|_)pc(_|$)", measure.lower()) is not None


DFE_FILES: tuple[DfeFile, ...] = (
    DfeFile(
        "caseload",
        (*LEADING_COLUMNS, "ehcplans", *PLACEMENT_MEASURES),
        "EHC plans active in January, by type of setting attended (academic years 2018/19 to 2024/25).",
    ),
    DfeFile(
        "sen_needs_all_plans",
        (*LEADING_COLUMNS, *NEED_MEASURES),
        "EHC plans active in January 2025 by primary type of need (academic year 2024/25).",
    ),
    DfeFile(
        "newplans",
        (*LEADING_COLUMNS, "new_ehc_plans", *PLACEMENT_MEASURES),
        "New EHC plans made in the calendar year, by type of setting attended (2019 to 2024).",
    ),
    DfeFile(
        "sen_need_newplans",
        (*LEADING_COLUMNS, *NEED_MEASURES),
        "New EHC plans made in calendar year 2024 by primary type of need.",
    ),
    DfeFile(
        "requests",
        (
            *LEADING_COLUMNS,
            "requests_received_in_year",
            "requests_rya",
            "requests_decided_to_assess",
            "requests_decided_not_to_assess",
            "requests_decision_not_made",
            "requests_withdrawn",
            "request_assess_pc",
            "request_not_assess_pc",
            "request_outstanding_pc",
            "request_withdrawn_pc",
            "request_outcome_six_weeks",
            "request_outcome_over_6_weeks",
            "request_outcome_six_weeks_pc",
            "request_outcome_over_6_weeks_pc",
            "mediation_related_request",
            "tribunal_related_request",
            "tribunal_after_mediation_request",
        ),
        "Requests for an EHC needs assessment in the calendar year and their outcomes (2019 to 2024).",
    ),  # fmt: skip
    DfeFile(
        "assessments",
        (
            *LEADING_COLUMNS,
            "assess_in_year",
            "assess_issued",
            "assess_issued_pc",
            "assess_not_issued",
            "assess_not_issued_pc",
            "assess_not_made",
            "assess_not_made_pc",
            "assess_withdrawn",
            "assess_withdrawn_pc",
            "outcome_decision_within_time",
            "outcome_decision_over_time",
            "outcome_decision_within_time_pc",
            "outcome_decision_over_time_pc",
            "number_assess_mediation",
            "number_assess_tribunal",
            "number_asssess_mediation_tribunal",
            "number_other_mediation",
            "number_other_tribunal",
            "number_other_mediation_tribunal",
        ),
        "EHC needs assessments in the calendar year and their outcomes (2019 to 2024).",
    ),  # fmt: skip
    DfeFile(
        "timeliness_20_week",
        (
            *LEADING_COLUMNS,
            "plans_issued_den",
            "plans_issued_den_ex",
            "plans_issued_within_20_weeks",
            "plans_issued_20_weeks_ex",
            "pc_plans_issued_within_20_weeks",
            "PC_plans_issued_20_weeks_ex",
            "plans_issued_gt20weeks_ltYear",
            "plans_issued_gt20weeks_ltYear_ex",
            "pc_plans_issued_gt20weeks_ltYear",
            "PC_plans_issued_gt20weeks_ltYear_ex",
            "plans_issued_gt_1_year",
            "plans_issued_gt_1_year_ex",
            "pc_plans_issued_gt_1_year",
            "PC_plans_issued_gt_1_year_ex",
        ),
        "EHC plans issued in the calendar year within / after the statutory 20 weeks (2019 to 2024).",
    ),  # fmt: skip
)
DFE_FILES_BY_STEM = {f.stem: f for f in DFE_FILES}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def dfe_rules(dfe_file: DfeFile) -> tuple[Rule, ...]:
    """Row rules of one file: EES geography as DfE codes it, and every measure a number or an EES symbol."""
    levels = ", ".join(_sql_text(v) for v in GEOGRAPHIC_LEVELS)
    symbols = ", ".join(_sql_text(v) for v in SYMBOLS)
    la_row = "geographic_level = 'Local authority'"
    rules = [
        required("time_period"),
        matches("time_period", "[0-9]{4}([0-9]{2})?", "time_period_not_yyyy_or_yyyyyy"),
        required("time_identifier"),
        Rule("time_identifier", "code_not_allowed",
             f"time_identifier NOT IN ({', '.join(_sql_text(v) for v in TIME_IDENTIFIERS)})"),
        required("geographic_level"),
        Rule("geographic_level", "code_not_allowed", f"geographic_level NOT IN ({levels})"),
        required("country_code"),
        one_of("country_code", ("E92000001",), "not_england"),
        Rule("region_code", "required_for_regional_and_la_rows",
             "geographic_level IN ('Regional', 'Local authority') AND region_code IS NULL"),
        matches("region_code", "E1[23][0-9]{6}", "region_code_not_e12_or_e13"),
        Rule("new_la_code", "required_for_la_rows", f"{la_row} AND new_la_code IS NULL"),
        matches("new_la_code", "E[0-9]{8}", "new_la_code_not_gss_code"),
        Rule("old_la_code", "required_for_la_rows", f"{la_row} AND old_la_code IS NULL"),
        matches("old_la_code", "[0-9]{3}", "old_la_code_not_3_digits"),
        Rule("la_name", "required_for_la_rows", f"{la_row} AND la_name IS NULL"),
        required("breakdown_topic"),
        required("breakdown"),
    ]  # fmt: skip
    for measure in dfe_file.measures:
        number = "-?[0-9]+([.][0-9]+)?" if is_percentage(measure) else "[0-9]+"
        kind = "percentage" if is_percentage(measure) else "count"
        rules.append(Rule(measure, "blank_not_an_ees_symbol", f'"{measure}" IS NULL'))
        rules.append(
            Rule(
                measure,
                f"not_a_{kind}_or_ees_symbol",
                f'"{measure}" IS NOT NULL AND NOT regexp_full_match("{measure}", \'{number}\') '
                f'AND "{measure}" NOT IN ({symbols})',
            )
        )
    return tuple(rules)


def dfe_contract(dfe_file: DfeFile) -> Contract:
    """The strict contract of one published file: its header, in order, and nothing else."""
    return Contract(
        source=SOURCE,
        target_table=f"raw.{dfe_file.table}",
        file_glob=f"{RELEASE}/{dfe_file.file_name}",
        required_columns=dfe_file.columns,
        optional_columns=(),
        rules=dfe_rules(dfe_file),
        load_select=", ".join(f'"{c}"' for c in dfe_file.columns),
        strict_columns=True,
    )


def dfe_contracts() -> tuple[Contract, ...]:
    return tuple(dfe_contract(f) for f in DFE_FILES)


def check_no_unread_files(raw_dir: Path) -> None:
    """Raise ExtractError naming the files under raw/dfe/ no contract reads (and the names expected), if any."""
    if unread := unread_dfe_files(raw_dir):
        raise ExtractError(unread_dfe_message(unread))


@dg.multi_asset(
    name="dfe_ehcp_2025",
    specs=[
        dg.AssetSpec(
            key=["raw", f.table],
            group_name="dfe",
            kinds={"duckdb", "python"},
            description=f"DfE EHC plans release 2025, {f.file_name} as published (values as text): {f.description}",
        )
        for f in DFE_FILES
    ],
    pool=DUCKDB_WRITER_POOL,
    retry_policy=TRANSIENT_RETRY,
)
def dfe_ehcp_2025(context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    """Ingest every data file of the release from raw/dfe/ehcp_2025; a missing file, a wrong header or a file
    under raw/dfe/ that is no file of the release fails."""
    raw_dir = warehouse.settings.raw_dir
    try:
        check_no_unread_files(raw_dir)
    except ExtractError as error:  # names the file and the names expected
        raise not_retried(error) from None
    folder = raw_dir / SOURCE / RELEASE
    missing = [f.file_name for f in DFE_FILES if not (folder / f.file_name).is_file()]
    if missing:
        raise dg.Failure(f"DfE release {RELEASE}: {folder} lacks {', '.join(missing)}", allow_retries=False)
    with warehouse.connect() as con:
        for dfe_file in DFE_FILES:
            try:
                results = ingest_source(con, dfe_contract(dfe_file), raw_dir, log=context.log.info)
            except ExtractError as error:  # names file and column, never a value
                raise not_retried(error) from None
            yield dg.MaterializeResult(asset_key=["raw", dfe_file.table], metadata=ingest_metadata(results))
