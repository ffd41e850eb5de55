"""Charts of the report: Vega-Altair specs rendered offline to inline SVG by vl-convert.

Every plotted number is a `Fact` of published cells (a cell, a sum, or a percentage of published cells); a
suppressed input is plotted as nothing (a missing bar, a gap in a line) with a "c" marker at zero, so no chart
shows or embeds a value the table withholds. Each data row keeps its fact's cell references (``cells``/``base``)
so a test can recompute every plotted value from the release. Charts carry no tooltips, and ARIA labels per mark
are off (they would repeat the numbers); the table beside each chart is its accessible version.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, wraps

import altair as alt
import pandas as pd
import vl_convert
from altair.utils import schemapi

from pipeline.report.facts import (
    COUNT,
    DIGIT,
    MONEY,
    PERCENT,
    PROVISION_LABELS,
    RATE,
    SETTING_ORDER,
    Fact,
    Published,
    as_published,
    characteristic_label,
    count,
    group_label,
    need_label,
    on_date,
    percent,
    setting_label,
    table_period,
    year_counted,
)
from pipeline.report.narrative import (
    geography_name,
    health_check_cells,
    measure_label,
    need_vs_england,
    neighbour_codes,
    standard_facts,
    standard_measures,
)

WIDTH = 680
MARK_SYMBOL = "sym"  # data field holding the symbol shown instead of a value ("" when the value is plotted)
CONFIG = {
    "aria": False,
    "font": "sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal", "labelLimit": 260},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom", "labelLimit": 260},
}
PROVISION_COLOURS = {"EHC plan": "#1d4f91", "SEN support": "#6fa8dc"}
PLACE_COLOURS = {"In county": "#1d4f91", "Out of county": "#e07b39"}
SERIES_PALETTE = ("#1d4f91", "#e07b39", "#2e7d32", "#7b1fa2")  # lines of up to four series (geographies, age bands)


@dataclass(frozen=True)
class Chart:
    key: str  # HTML id
    title: str
    alt: str  # what the chart shows, in words (no numbers: the table carries them)
    spec: dict = field(repr=False)

    def __post_init__(self) -> None:
        if DIGIT.search(self.alt) or DIGIT.search(self.title):
            raise ValueError(f"chart {self.key}: title and alt text are words; numbers belong to the table")

    @property
    def rows(self) -> list[dict]:
        """Every data row the spec embeds (its named datasets and any inline values)."""
        return list(_embedded_rows(self.spec))

    @cached_property
    def svg(self) -> str:
        return inline_svg(vl_convert.vegalite_to_svg(self.spec), self.alt)


def start_renderer() -> str:
    """Start vl-convert's JavaScript engine (~0.3 s, on its first chart otherwise) with a one-point chart; its SVG."""
    return vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{"x": 0}]}})


