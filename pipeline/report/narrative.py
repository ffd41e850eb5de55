"""Sentences of the needs-assessment report, section by section, every number computed from the published
(suppressed) release.

One function per computed section (`population_sentences` ... `score_sentences`) takes the release's `Published`
tables and returns its sentences, made of the parts in pipeline.report.facts; beside them, the figures a section's
sentences share with its table and chart (`need_vs_england`, `child_health_rows`, `standard_facts`...), so that all
three show the same cells.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.report.facts import (
    CHANGE,
    COUNT,
    MONEY_M,
    RANK,
    RATE,
    SCORE,
    SYMBOL_WORDS,
    Cell,
    Fact,
    Label,
    Part,
    Published,
    ReportDataError,
    Sentence,
    When,
    _symbol,
    as_published,
    change,
    count,
    difference,
    need_label,
    need_order,
    on_date,
    percent,
    say,
    seed_rows,
    setting_label,
    table_period,
    year_counted,
)
from pipeline.sources.child_health import CENSUS_INDICATORS as HEALTH_CENSUS_INDICATORS
from pipeline.sources.child_health import COUNT as HEALTH_COUNT
from pipeline.sources.child_health import INDICATORS as HEALTH_INDICATORS
from pipeline.sources.child_health import PERCENT as HEALTH_PERCENT
from pipeline.sources.child_health import YEARS as HEALTH_YEARS

SPECIAL_SCHOOLS = ("INMSS", "LA_SPECIAL")
POST16_LEARNING = ("FE_COLLEGE", "SPI", "AP")


def _join(items: Sequence[Sentence]) -> Sentence:
    """Parts joined as a list: a, b and c."""
    out: list[Part] = []
    for i, item in enumerate(items):
        if i:
            out.append(" and " if i == len(items) - 1 else ", ")
        out.extend(item)
    return tuple(out)


def _names(codes: Sequence[str], labels: dict[str, str]) -> str:
    names = [labels.get(c, c) for c in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(fact: Fact, up: str = "rose", down: str = "fell", same: str = "stayed the same") -> str:
    exact = fact.exact
    return same if exact == 0 else up if exact is not None and exact > 0 else down


def suppressed_words(fact: Fact) -> str:
    symbol = fact.symbol or "c"
    return f"{SYMBOL_WORDS.get(symbol, 'not published')} ({symbol})"


# ---- sections ------------------------------------------------------------------------------------------------


def population_sentences(population: Published, year: str | None = None) -> list[Sentence]:
    year = year or population.latest()
    when = table_period(population, year)
    place = population.la_name()

    def pop(age_band: str, sex: str = "Total") -> Cell | None:
        return population.find("population", time_period=year, age_band=age_band, sex=sex)

    out: list[Sentence] = []
    total, male, female = pop("All ages"), pop("All ages", "M"), pop("All ages", "F")
    if None not in (total, male, female):
        out.append(
            say(
                "The population of ",
                place,
                " at the ONS mid-year estimate for ",
                when,
                " was ",
                count(total),
                ", comprising ",
                count(male),
                " males and ",
                count(female),
                " females.",
            )
        )
    young, infants, school = pop("0-19"), pop("0-4"), pop("5-19")
    if young is not None and infants is not None and school is not None:
        out.append(
            say(
                "An estimated ",
                count(young),
                " children and young people are aged ",
                Label("0-19"),
                ", of whom ",
                count(infants),
                " are aged ",
                Label("0-4"),
                " and ",
                count(school),
                " aged ",
                Label("5-19"),
                ".",
            )
        )
    send_ages = pop("0-25")
    if send_ages is not None and total is not None:
        out.append(
            say(
                "The SEND Code of Practice covers ages ",
                Label("0-25"),
                ": ",
                count(send_ages),
                " people, ",
                percent(send_ages, total, rate_rule=False),
                " of the population.",
            )
        )
    first = population.distinct("time_period")[0]
    before = population.find("population", time_period=first, age_band="0-19", sex="Total")
    if first != year and before is not None and young is not None:
        moved = change(before, young, rate_rule=False)
        out.append(
            say(
                "From ",
                table_period(population, first),
                " to ",
                when,
                " the population aged ",
                Label("0-19"),
                " ",
                _verb(moved, "grew", "fell"),
                " from ",
                count(before),
                " to ",
                count(young),
                " (",
                moved,
                ").",
            )
        )
    return out


def profile_sentences(
    provision: Published, characteristics: Published, residence: Published, year: str | None = None
) -> list[Sentence]:
    year = year or provision.latest()
    when = table_period(provision, year)
    place = provision.la_name()
    sen, ehcp, support = (provision.cell("pupils", time_period=year, sen_provision=p) for p in ("Total", "E", "K"))
    roll = residence.find("pupils", time_period=year, phase="Total", sen_provision="Total", residence="Total")
    out = [
        say(
            "At the ",
            when,
            " school census there are ",
            count(sen),
            " pupils with SEND in ",
            place,
            " schools: ",
            count(ehcp),
            " with an EHC plan and ",
            count(support),
            " on SEN support.",
        )
    ]
    if roll is not None:
        out.append(say("That is ", percent(sen, roll), " of the ", count(roll), " pupils on roll."))

    def group(name: str, value: str) -> tuple[Cell, Cell]:
        return tuple(  # type: ignore[return-value]
            characteristics.cell(
                "pupils", time_period=year, characteristic_group=name, characteristic=value, sen_provision=p
            )
            for p in ("E", "K")
        )

    def share(name: str, value: str) -> Sentence:
        part = group(name, value)
        return say(percent(part, group(name, "Total")), " (", count(*part), ")")

    out.append(
        say(
            "Of pupils with SEND, ",
            *share("sex", "M"),
            " are male and ",
            *share("sex", "F"),
            " female; ",
            *share("age_group", "Primary"),
            " are in primary and ",
            *share("age_group", "Secondary"),
            " in secondary education.",
        )
    )
    out.extend(_ethnicity_sentences(characteristics, year, group))
    other_language = group("first_language", "Other than English")
    out.append(
        say(
            count(*other_language),
            " pupils with SEND (",
            percent(other_language, group("sex", "Total")),
            ") have a first language other than English.",
        )
    )
    premium = provision.cell("pupils_pupil_premium", time_period=year, sen_provision="Total")
    fsm = provision.cell("pupils_fsm", time_period=year, sen_provision="Total")
    out.append(
        say(
            count(premium),
            " pupils with SEND (",
            percent(premium, sen),
            ") attract pupil premium and ",
            count(fsm),
            " (",
            percent(fsm, sen),
            ") are eligible for free school meals.",
        )
    )
    no_sen_fsm = characteristics.find(
        "pupils", time_period=year, characteristic_group="fsm", characteristic="Eligible", sen_provision="N"
    )
    no_sen = characteristics.find(
        "pupils", time_period=year, characteristic_group="fsm", characteristic="Total", sen_provision="N"
    )
    if no_sen_fsm is not None and no_sen is not None:
        out.append(
            say(
                "Among pupils without SEN, ",
                percent(no_sen_fsm, no_sen),
                " (",
                count(no_sen_fsm),
                " of ",
                count(no_sen),
                ") are eligible for free school meals.",
            )
        )
    return out


def _ethnicity_sentences(characteristics: Published, year: str, group) -> list[Sentence]:
    codes = [
        c
        for c in characteristics.distinct("characteristic", time_period=year, characteristic_group="ethnicity")
        if c not in ("Total", "MISSING")
    ]
    if "WBRI" not in codes:
        return []
    everyone = group("ethnicity", "Total")
    white_british = group("ethnicity", "WBRI")
    out = [say(count(*white_british), " pupils with SEND (", percent(white_british, everyone), ") are White British.")]
    others = [(code, group("ethnicity", code)) for code in codes if code != "WBRI"]
    published = sorted(
        ((code, cells) for code, cells in others if count(*cells).available), key=lambda item: -count(*item[1]).exact
    )
    published = [(code, cells) for code, cells in published if count(*cells).exact > 0]
    if published:
        code, cells = published[0]
        out.append(
            say(
                "The largest other ethnic group with published figures is ",
                Label(code),
                ": ",
                count(*cells),
                " (",
                percent(cells, everyone),
                ").",
            )
        )
    if any(not count(*cells).available for _, cells in others):
        out.append(say("Figures for smaller ethnic groups are suppressed (c) so that no child can be identified."))
    return out


def primary_need_sentences(need: Published, year: str | None = None) -> list[Sentence]:
    year = year or need.latest()
    when = table_period(need, year)
    total = need.cell("pupils", time_period=year, primary_need="Total")
    needs = [(code, c) for code, c in need.by("primary_need", "pupils", time_period=year) if code != "Total"]
    ranked = sorted(((code, c) for code, c in needs if c.number is not None), key=lambda i: (-i[1].number, i[0]))
    out: list[Sentence] = []
    if ranked:
        top = [say(code, " (", count(c), ", ", percent(c, total), ")") for code, c in ranked[:3]]
        out.append(
            say(
                "The most common primary needs at the ",
                when,
                " census are ",
                *_join(top),
                ", of ",
                count(total),
                " pupils with SEN.",
            )
        )
    hidden = [code for code, c in needs if c.symbol]
    if hidden:
        out.append(
            say(
                "Counts for ",
                _names(hidden, {}),
                " are suppressed (c): small, or hidden so that a small count cannot be worked out.",
            )
        )
    return out


def england_need_year(need: Published) -> str | None:
    """The latest census for which the release publishes England's figures by primary need."""
    years = [y for y in need.distinct("time_period")
             if need.cell("england_pupils", time_period=y, primary_need="Total").number is not None]  # fmt: skip
    return years[-1] if years else None


