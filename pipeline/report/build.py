"""The needs-assessment document, regenerated from the published release only.

Reads `<published>/send_reporting.duckdb` (schema `reporting`, opened read-only; never the internal send.duckdb),
builds each section's tables, charts and sentences from the published text cells, and writes
`<published>/report/index.html`: self-contained (CSS and SVG charts inline, no script, no external URL), inside
the live release folder it was built from. `published` is a link swapped by pipeline.publish, so it is resolved
once: the report is read from and written into that one release, built in a temporary folder beside it and moved
into place with `os.replace`. A PDF copy is written too when WeasyPrint is installed (optional).

Every number in a computed section is a published cell or is computed from published cells, and says which: a
table cell or a number in a sentence carries `data-kind` (count, money, money_m, percent, change; rate, score, rank
for a cell shown as published), `data-cells`, `data-base` and `data-minus` (`table:rowid:column` references into
reporting.<table>; a count or percentage subtracts the `data-minus` cells), so a reader or a test can recompute it
from the release.

The analyst-written sections (1-4 and 10-12 of the seed, `report/narrative/*.md`, see
pipeline.report.analyst_narrative) are merged in the seed's order as `<section class="report written">`; their
placeholders are filled from the release (pipeline.report.narrative_values), a placeholder naming nothing fails the
build (ReportError), and a missing file shows a visible "section not written" note.
"""

import errno
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from pipeline.published_tables import PUBLISHED_TABLES
from pipeline.report import charts as ch
from pipeline.report import narrative as nv
from pipeline.report.analyst_narrative import NARRATIVE_DIR, Narrative, NarrativeError, load_narrative
from pipeline.report.analyst_narrative import SECTIONS as SECTION_SPECS
from pipeline.report.narrative import (
    MONEY,
    PROVISION_LABELS,
    RANK,
    SYMBOL_WORDS,
    Fact,
    Label,
    Part,
    Published,
    Sentence,
    When,
    as_published,
    count,
    on_date,
    percent,
    say,
    table_period,
)
from pipeline.report.narrative_values import narrative_values

REPORTING_DB = "send_reporting.duckdb"
REPORT_DIR = "report"
REPORT_FILE = "index.html"
PDF_FILE = "send_needs_assessment.pdf"
TEMPLATE = "template.html"
TABLES = tuple(spec.name for spec in PUBLISHED_TABLES)  # every published table, declared once
SYMBOL_NOTES = {
    "c": "suppressed to protect confidentiality: a small count, or a figure that would let a reader work one out, "
    "is not published (nor is a percentage of fewer than ten children).",
    "x": "not available.",
    "z": "not applicable (for example a percentage of nothing).",
    "low": "rounds to zero.",
}
CHARACTERISTIC_GROUPS = ("sex", "age_group", "first_language", "fsm", "pupil_premium")


class ReportError(RuntimeError):
    """The release cannot be reported on (missing, or not one consistent release)."""


# ---- the release ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    release_id: str
    built_at: datetime
    tables: dict[str, Published]

    def __getitem__(self, name: str) -> Published:
        return self.tables[name]


def load_release(db_path: Path) -> Release:
    """Every published table as text rows with their rowid, from one release (read-only)."""
    if not db_path.exists():
        raise ReportError(f"no published release at {db_path}: run the pipeline first")
    with duckdb.connect(str(db_path), read_only=True) as con:
        release_id, built_at = con.execute("SELECT release_id, built_at FROM reporting.release").fetchone()
        tables = {}
        for name in TABLES:
            try:
                frame = con.execute(f"SELECT rowid AS _row, * FROM reporting.{name} ORDER BY rowid").df()
            except duckdb.CatalogException:
                raise ReportError(f"the release at {db_path} has no table reporting.{name}") from None
            ids = set(frame["release_id"]) if "release_id" in frame else {release_id}
            if ids - {release_id}:
                raise ReportError(f"reporting.{name} belongs to another release than reporting.release")
            tables[name] = Published(name, frame.drop(columns=["release_id"], errors="ignore"))
    return Release(str(release_id), built_at, tables)


# ---- tables --------------------------------------------------------------------------------------------------

Header = Part | Sentence


@dataclass(frozen=True)
class ReportTable:
    key: str
    caption: Sentence
    header: tuple[Header, ...]
    rows: tuple[tuple[Part | None, ...], ...]  # leading label cells, then Facts; None = no published row
    source: str  # the published table(s) it shows
    labels: int = 1  # how many leading cells of a row are labels

    def symbols(self) -> list[str]:
        used = {p.symbol for row in self.rows for p in row if isinstance(p, Fact) and p.symbol}
        return [s for s in SYMBOL_NOTES if s in used]

    def facts(self) -> list[Fact]:
        return [p for row in self.rows for p in row if isinstance(p, Fact)]


def _pct_or_none(part, whole) -> Fact | None:
    return None if part is None or whole is None else percent(part, whole)


def population_table(pop: Published, year: str) -> ReportTable:
    bands = [
        b
        for b in ("All ages", "0-25", "0-19", "0-4", "5-19", "15-18", "19-24")
        if pop.find("population", time_period=year, age_band=b, sex="Total")
    ]
    everyone = pop.cell("population", time_period=year, age_band="All ages", sex="Total")
    rows = []
    for band in bands:
        cells = [pop.cell("population", time_period=year, age_band=band, sex=s) for s in ("M", "F", "Total")]
        rows.append((Label(band), *(count(c) for c in cells), percent(cells[-1], everyone, rate_rule=False)))
    return ReportTable(
        "table-population",
        say("Population by age band and sex, ONS mid-year estimate ", table_period(pop, year)),
        ("Age band", "Males", "Females", "All", "% of all ages"),
        tuple(rows),
        "send_population",
    )


