"""The report's sections in the seed's order: each computed section's sentences (pipeline.report.narrative), tables
(pipeline.report.tables) and charts (pipeline.report.charts), and the analyst-written sections
(pipeline.report.analyst_narrative) before and after them.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from pipeline.report import charts as ch
from pipeline.report import narrative as nv
from pipeline.report.analyst_narrative import SECTIONS as SECTION_SPECS
from pipeline.report.analyst_narrative import Narrative
from pipeline.report.facts import Label, Release, Sentence, say
from pipeline.report.tables import (
    ReportTable,
    annual_review_years,
    annual_reviews_table,
    attainment_scores_table,
    attainment_standard_table,
    benchmark_table,
    caseload_needs_table,
    caseload_table,
    characteristics_table,
    child_health_table,
    deprivation_table,
    exclusions_table,
    health_checks_table,
    parent_carer_table,
    placements_table,
    population_table,
    primary_need_england_table,
    primary_need_table,
    provision_table,
    register_table,
    residence_table,
    spend_table,
    timeliness_table,
    timeliness_years,
    trend_table,
    wider_services_table,
)

CHARACTERISTIC_GROUPS = ("sex", "age_group", "first_language", "fsm", "pupil_premium")


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
    reviews = t["send_annual_reviews"]
    review_years = annual_review_years(reviews)
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
            "request, EHC plans within twenty weeks (by calendar year), and annual reviews by their due date (by "
            "academic year, September to August).",
            nv.timeliness_sentences(t["send_ehcna_timeliness"]) + nv.annual_review_sentences(reviews, review_years),
            [timeliness_table(t["send_ehcna_timeliness"], years), annual_reviews_table(reviews, review_years)],
            [ch.timeliness_chart(t["send_ehcna_timeliness"], years), ch.annual_reviews_chart(reviews, review_years)],
        ),
        Section(
            "health-assessments",
            "Health assessments",
            "Young people aged fourteen to twenty-five on a GP learning disability register, and how many had their "
            "learning disability annual health check in the financial year: NHS England's scheme offers everyone on "
            "the register a health check every year from the age of fourteen.",
            nv.health_check_sentences(t["send_ld_health_checks"]),
            [health_checks_table(t["send_ld_health_checks"])],
            [ch.health_checks_chart(t["send_ld_health_checks"])],
            [
                "From the integrated care board's extract of the young people living in the local authority's area "
                "on a GP learning disability register; age bands by age on the last day of the financial year."
            ],
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