def need_vs_england(need: Published, year: str) -> list[tuple[str, Fact, Fact]]:
    """(need, the LA's share of its pupils with SEN, England's share) for every need, in display order."""
    total = need.cell("pupils", time_period=year, primary_need="Total")
    england_total = need.cell("england_pupils", time_period=year, primary_need="Total")
    codes = need_order(c for c in need.distinct("primary_need", time_period=year) if c != "Total")
    return [
        (
            code,
            percent(need.cell("pupils", time_period=year, primary_need=code), total),
            percent(need.cell("england_pupils", time_period=year, primary_need=code), england_total, rate_rule=False),
        )
        for code in codes
    ]


def primary_need_england_sentences(need: Published) -> list[Sentence]:
    year = england_need_year(need)
    if year is None:
        return [say("The release publishes no England figures by primary need, so no comparison is made.")]
    when = table_period(need, year)
    compared = [(code, here, there) for code, here, there in need_vs_england(need, year) if here.available]
    compared.sort(key=lambda item: (-abs(item[1].exact - item[2].exact), item[0]))
    apart = [say(need_label(code), " at ", here, " against ", there) for code, here, there in compared[:3]]
    out = [
        say(
            "Compared with England at the ",
            when,
            " census, the shares of pupils with SEN that differ most are ",
            *_join(apart),
            ".",
        )
    ]
    if any(not here.available for _, here, _ in need_vs_england(need, year)):
        out.append(say("A share is suppressed (c) where the count behind it is."))
    return out


def trend_sentences(trend: Published, residence: Published) -> list[Sentence]:
    years = trend.distinct("time_period")
    first, latest = years[0], years[-1]

    def with_share(provision: str, year: str) -> Sentence:
        cell = trend.cell("pupils", time_period=year, sen_provision=provision)
        roll = residence.find("pupils", time_period=year, phase="Total", sen_provision="Total", residence="Total")
        share = () if roll is None else (" (", percent(cell, roll), " of pupils on roll)")
        return say(count(cell), " pupils", *share)

    out = []
    for provision, words, name in (("E", "have an EHC plan", "EHC plans"), ("K", "are on SEN support", "SEN support")):
        now = trend.cell("pupils", time_period=latest, sen_provision=provision)
        then = trend.cell("pupils", time_period=first, sen_provision=provision)
        # fmt: off
        out.append(say("At the ", table_period(trend, latest), " census ", *with_share(provision, latest), " ", words,
                       ", against ", *with_share(provision, first), " at ", table_period(trend, first),
                       " (a change of ", change(then, now), ")."))
        # fmt: on
        published = [(y, trend.cell("pupils", time_period=y, sen_provision=provision)) for y in years]
        published = [(y, c) for y, c in published if c.number is not None]
        if published:
            peak_year, _ = max(published, key=lambda item: (item[1].number, item[0]))
            if peak_year not in (first, latest):
                out.append(say(name, " peaked at ", *with_share(provision, peak_year), " at ",
                               table_period(trend, peak_year), "."))  # fmt: skip
    out += england_share_sentences(trend, residence)
    hidden = [y for y in years for p in ("E", "K") if trend.cell("pupils", time_period=y, sen_provision=p).symbol]
    if hidden:
        out.append(say("Some years' figures are suppressed (c) and are left out of the chart."))
    return out