def provision_table(provision: Published, residence: Published, year: str) -> ReportTable:
    roll = residence.find("pupils", time_period=year, phase="Total", sen_provision="Total", residence="Total")
    rows = []
    for p, words in (("E", "EHC plan"), ("K", "SEN support"), ("Total", "All pupils with SEN")):
        pupils = provision.cell("pupils", time_period=year, sen_provision=p)
        premium = provision.cell("pupils_pupil_premium", time_period=year, sen_provision=p)
        fsm = provision.cell("pupils_fsm", time_period=year, sen_provision=p)
        rows.append(
            (
                words,
                count(pupils),
                _pct_or_none(pupils, roll),
                count(premium),
                percent(premium, pupils),
                count(fsm),
                percent(fsm, pupils),
            )
        )
    return ReportTable(
        "table-provision",
        say(
            "Pupils with SEND at the ",
            table_period(provision, year),
            " census, with pupil premium and free school meals",
        ),
        (
            "Provision",
            "Pupils",
            "% of pupils on roll",
            "Pupil premium",
            "% with pupil premium",
            "Free school meals",
            "% eligible for free school meals",
        ),
        tuple(rows),
        "send_provision, send_school_residence",
    )


def characteristics_table(characteristics: Published, year: str, groups: Sequence[str], key: str) -> ReportTable:
    """Rows by characteristic (each group's Total is the same everybody, shown once, last); columns E, K, N, all."""

    def row(group: str, value: str, first: Part, second: Part) -> tuple:
        cells = [characteristics.cell("pupils", time_period=year, characteristic_group=group, characteristic=value,
                                      sen_provision=p) for p in ("E", "K", "N", "Total")]  # fmt: skip
        return (first, second, *(count(c) for c in cells))

    rows = []
    for group in groups:
        for value in characteristics.distinct("characteristic", time_period=year, characteristic_group=group):
            if value != "Total":
                name = nv.characteristic_label(group, value)
                rows.append(row(group, value, nv.group_label(group), Label(name)))
    rows.append(row(groups[0], "Total", "All pupils", ""))
    what = "ethnicity" if "ethnicity" in groups else "characteristic"
    return ReportTable(
        key,
        say(f"Pupils by {what} and SEN provision at the ", table_period(characteristics, year), " census"),
        ("Characteristic", "Value", *PROVISION_LABELS.values()),
        tuple(rows),
        "send_characteristics",
        labels=2,
    )


def primary_need_table(need: Published, years: Sequence[str]) -> ReportTable:
    latest = years[-1]
    total = need.cell("pupils", time_period=latest, primary_need="Total")
    codes = nv.need_order(c for c in need.distinct("primary_need", time_period=latest) if c != "Total") + ["Total"]
    rows = []
    for code in codes:
        cells = [need.find("pupils", time_period=y, primary_need=code) for y in years]
        rows.append(
            (
                Label("All pupils with SEN" if code == "Total" else nv.need_label(code)),
                *(count(c) if c else None for c in cells),
                percent(cells[-1], total),
            )
        )
    return ReportTable(
        "table-primary-need",
        say("Pupils with SEN (EHC plan or SEN support) by primary type of need, Spring census"),
        (
            "Primary need",
            *(table_period(need, y) for y in years),
            say("% of pupils with SEN, ", table_period(need, latest)),
        ),
        tuple(rows),
        "send_primary_need",
    )


def primary_need_england_table(need: Published, year: str) -> ReportTable:
    """The LA's pupils with SEN by primary need beside England's (DfE), for the census England is published for."""
    rows = [
        (
            Label(nv.need_label(code)),
            count(need.cell("pupils", time_period=year, primary_need=code)),
            here,
            count(need.cell("england_pupils", time_period=year, primary_need=code)),
            there,
        )
        for code, here, there in nv.need_vs_england(need, year)
    ]
    when = table_period(need, year)
    return ReportTable(
        "table-primary-need-england",
        say("Primary type of need of pupils with SEN: ", need.la_name(), " and England, ", when),
        ("Primary need", say(need.la_name(), " pupils"), "% of pupils with SEN", "England pupils", "England %"),
        tuple(rows),
        "send_primary_need",
    )


def trend_table(trend: Published, residence: Published) -> ReportTable:
    rows = []
    for year in trend.distinct("time_period"):
        roll = residence.find("pupils", time_period=year, phase="Total", sen_provision="Total", residence="Total")
        row: list = [table_period(trend, year)]
        for p in ("E", "K", "Total"):
            cell = trend.cell("pupils", time_period=year, sen_provision=p)
            row += [count(cell), _pct_or_none(cell, roll)]
        rows.append((*row, count(roll) if roll else None))
    return ReportTable(
        "table-trend",
        say("Pupils with an EHC plan and on SEN support at each Spring census, and the share of pupils on roll"),
        ("Census", "EHC plan", "% of roll", "SEN support", "% of roll", "All SEN", "% of roll", "Pupils on roll"),
        tuple(rows),
        "send_trend, send_school_residence",
    )