def _embedded_rows(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasets":
                for rows in value.values():
                    yield from rows
            elif key == "values" and isinstance(value, list):
                yield from value
            else:
                yield from _embedded_rows(value)
    elif isinstance(node, list):
        for item in node:
            yield from _embedded_rows(item)


def inline_svg(svg: str, alt: str) -> str:
    """vl-convert's SVG made fit for inline HTML: no namespace URLs, scalable, labelled as one image."""
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{alt}" style="max-width:100%;height:auto" ', 1)


def point(fact: Fact, **fields: str) -> dict:
    """One data row: the categories, the value (None when a symbol is shown) and the fact's cell references."""
    return {
        **fields,
        "value": fact.value,
        MARK_SYMBOL: fact.symbol or "",
        "kind": fact.kind,
        "cells": " ".join(c.ref for c in fact.cells),
        "base": " ".join(c.ref for c in fact.base),
        "minus": " ".join(c.ref for c in fact.minus),
    }


def _unvalidated(build):
    """Run a chart builder with Altair's check of every schema object as it is made (its DEBUG_MODE) off: ~0.15 s of
    a report's 17 charts. The test suite validates every chart of the demo report (tests/test_report.py)."""

    @wraps(build)
    def unvalidated_build(*args, **kwargs):
        with schemapi.debug_mode(False):
            return build(*args, **kwargs)

    return unvalidated_build


def _spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, not validated against the schema here (~0.1 s of a report for 17 charts): the
    test suite validates every chart of the demo report (tests/test_report.py)."""
    return chart.configure(**CONFIG).to_dict(validate=False)


def _value_axis(kind: str, title: str) -> alt.Axis:
    """Money in pounds, counts as whole numbers, percentages (computed or as published) without decimals."""
    if kind == MONEY:
        return alt.Axis(title=title, labelExpr="(datum.value < 0 ? '-£' : '£') + format(abs(datum.value), '.2~s')")
    if kind == COUNT:
        return alt.Axis(title=title, format=",d", tickMinStep=1)
    return alt.Axis(title=title, format=",.0f")


@_unvalidated
def grouped_bars(
    rows: list[dict],
    category: str,
    series: str,
    *,
    value_title: str,
    kind: str = COUNT,
    category_order: Sequence[str] | None = None,
    series_order: Sequence[str] | None = None,
    colours: dict[str, str] | None = None,
    horizontal: bool = True,
    facet: str | None = None,
    width: int = WIDTH,
) -> dict:
    """Bars grouped by series within each category; a suppressed value is a missing bar marked "c" at zero."""
    data = pd.DataFrame(rows)
    order = list(series_order or dict.fromkeys(r[series] for r in rows))
    scale = alt.Scale(domain=order, range=[colours[s] for s in order]) if colours else alt.Scale(domain=order)
    categories = list(category_order or dict.fromkeys(r[category] for r in rows))
    cat_axis = alt.Axis(title=None, labelLimit=260)
    value_enc = dict(field="value", type="quantitative", axis=_value_axis(kind, value_title))
    cat_enc = dict(field=category, type="nominal", sort=categories, axis=cat_axis)
    offset = alt.XOffset(series, type="nominal", sort=order) if not horizontal else None
    if horizontal:
        base_enc = {"y": alt.Y(**cat_enc), "yOffset": alt.YOffset(series, type="nominal", sort=order)}
        bars = (
            alt.Chart(data)
            .mark_bar()
            .encode(x=alt.X(**value_enc), color=alt.Color(series, type="nominal", scale=scale, title=None), **base_enc)
        )
        marks = (
            alt.Chart(data)
            .transform_filter(f"datum.{MARK_SYMBOL} != ''")
            .mark_text(align="left", dx=3, fontStyle="italic", color="#555")
            .encode(x=alt.datum(0), text=alt.Text(f"{MARK_SYMBOL}:N"), **base_enc)
        )
        height = {"step": 9}
        chart = alt.layer(bars, marks).properties(width=width, height=height)
    else:
        # a label may run over two lines ("2023" and "(to 30 June 2023)": year_label)
        cat_enc["axis"] = alt.Axis(
            title=None, labelAngle=0, labelLimit=140, labelOverlap=False, labelExpr="split(datum.label, '\\n')"
        )
        base_enc = {"x": alt.X(**cat_enc), "xOffset": offset}
        bars = (
            alt.Chart(data)
            .mark_bar()
            .encode(y=alt.Y(**value_enc), color=alt.Color(series, type="nominal", scale=scale, title=None), **base_enc)
        )
        marks = (
            alt.Chart(data)
            .transform_filter(f"datum.{MARK_SYMBOL} != ''")
            .mark_text(baseline="bottom", dy=-2, fontStyle="italic", color="#555")
            .encode(y=alt.datum(0), text=alt.Text(f"{MARK_SYMBOL}:N"), **base_enc)
        )
        step = max(8, min(24, (width // max(1, len(categories) * len(order)))))
        chart = alt.layer(bars, marks).properties(width={"step": step}, height=220)
    if facet:
        panels = list(dict.fromkeys(r[facet] for r in rows))
        chart = chart.facet(
            column=alt.Column(f"{facet}:N", title=None, sort=panels, header=alt.Header(labelFontSize=12))
        )
    return _spec(chart)


@_unvalidated
def lines(
    rows: list[dict],
    x: str,
    series: str,
    *,
    value_title: str,
    kind: str = COUNT,
    x_type: str = "ordinal",
    colours: dict[str, str] | None = None,
    background: list[dict] | None = None,
    background_label: str = "",
    width: int = WIDTH,
) -> dict:
    """Lines with points; a suppressed value breaks the line (a gap) and is marked "c" at zero.

    `background`: thin grey lines (one per `series` value) drawn behind, e.g. statistical neighbours."""
    data = pd.DataFrame(rows)
    order = list(dict.fromkeys(r[series] for r in rows))
    scale = alt.Scale(domain=order, range=[colours[s] for s in order]) if colours else alt.Scale(domain=order)
    x_enc = alt.X(x, type=x_type, title=None, axis=alt.Axis(labelAngle=0, labelOverlap=True))
    y_enc = alt.Y("value", type="quantitative", axis=_value_axis(kind, value_title), scale=alt.Scale(zero=True))
    main = (
        alt.Chart(data)
        .mark_line(point=True, invalid="break-paths-show-domains", strokeWidth=2.5)
        .encode(x=x_enc, y=y_enc, color=alt.Color(series, type="nominal", scale=scale, title=None))
    )
    marks = (
        alt.Chart(data)
        .transform_filter(f"datum.{MARK_SYMBOL} != ''")
        .mark_text(baseline="bottom", dy=-2, fontStyle="italic", color="#555")
        .encode(x=x_enc, y=alt.datum(0), text=alt.Text(f"{MARK_SYMBOL}:N"))
    )
    layers = [main, marks]
    if background:
        grey = (
            alt.Chart(pd.DataFrame(background))
            .mark_line(invalid="break-paths-show-domains", strokeWidth=1, color="#bbbbbb")
            .encode(x=x_enc, y=y_enc, detail=alt.Detail(series, type="nominal"))
        )
        layers.insert(0, grey)
    return _spec(alt.layer(*layers).properties(width=width, height=240))


# ---- the report's charts -------------------------------------------------------------------------------------


def population_chart(population: Published, year: str | None = None) -> Chart:
    year = year or population.latest()
    bands = [
        b
        for b in ("0-4", "5-19", "15-18", "19-24")
        if population.find("population", time_period=year, age_band=b, sex="Total")
    ]
    rows = [
        point(
            count(population.cell("population", time_period=year, age_band=band, sex=sex)),
            age_band=band,
            sex={"M": "Male", "F": "Female"}[sex],
        )
        for band in bands
        for sex in ("M", "F")
    ]
    spec = grouped_bars(
        rows,
        "age_band",
        "sex",
        value_title="People (ONS estimate)",
        horizontal=False,
        category_order=bands,
        colours={"Male": "#1d4f91", "Female": "#c0504d"},
    )
    return Chart(
        "chart-population",
        "Children and young people by age band and sex",
        "Bars of the population by age band, males and females side by side.",
        spec,
    )


PROFILE_GROUPS = (
    ("sex", ("M", "F")),
    ("age_group", ("Primary", "Secondary")),
    ("first_language", ("English", "Other than English")),
    ("fsm", ("Eligible", "Not eligible")),
    ("pupil_premium", ("Yes", "No")),
)


def profile_chart(characteristics: Published, year: str | None = None) -> Chart:
    year = year or characteristics.latest()
    rows, order = [], []
    for group, values in PROFILE_GROUPS:
        for value in values:
            cells = [
                (
                    p,
                    characteristics.find(
                        "pupils", time_period=year, characteristic_group=group, characteristic=value, sen_provision=p
                    ),
                )
                for p in ("E", "K")
            ]
            label = f"{group_label(group)}: {characteristic_label(group, value)}"
            if all(c is not None for _, c in cells):
                order.append(label)
                rows += [point(count(c), characteristic=label, provision=PROVISION_LABELS[p]) for p, c in cells]
    spec = grouped_bars(
        rows, "characteristic", "provision", value_title="Pupils", category_order=order, colours=PROVISION_COLOURS
    )
    return Chart(
        "chart-profile",
        "Pupils with SEND by characteristic",
        "Horizontal bars of pupils with an EHC plan and on SEN support for each characteristic.",
        spec,
    )


def primary_need_chart(need: Published, year: str | None = None) -> Chart:
    year = year or need.latest()
    pairs = [(code, c) for code, c in need.by("primary_need", "pupils", time_period=year) if code != "Total"]
    pairs.sort(key=lambda item: (item[1].number is None, -(item[1].number or 0), item[0]))
    rows = [point(count(c), need=need_label(code), series="Pupils with SEN") for code, c in pairs]
    spec = grouped_bars(
        rows,
        "need",
        "series",
        value_title="Pupils with SEN",
        colours={"Pupils with SEN": "#1d4f91"},
        category_order=[r["need"] for r in rows],
    )
    return Chart(
        "chart-primary-need",
        "Pupils with SEN by primary type of need",
        "Horizontal bars of pupils by primary need, largest first; suppressed needs are marked c.",
        spec,
    )


def primary_need_england_chart(need: Published, year: str) -> Chart:
    la_name = need.la_name()
    rows = [
        point(fact, need=need_label(code), series=series)
        for code, here, there in need_vs_england(need, year)
        for series, fact in ((la_name, here), ("England", there))
    ]
    spec = grouped_bars(
        rows,
        "need",
        "series",
        value_title="% of pupils with SEN",
        kind=PERCENT,
        colours={la_name: "#1d4f91", "England": "#b0b7c3"},
    )
    return Chart(
        "chart-primary-need-england",
        "Share of pupils with SEN by primary type of need: the local authority and England",
        "Pairs of horizontal bars per primary need: the local authority's percentage and England's; a suppressed "
        "percentage is marked c.",
        spec,
    )


def trend_chart(trend: Published) -> Chart:
    rows = [
        point(
            count(trend.cell("pupils", time_period=y, sen_provision=p)),
            year=table_period(trend, y).text,
            provision=PROVISION_LABELS[p],
        )
        for p in ("E", "K")
        for y in trend.distinct("time_period")
    ]
    spec = lines(rows, "year", "provision", value_title="Pupils", colours=PROVISION_COLOURS)
    return Chart(
        "chart-trend",
        "Pupils with an EHC plan and on SEN support, Spring census each year",
        "Two lines over the years: pupils with an EHC plan and pupils on SEN support.",
        spec,
    )


def caseload_chart(caseload: Published) -> Chart:
    rows = []
    for ref_date in caseload.distinct("reference_date"):
        cell = caseload.cell("ehcps_maintained", reference_date=ref_date, primary_need="Total")
        kind = caseload.distinct("time_identifier", reference_date=ref_date)[0]
        series = "April" if kind == "April" else "January (SEN2 census day)"
        rows.append(point(count(cell), date=on_date(ref_date, day=True).iso, series=series))
    spec = lines(
        rows,
        "date",
        "series",
        value_title="EHC plans maintained",
        x_type="temporal",
        colours={"January (SEN2 census day)": "#1d4f91", "April": "#e07b39"},
    )
    return Chart(
        "chart-caseload",
        "EHC plans maintained by the local authority",
        "Lines of EHC plans maintained each January and each April.",
        spec,
    )


def residence_chart(residence: Published, year: str | None = None) -> Chart:
    year = year or residence.latest()
    rows, order = [], []
    for phase in ("Primary", "Secondary"):
        for provision in ("E", "K"):
            label = f"{phase}: {PROVISION_LABELS[provision]}"
            order.append(label)
            for place, words in (("Resident", "In county"), ("Out of county", "Out of county")):
                cell = residence.cell("pupils", time_period=year, phase=phase, sen_provision=provision, residence=place)
                rows.append(point(count(cell), group=label, residence=words))
    spec = grouped_bars(rows, "group", "residence", value_title="Pupils", category_order=order, colours=PLACE_COLOURS)
    return Chart(
        "chart-residence",
        "Pupils with SEN in the authority's schools by where they live",
        "Horizontal bars of pupils living in and out of county, by phase and provision.",
        spec,
    )


def placement_chart(placements: Published, age_group: str, extract: str | None = None) -> Chart:
    extract = extract or placements.latest("extract_date")
    where = {"extract_date": extract, "has_ehcp": "true", "age_group": age_group}
    settings = [s for s in SETTING_ORDER if placements.rows(setting_type=s, **where).shape[0]]
    rows = []
    for setting in settings:
        for flag, words in (("true", "In county"), ("false", "Out of county")):
            cell = placements.find("children", setting_type=setting, in_county=flag, **where)
            if cell is not None:
                rows.append(point(count(cell), setting=setting_label(setting), place=words))
    spec = grouped_bars(
        rows,
        "setting",
        "place",
        value_title="Children with an EHC plan",
        colours=PLACE_COLOURS,
        category_order=[setting_label(s) for s in settings],
        series_order=list(PLACE_COLOURS),
    )
    young = age_group.startswith("0")
    key = "chart-placements" if young else "chart-post16"
    title = (
        "Children with an EHC plan by setting, in and out of county"
        if young
        else "Young people aged sixteen to twenty-five with an EHC plan by setting"
    )
    return Chart(key, title, "Horizontal bars of children by setting, in county and out of county.", spec)


def wider_services_chart(wider: Published) -> Chart:
    kinds = ("Positive activities only", "Short breaks only", "Both")
    rows = [
        point(count(wider.cell("children", time_period=y, aiming_high_use=k)), year=table_period(wider, y).text, use=k)
        for y in wider.distinct("time_period")
        for k in kinds
    ]
    spec = grouped_bars(
        rows,
        "year",
        "use",
        value_title="Children and young people",
        horizontal=False,
        series_order=kinds,
        colours=dict(zip(kinds, ("#1d4f91", "#6fa8dc", "#e07b39"), strict=True)),
    )
    return Chart(
        "chart-wider-services",
        "Children using Aiming High services",
        "Bars of children using positive activities, short breaks or both, each year.",
        spec,
    )


def register_chart(register: Published, year: str | None = None) -> Chart:
    year = year or register.latest()
    bands = [
        b
        for b in register.distinct("age_band", time_period=year)
        if b != "Total" and register.cell("children", time_period=year, age_band=b).text != "0"
    ]
    rows = [
        point(count(register.cell(column, time_period=year, age_band=band)), age_band=band, measure=words)
        for band in bands
        for column, words in (("children", "On the register"), ("children_with_ehcp", "With an EHC plan"))
    ]
    spec = grouped_bars(
        rows,
        "age_band",
        "measure",
        value_title="Children and young people",
        horizontal=False,
        category_order=bands,
        colours={"On the register": "#1d4f91", "With an EHC plan": "#e07b39"},
    )
    return Chart(
        "chart-register",
        "Children and young people on the disability register",
        "Bars by age band: everyone on the register and those with an EHC plan.",
        spec,
    )


def health_checks_chart(checks: Published) -> Chart:
    """Seed 7.2 over the financial years: the published percentage of each age band (and of everyone aged 14 to 25)
    who had their annual health check; a suppressed percentage breaks its line, marked c."""
    years = checks.distinct("time_period")
    bands = dict.fromkeys(b for y in years for b in checks.distinct("age_band", time_period=y) if b != "Total")
    labels = {"Total": "All aged 14 to 25", **{b: f"Aged {b}" for b in bands}}
    rows = [
        point(
            as_published(RATE, health_check_cells(checks, year, band)[2]),
            year=table_period(checks, year).text,
            age_band=label,
        )
        for band, label in labels.items()
        for year in years
    ]
    colours = dict(zip(labels.values(), SERIES_PALETTE, strict=False)) if len(labels) <= len(SERIES_PALETTE) else None
    spec = lines(rows, "year", "age_band", value_title="% who had a health check", kind=RATE, colours=colours)
    return Chart(
        "chart-health-checks",
        "Young people on a learning disability register who had their annual health check",
        "Lines over the financial years of the percentage who had a health check: everyone and each age band.",
        spec,
    )


TIMED_STAGES = (
    ("Decisions whether to assess", "Within 6 weeks", "Later"),
    ("EHC plans issued", "Within 20 weeks", "Later"),
)


def year_label(timeliness: Published, year: str) -> str:
    """A year's label on the chart: `2023` over `(to 30 June 2023)` for the year still running, as the table says it
    (two lines: the axis splits a label at a line break)."""
    text = "".join(part if isinstance(part, str) else part.text for part in year_counted(timeliness, year))
    return text.replace(" (", "\n(", 1)


TIMING_COLOURS = {"In time": "#1d4f91", "Late": "#e07b39"}  # a stage met in time, missed


def timeliness_chart(timeliness: Published, years: Sequence[str]) -> Chart:
    rows = []
    for stage, on_time, late in TIMED_STAGES:
        for year in years:
            for timing, words in ((on_time, "In time"), (late, "Late")):
                cell = timeliness.cell("events", time_period=year, stage=stage, timeliness=timing)
                rows.append(point(count(cell), year=year_label(timeliness, year), stage=stage, timing=words))
    spec = grouped_bars(
        rows,
        "year",
        "timing",
        value_title="Decisions or plans",
        horizontal=False,
        facet="stage",
        width=220,
        colours=TIMING_COLOURS,
    )
    return Chart(
        "chart-timeliness",
        "Statutory timescales met and missed",
        "Two panels of bars by calendar year: in time and late for decisions whether to assess and plans issued.",
        spec,
    )


def annual_reviews_chart(reviews: Published, years: Sequence[str]) -> Chart:
    rows = [
        point(
            count(reviews.cell("reviews", time_period=year, timeliness=timing)),
            year=year_label(reviews, year),
            timing=timing,
        )
        for year in years
        for timing in ("In time", "Late")
    ]
    spec = grouped_bars(
        rows,
        "year",
        "timing",
        value_title="Annual reviews due",
        horizontal=False,
        width=300,
        colours=TIMING_COLOURS,
    )
    return Chart(
        "chart-annual-reviews",
        "Annual reviews held in time",
        "Bars by academic year: annual reviews of EHC plans held by their due date, and late.",
        spec,
    )


def spend_chart(spend: Published) -> Chart:
    years = spend.distinct("time_period")
    shown = [years[0], years[-1]] if len(years) > 1 else years
    categories = [c for c in spend.distinct("category", line_code="Total") if c != "Total"]
    categories = [
        c
        for c in categories
        if any(spend.cell("amount_gbp", time_period=y, line_code="Total", category=c).text != "z" for y in shown)
    ]
    rows = [
        point(
            Fact(MONEY, (spend.cell("amount_gbp", time_period=y, line_code="Total", category=c),)),
            category=c,
            year=table_period(spend, y).text,
        )
        for c in categories
        for y in shown
    ]
    spec = grouped_bars(
        rows,
        "category",
        "year",
        value_title="Expenditure (GBP)",
        kind=MONEY,
        colours=dict(zip([table_period(spend, y).text for y in shown], ("#6fa8dc", "#1d4f91"), strict=False)),
    )
    return Chart(
        "chart-spend",
        "High needs expenditure by category, first and latest financial year",
        "Horizontal bars of spending by category, the first year beside the latest.",
        spec,
    )


def _benchmark_rows(benchmark: Published, measure_rows, roles=("home_la", "region", "england")):
    main, grey = [], []
    for role in (*roles, "statistical_neighbour"):
        codes = neighbour_codes(benchmark) if role == "statistical_neighbour" else [None]
        for code in codes:
            where = {"old_la_code": code} if code else {}
            name = geography_name(benchmark, role, code)
            for year, fact in measure_rows(role, where):
                (grey if role == "statistical_neighbour" else main).append(point(fact, year=year, geography=name))
    return main, grey


def benchmark_growth_chart(benchmark: Published) -> Chart:
    years = benchmark.distinct("time_period", measure="ehcplans")

    def rows(role: str, where: dict) -> list:
        first = benchmark.find("value", geography_role=role, measure="ehcplans", time_period=years[0], **where)
        out = []
        for year in years:
            cell = benchmark.find("value", geography_role=role, measure="ehcplans", time_period=year, **where)
            if cell is not None and first is not None:
                out.append((table_period(benchmark, year).text, percent(cell, first)))
        return out

    main, grey = _benchmark_rows(benchmark, rows)
    spec = lines(
        main,
        "year",
        "geography",
        value_title="EHC plans, % of the first year",
        kind=PERCENT,
        background=grey,
        colours=_geo_colours(main),
    )
    return Chart(
        "chart-benchmark-growth",
        "Growth in EHC plans: the authority, its region, England and neighbours",
        "Lines of EHC plans as a percentage of the first year; statistical neighbours in grey.",
        spec,
    )


def benchmark_timely_chart(benchmark: Published) -> Chart:
    years = benchmark.distinct("time_period", measure="plans_issued_within_20_weeks")

    def rows(role: str, where: dict) -> list:
        out = []
        for year in years:
            within = benchmark.find(
                "value", geography_role=role, measure="plans_issued_within_20_weeks", time_period=year, **where
            )
            issued = benchmark.find("value", geography_role=role, measure="plans_issued_den", time_period=year, **where)
            if within is not None and issued is not None:
                out.append((year, percent(within, issued)))
        return out

    main, grey = _benchmark_rows(benchmark, rows)
    spec = lines(
        main,
        "year",
        "geography",
        value_title="% of new plans in time",
        kind=PERCENT,
        background=grey,
        colours=_geo_colours(main),
    )
    return Chart(
        "chart-benchmark-timely",
        "New EHC plans issued within the statutory timescale",
        "Lines of the percentage of new plans issued in time; statistical neighbours in grey.",
        spec,
    )


def _geo_colours(rows: list[dict]) -> dict[str, str]:
    names = list(dict.fromkeys(r["geography"] for r in rows))
    return dict(zip(names, SERIES_PALETTE, strict=False))


def attainment_chart(standard: Published, year: str | None = None) -> Chart:
    """The local authority's percentage meeting each standard beside England's, for pupils on SEN support and with
    an EHC plan; a suppressed percentage is a missing bar marked c."""
    year = year or standard.latest()
    la_name = standard.la_name()
    rows, order = [], []
    for key_stage, measure in standard_measures(standard, year):
        for provision in ("K", "E"):
            facts = standard_facts(standard, year, key_stage, measure, provision)
            label = f"{key_stage} {short_measure(key_stage, measure)}: {PROVISION_LABELS[provision]}"
            order.append(label)
            rows += [
                point(facts[k], measure=label, series=name) for k, name in (("pct", la_name), ("england", "England"))
            ]
    spec = grouped_bars(
        rows,
        "measure",
        "series",
        value_title="% meeting the standard",
        kind=RATE,
        category_order=order,
        colours={la_name: "#1d4f91", "England": "#b0b7c3"},
    )
    return Chart(
        "chart-attainment",
        "Pupils with SEN meeting the expected standard: the local authority and England",
        "Pairs of horizontal bars per stage, measure and provision: the local authority's percentage and England's; "
        "a suppressed percentage is marked c and not drawn.",
        spec,
    )


def short_measure(key_stage: str, measure: str) -> str:
    """ "Reading at the expected standard" -> "reading"; "Good level of development" -> "good level of development"."""
    label = measure_label(key_stage, measure).removesuffix(" at the expected standard")
    return label[0].lower() + label[1:]
