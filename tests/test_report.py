"""The needs-assessment report (issue 7): regenerated from the published release only.

Unit tests build narrative sentences, facts and charts from small hand-made published tables (including
suppressed cells). The release tests generate the Rutland extracts and run the pipeline once per module, build the
report from that release, and check it: every section and chart, self-contained HTML, every number in a table,
sentence or chart recomputed from the published cells it names (with an independent formatter), no literal count
from 1 to 5 anywhere except where the published table shows it, the seed's figures in the sentences, a headless
Chromium render with a screenshot, and the Dagster asset.
"""

import json
import os
import re
import shutil
import sys
import types
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from pipeline import publish as publish_module
from pipeline.release import RELEASE_KEY, REPORT_KEY, publish_release
from pipeline.report import build as report_build
from pipeline.report import charts as report_charts
from pipeline.report import facts as fx
from pipeline.report import narrative as nv
from pipeline.report import sections as report_sec
from pipeline.report import tables as report_tables
from pipeline.resources import SendWarehouse
from pipeline.suppression.rules import DEFAULT_RULES

from support import checks_passed_instance, generated_and_published

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
SYMBOLS = ("c", "x", "z", "low")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECTION_TITLES = {  # every section of the seed, in its order, then the comparison with DfE's figures
    "introduction": "Introduction",
    "background": "Background",
    "children-and-young-peoples-plan": "Children and Young People's Plan",
    "national-context": "National context",
    "population": "Population",
    "deprivation": "Deprivation",
    "child-health": "Health of the local authority's children",
    "send-profile": "Profile of pupils with SEND",
    "primary-need": "Primary type of need",
    "trend": "EHC plans and SEN support over time",
    "ehcp-demand": "EHCP demand",
    "placements": "Placements and residence",
    "post-16": "Post-sixteen",
    "exclusions": "School exclusions",
    "wider-services": "Wider services",
    "disability-register": "Disability register",
    "timescales": "Statutory timescales",
    "health-assessments": "Health assessments",
    "attainment": "Attainment of pupils with SEN",
    "expenditure": "High needs expenditure",
    "voice-of-children-and-parent-carers": "The voice of children and their parents and carers",
    "joint-commissioning-with-health": "Joint commissioning with health",
    "gaps-and-recommendations": "Gaps and recommendations",
    "benchmarks": "Comparison with the region, England and statistical neighbours",
}
WRITTEN = (  # the analysts' sections (report/narrative/*.md): text, no table
    "introduction",
    "background",
    "children-and-young-peoples-plan",
    "national-context",
    "voice-of-children-and-parent-carers",
    "joint-commissioning-with-health",
    "gaps-and-recommendations",
)
CHART_IDS = (
    "chart-population",
    "chart-profile",
    "chart-primary-need",
    "chart-primary-need-england",
    "chart-trend",
    "chart-caseload",
    "chart-placements",
    "chart-residence",
    "chart-post16",
    "chart-wider-services",
    "chart-register",
    "chart-timeliness",
    "chart-annual-reviews",
    "chart-health-checks",
    "chart-attainment",
    "chart-spend",
    "chart-benchmark-growth",
    "chart-benchmark-timely",
)
STANDALONE_NUMBER = re.compile(r"(?<![A-Za-z\d])\d")  # a number on its own, not the 2 of SEN2
SMALL_COUNT = re.compile(r"(?<![\w.,£+\-/])[1-5](?![\w.,%/])")
DATE_TEXT = re.compile(
    r"((Spring|Summer|Autumn) \d{4}|\d{4}(/\d{2}|-\d{2})?|(\d{1,2} )?(January|February|March|April|May|June|July|"
    r"August|September|October|November|December) \d{4}|\d{1,2} \w+ \d{4}, \d{2}:\d{2} UTC)"
)


# ---- an independent reading of the release -------------------------------------------------------------------


def fmt_decimal(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


NOT_CHILDREN = ("amount_gbp", "population")  # money and ONS estimates: the percentage-of-few rule is for children


def exact_value(kind: str, cells: list[str], base: list[str], children: bool = True, minus: Sequence[str] = ()):
    """A fact's exact value from the published texts of its cells, or the symbol it must show instead (written
    apart from the report's code, from the rules in its documentation)."""
    for symbol in SYMBOLS:
        if symbol in cells or symbol in base or symbol in minus:
            return symbol
    if kind in ("rate", "score", "rank"):  # one published cell, as published
        (text,) = cells
        return Decimal(text)
    total = sum((Decimal(c) for c in cells), Decimal(0)) - sum((Decimal(c) for c in minus), Decimal(0))
    if kind in ("count", "money", "money_m"):
        return total
    whole = sum((Decimal(c) for c in base), Decimal(0))
    if whole == 0:
        return "z"
    if children and abs(whole) < DEFAULT_RULES.rate_min_denominator:
        return "c"
    return 100 * total / whole if kind == "percent" else 100 * (total - whole) / whole


def ordinal_text(number: int) -> str:
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}" + {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def shown_text(kind: str, value: Decimal | str) -> str:
    if isinstance(value, str):
        return value
    sign = "-" if value < 0 else ""
    if kind == "count":
        return f"{int(value):,}"
    if kind == "money":
        return f"{sign}£{int(fmt_decimal(abs(value), 0)):,}"
    if kind == "money_m":
        return f"{sign}£{fmt_decimal(abs(value) / 1_000_000, 1)}m"
    if kind == "rate":
        return f"{value}%"
    if kind == "score":
        return f"{value}"
    if kind == "rank":
        return ordinal_text(int(value))
    rounded = fmt_decimal(value, 1)
    if kind == "percent" and value and not rounded:
        return "low"  # not zero, rounding to it: the release's symbol
    return f"{'+' if kind == 'change' and rounded >= 0 else ''}{rounded}%"


class ReleaseReader:
    """The published tables read straight from DuckDB by rowid (not through pipeline.report)."""

    def __init__(self, db: Path):
        self.db = db
        self.tables: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            with duckdb.connect(str(self.db), read_only=True) as con:
                self.tables[name] = con.execute(f"SELECT rowid AS r, * FROM reporting.{name}").df().set_index("r")
        return self.tables[name]

    def text(self, ref: str) -> str:
        table, row, column = ref.split(":")
        return str(self.table(table).loc[int(row), column])

    def texts(self, refs: str) -> list[str]:
        return [self.text(r) for r in refs.split()]

    def exact(self, kind: str, cells: str, base: str, minus: str = "") -> Decimal | str:
        refs = [*cells.split(), *base.split()]
        children = not any(r.split(":")[2] in NOT_CHILDREN for r in refs)
        return exact_value(kind, self.texts(cells), self.texts(base), children, self.texts(minus))

    def expected(self, kind: str, cells: str, base: str, minus: str = "") -> str:
        return shown_text(kind, self.exact(kind, cells, base, minus))

    def expected_of(self, attrs: dict) -> str:
        """What a fact element (data-kind, data-cells, data-base, data-minus) must show."""
        return self.expected(attrs["data-kind"], attrs["data-cells"], attrs.get("data-base", ""),
                             attrs.get("data-minus", ""))  # fmt: skip


# ---- a small DOM from html.parser ----------------------------------------------------------------------------

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def ancestors(self):
        node = self
        while node is not None:
            yield node
            node = node.parent

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.node = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(Node(tag, dict(attrs), self.node))

    def handle_endtag(self, tag):
        for node in self.node.ancestors():
            if node.tag == tag:
                self.node = node.parent
                return

    def handle_data(self, data):
        self.node.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    return builder.root


def text_nodes(root: Node):
    """(text, the element holding it) for every text node."""
    for node in root.walk():
        for child in node.children:
            if isinstance(child, str) and child.strip():
                yield child, node


def context(node: Node) -> str:
    """Where a text node sits: fact, time, label, absent, svg-axis, svg-mark, svg-other, code (style), written (an
    analyst-written section: their prose, with the release's figures filled into placeholders) or prose."""
    if any(a.tag == "section" and "written" in a.classes for a in node.ancestors()):
        return "written"
    for a in node.ancestors():
        if a.tag in ("style", "title") and not any(x.tag == "svg" for x in a.ancestors()):
            return "code"
        if "data-kind" in a.attrs:
            return "fact"
        if a.tag == "time":
            return "time"
        if "label" in a.classes:
            return "label"
        if "absent" in a.classes:
            return "absent"
        roles = " ".join(a.classes)
        if "role-mark" in roles:
            return "svg-mark"
        if any(
            r in roles
            for r in ("role-axis-label", "role-legend-label", "role-axis-title", "role-legend-title", "role-title-text")
        ):
            return "svg-axis"
        if a.tag == "svg":
            return "svg-other"
    return "prose"


# ---- hand-made published tables ------------------------------------------------------------------------------


def published(name: str, rows: list[dict], **constant) -> fx.Published:
    frame = pd.DataFrame([{**constant, **r} for r in rows])
    return fx.Published(name, frame.assign(_row=range(len(frame))))


LA = {"geographic_level": "Local authority", "la_name": "Testshire"}


def caseload_table(jan_2019: str = "198", apr_2023: str = "305") -> fx.Published:
    rows = []
    for ref, tp, ti, total, needs in (
        ("2019-01-17", "201819", "Academic year", jan_2019, {"ASD": "64", "SEMH": "33", "MSI": "c"}),
        ("2023-01-19", "202223", "Academic year", "310", {"ASD": "100", "SEMH": "62", "MSI": "c"}),
        ("2023-04-01", "2023", "April", apr_2023, {"ASD": "100", "SEMH": "63", "MSI": "c"}),
    ):
        rows.append(
            {
                "reference_date": ref,
                "time_period": tp,
                "time_identifier": ti,
                "primary_need": "Total",
                "ehcps_maintained": total,
            }
        )
        rows += [
            {
                "reference_date": ref,
                "time_period": tp,
                "time_identifier": ti,
                "primary_need": code,
                "ehcps_maintained": n,
            }
            for code, n in needs.items()
        ]
    return published("send_ehcp_caseload", rows, **LA)


def texts(sentences) -> list[str]:
    return [fx.sentence_text(s) for s in sentences]


# ---- facts -----------------------------------------------------------------------------------------------------


def cell(text: str, row: int = 0, table: str = "t", column: str = "v") -> fx.Cell:
    return fx.Cell(table, row, column, text)


def test_facts_compute_from_published_cells_and_withhold_what_is_suppressed():
    assert fx.count(cell("1234")).text == "1,234"
    assert fx.count(cell("66"), cell("20")).text == "86"  # a sum of published cells
    assert fx.percent(cell("176"), cell("6100")).text == "2.9%"  # 2.885...
    assert fx.percent(cell("1"), cell("16")).text == "6.3%"  # 6.25 rounds half up, as published figures do
    assert fx.change(cell("198"), cell("305")).text == "+54.0%"
    assert fx.change(cell("265"), cell("176")).text == "-33.6%"
    assert fx.Fact(fx.MONEY_M, (cell("5398875.87"),)).text == "£5.4m"
    assert fx.Fact(fx.MONEY, (cell("-109699.45"),)).text == "-£109,699"
    # a suppressed input is never computed with: the fact shows the symbol and has no value
    for fact in (
        fx.count(cell("c")),
        fx.count(cell("12"), cell("c")),
        fx.percent(cell("c"), cell("68")),
        fx.percent(cell("28"), cell("c")),
        fx.change(cell("c"), cell("305")),
    ):
        assert (fact.text, fact.value, fact.available) == ("c", None, False)
    assert fx.count(cell("x")).text == "x"
    # rule 5: no percentage over fewer than ten children; none over nothing; money is not children
    assert fx.percent(cell("3"), cell("9")).text == "c"
    assert fx.percent(cell("9"), cell("10")).text == "90.0%"
    assert fx.percent(cell("0"), cell("0")).text == "z"
    assert fx.percent(cell("3.00"), cell("9.00"), rate_rule=False).text == "33.3%"