def caseload_table(caseload: Published) -> ReportTable:
    dates = caseload.distinct("reference_date")
    years = sorted({d[:4] for d in dates})
    rows = []
    for year in years:
        row: list = [When(year, year)]
        for month in ("01", "04"):
            date = next((d for d in dates if d[:4] == year and d[5:7] == month), None)
            row.append(
                count(caseload.cell("ehcps_maintained", reference_date=date, primary_need="Total")) if date else None
            )
        rows.append(tuple(row))
    return ReportTable(
        "table-caseload",
        say("EHC plans maintained by the local authority: SEN2 census day in January, and April"),
        ("Year", "January (SEN2 census day)", "April"),
        tuple(rows),
        "send_ehcp_caseload",
    )


def caseload_needs_table(caseload: Published, since_year: int) -> ReportTable:
    dates = caseload.distinct("reference_date")
    latest = dates[-1]
    january = [d for d in dates if d[5:7] == "01"]
    start = next((d for d in january if int(d[:4]) >= since_year), january[0] if january else dates[0])
    shown = list(dict.fromkeys([start, *(january[-1:]), latest]))
    total = caseload.cell("ehcps_maintained", reference_date=latest, primary_need="Total")
    codes = nv.need_order(c for c in caseload.distinct("primary_need", reference_date=latest) if c != "Total")
    codes.append("Total")
    rows = []
    for code in codes:
        cells = [caseload.find("ehcps_maintained", reference_date=d, primary_need=code) for d in shown]
        rows.append(
            (
                Label("All EHC plans" if code == "Total" else nv.need_label(code)),
                *(count(c) if c else None for c in cells),
                percent(cells[-1], total) if cells[-1] else None,
            )
        )
    return ReportTable(
        "table-caseload-needs",
        say("EHC plans maintained by primary need"),
        ("Primary need", *(on_date(d) for d in shown), say("% of plans, ", on_date(latest))),
        tuple(rows),
        "send_ehcp_caseload",
    )


def residence_table(residence: Published, year: str) -> ReportTable:
    rows = []
    for phase in ("Primary", "Secondary", "Total"):
        for p in ("E", "K", "N", "Total"):
            inside, away, every = (
                residence.cell("pupils", time_period=year, phase=phase, sen_provision=p, residence=r)
                for r in ("Resident", "Out of county", "Total")
            )
            rows.append(
                (
                    Label("All phases" if phase == "Total" else phase),
                    Label(PROVISION_LABELS[p]),
                    count(inside),
                    percent(inside, every),
                    count(away),
                    percent(away, every),
                    count(every),
                )
            )
    return ReportTable(
        "table-residence",
        say("Pupils in the authority's schools by where they live, ", table_period(residence, year), " census"),
        ("Phase", "Provision", "Live in the authority", "%", "Live out of county", "%", "All pupils"),
        tuple(rows),
        "send_school_residence",
        labels=2,
    )


def placements_table(placements: Published, key: str, caption: Sentence, age_group: str | None = None) -> ReportTable:
    """All placements (no age_group), or those with an EHC plan in one age group."""
    extracts = placements.distinct("extract_date")
    where = {"age_group": age_group, "has_ehcp": "true"} if age_group else {}
    combos = placements.rows(**where)[["has_ehcp", "setting_type", "in_county", "age_group"]].drop_duplicates()
    order = list(nv.SETTING_ORDER)
    combos = sorted(
        map(tuple, combos.to_numpy()),
        key=lambda c: (c[0] != "true", order.index(c[1]) if c[1] in order else len(order), c[2] != "true", c[3]),
    )
    rows = []
    for has_ehcp, setting, in_county, ages in combos:
        cells = [
            placements.find(
                "children", extract_date=e, has_ehcp=has_ehcp, setting_type=setting, in_county=in_county, age_group=ages
            )
            for e in extracts
        ]
        labels = (
            Label(nv.setting_label(setting)),
            Label("In county" if in_county == "true" else "Out of county"),
        )
        lead = labels if age_group else (Label("Yes" if has_ehcp == "true" else "No"), *labels, Label(ages))
        rows.append((*lead, *(count(c) if c else None for c in cells)))
    header = ("Setting", "Where") if age_group else ("EHC plan", "Setting", "Where", "Age group")
    return ReportTable(
        key,
        caption,
        (*header, *(on_date(e, day=True) for e in extracts)),
        tuple(rows),
        "send_placements",
        labels=len(header),
    )


def wider_services_table(wider: Published) -> ReportTable:
    years = wider.distinct("time_period")
    rows = []
    for use in ("Positive activities only", "Short breaks only", "Both", "Total"):
        cells = []
        for y in years:
            cells += [
                count(wider.cell(c, time_period=y, aiming_high_use=use)) for c in ("children", "children_with_ehcp")
            ]
        rows.append((Label("Either service" if use == "Total" else use), *cells))
    header = [
        h
        for y in years
        for h in (say("Children, ", table_period(wider, y)), say("With an EHC plan, ", table_period(wider, y)))
    ]
    return ReportTable(
        "table-wider-services",
        say("Children using Aiming High services (April to March)"),
        ("Service used", *header),
        tuple(rows),
        "send_wider_services",
    )


def parent_carer_table(parent_carers: Published) -> ReportTable:
    rows = tuple(
        (table_period(parent_carers, y), count(parent_carers.cell("parent_carers", time_period=y)))
        for y in parent_carers.distinct("time_period")
    )
    return ReportTable(
        "table-parent-carers",
        say("Parent/carers given support, information and advice"),
        ("Financial year", "Parent/carers"),
        rows,
        "send_parent_carer_support",
    )