def england_share_sentences(trend: Published, residence: Published) -> list[Sentence]:
    """England's shares of pupils with an EHC plan and on SEN support as DfE published them (the seed's 4.0% and
    12.6% for January 2022), beside the LA's at the same census: the latest census the release has them for."""
    years = [y for y in trend.distinct("time_period")
             if trend.cell("england_pct_of_pupils", time_period=y, sen_provision="E").number is not None]  # fmt: skip
    if not years:
        return []
    year = years[-1]
    england = [as_published(RATE, trend.cell("england_pct_of_pupils", time_period=year, sen_provision=p))
               for p in ("E", "K")]  # fmt: skip
    said = ["In England, ", england[0], " of pupils had an EHC plan and ", england[1], " were on SEN support at the ",
            table_period(trend, year), " census (DfE)"]  # fmt: skip
    roll = residence.find("pupils", time_period=year, phase="Total", sen_provision="Total", residence="Total")
    if roll is not None:
        here = [percent(trend.cell("pupils", time_period=year, sen_provision=p), roll) for p in ("E", "K")]
        said += ["; in ", trend.la_name(), ", ", here[0], " and ", here[1]]
    return [say(*said, ".")]


def caseload_sentences(
    caseload: Published, timeliness: Published | None = None, since_year: int | None = None
) -> list[Sentence]:
    dates = caseload.distinct("reference_date")
    latest = dates[-1]
    january = [d for d in dates if d[5:7] == "01"]
    if since_year is None:
        since_year = int(latest[:4]) - 4
    start = next((d for d in january if int(d[:4]) >= since_year), january[0] if january else dates[0])
    before = caseload.cell("ehcps_maintained", reference_date=start, primary_need="Total")
    now = caseload.cell("ehcps_maintained", reference_date=latest, primary_need="Total")
    moved = change(before, now)
    place = caseload.la_name()
    out: list[Sentence] = []
    if moved.available:
        out.append(
            say(
                "EHC plans maintained by ",
                place,
                " ",
                _verb(moved),
                " from ",
                count(before),
                " in ",
                on_date(start),
                " to ",
                count(now),
                " in ",
                on_date(latest),
                " (",
                moved,
                ").",
            )
        )
    else:
        missing = [on_date(d) for d, c in ((start, before), (latest, now)) if c.symbol]
        out.append(
            say(
                "The number of EHC plans maintained in ",
                *_join([(w,) for w in missing]),
                " is ",
                suppressed_words(moved),
                ", so the change since ",
                on_date(start),
                " is not given.",
            )
        )
    needs = [
        (code, c)
        for code, c in caseload.by("primary_need", "ehcps_maintained", reference_date=latest)
        if code != "Total"
    ]
    ranked = sorted(
        ((code, c) for code, c in needs if c.number is not None and c.number > 0),
        key=lambda item: (-item[1].number, item[0]),
    )
    if ranked and now.number is not None:
        top = [say(code, " ", percent(c, now), " (", count(c), ")") for code, c in ranked[:4]]
        out.append(
            say(
                "The most common primary needs of children with an EHC plan in ",
                on_date(latest),
                " are ",
                *_join(top),
                ".",
            )
        )
    hidden = [code for code, c in needs if c.symbol]
    if hidden:
        out.append(
            say(
                "Figures for ",
                _names(hidden, {}),
                " are known but suppressed (c): small, or hidden so that a small count cannot be worked out.",
            )
        )
    if timeliness is not None:
        years = [y for y in timeliness.distinct("time_period", stage="Requests received") if int(y) >= since_year]
        requests = [
            (y, timeliness.cell("events", time_period=y, stage="Requests received", timeliness="Total")) for y in years
        ]
        if requests:
            listed = [say(count(c), " in ", *year_counted(timeliness, y)) for y, c in requests]
            out.append(say("Requests for an EHC needs assessment: ", *_join(listed), "."))
    return out


def _placement_cells(placements: Published, extract: str, settings: Sequence[str], **where: str) -> list[Cell]:
    return [c for s in settings for c in placements.cells("children", extract_date=extract, setting_type=s, **where)]


def placement_sentences(placements: Published, residence: Published, year: str | None = None) -> list[Sentence]:
    out: list[Sentence] = []
    extracts = placements.distinct("extract_date")
    special = [
        (e, count(*_placement_cells(placements, e, SPECIAL_SCHOOLS, has_ehcp="true", in_county="false")))
        for e in extracts
    ]
    if special:
        parts = []
        for extract, fact in special:
            words = (fact,) if fact.available else (suppressed_words(fact),)
            parts.append(say(*words, " at ", on_date(extract, day=True)))
        out.append(
            say(
                "Children with an EHC plan attending an out-of-county special school (independent, "
                "non-maintained or another authority's): ",
                *_join(parts),
                ".",
            )
        )
        if len(special) > 1 and all(f.available for _, f in special):
            moved = Fact(CHANGE, special[-1][1].cells, special[0][1].cells)
            out.append(say("That is a change of ", moved, " since ", on_date(special[0][0], day=True), "."))
        latest = extracts[-1]
        resourced = count(*_placement_cells(placements, latest, ("ERP",), has_ehcp="true"))
        words = (resourced,) if resourced.available else ("a number ", suppressed_words(resourced), " of")
        out.append(
            say(
                "A further ",
                *words,
                " children with an EHC plan attend enhanced resourced provision or an "
                "SEN unit in a mainstream school at ",
                on_date(latest, day=True),
                ".",
            )
        )
    year = year or residence.latest()
    when = table_period(residence, year)
    for provision, words in (("K", "on SEN support"), ("E", "with an EHC plan")):
        phases = []
        for phase in ("Primary", "Secondary"):
            away = residence.find(
                "pupils", time_period=year, phase=phase, sen_provision=provision, residence="Out of county"
            )
            every = residence.find("pupils", time_period=year, phase=phase, sen_provision=provision, residence="Total")
            if away is not None and every is not None:
                phases.append(
                    say(
                        count(away),
                        " of ",
                        count(every),
                        " (",
                        percent(away, every),
                        ") in ",
                        phase.lower(),
                        " schools",
                    )
                )
        if phases:
            out.append(
                say("At the ", when, " census, pupils ", words, " living outside the authority: ", *_join(phases), ".")
            )
    return out