def test_a_sentence_refuses_a_number_typed_as_plain_text():
    with pytest.raises(ValueError, match="Fact, When or Label"):
        fx.say("There were 5 requests.")
    assert fx.say("The SEN2 return and the S251 budget.")  # digits inside code words are words
    assert fx.sentence_text(fx.say("In ", fx.When("2023", "2023"), ", ", fx.count(cell("27")), " requests.")) == (
        "In 2023, 27 requests."
    )


# ---- narrative on hand-made tables -------------------------------------------------------------------------------


def test_caseload_sentence_numbers_come_from_the_table():
    sentences = nv.caseload_sentences(caseload_table(), since_year=2019)
    growth = round(Decimal(305 - 198) * 100 / 198, 1)  # 54.0
    assert (
        texts(sentences)[0]
        == f"EHC plans maintained by Testshire rose from 198 in January 2019 to 305 in April 2023 (+{growth}%)."
    )
    facts = fx.facts_of(sentences[0])
    assert [f.cells[0].text for f in facts[:2]] == ["198", "305"]
    assert facts[2].base[0].text == "198" and facts[2].cells[0].text == "305"
    # the needs: shares of the April total, largest first; the suppressed need named, not counted
    assert "are ASD 32.8% (100) and SEMH 20.7% (63)." in texts(sentences)[1]  # 100/305, 63/305
    assert texts(sentences)[2] == (
        "Figures for MSI are known but suppressed (c): small, or hidden so that a small count cannot be worked out."
    )


def test_caseload_sentence_with_a_suppressed_input_says_so_and_computes_nothing():
    sentences = nv.caseload_sentences(caseload_table(jan_2019="c"), since_year=2019)
    first = texts(sentences)[0]
    assert (
        first
        == "The number of EHC plans maintained in January 2019 is suppressed (c), so the change since January 2019 "
        "is not given."
    )
    assert "%" not in first and "305" not in first
    assert fx.facts_of(sentences[0]) == []  # the suppressed count is said in words; no count or change is made


def timeliness(year: str = "2021", counted_to: str = "2021-12-31") -> fx.Published:
    rows = []
    for stage, timings in {
        "Requests received": {"Not timed": "55", "Total": "55"},
        "Decisions whether to assess": {"Within 6 weeks": "c", "Later": "c", "Total": "68"},
        "EHC plans issued": {"Within 20 weeks": "15", "Later": "21", "Total": "36"},
    }.items():
        rows += [
            {"time_period": year, "time_identifier": "Calendar year", "counted_to": counted_to, "stage": stage,
             "timeliness": t, "events": n}
            for t, n in timings.items()
        ]  # fmt: skip
    return published("send_ehcna_timeliness", rows, **LA)


def test_timeliness_sentence_names_the_suppressed_share_and_computes_the_others():
    (sentence,) = nv.timeliness_sentences(timeliness())
    assert fx.sentence_text(sentence) == (
        "In 2021: 55 requests for assessment; decisions whether to assess made within 6 weeks: suppressed (c) out of "
        "68; EHC plans issued within 20 weeks: 15 of 36 (41.7%)."
    )  # 15/36 = 41.67%


def annual_reviews(cells: dict[str, tuple[str, str, str]], counted_to: dict[str, str]) -> fx.Published:
    """academic year -> (in time, late, total); counted_to: each year's last counted day."""
    rows = [
        {"time_period": year, "time_identifier": "Academic year", "counted_to": counted_to[year], "timeliness": t,
         "reviews": n}
        for year, counts in cells.items()
        for t, n in zip(("In time", "Late", "Total"), counts, strict=True)
    ]  # fmt: skip
    return published("send_annual_reviews", rows, **LA)


def test_annual_reviews_are_said_by_academic_year_the_last_to_the_extract_date():
    """Seed 7.1 counts annual reviews by academic year: 2021/22 is September 2021 to August 2022."""
    reviews = annual_reviews(
        {"202021": ("0", "0", "0"), "202122": ("81", "19", "100"), "202223": ("3", "5", "8")},
        {"202021": "2021-08-31", "202122": "2022-08-31", "202223": "2023-06-30"},
    )
    years = report_tables.annual_review_years(reviews)
    assert years == ["202122", "202223"]  # no review due in 2020/21: not a year of the table
    assert texts(nv.annual_review_sentences(reviews, years)) == [
        "In 2021/22: annual reviews held by their due date: 81 of 100 (81.0%).",
        "In 2022/23 (to 30 June 2023): annual reviews held by their due date: 3 of 8 (c).",
    ]  # 3 of 8 is a percentage of fewer than ten reviews: c
    table = report_tables.annual_reviews_table(reviews, years)
    assert [fx.sentence_text(row[0]) for row in table.rows] == ["2021/22", "2022/23 (to 30 June 2023)"]
    chart = report_charts.annual_reviews_chart(reviews, years)
    assert {row["year"] for rows in chart.spec["datasets"].values() for row in rows} == {
        "2021/22",
        "2022/23\n(to 30 June 2023)",
    }


def test_a_year_counted_to_a_day_before_its_end_says_so():
    (sentence,) = nv.timeliness_sentences(timeliness("2023", "2023-06-30"))
    assert fx.sentence_text(sentence).startswith("In 2023 (to 30 June 2023): 55 requests for assessment;")


def test_the_timeliness_chart_labels_a_year_counted_to_a_day_before_its_end_as_the_table_does():
    def years(chart) -> set[str]:
        return {row["year"] for rows in chart.spec["datasets"].values() for row in rows}

    partial = report_charts.timeliness_chart(timeliness("2023", "2023-06-30"), ["2023"])
    assert years(partial) == {"2023\n(to 30 June 2023)"}  # a plain "2023" read as the whole year beside whole years
    assert years(report_charts.timeliness_chart(timeliness("2022", "2022-12-31"), ["2022"])) == {"2022"}


def health_checks(cells: dict[tuple[str, str], tuple[str, str, str, str]]) -> fx.Published:
    """(financial year, age band) -> (had a check, no check, total, the release's percentage of the first)."""
    rows = []
    for (year, band), (done, not_done, total, pct) in cells.items():
        rows += [
            {"time_period": year, "time_identifier": "Financial year", "age_band": band, "health_check": check,
             "young_people": n, "pct_of_age_band": p}
            for check, n, p in (("Had a health check", done, pct), ("No health check", not_done, "x"),
                                ("Total", total, "100.0"))
        ]  # fmt: skip
    return published("send_ld_health_checks", rows, **LA)


# (financial year, age band) -> cells as the demo release publishes them: 2022-23's bands suppressed
TWO_YEARS_OF_CHECKS = {
        ("202122", "14 to 17"): ("15", "6", "21", "71.4"),
        ("202122", "18 to 25"): ("26", "9", "35", "74.3"),
        ("202122", "Total"): ("41", "15", "56", "73.2"),
        ("202223", "14 to 17"): ("c", "c", "22", "c"),
        ("202223", "18 to 25"): ("c", "c", "38", "c"),
        ("202223", "Total"): ("48", "12", "60", "80.0"),
}  # fmt: skip


def test_health_check_sentences_give_the_published_percentage_and_name_a_suppressed_count():
    checks = health_checks(TWO_YEARS_OF_CHECKS)
    assert texts(nv.health_check_sentences(checks)) == [
        "48 of 60 young people aged 14 to 25 on a GP learning disability register (80.0%) had their annual health "
        "check in 2022-23.",
        "By age at the end of the year: aged 14 to 17, how many of the 22 had one is suppressed (c); aged 18 to 25, "
        "how many of the 38 had one is suppressed (c).",
        "In earlier years: 41 of 56 (73.2%) in 2021-22.",
    ]
    [first, *_] = nv.health_check_sentences(checks)
    assert [f.kind for f in fx.facts_of(first)] == ["count", "count", "rate"]  # the release's percentage, as published


def test_health_check_sentences_with_a_suppressed_total_compute_nothing_from_it():
    checks = health_checks({("202223", "14 to 17"): ("c", "c", "c", "c"), ("202223", "Total"): ("c", "c", "c", "c")})
    assert texts(nv.health_check_sentences(checks)) == [
        "In 2022-23, the number of young people aged 14 to 25 on a GP learning disability register, and how many of "
        "them had their annual health check, is suppressed (c).",
        "By age at the end of the year: aged 14 to 17, how many are on the register is suppressed (c).",
    ]
    only_checks = health_checks({("202223", "Total"): ("c", "c", "60", "c")})
    assert texts(nv.health_check_sentences(only_checks)) == [
        "In 2022-23, 60 young people aged 14 to 25 were on a GP learning disability register; how many of them had "
        "their annual health check is suppressed (c)."
    ]


def placements(rows: list[tuple[str, str, str, str, str]]) -> fx.Published:
    return published(
        "send_placements",
        [
            {
                "extract_date": "2022-12-31",
                "time_period": "2022",
                "has_ehcp": "true",
                "setting_type": s,
                "in_county": i,
                "age_group": a,
                "children": n,
            }
            for s, i, a, n, _ in rows
        ],
        **LA,
    )


def test_post16_total_and_share_only_when_every_setting_is_published():
    hidden = placements(
        [
            ("FE_COLLEGE", "false", "16-25", "50", ""),
            ("AP", "true", "16-25", "12", ""),
            ("SPI", "false", "16-25", "10", ""),
            ("APPRENTICESHIP", "true", "16-25", "c", ""),
        ]
    )
    said = texts(nv.post16_sentences(hidden))
    assert said[0].startswith("At 31 December 2022, 72 young people aged 16-25")  # 50 + 12 + 10
    assert said[1] == (
        "The numbers in other settings (apprenticeship) are suppressed (c) and the placements table publishes no "
        "totals, so the total aged 16-25 and the share in college cannot be given."
    )  # not "are not published because ... suppressed": the table has no totals at all
    assert "%" not in " ".join(said)
    shown = placements(
        [
            ("FE_COLLEGE", "false", "16-25", "50", ""),
            ("AP", "true", "16-25", "12", ""),
            ("RESIDENTIAL", "false", "16-25", "8", ""),
        ]
    )
    assert texts(nv.post16_sentences(shown))[1] == (
        "That is 62 of 70 (88.6%) of the young people with an EHC plan in this age group."  # 62/70 = 88.57%
    )