def register_table(register: Published) -> ReportTable:
    years = register.distinct("time_period")
    bands = [b for b in register.distinct("age_band") if b != "Total"] + ["Total"]
    rows = []
    for band in bands:
        row: list = [Label("All ages" if band == "Total" else band)]
        for y in years:
            children = register.find("children", time_period=y, age_band=band)
            ehcp = register.find("children_with_ehcp", time_period=y, age_band=band)
            row += [count(children) if children else None, count(ehcp) if ehcp else None, _pct_or_none(ehcp, children)]
        rows.append(tuple(row))
    header = [
        h
        for y in years
        for h in (
            say("On the register, ", When(y, y)),
            say("With an EHC plan, ", When(y, y)),
            say("% with an EHC plan, ", When(y, y)),
        )
    ]
    return ReportTable(
        "table-register",
        say("Children and young people on the disability register (March snapshot)"),
        ("Age band", *header),
        tuple(rows),
        "send_disability_register",
    )


def timeliness_years(timeliness: Published) -> list[str]:
    """Calendar years in which any decision, plan or review is published as non-zero."""
    years = []
    for year in timeliness.distinct("time_period"):
        totals = [
            timeliness.cell("events", time_period=year, stage=s, timeliness="Total").text for s, _, _ in ch.TIMED_STAGES
        ]
        if any(t != "0" for t in totals):
            years.append(year)
    return years


def timeliness_table(timeliness: Published, years: Sequence[str]) -> ReportTable:
    rows = []
    for year in years:
        row: list = [
            say(*nv.year_counted(timeliness, year)),
            count(timeliness.cell("events", time_period=year, stage="Requests received", timeliness="Total")),
        ]
        for stage, on_time, _ in ch.TIMED_STAGES:
            within = timeliness.cell("events", time_period=year, stage=stage, timeliness=on_time)
            every = timeliness.cell("events", time_period=year, stage=stage, timeliness="Total")
            row += [count(within), count(every), percent(within, every)]
        rows.append(tuple(row))
    header = (
        "Calendar year",
        "Requests received",
        say("Decisions within ", Label("6 weeks")),
        "Decisions",
        "%",
        say("Plans issued within ", Label("20 weeks")),
        "Plans issued",
        "%",
        "Annual reviews in time",
        "Annual reviews due",
        "%",
    )
    return ReportTable(
        "table-timeliness",
        say("EHC needs assessments: requests, and statutory timescales met"),
        header,
        tuple(rows),
        "send_ehcna_timeliness",
    )


def spend_table(spend: Published) -> ReportTable:
    years = spend.distinct("time_period")
    categories = [c for c in spend.distinct("category", line_code="Total") if c != "Total"] + ["Total"]
    rows = []
    for category in categories:
        cells = [spend.cell("amount_gbp", time_period=y, line_code="Total", category=category) for y in years]
        rows.append(
            (
                Label("All high needs expenditure" if category == "Total" else category),
                *(Fact(MONEY, (c,)) for c in cells),
            )
        )
    return ReportTable(
        "table-spend",
        say("High needs expenditure by category (GBP, S251 outturn)"),
        ("Category", *(table_period(spend, y) for y in years)),
        tuple(rows),
        "send_high_needs_spend",
    )


def benchmark_table(benchmark: Published) -> ReportTable:
    plan_years = benchmark.distinct("time_period", measure="ehcplans")
    issue_years = benchmark.distinct("time_period", measure="plans_issued_within_20_weeks")
    first, latest = plan_years[0], plan_years[-1]
    issued = issue_years[-1] if issue_years else None
    geographies = [("home_la", None), ("region", None), ("england", None)]
    neighbours = nv.neighbour_codes(benchmark)
    geographies += [("statistical_neighbour", code) for code in neighbours]
    rows = []
    for role, code in geographies:
        where = {"old_la_code": code} if code else {}

        def value(measure: str, year: str | None, where: dict = where, role: str = role):
            return nv.benchmark_cell(benchmark, role, measure, year, **where) if year else None

        before, after = value("ehcplans", first), value("ehcplans", latest)
        requests, new_plans = value("requests_received_in_year", issued), value("new_ehc_plans", issued)
        within, den = value("plans_issued_within_20_weeks", issued), value("plans_issued_den", issued)
        name = nv.geography_name(benchmark, role, code)
        kind = {"home_la": "Local authority", "region": "Region", "england": "England"}.get(
            role, "Statistical neighbour"
        )
        rows.append(
            (
                Label(name),
                kind,
                *(count(c) if c else None for c in (before, after)),
                nv.change(before, after) if before and after else None,
                *(count(c) if c else None for c in (requests, new_plans)),
                _pct_or_none(within, den),
            )
        )
    when_first, when_latest = table_period(benchmark, first), table_period(benchmark, latest)
    year = When(issued, issued) if issued else "latest year"
    header = (
        "Geography",
        "Role",
        say("EHC plans, ", when_first),
        say("EHC plans, ", when_latest),
        "Change",
        say("Requests, ", year),
        say("New EHC plans, ", year),
        say("% issued within ", Label("20 weeks"), ", ", year),
    )
    return ReportTable(
        "table-benchmark",
        say("EHC plans: the local authority, its region, England and statistical neighbours (DfE, as published)"),
        header,
        tuple(rows),
        "send_benchmark_ehcp",
        labels=2,
    )


