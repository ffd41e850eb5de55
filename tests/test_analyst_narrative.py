"""Analyst-written narrative: placeholders filled or failing by file and line, missing sections reported, no raw
HTML passed through, and every placeholder of the shipped files provided by a real published release."""

import duckdb
import pytest

from pipeline.report.analyst_narrative import (
    NARRATIVE_DIR,
    NOT_WRITTEN,
    SECTIONS,
    NarrativeError,
    load_narrative,
    placeholders,
    render_markdown,
)
from pipeline.report.narrative_values import format_cell, narrative_values

from support import generated_and_published


def write_all_sections(folder, text="Words.\n", **overrides):
    folder.mkdir(parents=True, exist_ok=True)
    for spec in SECTIONS:
        (folder / spec.file_name).write_text(overrides.get(spec.slug, text), encoding="utf-8")
    return folder


def test_a_placeholder_is_filled_with_its_escaped_value():
    text = "Plans in 2023: **{{ ehcp.total_2023 }}**; pupils {{send.pupils_2023}} ({{ note }}).\n"
    html = render_markdown(text, {"ehcp.total_2023": "310", "send.pupils_2023": "c", "note": "<b>&"}, "01-x.md")
    assert html == "<p>Plans in 2023: <strong>310</strong>; pupils c (&lt;b&gt;&amp;).</p>\n"


def test_a_value_is_never_read_as_markdown_and_names_never_as_emphasis():
    html = render_markdown("{{ a_b_c }} and {{ x_y }}\n", {"a_b_c": "*not emphasis*", "x_y": "[l](http://e)"}, "f.md")
    assert html == "<p>*not emphasis* and [l](http://e)</p>\n"


def test_an_unknown_placeholder_fails_naming_file_line_and_placeholder():
    text = "First line.\n\nThe plans: {{ ehcp.total_2023 }} and {{ ehcp.total_2099 }}.\n"
    with pytest.raises(NarrativeError, match=r"^02-background\.md: line 3: placeholder \{\{ ehcp\.total_2099 \}\}"):
        render_markdown(text, {"ehcp.total_2023": "310"}, "02-background.md")


@pytest.mark.parametrize("text", ["a {{ two words }} b", "a {{ }} b", "a {{ x.y ", "a {{ 3x }} b"])
def test_a_malformed_placeholder_fails_naming_file_and_line(text):
    with pytest.raises(NarrativeError, match=r"^04-x\.md: line 2: "):
        placeholders("ok\n" + text + "\n", "04-x.md")


def test_raw_html_and_script_links_are_not_passed_through():
    text = '<script>alert(1)</script>\n\nText <img src=x onerror="alert(1)"> and [link](javascript:alert(1)).\n'
    html = render_markdown(text, {}, "10-x.md")
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_the_sections_come_in_order_and_a_missing_or_empty_file_is_reported_with_a_visible_note(tmp_path):
    folder = write_all_sections(tmp_path / "narrative", **{"national-context": "  \n"})
    (folder / "11-joint-commissioning-with-health.md").unlink()
    (folder / "07-not-a-narrative-section.md").write_text("x", encoding="utf-8")
    narrative = load_narrative({}, folder)
    assert [s.spec.number for s in narrative.sections] == [1, 2, 3, 4, 10, 11, 12]
    assert [s.number for s in narrative.missing] == [4, 11]
    assert narrative.unused_files == ("07-not-a-narrative-section.md",)
    eleven = narrative.section(11)
    assert not eleven.written and eleven.source is None
    assert NOT_WRITTEN.split(":")[0] in eleven.html and "11-joint-commissioning-with-health.md" in eleven.html
    assert narrative.section(12).written and narrative.section(12).html == "<p>Words.</p>\n"


def test_two_files_for_one_section_fail(tmp_path):
    folder = write_all_sections(tmp_path / "narrative")
    (folder / "02-background-v2.md").write_text("x", encoding="utf-8")
    with pytest.raises(NarrativeError, match="02-background.md"):
        load_narrative({}, folder)


def test_a_placeholder_error_in_a_section_file_names_that_file(tmp_path):
    folder = write_all_sections(tmp_path / "narrative", **{"gaps-and-recommendations": "- one\n- {{ nope }}\n"})
    with pytest.raises(NarrativeError, match=r"^12-gaps-and-recommendations\.md: line 2: placeholder \{\{ nope \}\}"):
        load_narrative({}, folder)


def test_a_suppressed_cell_is_shown_as_c_and_counts_get_separators(tmp_path):
    assert [format_cell(v) for v in ("1234", "c", "x", "low", "12.5")] == ["1,234", "c", "x", "low", "12.5"]
    with duckdb.connect(str(tmp_path / "send_reporting.duckdb")) as con:
        con.execute("CREATE SCHEMA reporting")
        con.execute(
            "CREATE TABLE reporting.send_provision AS SELECT * FROM (VALUES "
            "('202223', 'Spring term', 'Rutland', 'E', 'c'), ('202223', 'Spring term', 'Rutland', 'Total', '1805'), "
            "('202223', 'Autumn term', 'Rutland', 'Total', '1790'), "  # another census of 2022/23: not the Spring's
            "('202122', 'Spring term', 'Rutland', 'K', '570')) AS t(time_period, time_identifier, la_name, "
            "sen_provision, pupils)"
        )
        values = narrative_values(con)
    assert values == {"la.name": "Rutland", "send.ehcp_2023": "c", "send.pupils_2023": "1,805",
                      "send.sen_support_2022": "570"}  # fmt: skip


@pytest.fixture(scope="module")
def published_values(tmp_path_factory) -> dict[str, str]:
    env = generated_and_published(tmp_path_factory.mktemp("narrative"))
    published = f"{env['SEND_WAREHOUSE_DIR']}/published/send_reporting.duckdb"
    with duckdb.connect(published, read_only=True) as con:
        return narrative_values(con)


def test_every_placeholder_of_the_shipped_files_exists_in_a_real_release(published_values):
    used = {
        name
        for spec in SECTIONS
        if (NARRATIVE_DIR / spec.file_name).exists()
        for _, name in placeholders((NARRATIVE_DIR / spec.file_name).read_text(encoding="utf-8"), spec.file_name)
    }
    assert used, "the shipped narrative uses no placeholder: this test would prove nothing"
    assert used <= set(published_values), used - set(published_values)
    narrative = load_narrative(published_values)
    assert narrative.missing == () and narrative.unused_files == ()
    assert all("{{" not in s.html for s in narrative.sections)


def test_the_shipped_introduction_names_the_la_whose_figures_it_quotes():
    """Section 1 quotes the release's SEN pupils and plans; it said "pupils in Rutland schools" beside another LA's
    figures when SEND_LA_CODE was not Rutland's. Its LA's name is the release's (la.name)."""
    path = NARRATIVE_DIR / "01-introduction.md"
    text = path.read_text(encoding="utf-8")
    values = {name: "1" for _, name in placeholders(text, path.name)} | {"la.name": "Leicestershire"}
    html = render_markdown(text, values, path.name)
    assert "Leicestershire" in html and "Rutland" not in html