def test_wider_services_sums_disjoint_published_groups():
    rows = [
        {
            "time_period": "202223",
            "time_identifier": "Financial year",
            "aiming_high_use": u,
            "children": n,
            "children_with_ehcp": e,
        }
        for u, n, e in (
            ("Positive activities only", "66", "32"),
            ("Short breaks only", "21", "13"),
            ("Both", "20", "16"),
            ("Total", "107", "61"),
        )
    ]
    carers = published(
        "send_parent_carer_support",
        [{"time_period": "202223", "time_identifier": "Financial year", "parent_carers": "104"}],
        **LA,
    )
    said = texts(nv.wider_services_sentences(published("send_wider_services", rows, **LA), carers))
    assert said == [
        "In 2022-23, 107 children and young people used Aiming High: 86 positive activities and 41 short breaks, "
        "20 of them both.",
        "29 of the children using short breaks have an EHC plan; 61 (57.0%) of all the children using Aiming High do.",
        "104 parent/carers were given support, information and advice in 2022-23.",
    ]  # 66+20, 21+20, 13+16, 61/107


def test_primary_need_names_the_largest_and_the_suppressed():
    rows = [
        {"time_period": "202223", "time_identifier": "Spring term", "primary_need": k, "pupils": v}
        for k, v in (
            ("MLD", "188"),
            ("SEMH", "166"),
            ("SPLD", "147"),
            ("ASD", "89"),
            ("MSI", "c"),
            ("SLD", "c"),
            ("Total", "805"),
        )
    ]
    said = texts(nv.primary_need_sentences(published("send_primary_need", rows, **LA)))
    assert said[0] == (
        "The most common primary needs at the Spring 2023 census are MLD (188, 23.4%), SEMH (166, "
        "20.6%) and SPLD (147, 18.3%), of 805 pupils with SEN."
    )
    assert said[1:] == [
        "Counts for MSI and SLD are suppressed (c): small, or hidden so that a small count cannot be worked out."
    ]


def test_primary_need_against_england_names_the_largest_differences_and_the_suppressed_share():
    rows = [
        {"time_period": "202122", "time_identifier": "Spring term", "primary_need": k, "pupils": v, "england_pupils": e}
        for k, v, e in (
            ("MLD", "169", "229446"),
            ("SLCN", "94", "319757"),
            ("SEMH", "147", "258441"),
            ("MSI", "c", "4112"),
            ("PMLD", "c", "10877"),
            ("Total", "415", "822633"),
        )
    ]
    said = texts(nv.primary_need_england_sentences(published("send_primary_need", rows, **LA)))
    # SEMH 35.4% vs 31.4%; MLD 40.7% vs 27.9%; SLCN 22.7% vs 38.9%
    assert said == [
        "Compared with England at the Spring 2022 census, the shares of pupils with SEN that differ most are "
        "Speech, language and communication needs (SLCN) at 22.7% against 38.9%, Moderate learning difficulty (MLD) "
        "at 40.7% against 27.9% and Social, emotional and mental health (SEMH) at 35.4% against 31.4%.",
        "A share is suppressed (c) where the count behind it is.",
    ]


def test_spend_in_millions_with_a_suppressed_category_named():
    rows = []
    for year, total, away, hospital in (
        ("201920", "4110395.39", "1280367.01", "c"),
        ("202223", "5398875.87", "2154760.42", "53948.99"),
    ):
        rows += [
            {
                "time_period": year,
                "time_identifier": "Financial year",
                "line_code": "Total",
                "category": c,
                "amount_gbp": v,
            }
            for c, v in (("Total", total), ("out-of-county", away), ("hospital education", hospital))
        ]
    said = texts(nv.spend_sentences(published("send_high_needs_spend", rows, **LA)))
    assert said[0] == "High needs expenditure rose from £4.1m in 2019-20 to £5.4m in 2022-23 (+31.3%)."
    assert said[1] == "The largest category in 2022-23 is out-of-county: £2.2m (39.9% of the total)."
    assert said[2] == "Spending on out-of-county placements rose from £1.3m to £2.2m (+68.3%)."
    assert said[3] == "Spending on hospital education is confidential (c) in the spending return in some years."
    assert said[4] == (  # the +31.3% above compares totals without hospital education in 2019-20 (an analyst's review)
        "Each year's total adds up the amounts reported that year, so the change in the total compares years with "
        "different categories missing."
    )


def test_spend_growth_names_a_category_the_first_year_did_not_report():
    """The year totals add up the amounts reported: schools in financial difficulty was x (not available) in 2019-20
    and 25,836.85 in 2022-23, so the growth of the totals includes it in one year only; the report must say so, as it
    does for a c."""
    rows = []
    for year, total, difficulty in (("201920", "4110395.39", "x"), ("202223", "5398875.87", "25836.85")):
        rows += [
            {"time_period": year, "time_identifier": "Financial year", "line_code": "Total", "category": c,
             "amount_gbp": v}
            for c, v in (("Total", total), ("schools in financial difficulty", difficulty))
        ]  # fmt: skip
    said = texts(nv.spend_sentences(published("send_high_needs_spend", rows, **LA)))
    assert said[0] == "High needs expenditure rose from £4.1m in 2019-20 to £5.4m in 2022-23 (+31.3%)."
    assert [s for s in said if "schools in financial difficulty" in s and "(x)" in s], said


def test_benchmark_says_when_the_la_has_no_statistical_neighbours():
    """Cumberland (942) and Westmorland and Furness (943) have no neighbours in the seed (DfE's model from before
    Cumbria's split): the section said "Statistical neighbours are the local authorities DfE's benchmarking tool pairs
    with this one" above a table with none, and nothing about why."""
    rows = []
    for year, home, region, england in (("202324", "2700", "88000", "576000"), ("202425", "2893", "92839", "638745")):
        common = {"time_period": year, "time_identifier": "Academic year", "measure": "ehcplans"}
        rows += [
            {**common, "geographic_level": "Local authority", "geography_role": "home_la", "la_name": "Cumberland",
             "old_la_code": "942", "new_la_code": "E06000063", "value": home},
            {**common, "geographic_level": "Regional", "geography_role": "region", "region_name": "North West",
             "value": region},
            {**common, "geographic_level": "National", "geography_role": "england", "value": england},
        ]  # fmt: skip
    said = texts(nv.benchmark_sentences(published("send_benchmark_ehcp", rows)))
    assert said[-1] == (
        "No statistical neighbours of Cumberland are compared: the list the project holds (DfE's model from before "
        "Cumbria's split in April 2023) has none for it."
    )


def test_benchmark_follows_a_neighbour_across_its_new_la_codes():
    base = {"geographic_level": "Local authority"}
    rows = []
    for year, home, region, england, bucks_new, bucks in (
        ("201819", "197", "24760", "353995", "E10000002", "4054"),
        ("202425", "376", "47444", "638745", "E06000060", "7217"),
    ):
        ti = "Academic year"
        rows += [
            {
                **base,
                "time_period": year,
                "time_identifier": ti,
                "geography_role": "home_la",
                "la_name": "Testshire",
                "old_la_code": "857",
                "new_la_code": "E06000017",
                "measure": "ehcplans",
                "value": home,
            },
            {
                "geographic_level": "Regional",
                "time_period": year,
                "time_identifier": ti,
                "geography_role": "region",
                "region_name": "East Midlands",
                "measure": "ehcplans",
                "value": region,
            },
            {
                "geographic_level": "National",
                "time_period": year,
                "time_identifier": ti,
                "geography_role": "england",
                "measure": "ehcplans",
                "value": england,
            },
            {
                **base,
                "time_period": year,
                "time_identifier": ti,
                "geography_role": "statistical_neighbour",
                "la_name": "Buckinghamshire",
                "old_la_code": "825",
                "new_la_code": bucks_new,
                "measure": "ehcplans",
                "value": bucks,
            },
        ]
    said = texts(nv.benchmark_sentences(published("send_benchmark_ehcp", rows)))
    assert said[0] == (
        "From 2018/19 to 2024/25 the number of EHC plans maintained by Testshire changed by +90.9% "
        "(197 to 376), against +91.6% in East Midlands and +80.4% in England."
    )
    assert (
        said[1] == "Among its statistical neighbours the change ranged from +78.0% (Buckinghamshire) to +78.0% "
        "(Buckinghamshire)."
    )


def test_new_fact_kinds_show_one_published_cell_as_published_and_a_difference_computes_nothing_from_a_c():
    assert fx.as_published(fx.RATE, cell("4.0")).text == "4.0%"  # the published decimals kept
    assert fx.as_published(fx.SCORE, cell("-0.17")).text == "-0.17"
    assert [fx.as_published(fx.RANK, cell(n)).text for n in ("303", "291", "292", "4", "11", "112", "21")] == [
        "303rd", "291st", "292nd", "4th", "11th", "112th", "21st"
    ]  # fmt: skip
    assert fx.as_published(fx.RATE, cell("c")).text == "c" and fx.as_published(fx.SCORE, cell("x")).value is None
    assert fx.difference(cell("4"), cell("1")).text == "3"
    assert fx.difference(cell("c"), cell("1")).text == "c" and fx.difference(cell("9"), cell("c")).value is None
    assert fx.percent(cell("5820"), cell("5820"), minus=(cell("5156"), cell("117"))).text == "9.4%"  # 547 / 5820
    assert fx.percent(cell("5820"), cell("5820"), minus=(cell("5156"), cell("c"))).text == "c"
    with pytest.raises(ValueError, match="one published cell"):
        fx.Fact(fx.RATE, (cell("1.0"), cell("2.0")))


