"""The needs-assessment document, regenerated from the published release only.

Reads `<published>/send_reporting.duckdb` (schema `reporting`, opened read-only; never the internal send.duckdb),
builds each section's tables, charts and sentences from the published text cells (pipeline.report.sections), renders
them to HTML and writes `<published>/report/index.html`: self-contained (CSS and SVG charts inline, no script, no
external URL), inside the release folder it was built from: a new release's before it is swapped in
(pipeline/release.py), the live one's for `send-pipeline report`. A `published` link swapped by pipeline.publish is
resolved once: the report is read from and written into that one release, built in a temporary folder beside it and
moved into place with `os.replace`. A PDF copy is written too when WeasyPrint is installed (optional).

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
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from pipeline.published_tables import PUBLISHED_TABLES
from pipeline.report import charts as ch
from pipeline.report.analyst_narrative import NARRATIVE_DIR, Narrative, NarrativeError, load_narrative
from pipeline.report.facts import MONTHS, SYMBOL_WORDS, Fact, Label, Part, Published, Release, Sentence, When
from pipeline.report.narrative_values import REPORTED_CENSUS_TERM, narrative_values
from pipeline.report.sections import Section, WrittenSection, report_sections
from pipeline.report.tables import SYMBOL_NOTES, Header, ReportTable

REPORTING_DB = "send_reporting.duckdb"
REPORT_DIR = "report"
REPORT_FILE = "index.html"
PDF_FILE = "send_needs_assessment.pdf"
TEMPLATE = "template.html"
TABLES = tuple(spec.name for spec in PUBLISHED_TABLES)  # every published table, declared once
# The tables published by census term: the report reads their REPORTED_CENSUS_TERM rows only (an Autumn census
# beside a Spring one of the same academic year stopped the report: two rows where one was expected).
CENSUS_TERM_TABLES = frozenset(spec.name for spec in PUBLISHED_TABLES if spec.time_identifier == "{census_term} term")


class ReportError(RuntimeError):
    """The release cannot be reported on (missing, or not one consistent release)."""


# ---- the release ---------------------------------------------------------------------------------------------


def load_release(db_path: Path) -> Release:
    """Every published table as text rows with their rowid, from one release (read-only); of a table published by
    census term, the Spring census's rows only (REPORTED_CENSUS_TERM)."""
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
            if name in CENSUS_TERM_TABLES:
                frame = frame[frame["time_identifier"] == REPORTED_CENSUS_TERM]
            tables[name] = Published(name, frame.drop(columns=["release_id"], errors="ignore"))
    return Release(str(release_id), built_at, tables)


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
        built_text=f"{built.day} {MONTHS[built.month - 1]} {built.year}, {built:%H:%M} UTC" if built else "",
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
    aside first (a directory cannot replace a non-empty one) and removes it after (every one moved aside, when
    another build swapped its report in meanwhile)."""
    olds = []
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
                olds.append(old)
            except FileNotFoundError:
                pass
        raise ReportError(f"could not move the report into {target}: it keeps being replaced")
    finally:
        for old in olds:
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