def post16_sentences(placements: Published, extract: str | None = None) -> list[Sentence]:
    extract = extract or placements.latest("extract_date")
    when = on_date(extract, day=True)
    where = {"extract_date": extract, "has_ehcp": "true", "age_group": "16-25"}
    settings = placements.distinct("setting_type", **where)
    learning = count(
        *_placement_cells(
            placements, extract, [s for s in settings if s in POST16_LEARNING], has_ehcp="true", age_group="16-25"
        )
    )
    others = [s for s in settings if s not in POST16_LEARNING]
    rest = count(*_placement_cells(placements, extract, others, has_ehcp="true", age_group="16-25"))
    everyone = Fact(COUNT, learning.cells + rest.cells)
    out: list[Sentence] = []
    if learning.available:
        out.append(
            say(
                "At ",
                when,
                ", ",
                learning,
                " young people aged ",
                Label("16-25"),
                " with an EHC plan are in "
                "further education colleges, specialist post-sixteen institutions or alternative "
                "provision.",
            )
        )
    else:
        out.append(
            say(
                "At ",
                when,
                " the number of young people aged ",
                Label("16-25"),
                " with an EHC plan in college or alternative provision is ",
                suppressed_words(learning),
                ".",
            )
        )
    if everyone.available and learning.available:
        out.append(
            say(
                "That is ",
                learning,
                " of ",
                everyone,
                " (",
                percent(learning.cells, everyone.cells),
                ") of the young people with an EHC plan in this age group.",
            )
        )
    elif others:
        hidden = [s for s in others if _symbol(placements.cells("children", setting_type=s, **where))]
        named = _names(hidden or others, {k: setting_label(k).lower() for k in others})
        out.append(
            say(
                "The numbers in other settings (",
                Label(named),
                ") are suppressed (c) and the placements table publishes no totals, so the total aged ",
                Label("16-25"),
                " and the share in college cannot be given.",
            )
        )
    return out


def wider_services_sentences(wider: Published, parent_carers: Published, year: str | None = None) -> list[Sentence]:
    year = year or wider.latest()
    when = table_period(wider, year)

    def use(kind: str, column: str = "children") -> Cell:
        return wider.cell(column, time_period=year, aiming_high_use=kind)

    everyone, both = use("Total"), use("Both")
    activities, breaks = count(use("Positive activities only"), both), count(use("Short breaks only"), both)
    breaks_ehcp = count(use("Short breaks only", "children_with_ehcp"), use("Both", "children_with_ehcp"))
    out = [
        say(
            "In ",
            when,
            ", ",
            count(everyone),
            " children and young people used Aiming High: ",
            activities,
            " positive activities and ",
            breaks,
            " short breaks, ",
            count(both),
            " of them both.",
        ),
        say(
            breaks_ehcp,
            " of the children using short breaks have an EHC plan; ",
            count(use("Total", "children_with_ehcp")),
            " (",
            percent(use("Total", "children_with_ehcp"), everyone),
            ") of all the children using Aiming High do.",
        ),
    ]
    carers = parent_carers.find("parent_carers", time_period=year)
    if carers is not None:
        out.append(say(count(carers), " parent/carers were given support, information and advice in ", when, "."))
    return out


def register_sentences(register: Published, year: str | None = None) -> list[Sentence]:
    years = register.distinct("time_period")
    year = year or years[-1]
    total = register.cell("children", time_period=year, age_band="Total")
    ehcp = register.cell("children_with_ehcp", time_period=year, age_band="Total")
    out = [
        say(
            "At the March snapshot of ",
            When(year, year),
            ", ",
            count(total),
            " children and young people are on the disability register, ",
            count(ehcp),
            " (",
            percent(ehcp, total),
            ") of them with an EHC plan.",
        )
    ]
    bands = []
    for band in register.distinct("age_band", time_period=year):
        children = register.cell("children", time_period=year, age_band=band)
        if band == "Total" or children.text == "0":
            continue
        with_plan = register.cell("children_with_ehcp", time_period=year, age_band=band)
        aged = " aged " if band[:1].isdigit() else " "
        bands.append(say(count(children), aged, Label(band), " (", count(with_plan), " with an EHC plan)"))
    if bands:
        out.append(say("By age: ", *_join(bands), "."))
    earlier = [y for y in years if y < year]
    if earlier:
        before = register.cell("children", time_period=earlier[-1], age_band="Total")
        moved = change(before, total)
        out.append(
            say(
                "The register ",
                _verb(moved, "grew", "shrank"),
                " from ",
                count(before),
                " in ",
                When(earlier[-1], earlier[-1]),
                " (",
                moved,
                ").",
            )
        )
    return out


def timeliness_sentences(timeliness: Published, years: int = 3) -> list[Sentence]:
    active = [
        y
        for y in timeliness.distinct("time_period")
        if timeliness.cell("events", time_period=y, stage="Decisions whether to assess", timeliness="Total").text != "0"
    ]
    out: list[Sentence] = []
    for year in active[-years:]:

        def cell(stage: str, timing: str, year: str = year) -> Cell:
            return timeliness.cell("events", time_period=year, stage=stage, timeliness=timing)

        requests = cell("Requests received", "Total")
        parts = [
            _share(
                cell("Decisions whether to assess", "Within 6 weeks"),
                cell("Decisions whether to assess", "Total"),
                say("decisions whether to assess made within ", Label("6 weeks")),
            ),
            _share(
                cell("EHC plans issued", "Within 20 weeks"),
                cell("EHC plans issued", "Total"),
                say("EHC plans issued within ", Label("20 weeks")),
            ),
        ]
        out.append(
            say(
                "In ",
                *year_counted(timeliness, year),
                ": ",
                count(requests),
                " requests for assessment; ",
                *parts[0],
                "; ",
                *parts[1],
                ".",
            )
        )
    return out