def deprivation_table(deprivation: Published) -> ReportTable:
    rows = []
    for year in deprivation.distinct("time_period"):

        def cell(column: str, year: str = year) -> nv.Cell:
            return deprivation.cell(column, time_period=year)

        rows.append(
            (
                When(year, year),
                as_published(RANK, cell("rank")),
                count(cell("districts_ranked")),
                as_published(RANK, cell("rank_in_region_least_deprived")),
                count(cell("districts_in_region")),
            )
        )
    return ReportTable(
        "table-deprivation",
        say("Indices of Deprivation: the rank of ", deprivation.la_name(), " among local authority districts"),
        (
            "Edition",
            "Rank, from the most deprived",
            "Districts ranked",
            "Place in the region, from the least deprived",
            "Districts in the region",
        ),
        tuple(rows),
        "send_deprivation",
    )


def child_health_table(health: Published, characteristics: Published, need: Published) -> ReportTable:
    rows = []
    for row in nv.child_health_rows(health, characteristics, need):
        cells = [fact for level in nv.GEOGRAPHIES for fact in row.cells[level]]
        rows.append((Label(row.label), row.period, *cells))
    region = nv.region_words(health).removeprefix("the ").removesuffix(" region") or "Region"
    places = (health.la_name(), region, "England")
    header = [h for place in places for h in (say(place, ": number"), say(place, ": value"))]
    return ReportTable(
        "table-child-health",
        say("The child population and child health: ", health.la_name(), ", its region and England"),
        ("Indicator", "Period", *header),
        tuple(rows),
        "send_child_health, send_characteristics, send_primary_need",
        labels=2,
    )


def exclusions_table(exclusions: Published) -> ReportTable:
    columns = (
        "children_suspended",
        "suspensions",
        "children_permanently_excluded",
        "children_suspended_and_permanently_excluded",
    )
    rows = []
    for year in exclusions.distinct("time_period"):
        for provision in ("E", "K", "Total"):
            cells = [exclusions.cell(c, time_period=year, sen_provision=provision) for c in columns]
            label = "All children with SEND" if provision == "Total" else PROVISION_LABELS[provision]
            rows.append((table_period(exclusions, year), Label(label), *(count(c) for c in cells)))
    return ReportTable(
        "table-exclusions",
        say("Children with SEND suspended or permanently excluded, by academic year and SEN provision"),
        (
            "Academic year",
            "Provision",
            "Children suspended",
            "Suspensions",
            "Children permanently excluded",
            "Of whom also suspended",
        ),
        tuple(rows),
        "send_exclusions",
        labels=2,
    )


def attainment_standard_table(standard: Published) -> ReportTable:
    year = standard.latest()
    rows = []
    for key_stage, measure in nv.standard_measures(standard, year):
        for provision in ("K", "E", "N"):
            f = nv.standard_facts(standard, year, key_stage, measure, provision)
            rows.append(
                (
                    Label(f"{key_stage}: {nv.measure_label(key_stage, measure)}"),
                    Label(PROVISION_LABELS[provision]),
                    f["total"],
                    f["met"],
                    f["pct"],
                    f["england"],  # x for pupils without SEN: DfE's figures here are for pupils with SEN
                )
            )
    return ReportTable(
        "table-attainment",
        say("Pupils meeting the expected standard by SEN provision, ", table_period(standard, year)),
        ("Stage and measure", "Provision", "Pupils with a result", "Met the standard", "% met", "England %"),
        tuple(rows),
        "send_attainment_standard",
        labels=2,
    )


def attainment_scores_table(scores: Published) -> ReportTable:
    year = scores.latest()
    rows = []
    frame = scores.rows(time_period=year)
    for key_stage, measure in nv.measure_order(zip(frame["key_stage"], frame["measure"], strict=True)):
        for provision in ("K", "E", "N"):
            if scores.find("average_score", time_period=year, key_stage=key_stage, measure=measure,
                           sen_provision=provision) is None:  # fmt: skip
                continue
            f = nv.score_facts(scores, year, key_stage, measure, provision)
            rows.append(
                (
                    Label(f"{key_stage}: {nv.measure_label(key_stage, measure)}"),
                    Label(PROVISION_LABELS[provision]),
                    f["pupils"],
                    f["average"],
                    f["england"],
                )
            )
    return ReportTable(
        "table-attainment-scores",
        say(
            Label("Key stage 4"),
            ": average ",
            Label("Attainment 8"),
            " score (from ",
            Label("0 to 90"),
            ", not a percentage) and average ",
            Label("Progress 8"),
            " score by SEN provision, ",
            table_period(scores, year),
        ),
        ("Measure", "Provision", "Pupils with a score", "Average score", "England average"),
        tuple(rows),
        "send_attainment_scores",
        labels=2,
    )


# ---- sections ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A computed section: sentences, tables and charts from the release."""

    key: str
    title: str
    intro: str
    sentences: list[Sentence]
    tables: list[ReportTable]
    charts: list[ch.Chart]
    notes: list[str | Sentence] = field(default_factory=list)  # words, or a sentence with a Label ("Progress 8")
    kind = "computed"


@dataclass(frozen=True)
class WrittenSection:
    """An analyst-written section: Markdown from report/narrative/ rendered to HTML (placeholders filled from the
    release), or a visible "section not written" note when its file is missing."""

    key: str
    title: str
    html: Markup
    written: bool
    source: str  # the Markdown file name the section is (or would be) written in
    kind = "written"
    sentences: tuple = ()
    tables: tuple = ()
    charts: tuple = ()


WRITTEN_BEFORE = (1, 2, 3, 4)  # sections written before the computed ones; the others (10-12) come after section 9


def written_sections(narrative: Narrative | None, numbers: Sequence[int]) -> list[WrittenSection]:
    if narrative is None:
        return []
    return [
        WrittenSection(s.spec.slug, s.spec.title, Markup(s.html), s.written, s.spec.file_name)
        for s in narrative.sections
        if s.spec.number in numbers
    ]


