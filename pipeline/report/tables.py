"""The report's tables: each a caption, a header and rows of labels and `Fact`s of published cells (`ReportTable`),
one function per table a section shows; a table notes what each symbol it holds means (`SYMBOL_NOTES`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.report import charts as ch
from pipeline.report import narrative as nv
from pipeline.report.facts import (
    MONEY,
    PROVISION_LABELS,
    RANK,
    RATE,
    SETTING_ORDER,
    Cell,
    Fact,
    Label,
    Part,
    Published,
    Sentence,
    When,
    as_published,
    change,
    characteristic_label,
    count,
    group_label,
    need_label,
    need_order,
    on_date,
    percent,
    say,
    setting_label,
    table_period,
    year_counted,
)

SYMBOL_NOTES = {
    "c": "suppressed to protect confidentiality: a small count, or a figure that would let a reader work one out, "
    "is not published (nor is a percentage of fewer than ten children).",
    "x": "not available.",
    "z": "not applicable (for example a percentage of nothing).",
    "low": "rounds to zero.",
}


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
                name = characteristic_label(group, value)
                rows.append(row(group, value, group_label(group), Label(name)))
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
    codes = need_order(c for c in need.distinct("primary_need", time_period=latest) if c != "Total") + ["Total"]
    rows = []
    for code in codes:
        cells = [need.find("pupils", time_period=y, primary_need=code) for y in years]
        rows.append(
            (
                Label("All pupils with SEN" if code == "Total" else need_label(code)),
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
            Label(need_label(code)),
            count(need.cell("pupils", time_period=year, primary_need=code)),
            here,
            count(need.cell("england_pupils", time_period=year, primary_need=code)),
            there,
        )
        for code, here, there in nv.need_vs_england(need, year)
    ]
    total = need.cell("pupils", time_period=year, primary_need="Total")
    england_total = need.cell("england_pupils", time_period=year, primary_need="Total")
    rows.append(  # the seed's table has its total row too (735 and 1,374,725 in January 2022)
        (
            Label("All pupils with SEN"),
            count(total),
            percent(total, total),
            count(england_total),
            percent(england_total, england_total, rate_rule=False),
        )
    )
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
        # the census codes a statement of SEN (to 2018, as the seed's "Statement / EHCP") as E, like an EHC plan
        say(
            "Pupils with an EHC plan (or, to ",
            Label("2018"),
            ", a statement of SEN) and on SEN support at each Spring census, and the share of pupils on roll",
        ),
        (
            "Census",
            "EHC plan or statement",
            "% of roll",
            "SEN support",
            "% of roll",
            "All SEN",
            "% of roll",
            "Pupils on roll",
        ),  # fmt: skip
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
    codes = need_order(c for c in caseload.distinct("primary_need", reference_date=latest) if c != "Total")
    codes.append("Total")
    rows = []
    for code in codes:
        cells = [caseload.find("ehcps_maintained", reference_date=d, primary_need=code) for d in shown]
        rows.append(
            (
                Label("All EHC plans" if code == "Total" else need_label(code)),
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
    order = list(SETTING_ORDER)
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
            Label(setting_label(setting)),
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
            say(*year_counted(timeliness, year)),
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
    )
    return ReportTable(
        "table-timeliness",
        say("EHC needs assessments: requests, and statutory timescales met"),
        header,
        tuple(rows),
        "send_ehcna_timeliness",
    )


def annual_review_years(reviews: Published) -> list[str]:
    """Academic years in which any annual review fell due (as published: a suppressed total counts)."""
    return [
        y
        for y in reviews.distinct("time_period")
        if reviews.cell("reviews", time_period=y, timeliness="Total").text != "0"
    ]


def annual_reviews_table(reviews: Published, years: Sequence[str]) -> ReportTable:
    rows = []
    for year in years:
        in_time = reviews.cell("reviews", time_period=year, timeliness="In time")
        due = reviews.cell("reviews", time_period=year, timeliness="Total")
        rows.append((say(*year_counted(reviews, year)), count(in_time), count(due), percent(in_time, due)))
    return ReportTable(
        "table-annual-reviews",
        say("Annual reviews of EHC plans held by their due date"),
        ("Academic year", "Held in time", "Due", "%"),
        tuple(rows),
        "send_annual_reviews",
    )


def health_checks_table(checks: Published) -> ReportTable:
    """Seed 7.2: each financial year and age band, young people on a GP learning disability register, how many had
    their annual health check, and the release's percentage."""
    rows = []
    for year in checks.distinct("time_period"):
        bands = [b for b in checks.distinct("age_band", time_period=year) if b != "Total"] + ["Total"]
        for band in bands:
            done, everyone, pct = nv.health_check_cells(checks, year, band)
            rows.append((table_period(checks, year), Label("All aged 14 to 25" if band == "Total" else band),
                         count(everyone), count(done), as_published(RATE, pct)))  # fmt: skip
    return ReportTable(
        "table-health-checks",
        say("Learning disability annual health checks of young people aged ", Label("14 to 25")),
        ("Financial year", "Age band", "On a GP learning disability register", "Had an annual health check", "%"),
        tuple(rows),
        "send_ld_health_checks",
        labels=2,
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
                change(before, after) if before and after else None,
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
        # DfE's timeliness counts its own plans issued (plans_issued_den), not the new plans column beside it
        say("% of plans issued (DfE's timeliness count) within ", Label("20 weeks"), ", ", year),
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

        def cell(column: str, year: str = year) -> Cell:
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