def annual_review_sentences(reviews: Published, years: Sequence[str]) -> list[Sentence]:
    """The last three academic years' annual reviews held by their due date (seed 7.1 counts them by academic year)."""
    return [
        say(
            "In ",
            *year_counted(reviews, year),
            ": ",
            *_share(
                reviews.cell("reviews", time_period=year, timeliness="In time"),
                reviews.cell("reviews", time_period=year, timeliness="Total"),
                say("annual reviews held by their due date"),
            ),
            ".",
        )
        for year in years[-3:]
    ]


def _share(part: Cell, whole: Cell, what: Sentence) -> Sentence:
    """`what: X of Y (Z%)`, or what the release withholds."""
    if whole.symbol:
        return say(*what, ": ", suppressed_words(count(whole)))
    if part.symbol:
        return say(*what, ": ", suppressed_words(count(part)), " out of ", count(whole))
    return say(*what, ": ", count(part), " of ", count(whole), " (", percent(part, whole), ")")


HEALTH_CHECK_DONE = "Had a health check"


def health_check_cells(checks: Published, year: str, band: str = "Total") -> tuple[Cell, Cell, Cell]:
    """The young people of an age band who had their annual health check in a financial year, everyone of the band
    on the register, and the published percentage of the first in the second."""
    done = checks.cell("young_people", time_period=year, age_band=band, health_check=HEALTH_CHECK_DONE)
    everyone = checks.cell("young_people", time_period=year, age_band=band, health_check="Total")
    pct = checks.cell("pct_of_age_band", time_period=year, age_band=band, health_check=HEALTH_CHECK_DONE)
    return done, everyone, pct


def _checked_share(done: Cell, everyone: Cell, pct: Cell) -> Sentence:
    """`X of Y (Z%)` with the release's own percentage, or what the release withholds."""
    if everyone.symbol:
        return say("how many are on the register is ", suppressed_words(count(everyone)))
    if done.symbol:
        return say("how many of the ", count(everyone), " had one is ", suppressed_words(count(done)))
    return say(count(done), " of ", count(everyone), " (", as_published(RATE, pct), ")")


def health_check_sentences(checks: Published) -> list[Sentence]:
    """Seed 7.2: young people aged 14 to 25 on a GP learning disability register who had their annual health check
    in the latest financial year, by age band, and in the years before; the percentages as the release publishes
    them, a suppressed count named as suppressed."""
    years = checks.distinct("time_period")
    latest = years[-1]
    when = table_period(checks, latest)
    done, everyone, pct = health_check_cells(checks, latest)
    young_people = say(" young people aged ", Label("14 to 25"))
    register = " on a GP learning disability register"
    if everyone.symbol:
        first = say("In ", when, ", the number of", *young_people, register, ", and how many of them had their "
                    "annual health check, is ", suppressed_words(count(everyone)), ".")  # fmt: skip
    elif done.symbol:
        first = say("In ", when, ", ", count(everyone), *young_people, " were", register, "; how many of them had "
                    "their annual health check is ", suppressed_words(count(done)), ".")  # fmt: skip
    else:
        first = say(count(done), " of ", count(everyone), *young_people, register, " (", as_published(RATE, pct),
                    ") had their annual health check in ", when, ".")  # fmt: skip
    out = [first]
    bands = [b for b in checks.distinct("age_band", time_period=latest) if b != "Total"]
    if bands:
        parts: list[Part] = []
        for band in bands:
            parts += [*(("; ",) if parts else ()), "aged ", Label(band), ", "]
            parts += _checked_share(*health_check_cells(checks, latest, band))
        out.append(say("By age at the end of the year: ", *parts, "."))
    earlier = [
        say(*_checked_share(*health_check_cells(checks, year)), " in ", table_period(checks, year))
        for year in years[:-1]
    ]
    if earlier:
        out.append(say("In earlier years: ", *_join(earlier), "."))
    return out


def spend_sentences(spend: Published) -> list[Sentence]:
    years = spend.distinct("time_period")
    first, latest = years[0], years[-1]

    def amount(year: str, category: str = "Total") -> Cell:
        return spend.cell("amount_gbp", time_period=year, line_code="Total", category=category)

    before, now = amount(first), amount(latest)
    moved = change(before, now, rate_rule=False)
    out = [
        say(
            "High needs expenditure ",
            _verb(moved),
            " from ",
            Fact(MONEY_M, (before,)),
            " in ",
            table_period(spend, first),
            " to ",
            Fact(MONEY_M, (now,)),
            " in ",
            table_period(spend, latest),
            " (",
            moved,
            ").",
        )
    ]
    categories = [c for c in spend.distinct("category", time_period=latest, line_code="Total") if c != "Total"]
    published = [(c, amount(latest, c)) for c in categories if amount(latest, c).number is not None]
    if published:
        name, largest = max(published, key=lambda item: item[1].number)
        out.append(
            say(
                "The largest category in ",
                table_period(spend, latest),
                " is ",
                name,
                ": ",
                Fact(MONEY_M, (largest,)),
                " (",
                percent(largest, now, rate_rule=False),
                " of the total).",
            )
        )
    if "out-of-county" in categories:
        away_before, away_now = amount(first, "out-of-county"), amount(latest, "out-of-county")
        away = change(away_before, away_now, rate_rule=False)
        out.append(
            say(
                "Spending on out-of-county placements ",
                _verb(away),
                " from ",
                Fact(MONEY_M, (away_before,)),
                " to ",
                Fact(MONEY_M, (away_now,)),
                " (",
                away,
                ").",
            )
        )
    hidden = sorted({c for y in years for c in categories if amount(y, c).symbol == "c"})
    if hidden:  # the symbol comes with the spending return (money is never suppressed by this release)
        out.append(
            say("Spending on ", _names(hidden, {}), " is confidential (c) in the spending return in some years.")
        )
    # the year totals add up the amounts reported: a category not available in a year is left out of that total too
    unavailable = sorted({c for y in years for c in categories if amount(y, c).symbol == "x"})
    if unavailable:
        out.append(say("Spending on ", _names(unavailable, {}), " was not available (x) in some years."))
    if hidden or unavailable:
        out.append(
            say(
                "Each year's total adds up the amounts reported that year, so the change in the total compares years "
                "with different categories missing."
            )
        )
    return out