def report_sections(release: Release, narrative: Narrative | None = None) -> list[Section | WrittenSection]:
    """Every section in the seed's order: the analysts' sections 1-4, the computed sections 5 to 9, the analysts'
    sections 10-12, then the comparison with the region, England and statistical neighbours. Without a narrative
    (None) only the computed sections."""
    t = release
    census_year = t["send_provision"].latest()
    need = t["send_primary_need"]
    need_years = need.distinct("time_period")[-3:]
    england_year = nv.england_need_year(need)
    latest_ref = t["send_ehcp_caseload"].latest("reference_date")
    since_year = int(latest_ref[:4]) - 4
    years = timeliness_years(t["send_ehcna_timeliness"])
    placements = t["send_placements"]
    latest_extract = placements.latest("extract_date")
    health_inputs = (t["send_child_health"], t["send_characteristics"], need)
    standard, scores = t["send_attainment_standard"], t["send_attainment_scores"]
    sections = [
        *written_sections(narrative, WRITTEN_BEFORE),
        Section(
            "population",
            "Population",
            "The number of children and young people living in the local authority, "
            "from the ONS mid-year population estimates.",
            nv.population_sentences(t["send_population"]),
            [population_table(t["send_population"], t["send_population"].latest())],
            [ch.population_chart(t["send_population"])],
        ),
        Section(
            "deprivation",
            "Deprivation",
            "The local authority's rank in the English Indices of Deprivation, among all local authority districts "
            "and within its region.",
            nv.deprivation_sentences(t["send_deprivation"]),
            [deprivation_table(t["send_deprivation"])],
            [],
            [
                "Ranks count from the most deprived district; the place in the region counts from the least "
                "deprived. Districts ranked differ between editions, as councils merged."
            ],
        ),
        Section(
            "child-health",
            "Health of the local authority's children",
            "The child population and child health snapshot beside the region and England, as the Office for Health "
            "Improvement and Disparities publishes it.",
            nv.child_health_sentences(*health_inputs),
            [child_health_table(*health_inputs)],
            [],
            [
                "The local authority's pupil figures (pupils from minority ethnic groups: every ethnicity but White "
                "British, not counting unclassified ethnicity; pupils whose primary need is social, emotional and "
                "mental health) are computed from this release's census tables as a share of all pupils on roll, "
                "and carry those tables' suppression. The other figures are the publisher's, as published."
            ],
        ),
        Section(
            "send-profile",
            "Profile of pupils with SEND",
            "Pupils with special educational needs in the "
            "authority's schools at the latest Spring school census: an EHC plan or SEN support, and their "
            "characteristics.",
            nv.profile_sentences(t["send_provision"], t["send_characteristics"], t["send_school_residence"]),
            [
                provision_table(t["send_provision"], t["send_school_residence"], census_year),
                characteristics_table(
                    t["send_characteristics"], census_year, list(CHARACTERISTIC_GROUPS), "table-characteristics"
                ),
                characteristics_table(t["send_characteristics"], census_year, ["ethnicity"], "table-ethnicity"),
            ],
            [ch.profile_chart(t["send_characteristics"], census_year)],
        ),
        Section(
            "primary-need",
            "Primary type of need",
            "Pupils with SEN by their primary type of need as the school records it.",
            [*nv.primary_need_sentences(t["send_primary_need"]), *nv.primary_need_england_sentences(need)],
            [
                primary_need_table(need, need_years),
                *([primary_need_england_table(need, england_year)] if england_year else []),
            ],
            [
                ch.primary_need_chart(need),
                *([ch.primary_need_england_chart(need, england_year)] if england_year else []),
            ],
            ["England's figures are DfE's, published beside the local authority's counts in send_primary_need."],
        ),
        Section(
            "trend",
            "EHC plans and SEN support over time",
            "Pupils with an EHC plan and on SEN support at each Spring census, as a share of all pupils on roll.",
            nv.trend_sentences(t["send_trend"], t["send_school_residence"]),
            [trend_table(t["send_trend"], t["send_school_residence"])],
            [ch.trend_chart(t["send_trend"])],
        ),
        Section(
            "ehcp-demand",
            "EHCP demand",
            "EHC plans maintained by the local authority (for children living in "
            "its area, wherever they go to school) and requests for an EHC needs assessment.",
            nv.caseload_sentences(t["send_ehcp_caseload"], t["send_ehcna_timeliness"], since_year),
            [caseload_table(t["send_ehcp_caseload"]), caseload_needs_table(t["send_ehcp_caseload"], since_year)],
            [ch.caseload_chart(t["send_ehcp_caseload"])],
        ),
        Section(
            "placements",
            "Placements and residence",
            "Where children with an EHC plan are placed, in and out "
            "of county, and where pupils with SEN in the authority's schools live.",
            nv.placement_sentences(placements, t["send_school_residence"]),
            [
                placements_table(
                    placements,
                    "table-placements",
                    say("Children in placements by EHC plan, setting, place and age group"),
                ),
                residence_table(t["send_school_residence"], census_year),
            ],
            [ch.placement_chart(placements, "0-15"), ch.residence_chart(t["send_school_residence"], census_year)],
            [
                "A child can hold two placements at once, so placements are not added up into a total of "
                "children; a dash is a setting with no child at that date."
            ],
        ),
        Section(
            "post-16",
            "Post-sixteen",
            "Young people aged sixteen to twenty-five with an EHC plan, by setting.",
            nv.post16_sentences(placements),
            [
                placements_table(
                    placements,
                    "table-post16",
                    say("Young people aged ", Label("16-25"), " with an EHC plan by setting"),
                    "16-25",
                )
            ],
            [ch.placement_chart(placements, "16-25", latest_extract)],
        ),
        Section(
            "exclusions",
            "School exclusions",
            "Children with SEND (an EHC plan or SEN support at the Spring census of the year) suspended from school "
            "or permanently excluded, by academic year.",
            nv.exclusions_sentences(t["send_exclusions"]),
            [exclusions_table(t["send_exclusions"])],
            [],
            [
                "A suspension was called a fixed-period exclusion before DfE renamed it. A child suspended several "
                "times is one child suspended."
            ],
        ),
        Section(
            "wider-services",
            "Wider services",
            "Aiming High positive activities and short breaks, and support for parent/carers, in the year to March.",
            nv.wider_services_sentences(t["send_wider_services"], t["send_parent_carer_support"]),
            [wider_services_table(t["send_wider_services"]), parent_carer_table(t["send_parent_carer_support"])],
            [ch.wider_services_chart(t["send_wider_services"])],
        ),
        Section(
            "disability-register",
            "Disability register",
            "Children and young people on the disability "
            "register at the March snapshot, and how many have an EHC plan.",
            nv.register_sentences(t["send_disability_register"]),
            [register_table(t["send_disability_register"])],
            [ch.register_chart(t["send_disability_register"])],
        ),
        Section(
            "timescales",
            "Statutory timescales",
            "Decisions whether to assess are due within six weeks of the "
            "request, EHC plans within twenty weeks, and annual reviews by their due date.",
            nv.timeliness_sentences(t["send_ehcna_timeliness"]),
            [timeliness_table(t["send_ehcna_timeliness"], years)],
            [ch.timeliness_chart(t["send_ehcna_timeliness"], years)],
        ),
        Section(
            "attainment",
            "Attainment of pupils with SEN",
            "Pupils in the authority's schools meeting the expected standard at the end of the early years "
            "foundation stage and key stages one and two, and average scores at key stage four, by SEN provision "
            "at the Spring census of the year, beside England.",
            nv.attainment_sentences(standard, scores),
            [attainment_standard_table(standard), attainment_scores_table(scores)],
            [ch.attainment_chart(standard)],
            [
                say(
                    Label("Attainment 8"),
                    " is an average score from zero to ninety points, not a percentage; ",
                    Label("Progress 8"),
                    " compares pupils' results with those of pupils nationally who started from the same point.",
                ),
                "England's figures are DfE's, for pupils on SEN support and with an EHC plan. The cohorts are small: "
                "a percentage of fewer than ten pupils, and an average of fewer than eight, are not published.",
            ],
        ),
        Section(
            "expenditure",
            "High needs expenditure",
            "Spending from the high needs block by category, by financial year.",
            nv.spend_sentences(t["send_high_needs_spend"]),
            [spend_table(t["send_high_needs_spend"])],
            [ch.spend_chart(t["send_high_needs_spend"])],
        ),
        *written_sections(narrative, [s.number for s in SECTION_SPECS if s.number not in WRITTEN_BEFORE]),
        Section(
            "benchmarks",
            "Comparison with the region, England and statistical neighbours",
            "DfE's published "
            "figures for the local authority beside its region, England and its statistical neighbours.",
            nv.benchmark_sentences(t["send_benchmark_ehcp"]),
            [benchmark_table(t["send_benchmark_ehcp"])],
            [ch.benchmark_growth_chart(t["send_benchmark_ehcp"]), ch.benchmark_timely_chart(t["send_benchmark_ehcp"])],
            ["Statistical neighbours are the local authorities DfE's benchmarking tool pairs with this one."],
        ),
    ]
    return sections