def two_years() -> fx.Published:
    return published("t", [
        {"time_period": "2023", "time_identifier": "Calendar year", "need": "ASD", "pupils": "10"},
        {"time_period": "2023", "time_identifier": "Calendar year", "need": "ASD", "pupils": "12"},
        {"time_period": "2022", "time_identifier": "Calendar year", "need": "MLD", "pupils": "c"},
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: fx.Fact("ratio", (cell("1"),)), ValueError, "unknown fact kind 'ratio'"),
        (lambda: fx.Fact(fx.PERCENT, (cell("1"),)), ValueError,
         "a percent fact needs a base exactly when it is a percentage or a change"),
        (lambda: fx.Fact(fx.COUNT, (cell("1"),), (cell("2"),)), ValueError,
         "a count fact needs a base exactly when it is a percentage or a change"),
        (lambda: fx.Fact(fx.SCORE, ()), ValueError, "a score fact is one published cell"),
        (lambda: fx.Fact(fx.RANK, (cell("3"),), minus=(cell("1"),)), ValueError, "a rank fact is one published cell"),
        (lambda: fx.Fact(fx.MONEY, (cell("9"),), minus=(cell("1"),)), ValueError,
         "only a count or a percentage subtracts cells"),
        (lambda: fx.Fact(fx.CHANGE, (cell("12"),), (cell("9"),), minus=(cell("1"),)), ValueError,
         "only a count or a percentage subtracts cells"),
        (lambda: fx.count(cell("4"), None), fx.ReportDataError, "a count is missing one of its published cells"),
        (lambda: fx.difference(None, cell("1")), fx.ReportDataError,
         "a difference is missing one of its published cells"),
        (lambda: fx.difference(cell("4"), None), fx.ReportDataError,
         "a difference is missing one of its published cells"),
        (lambda: fx.difference(cell("4"), [cell("1"), None]), fx.ReportDataError,
         "a difference is missing one of its published cells"),
        (lambda: fx.as_published(fx.RATE, None), fx.ReportDataError, "a rate is missing its published cell"),
        (lambda: two_years().find("pupils", time_period="2023", need="ASD"), fx.ReportDataError,
         "t: 2 rows where one was expected (time_period=2023, need=ASD)"),
        (lambda: two_years().cell("pupils", time_period="2021", need="ASD"), fx.ReportDataError,
         "t: no row time_period=2021, need=ASD for pupils"),
        (lambda: two_years().latest(need="SLCN"), fx.ReportDataError, "t: no rows need=SLCN"),
        (lambda: fx.table_period(two_years(), "2021"), fx.ReportDataError, "t: no rows for time_period=2021"),
    ],
    ids=["unknown-kind", "percent-no-base", "count-with-base", "score-no-cell", "rank-minus", "money-minus",
         "change-minus", "count-none", "difference-none", "difference-minus-none", "difference-minus-part-none",
         "as-published-none", "find-two", "cell-none", "latest-none", "table-period-none"],
)  # fmt: skip
def test_a_fact_or_a_cell_the_release_cannot_give_is_refused_naming_what_is_missing(build, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        build()


def test_the_lookups_refused_above_answer_when_the_release_holds_the_cell():
    table = two_years()
    assert table.find("pupils", time_period="2022").text == "c"
    assert table.cell("pupils", need="MLD").ref == "t:2:pupils"
    assert table.latest(need="MLD") == "2022" and table.latest() == "2023"
    assert fx.table_period(table, "2022") == fx.When("2022", "2022")


def deprivation(rank_2019: str = "303", place: str = "4", rank_2015: str = "291") -> fx.Published:
    rows = [
        {"time_period": y, "time_identifier": "Calendar year", "rank": r, "districts_ranked": n,
         "rank_in_region_least_deprived": q, "districts_in_region": "40"}
        for y, r, n, q in (("2015", rank_2015, "326", "6"), ("2019", rank_2019, "317", place))
    ]  # fmt: skip
    return published("send_deprivation", rows, **LA, region_name="East Midlands")


def test_deprivation_names_the_rank_and_the_place_in_the_region():
    said = texts(nv.deprivation_sentences(deprivation()))
    assert said == [
        "In the Indices of Deprivation 2019, Testshire ranks 303rd of 317 local authority districts in England, "
        "counting from the most deprived.",
        "It is the 4th least deprived of the 40 districts in the East Midlands region.",
        "In earlier editions, in 2015 it ranked 291st of 326.",
    ]
    unplaced = texts(nv.deprivation_sentences(deprivation(place="x")))  # an extract without the region's districts
    assert unplaced[1].startswith("It is the x least deprived")


def test_deprivation_of_an_la_the_extract_does_not_rank_says_why_not_ranks_x():
    """A county council is not a district: the extract ranks its districts, and the release's row for each edition
    says x (not available). The report said "Testshire ranks x of 317"; it names the last edition that ranks the
    LA, or says why none does."""
    later = texts(nv.deprivation_sentences(deprivation(rank_2019="x", place="x")))
    assert later[0].startswith("In the Indices of Deprivation 2015, Testshire ranks 291st of 326")
    county = deprivation(rank_2019="x", place="x", rank_2015="x")
    assert texts(nv.deprivation_sentences(county)) == [
        "The Indices of Deprivation rank local authority districts, and Testshire is not one of them in the extract "
        "(a county council's districts are ranked, not the county): the release holds no rank for it."
    ]


def child_health(characteristics_unclassified: str = "117") -> tuple[fx.Published, fx.Published, fx.Published]:
    levels = {"Local authority": LA, "Regional": {"geographic_level": "Regional"},
              "National": {"geographic_level": "National"}}  # fmt: skip
    rows = []
    for indicator, period, tp, values in (
        ("live_births", "2021", "2021", (("274", "x"), ("47860", "x"), ("595948", "x"))),
        ("pupils_minority_ethnic", "2021/22", "202122", (None, ("27.8", "195083"), ("35.0", "2835124"))),
        ("pupils_semh", "2021/22", "202122", (None, ("2.9", "20861"), ("3.0", "250272"))),
        ("life_expectancy_boys", "2018-2020", "2020", (("83.2", "x"), ("79.2", "x"), ("79.4", "x"))),
    ):
        for geo, cells in zip(levels.values(), values, strict=True):
            if cells is not None:
                rows.append({**geo, "region_name": "East Midlands", "time_period": tp, "period": period,
                             "indicator": indicator, "value": cells[0], "count": cells[1]})  # fmt: skip
    health = fx.Published("send_child_health", pd.DataFrame(rows).assign(_row=range(len(rows))))
    census = [
        ("ethnicity", "Total", "5820"), ("ethnicity", "WBRI", "5156"), ("ethnicity", "WOTH", "162"),
        ("ethnic_group", "Unclassified", characteristics_unclassified), ("ethnic_group", "Total", "5820"),
    ]  # fmt: skip
    characteristics = published(
        "send_characteristics",
        [
            {
                "time_period": "202122",
                "time_identifier": "Spring term",
                "characteristic_group": g,
                "characteristic": c,
                "sen_provision": "Total",
                "pupils": n,
            }
            for g, c, n in census
        ],  # fmt: skip
        **LA,
    )
    need = published(
        "send_primary_need",
        [
            {"time_period": "202122", "time_identifier": "Spring term", "primary_need": k, "pupils": v}
            for k, v in (("SEMH", "147"), ("Total", "735"))
        ],  # fmt: skip
        **LA,
    )
    return health, characteristics, need


def test_child_health_computes_the_las_pupil_cells_from_the_census_tables():
    said = texts(nv.child_health_sentences(*child_health()))
    assert said == [
        "Live births (2021): 274 in Testshire, 47,860 in the East Midlands region and 595,948 in England.",
        "School children from minority ethnic groups (2021/22): 9.4% (547) in Testshire, against 27.8% in the East "
        "Midlands region and 35.0% in England.",  # 5820 - 5156 - 117 = 547; 547 / 5820 = 9.40%
        "School pupils with social, emotional and mental health needs (2021/22): 2.5% (147) in Testshire, against "
        "2.9% in the East Midlands region and 3.0% in England.",  # 147 / 5820 = 2.53%
        "Life expectancy at birth, boys (2018-2020): 83.2 years in Testshire, 79.2 in the East Midlands region and "
        "79.4 in England.",
    ]
    rows = {r.indicator: r for r in nv.child_health_rows(*child_health())}
    counted, share = rows["pupils_minority_ethnic"].cells["Local authority"]
    assert [c.text for c in counted.cells] == ["5820"] and [c.text for c in counted.minus] == ["5156", "117"]
    assert [c.table for c in (*share.cells, *share.base)] == ["send_characteristics"] * 2


def test_every_census_derived_health_indicator_has_its_cells_and_another_is_refused():
    """The child-health contract's census-derived indicators each have a computation here; an indicator added to
    that list without one stops the report rather than show nothing for the LA."""
    _, characteristics, need = child_health()
    for indicator in nv.HEALTH_CENSUS_INDICATORS:
        counted, share = nv.census_health_cells(indicator, "202122", characteristics, need)
        assert counted.available and share.available
    with pytest.raises(fx.ReportDataError, match="^no census-derived cell for the indicator pupils_with_asthma$"):
        nv.census_health_cells("pupils_with_asthma", "202122", characteristics, need)


def test_child_health_with_a_suppressed_census_cell_computes_nothing_from_it():
    said = texts(nv.child_health_sentences(*child_health(characteristics_unclassified="c")))
    minority = next(s for s in said if s.startswith("School children from minority ethnic groups"))
    assert minority == (
        "School children from minority ethnic groups (2021/22): c in Testshire, against 27.8% in the East Midlands "
        "region and 35.0% in England."
    )
    assert "547" not in " ".join(said) and "9.4%" not in " ".join(said)
    assert said[-1] == "Where a count behind the local authority's pupil figures is suppressed (c), so is the figure."


def exclusions(suspended_and_excluded: str, excluded: str) -> fx.Published:
    rows = []
    for year, cells in (
        ("202021", {"E": ("9", "c", "0", "20"), "K": ("27", "c", "0", "55"), "Total": ("36", "c", "0", "75")}),
        ("202122", {"E": ("13", "c", "c", "39"), "K": ("38", "c", "c", "78"),
                    "Total": ("51", excluded, suspended_and_excluded, "117")}),
    ):  # fmt: skip
        for provision, (s, p, b, n) in cells.items():
            rows.append({"time_period": year, "time_identifier": "Academic year", "sen_provision": provision,
                         "children_suspended": s, "children_permanently_excluded": p,
                         "children_suspended_and_permanently_excluded": b, "suspensions": n})  # fmt: skip
    return published("send_exclusions", rows, **LA)


def test_exclusions_count_the_children_suspended_and_those_permanently_excluded():
    said = texts(nv.exclusions_sentences(exclusions(suspended_and_excluded="6", excluded="9")))
    assert said == [
        "In 2021/22, 51 children with SEND were suspended at least once (117 suspensions); 6 of them were also "
        "permanently excluded, and 3 more children with SEND were permanently excluded.",  # 9 - 6
        "Of the children suspended, 13 have an EHC plan and 38 are on SEN support.",
        "Children with SEND suspended in earlier years: 36 in 2020/21.",
    ]


def test_exclusions_with_a_suppressed_count_say_so_and_compute_nothing_from_it():
    (first, *_) = nv.exclusions_sentences(exclusions(suspended_and_excluded="c", excluded="9"))
    assert fx.sentence_text(first) == (
        "In 2021/22, 51 children with SEND were suspended at least once (117 suspensions); how many of them were "
        "also permanently excluded is suppressed (c), and the number of other children with SEND permanently "
        "excluded is suppressed (c)."
    )
    assert [f.text for f in fx.facts_of(first)] == ["51", "117"]  # 9 is not shown, nor anything taken from it


def attainment(ehcp_met: str = "c", ehcp_pct: str = "c", ehcp_average: str = "28.7"):
    rows = []
    for stage, measure, provision, met, total, pct, england in (
        ("KS1", "READING", "K", "12", "41", "29.3", "29.6"),
        ("KS1", "READING", "E", ehcp_met, "7", ehcp_pct, "12.1"),
        ("KS1", "WRITING", "K", "9", "41", "22.0", "19.6"),
        ("KS1", "WRITING", "E", "c", "7", "c", "7.3"),
    ):
        for outcome, pupils, share, eng in (("Met", met, pct, england), ("Total", total, "100.0", "x")):
            rows.append({"time_period": "202122", "time_identifier": "Academic year", "key_stage": stage,
                         "measure": measure, "sen_provision": provision, "outcome": outcome, "pupils": pupils,
                         "pct_of_pupils": share, "england_pct": eng})  # fmt: skip
    scores = [
        {"time_period": "202122", "time_identifier": "Academic year", "key_stage": "KS4", "measure": m,
         "sen_provision": p, "pupils_with_score": n, "average_score": a, "england_average": e}
        for m, p, n, a, e in (("ATT8", "K", "40", "43.3", "34.8"), ("ATT8", "E", "13", ehcp_average, "14.3"),
                              ("P8", "K", "37", "0.21", "-0.47"), ("P8", "E", "12", "-0.17", "-1.33"))
    ]  # fmt: skip
    return published("send_attainment_standard", rows, **LA), published("send_attainment_scores", scores, **LA)


def test_attainment_gives_the_published_percentages_and_scores_beside_england():
    said = texts(nv.attainment_sentences(*attainment(ehcp_met="c", ehcp_pct="c")))
    assert said[0] == (
        "At key stage 1 in 2021/22, pupils on SEN support: reading at the expected standard 29.3% (12 of 41; England "
        "29.6%) and writing at the expected standard 22.0% (9 of 41; England 19.6%)."
    )
    assert said[1] == (
        "At key stage 1 in 2021/22, pupils with an EHC plan: reading at the expected standard suppressed (c) for the "
        "7 pupils with a result (England 12.1%) and writing at the expected standard suppressed (c) for the 7 pupils "
        "with a result (England 7.3%)."
    )
    assert said[2].startswith("A percentage is suppressed (c)")
    assert said[3] == (
        "At key stage 4 in 2021/22, the average Attainment 8 score (a score from 0 to 90, not a percentage) is 43.3 "
        "for the 40 pupils on SEN support (England 34.8) and 28.7 for the 13 pupils with an EHC plan (England 14.3)."
    )
    assert said[4] == (
        "At key stage 4 in 2021/22, the average Progress 8 score is 0.21 for the 37 pupils on SEN support (England "
        "-0.47) and -0.17 for the 12 pupils with an EHC plan (England -1.33)."
    )
    assert "%" not in said[3] + said[4]  # Attainment 8 is a score, not a percentage


def test_attainment_with_a_suppressed_average_shows_c_and_no_percentage_is_computed_over_few_pupils():
    standard, scores = attainment(ehcp_average="c")
    said = texts(nv.attainment_sentences(standard, scores))
    assert "is 43.3 for the 40 pupils on SEN support (England 34.8) and c for the 13 pupils" in said[3]
    # the report shows the release's percentage, never one of its own over the seven pupils
    assert not any("14.3%" in s or "28.6%" in s for s in said)


# ---- charts on hand-made tables -------------------------------------------------------------------------------


def test_a_chart_leaves_a_suppressed_value_out_and_marks_it():
    rows = [
        {"time_period": "202223", "time_identifier": "Spring term", "primary_need": k, "pupils": v}
        for k, v in (("MLD", "188"), ("MSI", "c"), ("SLD", "c"), ("Total", "805"))
    ]
    chart = report_charts.primary_need_chart(published("send_primary_need", rows, **LA))
    plotted = {r["need"]: r for r in chart.rows}
    assert plotted[fx.need_label("MLD")]["value"] == 188
    for code in ("MSI", "SLD"):
        assert plotted[fx.need_label(code)]["value"] is None and plotted[fx.need_label(code)]["sym"] == "c"
    numbers = [v for r in chart.rows for v in r.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    assert numbers == [188]  # nothing else numeric is embedded in the data
    svg = chart.svg
    marks = re.findall(r'class="mark-text role-mark[^"]*"[^>]*>(.*?)</g>', svg, flags=re.S)
    assert sorted(re.findall(r">([^<]+)</text>", "".join(marks))) == ["c", "c"]
    assert "<title" not in svg and "http" not in svg
    assert not [a for a in re.findall(r'aria-label="([^"]*)"', svg) if STANDALONE_NUMBER.search(a)]


def test_charts_are_built_without_altairs_check_of_each_object_and_leave_it_on(monkeypatch):
    from altair.utils import schemapi

    checked = []
    validate = schemapi.SchemaBase.validate
    monkeypatch.setattr(schemapi.SchemaBase, "validate", classmethod(lambda cls, *a, **k: checked.append(cls)
                                                                      or validate.__func__(cls, *a, **k)))  # fmt: skip
    rows = [
        {"time_period": "202223", "time_identifier": "Spring term", "primary_need": k, "pupils": v}
        for k, v in (("MLD", "188"), ("SLD", "c"), ("Total", "805"))
    ]
    assert schemapi.DEBUG_MODE
    report_charts.primary_need_chart(published("send_primary_need", rows, **LA))
    assert checked == [] and schemapi.DEBUG_MODE  # none while building; Altair's default afterwards
    report_charts.alt.Axis(title="x")
    assert checked  # the counter does count Altair's checks


def test_a_line_chart_breaks_at_a_suppressed_year():
    rows = [
        {"time_period": y, "time_identifier": "Spring term", "sen_provision": p, "pupils": v}
        for y, e, k in (("202021", "162", "596"), ("202122", "c", "570"), ("202223", "176", "629"))
        for p, v in (("E", e), ("K", k))
    ]
    chart = report_charts.trend_chart(published("send_trend", rows, **LA))
    ehcp = [r["value"] for r in chart.rows if r["provision"] == "EHC plan"]
    assert ehcp == [162, None, 176]
    groups = re.findall(r'class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', chart.svg, flags=re.S)
    paths = re.findall(r' d="([^"]+)"', "".join(groups))
    assert sorted(d.count("M") for d in paths) == [1, 2]  # SEN support unbroken; EHC plans in two pieces
    spec = json.dumps(chart.spec)
    assert '"invalid": "break-paths-show-domains"' in spec  # a null is a gap, never drawn as zero


def _trend_with_england(england: dict[str, tuple[str, str]]) -> tuple[fx.Published, fx.Published]:
    """send_trend (E, K, Total each census; England's E and K percentages as given, else x) and the rolls."""
    rows = [
        {"time_period": y, "time_identifier": "Spring term", "sen_provision": p, "pupils": v,
         "england_pct_of_pupils": dict(zip("EK", england.get(y, ("x", "x")), strict=True)).get(p, "x")}
        for y, e, k in (("202021", "162", "596"), ("202122", "165", "570"), ("202223", "176", "629"))
        for p, v in (("E", e), ("K", k), ("Total", str(int(e) + int(k))))
    ]  # fmt: skip
    rolls = [{"time_period": y, "phase": "Total", "sen_provision": "Total", "residence": "Total", "pupils": n}
             for y, n in (("202021", "5900"), ("202122", "6000"), ("202223", "6100"))]  # fmt: skip
    return published("send_trend", rows, **LA), published("send_school_residence", rolls, **LA)


def test_englands_shares_are_said_as_dfe_published_them_beside_the_las_at_the_same_census():
    trend, rolls = _trend_with_england({"202021": ("3.7", "12.2"), "202122": ("4.0", "12.6")})
    [said] = texts(nv.england_share_sentences(trend, rolls))
    # the latest census with DfE's figures, the LA's shares of its roll at that census (165 and 570 of 6,000)
    assert said == (
        "In England, 4.0% of pupils had an EHC plan and 12.6% were on SEN support at the Spring 2022 census (DfE); "
        "in Testshire, 2.8% and 9.5%."
    )
    assert said in texts(nv.trend_sentences(trend, rolls))
    # no DfE figure in the release: nothing said; no roll for that census: England's shares alone
    assert nv.england_share_sentences(*_trend_with_england({})) == []
    no_roll = published("send_school_residence", [dict(time_period="202223", phase="Total", sen_provision="Total",
                                                        residence="Total", pupils="6100")], **LA)  # fmt: skip
    [alone] = texts(nv.england_share_sentences(trend, no_roll))
    assert alone.endswith("at the Spring 2022 census (DfE).")


def test_the_health_checks_chart_plots_the_published_percentages_and_leaves_a_suppressed_band_out():
    checks = health_checks({
        ("202021", "14 to 17"): ("12", "9", "21", "57.1"),
        ("202021", "18 to 25"): ("21", "10", "31", "67.7"),
        ("202021", "Total"): ("33", "19", "52", "63.5"),
        **TWO_YEARS_OF_CHECKS,
    })  # fmt: skip
    chart = report_charts.health_checks_chart(checks)
    plotted = {(r["age_band"], r["year"]): (r["value"], r["sym"], r["kind"], r["cells"]) for r in chart.rows}
    years = ("2020-21", "2021-22", "2022-23")
    assert [plotted["All aged 14 to 25", y][0] for y in years] == [63.5, 73.2, 80.0]
    assert [plotted["Aged 14 to 17", y][:2] for y in years] == [(57.1, ""), (71.4, ""), (None, "c")]
    assert [plotted["Aged 18 to 25", y][:2] for y in years] == [(67.7, ""), (74.3, ""), (None, "c")]
    assert {kind for _, _, kind, _ in plotted.values()} == {"rate"}  # the release's percentages, none recomputed
    assert plotted["All aged 14 to 25", "2022-23"][3] == next(
        c.ref for c in nv.health_check_cells(checks, "202223")[2:]
    )  # names the published cell it plots
    groups = re.findall(r'class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', chart.svg, flags=re.S)
    assert sorted(d.count("M") for d in re.findall(r' d="([^"]+)"', "".join(groups))) == [1, 1, 1]
    marks = re.findall(r'class="mark-text role-mark[^"]*"[^>]*>(.*?)</g>', chart.svg, flags=re.S)
    assert sorted(re.findall(r">([^<]+)</text>", "".join(marks))) == ["c", "c"]


# ---- writing ------------------------------------------------------------------------------------------------


def tiny_release(folder: Path, release_id: str = "r1", other_id: str | None = None) -> Path:
    folder.mkdir(parents=True)
    with duckdb.connect(str(folder / report_build.REPORTING_DB)) as con:
        con.execute("CREATE SCHEMA reporting")
        con.execute("CREATE TABLE reporting.release AS SELECT $r AS release_id, now() AS built_at", {"r": release_id})
        for name in report_build.TABLES:
            # a table published by census term has its time_identifier (the report reads its Spring rows)
            term = ", 'Spring term' AS time_identifier" if name in report_build.CENSUS_TERM_TABLES else ""
            rid = other_id or release_id
            con.execute(f"CREATE TABLE reporting.{name} AS SELECT $r AS release_id{term}", {"r": rid})
    return folder


def test_load_release_refuses_a_missing_or_mixed_release(tmp_path):
    with pytest.raises(report_build.ReportError, match="no published release"):
        report_build.load_release(tmp_path / "nowhere" / report_build.REPORTING_DB)
    mixed = tiny_release(tmp_path / "mixed", "r1", other_id="r0")
    with pytest.raises(report_build.ReportError, match="another release"):
        report_build.load_release(mixed / report_build.REPORTING_DB)
    assert report_build.load_release(tiny_release(tmp_path / "one") / report_build.REPORTING_DB).release_id == "r1"


def test_load_release_refuses_a_release_without_a_published_table(tmp_path):
    folder = tiny_release(tmp_path / "short")
    missing = report_build.TABLES[-1]
    with duckdb.connect(str(folder / report_build.REPORTING_DB)) as con:
        con.execute(f"DROP TABLE reporting.{missing}")
    db = folder / report_build.REPORTING_DB
    with pytest.raises(report_build.ReportError, match=f"^the release at {re.escape(str(db))} has no table "
                                                       f"reporting\\.{missing}$"):  # fmt: skip
        report_build.load_release(db)


def test_write_report_replaces_a_previous_report_and_leaves_no_temporary_folder(tmp_path):
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    first, _ = report_build.write_report(release, "<p>first</p>", pdf=False)
    second, _ = report_build.write_report(release, "<p>second</p>", pdf=False)
    assert first == second == release / "report" / "index.html"
    assert second.read_text() == "<p>second</p>"
    assert sorted(p.name for p in release.iterdir()) == ["report"]


def test_a_report_folder_that_keeps_being_replaced_fails_the_build_and_leaves_no_temporary_folder(
    tmp_path, monkeypatch
):
    """Another build swaps its report in each time this one moves the old one aside: after five tries, give up."""
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    report_build.write_report(release, "<p>first</p>", pdf=False)
    target = release / report_build.REPORT_DIR
    replace, moves = os.replace, []

    def replace_while_another_build_swaps_in(source, destination):
        replace(source, destination)  # the real move: the old report goes aside
        moves.append(Path(destination).name)
        if Path(source) == target:  # ... and the other build's report takes its place at once
            target.mkdir()
            (target / report_build.REPORT_FILE).write_text("<p>theirs</p>")

    monkeypatch.setattr(report_build.os, "replace", replace_while_another_build_swaps_in)
    with pytest.raises(report_build.ReportError, match=f"^could not move the report into {re.escape(str(target))}: "
                                                       "it keeps being replaced$"):  # fmt: skip
        report_build.write_report(release, "<p>second</p>", pdf=False)
    assert len(moves) == 5 and all(m.startswith(".report-old-") for m in moves)
    assert sorted(p.name for p in release.iterdir()) == ["report"]  # no building or old folder left behind
    assert (target / report_build.REPORT_FILE).read_text() == "<p>theirs</p>"


def test_a_report_that_cannot_be_moved_into_place_fails_the_build_and_leaves_no_temporary_folder(tmp_path):
    """`report` is a file, not a folder: the move fails (not a folder to replace) and is not retried."""
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    (release / report_build.REPORT_DIR).write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=re.escape(str(release / report_build.REPORT_DIR))):
        report_build.write_report(release, "<p>x</p>", pdf=False)
    assert sorted(p.name for p in release.iterdir()) == ["report"]
    assert (release / report_build.REPORT_DIR).read_text() == "not a folder"


def test_pdf_only_when_weasyprint_is_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails
    path, pdf = report_build.write_report(tmp_path, "<p>x</p>")
    assert pdf is None and sorted(p.name for p in path.parent.iterdir()) == ["index.html"]

    class HTML:
        def __init__(self, string):
            self.string = string

        def write_pdf(self, target):
            Path(target).write_bytes(b"%PDF-fake " + self.string.encode())

    monkeypatch.setitem(sys.modules, "weasyprint", types.SimpleNamespace(HTML=HTML))
    path, pdf = report_build.write_report(tmp_path, "<p>y</p>")
    assert pdf == path.parent / report_build.PDF_FILE and pdf.read_bytes() == b"%PDF-fake <p>y</p>"


# ---- the report of a real release -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    env = generated_and_published(root)
    published = Path(env["SEND_WAREHOUSE_DIR"]) / "published"
    built = report_build.build_release_report(published)
    html = (published / "report" / "index.html").read_text(encoding="utf-8")
    reader = ReleaseReader(published / "send_reporting.duckdb")
    return {
        "env": env,
        "published": published,
        "built": built,
        "html": html,
        "tree": parse(html),
        "reader": reader,
        "release": report_build.load_release(published / "send_reporting.duckdb"),
    }


def test_a_release_with_other_census_terms_reports_the_spring_census_as_before(release, tmp_path):
    """The school census is taken every term: a council's extracts may hold an Autumn census beside the Spring one
    of the same academic year. The release publishes both; the report, as the needs assessment (and DfE's SEN in
    England) does, reads the Spring census only (before: "2 rows where one was expected", nothing published)."""
    copy = tmp_path / "release"
    copy.mkdir()
    shutil.copy(release["published"] / report_build.REPORTING_DB, copy)
    with duckdb.connect(str(copy / report_build.REPORTING_DB)) as con:
        for name in sorted(report_build.CENSUS_TERM_TABLES):  # each Spring row again, as an Autumn census's
            added = con.execute(
                f"INSERT INTO reporting.{name} SELECT * REPLACE ('Autumn term' AS time_identifier, '7777' AS pupils) "
                f"FROM reporting.{name} WHERE time_identifier = 'Spring term'"
            ).fetchone()[0]
            assert added > 0, name
    built = report_build.build_release_report(copy, pdf=False)
    assert built.path.read_text(encoding="utf-8") == release["html"]


def test_the_report_is_written_into_the_live_release_folder(release):
    published, built = release["published"], release["built"]
    assert published.is_symlink()
    assert built.path == published.resolve() / "report" / "index.html"
    assert built.release_id == published.resolve().name == release["release"].release_id
    assert f'<meta name="release-id" content="{built.release_id}">' in release["html"]
    assert not [p for p in published.resolve().iterdir() if p.name.startswith(".report")]


def report_sections(tree: Node) -> dict[str, Node]:
    return {n.attrs["id"]: n for n in tree.walk() if n.tag == "section" and "report" in n.classes}


def test_every_section_and_chart_is_present(release):
    tree = release["tree"]
    sections = report_sections(tree)
    assert list(sections) == list(SECTION_TITLES)
    for key, title in SECTION_TITLES.items():
        (heading,) = [n for n in sections[key].walk() if n.tag == "h2"]
        assert heading.text().strip() == title
        if key in WRITTEN:
            continue  # the analysts' sections: tested below
        assert "written" not in sections[key].classes
        assert [n for n in sections[key].walk() if n.tag == "table"], f"section {key} has no table"
        assert [n for n in sections[key].walk() if n.tag == "li"], f"section {key} has no sentence"
    figures = {n.attrs["id"]: n for n in tree.walk() if n.tag == "figure" and "chart" in n.classes}
    assert sorted(figures) == sorted(CHART_IDS)
    for key, figure in figures.items():
        svgs = [n for n in figure.walk() if n.tag == "svg"]
        assert len(svgs) == 1, key
        assert [n for n in svgs[0].walk() if n.tag in ("path", "rect", "line")], f"{key} draws nothing"
    assert len([n for n in tree.walk() if n.tag == "svg"]) == len(CHART_IDS)


def test_the_analysts_sections_are_merged_in_order_with_the_release_figures_filled_in(release):
    sections = report_sections(release["tree"])
    written = [key for key, node in sections.items() if "written" in node.classes]
    assert written == list(WRITTEN)
    for key in WRITTEN:
        node = sections[key]
        assert not [n for n in node.walk() if "data-kind" in n.attrs]  # no computed fact, no chart
        assert not [n for n in node.walk() if n.tag in ("svg", "figure")]
        assert not [n for n in node.walk() if "not-written" in n.classes], f"{key}: the shipped file is missing"
        assert len(node.text().split()) > 30, key
        assert "{{" not in node.text()
    # the introduction quotes the release through placeholders: the published cells, as published
    provision = release["release"]["send_provision"]
    intro = sections["introduction"].text()
    for p in ("Total", "E", "K"):
        assert f"{int(provision.cell('pupils', time_period='202223', sen_provision=p).text):,}" in intro
    assert release["built"].not_written == ()


def test_a_missing_analyst_section_shows_a_visible_note_and_keeps_its_place(release, tmp_path):
    folder = tmp_path / "narrative"
    folder.mkdir()
    for source in report_build.NARRATIVE_DIR.glob("*.md"):
        if not source.name.startswith("11-"):
            (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    db = release["published"] / report_build.REPORTING_DB
    narrative = report_build.release_narrative(db, folder)
    html = report_build.render_html(release["release"], report_sec.report_sections(release["release"], narrative))
    sections = report_sections(parse(html))
    assert list(sections) == list(SECTION_TITLES)
    missing = sections["joint-commissioning-with-health"]
    (note,) = [n for n in missing.walk() if "not-written" in n.classes]
    assert "Section not written" in note.text() and "11-joint-commissioning-with-health.md" in note.text()
    assert len([n for n in parse(html).walk() if "not-written" in n.classes]) == 1


def test_an_unknown_placeholder_fails_the_report_build_naming_file_and_placeholder(release, tmp_path):
    folder = tmp_path / "narrative"
    folder.mkdir()
    for source in report_build.NARRATIVE_DIR.glob("*.md"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "02-background.md").write_text("Plans: {{ ehcp.total_1999 }}.\n", encoding="utf-8")
    before = release["built"].path.read_bytes()
    with pytest.raises(report_build.ReportError, match=r"02-background\.md: line 1: placeholder \{\{ ehcp\.total_1999"):
        report_build.build_release_report(release["published"], pdf=False, narrative_dir=folder)
    assert release["built"].path.read_bytes() == before  # nothing was written


def test_the_report_is_self_contained(release):
    html = release["html"]
    assert "<script" not in html.lower()  # no code, and so no embedded chart spec to leak from
    assert not re.search(r"https?:", html)
    assert not re.search(r"<link|@import|url\(|\ssrc=", html, flags=re.I)
    assert "<style>" in html


def facts(tree: Node) -> list[Node]:
    return [n for n in tree.walk() if "data-kind" in n.attrs]


def test_every_table_cell_equals_the_published_cell_it_names(release):
    tree, reader = release["tree"], release["reader"]
    checked = 0
    for td in (n for n in tree.walk() if n.tag == "td" and context(n) != "written"):
        if "data-kind" in td.attrs:
            want = reader.expected_of(td.attrs)
            assert td.text().strip() == want, (td.attrs, td.text())
            checked += 1
        else:
            assert "absent" in td.classes and td.text().strip() == "–", td.text()
    assert checked > 500
    # a table showing the release's own count cell shows it as published, symbol and all
    suppressed = [
        td
        for td in facts(tree)
        if td.tag == "td"
        and td.attrs["data-kind"] == "count"
        and len(td.attrs["data-cells"].split()) == 1
        and reader.text(td.attrs["data-cells"]) == "c"
    ]
    assert suppressed and all(td.text().strip() == "c" for td in suppressed)


def test_every_number_in_the_narrative_equals_the_published_table_it_comes_from(release):
    tree, reader = release["tree"], release["reader"]
    sentences = [n for n in tree.walk() if n.tag == "li" and n.parent and "narrative" in n.parent.classes]
    assert len(sentences) >= 30
    checked = 0
    for sentence in sentences:
        for fact in (n for n in sentence.walk() if "data-kind" in n.attrs):
            want = reader.expected_of(fact.attrs)
            shown = fact.text().strip()
            if want in SYMBOLS:  # said in words after the symbol: "c (suppressed)"
                assert shown.split()[0] == want and len(shown.split()) > 1, (fact.attrs, shown)
            else:
                assert shown == want, (fact.attrs, shown)
            checked += 1
        for text, node in text_nodes(sentence):
            where = context(node)
            if where == "prose":
                assert not STANDALONE_NUMBER.search(text), f"a number in prose without its source: {text!r}"
            if where == "time":
                assert DATE_TEXT.fullmatch(text.strip()), text
            if where == "label":
                assert not re.fullmatch(r"[\d,.\s]+", text.strip()), f"a bare number as a label: {text!r}"
    assert checked > 100


def test_no_count_from_1_to_5_appears_except_where_the_release_publishes_it(release):
    tree, reader = release["tree"], release["reader"]
    seen = 0
    for text, node in text_nodes(tree):
        where = context(node)
        if where in ("code", "written"):
            continue  # the analysts' prose (laws, years) is theirs; its release figures come through placeholders
        for match in SMALL_COUNT.finditer(text):
            seen += 1
            if where == "fact":
                fact = next(a for a in node.ancestors() if "data-kind" in a.attrs)
                cells = reader.texts(fact.attrs["data-cells"])
                minus = reader.texts(fact.attrs.get("data-minus", ""))
                assert fact.attrs["data-kind"] == "count" and "c" not in cells + minus, (fact.attrs, text)
                assert sum(int(c) for c in cells) - sum(int(c) for c in minus) == int(match.group()), fact.attrs
            elif where in ("time", "label", "svg-axis"):
                continue  # a date, a category as published (an age band, a line code) or an axis tick
            else:
                pytest.fail(f"a count {match.group()} outside any published cell ({where}): {text!r}")
    assert seen > 0  # the scan did meet small numbers (axis ticks at least) and traced each one


def test_no_number_in_the_document_without_its_source(release):
    """Prose holds words only: every number is a published cell (or computed from cells it names), a date, a
    category as the table names it, or a chart's axis (the analysts' written sections are their own words)."""
    scanned = 0
    for text, node in text_nodes(release["tree"]):
        where = context(node)
        scanned += 1
        if where in ("prose", "svg-other"):
            assert not STANDALONE_NUMBER.search(text), f"a number with no source ({where}): {text!r}"
        if where == "time":
            assert DATE_TEXT.fullmatch(text.strip()), text
    assert scanned > 1500


def test_every_chart_is_valid_vega_lite(release):
    """The report builds its specs without Altair's validation (pipeline/report/charts.py `_spec`): checked here."""
    import altair as alt
    import jsonschema

    charts = [c for s in report_sec.report_sections(release["release"]) for c in s.charts]
    assert sorted(c.key for c in charts) == sorted(CHART_IDS)
    for chart in charts:
        alt.TopLevelSpec.validate(chart.spec)
    broken = {**charts[0].spec, "mark": "no_such_mark"}
    with pytest.raises(jsonschema.ValidationError):
        alt.TopLevelSpec.validate(broken)


def test_charts_plot_only_published_cells_and_draw_nothing_suppressed(release):
    reader = release["reader"]
    sections = report_sec.report_sections(release["release"])
    charts = {c.key: c for s in sections for c in s.charts}
    assert sorted(charts) == sorted(CHART_IDS)
    gaps = 0
    for chart in charts.values():
        assert chart.rows, chart.key
        for row in chart.rows:
            numbers = {k: v for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            assert set(numbers) <= {"value"}, (chart.key, row)
            assert row["cells"], f"{chart.key}: a data row without its source"
            want = reader.exact(row["kind"], row["cells"], row["base"], row["minus"])
            if isinstance(want, str):
                assert row["value"] is None and row["sym"] == want, (chart.key, row)
                gaps += 1
            else:
                assert row["value"] == pytest.approx(float(want), rel=1e-12, abs=1e-9), (chart.key, row)
    assert gaps > 10
    # the SVGs in the HTML are these charts: text only in axes, legends, titles and "c" markers
    tree = release["tree"]
    for figure in (n for n in tree.walk() if n.tag == "figure" and "chart" in n.classes):
        svg = next(n for n in figure.walk() if n.tag == "svg")
        assert not [n for n in svg.walk() if n.tag == "title"], "a tooltip in a chart"
        assert not STANDALONE_NUMBER.search(svg.attrs.get("aria-label", ""))
        for text, node in text_nodes(svg):
            where = context(node)
            assert where in ("svg-axis", "svg-mark"), (figure.attrs["id"], text, where)
            if where == "svg-mark":
                assert text.strip() in SYMBOLS, (figure.attrs["id"], text)


def test_the_england_comparison_shows_dfe_figures_and_the_published_percentages(release):
    need = release["release"]["send_primary_need"]
    seed = FIGURES["primary_need_6_1"]
    year = str(seed["time_period"])
    assert nv.england_need_year(need) == year
    compared = nv.need_vs_england(need, year)
    assert {code for code, _, _ in compared} >= {"MLD", "SEMH", "MSI"}
    assert {code for code, _, _ in compared} >= {"MISSING"}  # DfE's pupils without a recorded need: the seed's 21
    for code, here, there in compared:
        assert there.cells[0].text == str(seed["missing" if code == "MISSING" else code][1]), code
        assert here.text.rstrip("%") == need.cell("pct_of_sen_pupils", time_period=year, primary_need=code).text
        assert (
            there.text.rstrip("%") == need.cell("england_pct_of_sen_pupils", time_period=year, primary_need=code).text
        )
    assert dict((c, h.text) for c, h, _ in compared)["MSI"] == "c"  # 3 children
    assert 'id="table-primary-need-england"' in release["html"]
    from pipeline.report import tables as report_tables

    *_, total = report_tables.primary_need_england_table(need, year).rows  # the seed's total row
    assert [cell.text for cell in total] == ["All pupils with SEN", f"{seed['total'][0]:,}", "100.0%",
                                             f"{seed['total'][1]:,}", "100.0%"]  # fmt: skip


def test_sentences_reproduce_the_seed_figures(release):
    t = release["release"]
    population = " ".join(texts(nv.population_sentences(t["send_population"], year="2021")))
    seed = FIGURES["population_5_1"]
    for figure in (seed["total"], seed["male"], seed["female"], seed["aged_0_19"], seed["aged_0_4"], seed["aged_5_19"]):
        assert f"{figure:,}" in population
    demand = FIGURES["ehcp_demand_6_3"]["ehcps_maintained"]
    before, after = demand["2019-01"], demand["2023-04"]
    growth = fmt_decimal(Decimal(after - before) * 100 / before, 1)
    caseload = texts(nv.caseload_sentences(t["send_ehcp_caseload"], since_year=2019))
    assert (
        caseload[0]
        == f"EHC plans maintained by Rutland rose from {before} in January 2019 to {after} in April 2023 (+{growth}%)."
    )
    profile = " ".join(
        texts(nv.profile_sentences(t["send_provision"], t["send_characteristics"], t["send_school_residence"]))
    )
    six_one = FIGURES["send_profile_6_1"]
    assert (
        f"there are {six_one['send_pupils']} pupils with SEND in Rutland schools: {six_one['ehcp']} with an EHC plan "
        f"and {six_one['sen_support']} on SEN support" in profile
    )
    assert f"{six_one['pupil_premium']['total']} pupils with SEND (" in profile
    wider = " ".join(texts(nv.wider_services_sentences(t["send_wider_services"], t["send_parent_carer_support"])))
    services = FIGURES["wider_services_6_7"]
    assert (
        f"{services['distinct_children']} children and young people used Aiming High: "
        f"{services['positive_activities']} positive activities and {services['short_breaks']} short breaks, "
        f"{services['both_services']} of them both"
    ) in wider
    assert f"{services['short_breaks_with_ehcp']} of the children using short breaks" in wider
    assert f"{services['parent_carers_supported']} parent/carers" in wider
    register = " ".join(texts(nv.register_sentences(t["send_disability_register"], year="2023")))
    total, with_plan = FIGURES["disability_register_6_8"]["total"]
    assert f"{total} children and young people are on the disability register, {with_plan} (" in register
    places = " ".join(texts(nv.placement_sentences(t["send_placements"], t["send_school_residence"])))
    away = FIGURES["placements_6_4"]["out_of_county_special_ehcp"]
    assert f"{away['2021-12']} at 31 December 2021 and {away['2022-12']} at 31 December 2022" in places
    assert f"A further {FIGURES['placements_6_4']['designated_special_or_erp_ehcp']} children" in places
    england = FIGURES["ehcp_sen_support_trend_6_2"]["england_2022"]
    [shares] = texts(nv.england_share_sentences(t["send_trend"], t["send_school_residence"]))
    assert shares.startswith(
        f"In England, {england['ehcp_pct']:.1f}% of pupils had an EHC plan and {england['sen_support_pct']:.1f}% were "
        "on SEN support at the Spring 2022 census (DfE)"
    )
    post16 = texts(nv.post16_sentences(t["send_placements"], extract="2022-12-31"))
    assert post16[0].startswith(
        f"At 31 December 2022, {FIGURES['post16_6_5']['in_college_or_alternative']} young people"
    )


def test_the_health_assessments_section_reproduces_the_seed_7_2_from_the_release(release):
    checks = release["release"]["send_ld_health_checks"]
    figure = FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]
    [first, *_] = nv.health_check_sentences(checks)
    said = fx.sentence_text(first)
    match = re.fullmatch(
        r"(\d+) of (\d+) young people aged 14 to 25 on a GP learning disability register \((\d+\.\d)%\) had their "
        r"annual health check in 2022-23\.",
        said,
    )
    assert match, said
    done, everyone, pct = match.groups()
    assert fmt_decimal(Decimal(pct), 0) == figure
    assert fmt_decimal(Decimal(done) * 100 / Decimal(everyone), 1) == Decimal(pct)
    published = checks.cell(
        "pct_of_age_band", time_period="202223", age_band="Total", health_check="Had a health check"
    )
    assert published.text == pct  # the release's own percentage, as published
    section = report_sections(release["tree"])["health-assessments"]
    assert said in " ".join(section.text().split())
    [table] = [n for n in section.walk() if n.tag == "table"]
    assert table.attrs["data-source"] == "send_ld_health_checks"


def fact_texts(row: tuple) -> list[str]:
    return [p.text if isinstance(p, fx.Fact) else "" for p in row]


def test_the_new_sections_reproduce_the_seed_figures_the_release_publishes(release):
    t = release["release"]
    # 5.2 deprivation
    seed = FIGURES["deprivation_5_2"]
    said = " ".join(texts(nv.deprivation_sentences(t["send_deprivation"])))
    assert f"ranks {fx.ordinal(seed['rank_2019'])} of {seed['of']} local authority districts" in said
    assert f"It is the {fx.ordinal(seed['place_in_region_least_deprived'])} least deprived" in said
    assert fx.ordinal(seed["rank_2010"]) in said and fx.ordinal(seed["rank_2015"]) in said
    # 5.3 child health: LA / region / England, the LA's pupil cells computed from the census tables
    health = FIGURES["child_health_5_3"]
    rows = {r.indicator: r for r in nv.child_health_rows(t["send_child_health"], t["send_characteristics"],
                                                          t["send_primary_need"])}  # fmt: skip
    shown = {
        "live_births": ("live_births_2021", None, "{:,}"),
        "children_aged_0_4": ("aged_0_4_2021", "aged_0_4_2021_pct", "{:.1f}%"),
        "children_aged_0_19": ("aged_0_19_2021", "aged_0_19_2021_pct", "{:.1f}%"),
        "children_aged_0_19_projected": ("aged_0_19_2031_projected", "aged_0_19_2031_projected_pct", "{:.1f}%"),
        "pupils_minority_ethnic": ("pupils_minority_ethnic_2022", "pupils_minority_ethnic_2022_pct", "{:.1f}%"),
        "pupils_semh": ("pupils_semh_2022", "pupils_semh_2022_pct", "{:.1f}%"),
        "children_in_poverty": (None, "children_in_poverty_2021_pct", "{:.1f}%"),
        "life_expectancy_boys": (None, "life_expectancy_boys_2018_2020", "{:.1f}"),
        "life_expectancy_girls": (None, "life_expectancy_girls_2018_2020", "{:.1f}"),
    }
    for indicator, (counts, values, form) in shown.items():
        for i, level in enumerate(nv.GEOGRAPHIES):
            counted, value = rows[indicator].cells[level]
            if counts and values:
                assert counted.text == f"{health[counts][i]:,}", (indicator, level)
            figure = health[values][i] if values else health[counts][i]
            assert value.text == form.format(figure), (indicator, level)
    sentences = " ".join(texts(nv.child_health_sentences(t["send_child_health"], t["send_characteristics"],
                                                          t["send_primary_need"])))  # fmt: skip
    assert "9.4% (547) in Rutland" in sentences and "2.5% (147) in Rutland" in sentences
    # 6.6 exclusions: what the release publishes is said; what it suppresses is named, not computed
    seed = FIGURES["exclusions_6_6"]
    (first, *_) = nv.exclusions_sentences(t["send_exclusions"])
    said = fx.sentence_text(first)
    assert said.startswith(f"In 2021/22, {seed['send_suspended']} children with SEND were suspended at least once")
    exclusions = t["send_exclusions"]
    both = exclusions.cell("children_suspended_and_permanently_excluded", time_period="202122", sen_provision="Total")
    every = exclusions.cell("children_permanently_excluded", time_period="202122", sen_provision="Total")
    if both.symbol:
        assert f"how many of them were also permanently excluded is suppressed ({both.symbol})" in said
    else:
        assert f"; {seed['of_whom_permanently_excluded']} of them were also permanently excluded" in said
    if both.symbol or every.symbol:
        assert "the number of other children with SEND permanently excluded is suppressed" in said
    else:
        assert f"and {seed['other_send_permanently_excluded']} more children with SEND" in said
    # 8 attainment: KS1 SEN support and the KS4 scores, beside England
    seed = FIGURES["attainment_8"]
    said = texts(nv.attainment_sentences(t["send_attainment_standard"], t["send_attainment_scores"]))
    ks1 = next(s for s in said if s.startswith("At key stage 1 in 2021/22, pupils on SEN support"))
    for measure, (here, england) in seed["ks1_expected_pct"]["sen_support"].items():
        assert f"{measure} at the expected standard {here:.1f}% (" in ks1 and f"England {england:.1f}%)" in ks1
    att8 = next(s for s in said if "Attainment 8" in s)
    p8 = next(s for s in said if "Progress 8" in s)
    for provision, words in (("sen_support", "on SEN support"), ("ehcp", "with an EHC plan")):
        here, england = seed["ks4_attainment8_average"][provision]
        assert re.search(rf"{here:.1f} for the \d+ pupils {words} \(England {england:.1f}\)", att8), att8
        here, england = seed["ks4_progress8"][provision]
        pupils = rf"(the \d+ pupils {words}|pupils {words}, how many suppressed \(c\))"
        assert re.search(rf"{here:.2f} for {pupils} \(England {england:.2f}\)", p8), p8


def test_the_attainment_chart_draws_only_published_percentages(release):
    standard = release["release"]["send_attainment_standard"]
    chart = report_charts.attainment_chart(standard)
    reader = release["reader"]
    drawn = [r for r in chart.rows if r["value"] is not None]
    marked = [r for r in chart.rows if r["sym"]]
    assert drawn and marked  # the EHC plan percentages of the tiny cohorts are c, and marked so
    for row in chart.rows:
        assert row["kind"] == "rate" and len(row["cells"].split()) == 1
        text = reader.text(row["cells"])
        assert (row["value"], row["sym"]) == ((None, text) if text in SYMBOLS else (float(text), "")), row


def browser_or_skip():
    reason = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright, reason = None, "playwright is not installed"
    if not reason and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must render the report in Chromium")
        pytest.skip(reason)
    return sync_playwright


def test_the_report_renders_offline_in_headless_chromium(release, tmp_path):
    sync_playwright = browser_or_skip()
    url = release["built"].path.as_uri()
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="load")
            headings = page.locator("section.report h2").all_inner_texts()
            boxes = [page.locator(f"#{key} svg").bounding_box() for key in CHART_IDS]
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert [h.split(". ", 1)[-1] for h in headings] == list(SECTION_TITLES.values())
    assert all(box and box["width"] > 150 and box["height"] > 80 for box in boxes), boxes
    assert requests == [url], f"the report fetched something: {requests}"
    assert not errors
    assert screenshot.stat().st_size > 100_000


def copied_warehouse(release, folder: Path, monkeypatch) -> SendWarehouse:
    """The release fixture's warehouse copied (its published link is relative), for a test that publishes again."""
    shutil.copytree(release["env"]["SEND_WAREHOUSE_DIR"], folder, symlinks=True)
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", release["env"]["SEND_PSEUDONYM_KEY"])
    return SendWarehouse(raw_dir=release["env"]["SEND_RAW_DIR"], warehouse_dir=str(folder), la_code="857")


def materialized_metadata(result) -> dict[str, dict]:
    return {e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()}  # fmt: skip


def test_the_release_step_publishes_the_report_inside_the_release_it_swaps_in(release, tmp_path, monkeypatch):
    """Publication is atomic, the report included. The report was written after the swap: for a
    second or two, and for good after a failed report, the live release had no report/index.html."""
    report_spec = publish_release.specs_by_key[REPORT_KEY]
    assert [d.asset_key for d in report_spec.deps] == [RELEASE_KEY] and report_spec.group_name == "published"
    warehouse = copied_warehouse(release, tmp_path / "warehouse", monkeypatch)
    published = tmp_path / "warehouse" / "published"
    swaps = []
    swap_in = publish_module.swap_in

    def swap_in_seen(link, folder):
        swaps.append(sorted(p.name for p in folder.iterdir()))  # what the release holds as it goes live
        swap_in(link, folder)

    monkeypatch.setattr(publish_module, "swap_in", swap_in_seen)
    with checks_passed_instance() as instance:  # the marts it reads passed their blocking checks
        metadata = materialized_metadata(
            dg.materialize([publish_release], resources={"warehouse": warehouse}, instance=instance)
        )
    assert swaps == [["ees", "parquet", "report", "send_reporting.duckdb"]]
    live = published.resolve()
    assert metadata["send_reporting"]["release_id"].value == metadata["report"]["release_id"].value == live.name
    assert Path(metadata["report"]["path"].value) == published / "report" / "index.html"
    html = (published / "report" / "index.html").read_text(encoding="utf-8")
    assert f'<meta name="release-id" content="{live.name}">' in html
    assert metadata["report"]["charts"].value == len(CHART_IDS)
    assert metadata["report"]["sections"].value == len(SECTION_TITLES)
    assert metadata["report"]["narrative_not_written"].value == "none"


def test_a_report_that_cannot_be_built_publishes_nothing(release, tmp_path, monkeypatch):
    warehouse = copied_warehouse(release, tmp_path / "warehouse", monkeypatch)
    published = tmp_path / "warehouse" / "published"
    live = published.resolve()
    releases = sorted(p.name for p in live.parent.iterdir())
    with duckdb.connect(str(tmp_path / "warehouse" / "send.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM publication.suppression_pattern").fetchone()

    def broken(*args, **kwargs):
        raise report_build.ReportError("a chart the template names is missing")

    monkeypatch.setattr(report_build, "render_html", broken)
    with checks_passed_instance() as instance:
        failed = dg.materialize(
            [publish_release], resources={"warehouse": warehouse}, raise_on_error=False, instance=instance
        )
    assert not failed.success and not failed.get_asset_materialization_events()
    (failure,) = [e for e in failed.all_events if e.is_step_failure]
    assert "nothing published, the last release stays live" in failure.step_failure_data.error.message
    assert "a chart the template names is missing" in failure.step_failure_data.error.message
    assert published.resolve() == live and (published / "report" / "index.html").exists()
    assert sorted(p.name for p in live.parent.iterdir()) == releases  # nor a half-built folder left
    with duckdb.connect(str(tmp_path / "warehouse" / "send.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM publication.suppression_pattern").fetchone() == stored


def test_published_rows_match_every_condition_in_table_order():
    frame = pd.DataFrame(
        {"year": ["2023", "2022", "2023", "2023", None], "need": ["ASD", "ASD", "SLCN", "ASD", "ASD"],
         "pupils": ["10", "9", "c", "12", "7"]}
    )  # fmt: skip
    table = fx.Published("t", frame)
    assert table.rows(year="2023", need="ASD")["pupils"].tolist() == ["10", "12"]
    assert table.rows(need="ASD", year="2023")["_row"].tolist() == [0, 3]  # either order of the conditions
    assert table.rows(year="2023")["pupils"].tolist() == ["10", "c", "12"]
    assert table.rows(year="2021").empty and table.rows(year="2022", need="SLCN").empty
    assert len(table.rows()) == 5  # no condition: every row, the blank year too
    with pytest.raises(fx.ReportDataError, match="t: no column phase"):
        table.rows(phase="Primary")
    with pytest.raises(fx.ReportDataError, match="t: no column phase"):
        table.cells("phase", year="2023")  # the column read, not only a column matched
    assert [c.text for c in table.cells("pupils", year="2023")] == ["10", "c", "12"]


def test_the_benchmark_tables_percentage_names_its_own_denominator(release):
    """DfE's 20-week percentage is of DfE's timeliness count of plans issued (2024: 52 of 70), not of the new EHC
    plans column beside it (77): the header says so (an analyst read 52 of 77)."""
    from pipeline.report import tables as report_tables

    table = report_tables.benchmark_table(release["release"]["send_benchmark_ehcp"])
    header = fx.sentence_text(table.header[-1])
    assert header.startswith("% of plans issued (DfE's timeliness count) within 20 weeks, "), header
    assert fx.sentence_text(table.header[-2]).startswith("New EHC plans, ")


def test_the_trend_table_says_its_ehc_plans_include_statements(release):
    """The census codes a statement of SEN as E to 2018 (the seed: "Statement / EHCP"): 265 "pupils with an EHC plan"
    at Spring 2015 beside 25 EHC plans maintained in January 2015 read as a contradiction (an analyst's review)."""
    from pipeline.report import tables as report_tables

    t = release["release"]
    table = report_tables.trend_table(t["send_trend"], t["send_school_residence"])
    assert table.header[1] == "EHC plan or statement"
    assert "a statement of SEN" in fx.sentence_text(table.caption)