def benchmark_sentences(benchmark: Published) -> list[Sentence]:
    out: list[Sentence] = []
    plans = {"measure": "ehcplans"}
    years = benchmark.distinct("time_period", **plans)
    if years:
        first, latest = years[0], years[-1]
        growth = {role: _growth(benchmark, role, first, latest) for role in ("home_la", "region", "england")}
        home = growth["home_la"]
        if home is not None:
            out.append(
                say(
                    "From ",
                    table_period(benchmark, first),
                    " to ",
                    table_period(benchmark, latest),
                    " the number of EHC plans maintained by ",
                    _home(benchmark),
                    " changed by ",
                    home,
                    " (",
                    count(*home.base),
                    " to ",
                    count(*home.cells),
                    "), against ",
                    _or_missing(growth["region"]),
                    " in ",
                    _region(benchmark),
                    " and ",
                    _or_missing(growth["england"]),
                    " in England.",
                )
            )
        neighbours = []
        for code in neighbour_codes(benchmark):
            fact = _growth(benchmark, "statistical_neighbour", first, latest, old_la_code=code)
            name = benchmark.distinct("la_name", geography_role="statistical_neighbour", old_la_code=code)
            if fact is not None and fact.available and name:
                neighbours.append((fact, name[0]))
        if neighbours:
            low = min(neighbours, key=lambda item: (item[0].exact, item[1]))
            high = max(neighbours, key=lambda item: (item[0].exact, item[1]))
            out.append(
                say(
                    "Among its statistical neighbours the change ranged from ",
                    low[0],
                    " (",
                    low[1],
                    ") to ",
                    high[0],
                    " (",
                    high[1],
                    ").",
                )
            )
        elif not neighbour_codes(benchmark) and benchmark.distinct("la_name", geography_role="home_la"):
            out.append(
                say(
                    "No statistical neighbours of ",
                    _home(benchmark),
                    " are compared: the list the project holds (DfE's model from before Cumbria's split in ",
                    Label("April 2023"),
                    ") has none for it.",
                )
            )
    issued = benchmark.distinct("time_period", measure="plans_issued_within_20_weeks")
    if issued:
        year = issued[-1]
        shares = {role: _timely(benchmark, role, year) for role in ("home_la", "region", "england")}
        home = shares["home_la"]
        if home is not None:
            out.append(
                say(
                    "In ",
                    When(year, year),
                    ", ",
                    home,
                    " of new EHC plans in ",
                    _home(benchmark),
                    " were issued within ",
                    Label("20 weeks"),
                    " (",
                    count(*home.cells),
                    " of ",
                    count(*home.base),
                    "), against ",
                    _or_missing(shares["region"]),
                    " in ",
                    _region(benchmark),
                    " and ",
                    _or_missing(shares["england"]),
                    " in England (DfE figures, including exceptions).",
                )
            )
    return out


def neighbour_codes(benchmark: Published) -> list[str]:
    """Statistical neighbours by old LA code (stable where DfE changed the new code, as for Buckinghamshire),
    in name order."""
    codes = benchmark.distinct("old_la_code", geography_role="statistical_neighbour")
    return sorted(codes, key=lambda code: (geography_name(benchmark, "statistical_neighbour", code), code))


def geography_name(benchmark: Published, role: str, code: str | None = None) -> str:
    """England, the region's name, or the LA's name (a neighbour by its old LA code)."""
    if role == "england":
        return "England"
    if role == "region":
        return _region(benchmark)
    names = benchmark.distinct("la_name", geography_role=role, **({"old_la_code": code} if code else {}))
    return names[-1] if names else "the local authority"


def _or_missing(fact: Fact | None) -> Fact | str:
    return "a figure not in the release" if fact is None else fact


def _home(benchmark: Published) -> str:
    names = benchmark.distinct("la_name", geography_role="home_la")
    return names[0] if names else "the local authority"


def _region(benchmark: Published) -> str:
    names = benchmark.distinct("region_name", geography_role="region")
    return names[0] if names else "the region"


def benchmark_cell(benchmark: Published, role: str, measure: str, year: str, **where: str) -> Cell | None:
    return benchmark.find("value", geography_role=role, measure=measure, time_period=year, **where)


def _growth(benchmark: Published, role: str, first: str, latest: str, **where: str) -> Fact | None:
    before = benchmark_cell(benchmark, role, "ehcplans", first, **where)
    after = benchmark_cell(benchmark, role, "ehcplans", latest, **where)
    return None if before is None or after is None else change(before, after)


def _timely(benchmark: Published, role: str, year: str, **where: str) -> Fact | None:
    within = benchmark_cell(benchmark, role, "plans_issued_within_20_weeks", year, **where)
    issued = benchmark_cell(benchmark, role, "plans_issued_den", year, **where)
    return None if within is None or issued is None else percent(within, issued)


# ---- context: deprivation (5.2) and child health (5.3) ----------------------------------------------------------

GEOGRAPHIES = ("Local authority", "Regional", "National")  # the child-health table's rows, in the seed's order
WHITE_BRITISH, UNCLASSIFIED = "WBRI", "Unclassified"  # ethnicity code; the ethnic group of refused / not obtained
HEALTH_KINDS = {HEALTH_COUNT: COUNT, HEALTH_PERCENT: RATE, HEALTH_YEARS: SCORE}


def region_words(table: Published) -> str:
    """ "the East Midlands region" from the table's region_name, or "the region"."""
    names = table.distinct("region_name", geographic_level="Local authority") if "region_name" in table.frame else []
    names = [n for n in names if n]
    return f"the {names[0]} region" if len(names) == 1 else "the region"


def deprivation_sentences(deprivation: Published) -> list[Sentence]:
    years = deprivation.distinct("time_period")
    if not years:
        return [say("The release holds no Indices of Deprivation rank for the local authority.")]
    place = deprivation.la_name()

    def cell(column: str, year: str) -> Cell:
        return deprivation.cell(column, time_period=year)

    # x: the extract ranks districts and not this LA (a county council, whose districts are ranked)
    years = [y for y in years if cell("rank", y).number is not None]
    if not years:
        return [
            say(
                "The Indices of Deprivation rank local authority districts, and ",
                place,
                " is not one of them in the extract (a county council's districts are ranked, not the county): the "
                "release holds no rank for it.",
            )
        ]
    latest = years[-1]
    out = [
        say(
            "In the Indices of Deprivation ",
            When(latest, latest),
            ", ",
            place,
            " ranks ",
            as_published(RANK, cell("rank", latest)),
            " of ",
            count(cell("districts_ranked", latest)),
            " local authority districts in England, counting from the most deprived.",
        ),
        say(
            "It is the ",
            as_published(RANK, cell("rank_in_region_least_deprived", latest)),
            " least deprived of the ",
            count(cell("districts_in_region", latest)),
            " districts in ",
            region_words(deprivation),
            ".",
        ),
    ]
    earlier = [
        say(
            "in ",
            When(y, y),
            " it ranked ",
            as_published(RANK, cell("rank", y)),
            " of ",
            count(cell("districts_ranked", y)),
        )
        for y in years[:-1]
    ]
    if earlier:
        out.append(say("In earlier editions, ", *_join(earlier), "."))
    return out


