"""Analyst-written sections of the needs assessment: Markdown files in the repo, merged into the report as HTML.

The sections of the seed that no source computes (1 Introduction, 2 Background, 3 the Children and Young People's
Plan, 4 National context, 10 Voice of children and parent carers, 11 Joint commissioning with health, 12 Gaps and
recommendations) are written by the council's analysts, one Markdown file per section in ``report/narrative/``,
named ``<two-digit section number>-<slug>.md`` (``02-background.md``). The file is the section's body: the report
gives the section its numbered heading, so subsections in the file start at ``###``.

Numbers the release publishes are not typed into the prose but written as placeholders, ``{{ name }}``
(``{{ ehcp.total_2023 }}``), filled from a mapping name -> already formatted text that the caller gives
(:func:`narrative_values` builds it from a published release). Pure: no Dagster, no warehouse; the only input is
the folder and the mapping.

* A placeholder that names nothing in the mapping (or is malformed) raises :class:`NarrativeError` naming the
  file, the line and the placeholder: the report is never built with a hole in a sentence.
* A section whose file is missing (or empty) is not dropped: it is listed in ``Narrative.missing`` and its
  ``html`` is a visible "section not written" note, so the report keeps every section of the seed, in order.
* Raw HTML in the Markdown is not passed through (markdown-it-py with ``html`` off: it is shown as text), link
  targets such as ``javascript:`` are refused by markdown-it's link validation, and filled values are
  HTML-escaped, so a narrative file cannot inject markup into the report.
"""

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from pipeline.settings import REPO_ROOT

NARRATIVE_DIR = REPO_ROOT / "report" / "narrative"
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
FILE_NAME = re.compile(r"(\d{2})-[a-z0-9-]+\.md")
TOKEN = "SENDNARRATIVEVALUE{:04d}X"  # letters and digits only: Markdown leaves it as it is
NOT_WRITTEN = "Section not written: the analysts' text for this section ({file}) is not in report/narrative/."


@dataclass(frozen=True)
class SectionSpec:
    number: int
    slug: str
    title: str

    @property
    def file_name(self) -> str:
        return f"{self.number:02d}-{self.slug}.md"


# The seed's analyst-written sections, in the report's order.
SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(1, "introduction", "Introduction"),
    SectionSpec(2, "background", "Background"),
    SectionSpec(3, "children-and-young-peoples-plan", "Children and Young People's Plan"),
    SectionSpec(4, "national-context", "National context"),
    SectionSpec(10, "voice-of-children-and-parent-carers", "The voice of children and their parents and carers"),
    SectionSpec(11, "joint-commissioning-with-health", "Joint commissioning with health"),
    SectionSpec(12, "gaps-and-recommendations", "Gaps and recommendations"),
)


class NarrativeError(ValueError):
    """A narrative file the report cannot use (unknown or malformed placeholder, two files for one section)."""


@dataclass(frozen=True)
class NarrativeSection:
    spec: SectionSpec
    written: bool
    html: str  # the rendered section body, or the "section not written" note
    source: Path | None  # the Markdown file, when written


@dataclass(frozen=True)
class Narrative:
    sections: tuple[NarrativeSection, ...]  # every section of SECTIONS, in order
    missing: tuple[SectionSpec, ...]  # sections without a (non-empty) file
    unused_files: tuple[str, ...]  # Markdown files in the folder that are no section's

    def section(self, number: int) -> NarrativeSection:
        return next(s for s in self.sections if s.spec.number == number)


def markdown_renderer() -> MarkdownIt:
    """CommonMark with tables, raw HTML off (shown as text, never passed through)."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def placeholders(text: str, file_name: str) -> list[tuple[int, str]]:
    """(line, name) of every placeholder in the text; a malformed one raises, naming file and line."""
    found = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        for match in PLACEHOLDER.finditer(line):
            name = match.group(1).strip()
            if not NAME.fullmatch(name):
                raise NarrativeError(f"{file_name}: line {line_number}: malformed placeholder {match.group(0)!r}")
            found.append((line_number, name))
        if "{{" in PLACEHOLDER.sub("", line):
            raise NarrativeError(f"{file_name}: line {line_number}: a '{{{{' is not closed by '}}}}' on its line")
    return found


def render_markdown(text: str, values: Mapping[str, str], file_name: str) -> str:
    """The Markdown as HTML with every placeholder replaced by its HTML-escaped value.

    Placeholders are swapped for plain alphanumeric tokens before rendering (so a value can never be read as
    Markdown, and a name's underscores never as emphasis) and the tokens for the escaped values after.
    """
    for line_number, name in placeholders(text, file_name):
        if name not in values:
            raise NarrativeError(
                f"{file_name}: line {line_number}: placeholder {{{{ {name} }}}} names nothing the release provides"
            )
    names: list[str] = []

    def to_token(match: re.Match) -> str:
        names.append(match.group(1).strip())
        return TOKEN.format(len(names) - 1)

    rendered = markdown_renderer().render(PLACEHOLDER.sub(to_token, text))
    for index, name in enumerate(names):
        rendered = rendered.replace(TOKEN.format(index), html.escape(str(values[name])))
    return rendered


def not_written_html(spec: SectionSpec) -> str:
    return f'<p class="not-written">{html.escape(NOT_WRITTEN.format(file=spec.file_name))}</p>\n'


def section_files(folder: Path) -> dict[int, Path]:
    """Section number -> its Markdown file; two files for one number raise."""
    by_number: dict[int, Path] = {}
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
        match = FILE_NAME.fullmatch(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in by_number:
            raise NarrativeError(f"{path.name}: section {number} already has {by_number[number].name}")
        by_number[number] = path
    return by_number


def load_narrative(values: Mapping[str, str], folder: Path = NARRATIVE_DIR) -> Narrative:
    """Every analyst-written section, rendered, in the report's order (missing ones as a visible note)."""
    files = section_files(folder)
    sections, missing = [], []
    for spec in SECTIONS:
        path = files.get(spec.number)
        text = path.read_text(encoding="utf-8") if path else ""
        if not text.strip():
            missing.append(spec)
            sections.append(NarrativeSection(spec, False, not_written_html(spec), None))
            continue
        sections.append(NarrativeSection(spec, True, render_markdown(text, values, path.name), path))
    numbers = {spec.number for spec in SECTIONS}
    unused = tuple(sorted(p.name for p in folder.glob("*.md") if _number(p) not in numbers))
    return Narrative(tuple(sections), tuple(missing), unused)


def _number(path: Path) -> int | None:
    match = FILE_NAME.fullmatch(path.name)
    return int(match.group(1)) if match else None