# ---- HTML ----------------------------------------------------------------------------------------------------


def fact_attrs(fact: Fact) -> Markup:
    base = f' data-base="{" ".join(c.ref for c in fact.base)}"' if fact.base else ""
    minus = f' data-minus="{" ".join(c.ref for c in fact.minus)}"' if fact.minus else ""
    return Markup(f'data-kind="{fact.kind}" data-cells="{" ".join(c.ref for c in fact.cells)}"{base}{minus}')


def render_part(part: Part, in_sentence: bool = True) -> Markup:
    if isinstance(part, Fact):
        if part.symbol:
            words = f" ({SYMBOL_WORDS[part.symbol]})" if in_sentence else ""
            return Markup(f'<span class="fact sym" {fact_attrs(part)}>{escape(part.symbol)}{escape(words)}</span>')
        return Markup(f'<span class="fact" {fact_attrs(part)}>{escape(part.text)}</span>')
    if isinstance(part, When):
        return Markup(f'<time datetime="{escape(part.iso)}">{escape(part.text)}</time>')
    if isinstance(part, Label):
        return Markup(f'<span class="label">{escape(part.text)}</span>')
    return escape(part)


def render_sentence(sentence: Sentence) -> Markup:
    return Markup("").join(render_part(p) for p in sentence)


def render_header(header: Header) -> Markup:
    return render_sentence(header) if isinstance(header, tuple) else render_part(header)


def render_cell(part: Part | None, label: bool) -> Markup:
    if label:
        return Markup(f'<th scope="row">{render_header(part)}</th>')
    if part is None:
        return Markup('<td class="absent">–</td>')
    if isinstance(part, Fact):
        cls = "num sym" if part.symbol else "num"
        return Markup(f'<td class="{cls}" {fact_attrs(part)}>{escape(part.text)}</td>')
    return Markup(f"<td>{render_part(part)}</td>")