@dataclass(frozen=True)
class HealthRow:
    """One indicator of the child health snapshot: its period, and per geography (LA, region, England) the count
    behind it and its value (None: the release has no such row)."""

    indicator: str
    label: str
    unit: str
    period: When | Label
    cells: dict[str, tuple[Fact | None, Fact | None]]


def health_period(text: str, time_period: str) -> When | Label:
    """2021 and 2021/22 are periods a reader dates; a span such as 2018-2020 is a label as published."""
    if re.fullmatch(r"\d{4}", text):
        return When(text, text)
    if re.fullmatch(r"\d{4}/\d{2}", text):
        return When(text, f"{text[:4]}-09")
    return Label(text)


def census_health_cells(
    indicator: str, time_period: str, characteristics: Published, need: Published
) -> tuple[Fact | None, Fact | None]:
    """The LA's census-derived cells of the snapshot, computed from the published census tables (and so under their
    suppression): pupils from minority ethnic groups (every pupil but White British and unclassified ethnicity) and
    pupils whose primary need is SEMH, each with its percentage of all pupils on roll at that Spring census."""
    roll = characteristics.find(
        "pupils",
        time_period=time_period,
        characteristic_group="ethnicity",
        characteristic="Total",
        sen_provision="Total",
    )
    if roll is None:
        return None, None
    if indicator == "pupils_minority_ethnic":
        white_british = characteristics.find(
            "pupils", time_period=time_period, characteristic_group="ethnicity", characteristic=WHITE_BRITISH,
            sen_provision="Total",
        )  # fmt: skip
        unclassified = characteristics.find(
            "pupils", time_period=time_period, characteristic_group="ethnic_group", characteristic=UNCLASSIFIED,
            sen_provision="Total",
        )  # fmt: skip
        if white_british is None:
            return None, None
        less = tuple(c for c in (white_british, unclassified) if c is not None)
        return difference(roll, less), percent(roll, roll, minus=less)
    if indicator == "pupils_semh":
        semh = need.find("pupils", time_period=time_period, primary_need="SEMH")
        return (None, None) if semh is None else (count(semh), percent(semh, roll))
    raise ReportDataError(f"no census-derived cell for the indicator {indicator}")


def child_health_rows(health: Published, characteristics: Published, need: Published) -> list[HealthRow]:
    """Every indicator of the snapshot in the seed's order (the child-health contract's code list)."""
    out = []
    for indicator, (label, unit) in HEALTH_INDICATORS.items():
        rows = health.rows(indicator=indicator)
        if rows.empty:
            continue
        period_text, time_period = (str(v) for v in rows[["period", "time_period"]].iloc[0])
        kind = HEALTH_KINDS[unit]
        cells: dict[str, tuple[Fact | None, Fact | None]] = {}
        for level in GEOGRAPHIES:
            value = health.find("value", indicator=indicator, geographic_level=level)
            counted = health.find("count", indicator=indicator, geographic_level=level)
            if level == "Local authority" and indicator in HEALTH_CENSUS_INDICATORS:
                cells[level] = census_health_cells(indicator, time_period, characteristics, need)
            else:
                cells[level] = (
                    None if counted is None else count(counted),
                    None if value is None else as_published(kind, value),
                )
        out.append(HealthRow(indicator, label, unit, health_period(period_text, time_period), cells))
    return out


def _health_clause(row: HealthRow, level: str, name: str, first: bool) -> Sentence:
    counted, value = row.cells[level]
    if value is None:
        return say("no figure in the release for ", name)
    years = " years" if row.unit == HEALTH_YEARS and first else ""
    shown = first and counted is not None and counted.available and row.unit != HEALTH_COUNT
    with_count = (" (", counted, ")") if shown else ()
    return say(value, years, *with_count, " in ", name)


def child_health_sentences(health: Published, characteristics: Published, need: Published) -> list[Sentence]:
    place = health.la_name()
    names = {"Local authority": place, "Regional": region_words(health), "National": "England"}
    out = []
    rows = child_health_rows(health, characteristics, need)
    for row in rows:
        here, region, england = (
            _health_clause(row, level, names[level], level == GEOGRAPHIES[0]) for level in GEOGRAPHIES
        )
        joined = ", against " if row.unit == HEALTH_PERCENT else ", "
        out.append(say(Label(row.label), " (", row.period, "): ", *here, joined, *region, " and ", *england, "."))
    if any(f is not None and f.symbol == "c" for row in rows for f in row.cells["Local authority"]):
        out.append(say("Where a count behind the local authority's pupil figures is suppressed (c), so is the figure."))
    return out


# ---- exclusions (6.6) ----------------------------------------------------------------------------------------


def exclusions_sentences(exclusions: Published) -> list[Sentence]:
    """Children with SEND suspended and permanently excluded in the latest academic year, and earlier years' totals;
    a suppressed count is named as suppressed and nothing is computed from it."""
    years = exclusions.distinct("time_period")
    latest = years[-1]
    when = table_period(exclusions, latest)

    def cell(column: str, year: str = latest, provision: str = "Total") -> Cell:
        return exclusions.cell(column, time_period=year, sen_provision=provision)

    suspended = count(cell("children_suspended"))
    both = count(cell("children_suspended_and_permanently_excluded"))
    others = difference(cell("children_permanently_excluded"), cell("children_suspended_and_permanently_excluded"))
    first = say(
        "In ",
        when,
        ", ",
        suspended,
        " children with SEND were suspended at least once (",
        count(cell("suspensions")),
        " suspensions)",
    )
    if both.available:
        then = say("; ", both, " of them were also permanently excluded")
    else:
        then = say("; how many of them were also permanently excluded is ", suppressed_words(both))
    if others.available:
        more = say(", and ", others, " more children with SEND were permanently excluded.")
    else:  # a difference with a suppressed side is not computed: it would give the suppressed cell back
        more = say(
            ", and the number of other children with SEND permanently excluded is ", suppressed_words(others), "."
        )
    out = [say(*first, *then, *more)]
    ehcp, support = count(cell("children_suspended", provision="E")), count(cell("children_suspended", provision="K"))
    out.append(say("Of the children suspended, ", ehcp, " have an EHC plan and ", support, " are on SEN support."))
    earlier = [say(count(cell("children_suspended", y)), " in ", table_period(exclusions, y)) for y in years[:-1]]
    if earlier:
        out.append(say("Children with SEND suspended in earlier years: ", *_join(earlier), "."))
    return out