def render_table(table: ReportTable) -> Markup:
    head = Markup("").join(Markup(f'<th scope="col">{render_header(h)}</th>') for h in table.header)
    body = Markup("").join(
        Markup("<tr>") + Markup("").join(render_cell(p, i < table.labels) for i, p in enumerate(row)) + Markup("</tr>")
        for row in table.rows
    )
    notes = Markup("").join(
        Markup(f'<li><span class="symbol">{escape(s)}</span> {escape(SYMBOL_NOTES[s])}</li>') for s in table.symbols()
    )
    footer = Markup(f'<ul class="notes">{notes}</ul>') if notes else Markup("")
    return Markup(
        f'<figure class="table" id="{table.key}"><figcaption>{render_sentence(table.caption)} '
        f'<span class="source">(reporting.{escape(table.source)})</span></figcaption>'
        f'<div class="scroll"><table data-source="{escape(table.source)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{footer}</figure>"
    )


def render_chart(chart: ch.Chart) -> Markup:
    note = (
        " A c marks a value the release suppresses: it is left out of the chart."
        if any(r.get(ch.MARK_SYMBOL) for r in chart.rows)
        else ""
    )
    return Markup(
        f'<figure class="chart" id="{chart.key}"><div class="svg">{Markup(chart.svg)}</div>'
        f"<figcaption>{escape(chart.title)}. {escape(chart.alt)}{escape(note)}</figcaption></figure>"
    )


def render_html(release: Release, sections: Sequence[Section | WrittenSection]) -> str:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
    )
    env.filters.update(sentence=render_sentence, table=render_table, chart=render_chart)
    la_name = next((t.la_name() for t in release.tables.values() if t.la_name() != "the local authority"), "")
    built = release.built_at.astimezone(UTC) if release.built_at else None
    return env.get_template(TEMPLATE).render(
        la_name=la_name or "the local authority",
        release_id=release.release_id,
        built_text=f"{built.day} {nv.MONTHS[built.month - 1]} {built.year}, {built:%H:%M} UTC" if built else "",
        built_iso=built.isoformat() if built else "",
        sections=sections,
        symbol_notes=SYMBOL_NOTES,
    )


# ---- writing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltReport:
    path: Path  # <release folder>/report/index.html
    release_id: str
    sections: int
    tables: int
    charts: int
    pdf: Path | None
    not_written: tuple[str, ...] = ()  # analyst-written sections without a file: shown as "section not written"


def write_pdf(html: str, path: Path) -> bool:
    """A PDF copy when WeasyPrint is installed; False (and nothing written) when it is not."""
    try:
        import weasyprint
    except ImportError:
        return False
    weasyprint.HTML(string=html).write_pdf(str(path))
    return True


def swap_in(building: Path, target: Path) -> None:
    """Move the finished report folder into place. A first build is one os.replace; a rebuild moves the old folder
    aside first (a directory cannot replace a non-empty one) and removes it after."""
    old = None
    try:
        for _ in range(5):
            try:
                os.replace(building, target)
                return
            except OSError as error:
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR):
                    raise
            old = target.with_name(f".{target.name}-old-{uuid.uuid4().hex[:8]}")
            try:
                os.replace(target, old)
            except FileNotFoundError:
                old = None
        raise ReportError(f"could not move the report into {target}: it keeps being replaced")
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_report(release_dir: Path, html: str, pdf: bool = True) -> tuple[Path, Path | None]:
    building = release_dir / f".{REPORT_DIR}-building-{uuid.uuid4().hex[:8]}"
    building.mkdir()
    try:
        (building / REPORT_FILE).write_text(html, encoding="utf-8")
        wrote_pdf = pdf and write_pdf(html, building / PDF_FILE)
        swap_in(building, release_dir / REPORT_DIR)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    target = release_dir / REPORT_DIR
    return target / REPORT_FILE, (target / PDF_FILE if wrote_pdf else None)


def release_narrative(db_path: Path, folder: Path = NARRATIVE_DIR) -> Narrative:
    """The analyst-written sections with their placeholders filled from the release; a placeholder that names
    nothing the release provides fails the build as a ReportError naming the file, line and placeholder."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        values = narrative_values(con)
    try:
        return load_narrative(values, folder)
    except NarrativeError as error:
        raise ReportError(f"the analyst-written narrative in {folder} cannot be built: {error}") from None


def build_release_report(published: Path, pdf: bool = True, narrative_dir: Path = NARRATIVE_DIR) -> BuiltReport:
    release_dir = Path(published).resolve()  # one release for the whole build, even if the link moves meanwhile
    release = load_release(release_dir / REPORTING_DB)
    narrative = release_narrative(release_dir / REPORTING_DB, narrative_dir)
    sections = report_sections(release, narrative)
    html = render_html(release, sections)
    path, pdf_path = write_report(release_dir, html, pdf=pdf)
    return BuiltReport(
        path=path,
        release_id=release.release_id,
        sections=len(sections),
        tables=sum(len(s.tables) for s in sections),
        charts=sum(len(s.charts) for s in sections),
        pdf=pdf_path,
        not_written=tuple(spec.file_name for spec in narrative.missing),
    )


def build_report(published: Path) -> Path:
    """Regenerate the needs-assessment report of the live release at `published` (warehouse/published); returns
    the written index.html inside that release's folder."""
    return build_release_report(published).path