# ---- attainment (8) ------------------------------------------------------------------------------------------

STAGE_WORDS = {
    "EYFS": "the early years foundation stage",
    "KS1": "key stage 1",
    "KS2": "key stage 2",
    "KS4": "key stage 4",
}
PROVISION_WORDS = {"K": "on SEN support", "E": "with an EHC plan"}


def measure_rows() -> dict[tuple[str, str], dict[str, str]]:
    """(key stage, measure) -> the attainment_measures seed row, in its display order."""
    rows = sorted(seed_rows("attainment_measures"), key=lambda r: int(r["display_order"]))
    return {(r["key_stage"], r["measure"]): r for r in rows}


def measure_label(key_stage: str, measure: str) -> str:
    row = measure_rows().get((key_stage, measure))
    return row["measure_label"] if row else f"{key_stage} {measure}"


def measure_order(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    order = {k: i for i, k in enumerate(measure_rows())}
    return sorted(set(pairs), key=lambda p: (order.get(p, len(order)), p))


def standard_measures(standard: Published, year: str) -> list[tuple[str, str]]:
    rows = standard.rows(time_period=year)
    return measure_order(zip(rows["key_stage"], rows["measure"], strict=True))


def standard_facts(standard: Published, year: str, key_stage: str, measure: str, provision: str) -> dict[str, Fact]:
    """met, total (pupils with a result), pct (published, rule 5) and england (DfE's) for one group."""

    def cell(column: str, outcome: str) -> Cell:
        return standard.cell(
            column, time_period=year, key_stage=key_stage, measure=measure, sen_provision=provision, outcome=outcome
        )

    return {
        "met": count(cell("pupils", "Met")),
        "total": count(cell("pupils", "Total")),
        "pct": as_published(RATE, cell("pct_of_pupils", "Met")),
        "england": as_published(RATE, cell("england_pct", "Met")),
    }


def _measure_words(key_stage: str, measure: str) -> str:
    label = measure_label(key_stage, measure)
    return label[0].lower() + label[1:]


def _standard_clause(words: str, f: dict[str, Fact]) -> Sentence:
    """`reading 29.3% (12 of 41; England 29.6%)`, or, when the percentage is withheld, says so without it."""
    if f["pct"].available:
        return say(words, " ", f["pct"], " (", f["met"], " of ", f["total"], "; England ", f["england"], ")")
    return say(
        words,
        " ",
        suppressed_words(f["pct"]),
        " for the ",
        f["total"],
        " pupils with a result (England ",
        f["england"],
        ")",
    )


def attainment_sentences(standard: Published, scores: Published) -> list[Sentence]:
    out: list[Sentence] = []
    year = standard.latest()
    when = table_period(standard, year)
    stages = list(dict.fromkeys(ks for ks, _ in standard_measures(standard, year)))
    hidden = False
    for stage in stages:
        measures = [m for ks, m in standard_measures(standard, year) if ks == stage]
        for provision in ("K", "E"):
            parts = []
            for measure in measures:
                f = standard_facts(standard, year, stage, measure, provision)
                hidden = hidden or not f["pct"].available
                parts.append(_standard_clause(_measure_words(stage, measure), f))
            out.append(
                say("At ", Label(STAGE_WORDS.get(stage, stage)), " in ", when, ", pupils ", PROVISION_WORDS[provision],
                    ": ", *_join(parts), ".")
            )  # fmt: skip
    if hidden:
        out.append(
            say(
                "A percentage is suppressed (c) where fewer than ten pupils have a result or the count behind it is "
                "small."
            )
        )
    out.extend(score_sentences(scores))
    return out


def score_facts(scores: Published, year: str, key_stage: str, measure: str, provision: str) -> dict[str, Fact]:
    def cell(column: str) -> Cell:
        return scores.cell(column, time_period=year, key_stage=key_stage, measure=measure, sen_provision=provision)

    return {
        "pupils": count(cell("pupils_with_score")),
        "average": as_published(SCORE, cell("average_score")),
        "england": as_published(SCORE, cell("england_average")),
    }


def score_sentences(scores: Published) -> list[Sentence]:
    if scores.frame.empty:
        return []
    year = scores.latest()
    when = table_period(scores, year)
    rows = scores.rows(time_period=year)
    out: list[Sentence] = []
    for stage, measure in measure_order(zip(rows["key_stage"], rows["measure"], strict=True)):
        groups = []
        for provision in ("K", "E"):
            if scores.find(
                "average_score", time_period=year, key_stage=stage, measure=measure, sen_provision=provision
            ):
                f = score_facts(scores, year, stage, measure, provision)
                # how many pupils may be suppressed (Progress 8's, when few with Attainment 8 have none)
                pupils = (
                    (" for the ", f["pupils"], " pupils ", PROVISION_WORDS[provision])
                    if f["pupils"].available
                    else (" for pupils ", PROVISION_WORDS[provision], ", how many ", suppressed_words(f["pupils"]))
                )
                groups.append(say(f["average"], *pupils, " (England ", f["england"], ")"))  # fmt: skip
        if not groups:
            continue
        scale = (" (a score from ", Label("0 to 90"), ", not a percentage)") if measure == "ATT8" else ()
        out.append(
            say(
                "At ",
                Label(STAGE_WORDS.get(stage, stage)),
                " in ",
                when,
                ", the ",
                Label(_score_words(stage, measure)),
                *scale,
                " is ",
                *_join(groups),
                ".",
            )
        )
    return out


def _score_words(key_stage: str, measure: str) -> str:
    label = re.sub(r"\s*\([^)]*\)", "", measure_label(key_stage, measure))  # "(0-90)" is said in words
    return label[0].lower() + label[1:]
