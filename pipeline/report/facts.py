"""The parts the report's sentences are made of, every number computed from the published (suppressed) release;
the release's tables they read (`Published`; `Release`: one release's tables by name), the periods they date and the
code lists' labels they name.

Nothing here reads a warehouse: a narrative function takes `Published` tables (the release's rows as text, each
with its DuckDB rowid) and returns sentences made of parts:

* ``str`` -- words only: a plain part may not hold a number (a number in prose must say where it comes from);
* ``Fact`` -- a number computed from published cells (a cell, a sum or difference of cells, a percentage, a change,
  or a published rate, score or rank shown as published), which knows its cells, so the HTML can carry their
  references and a test can recompute it from the release;
* ``When`` -- a date or period; ``Label`` -- a category as the table names it ("0-18", "within 6 weeks").

A fact whose input is a symbol (``c`` suppressed, ``x``, ``z``, ``low``) is not computed: it shows the symbol and
the sentence says the input is suppressed rather than guessing. A percentage over fewer than ten children is ``c``
(rule 5 of the release's disclosure control), a percentage over nothing is ``z``.
"""

import csv
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from pipeline.ees import EES_MONTHS
from pipeline.settings import seeds_dir
from pipeline.sources.placements import SETTING_TYPES
from pipeline.suppression.rules import DEFAULT_RULES, LOW, SYMBOLS

NUMBER = re.compile(r"-?\d+(\.\d+)?")
SYMBOL_WORDS = {"c": "suppressed", "x": "not available", "z": "not applicable", "low": "rounds to zero"}
RATE_MIN_DENOMINATOR = DEFAULT_RULES.rate_min_denominator

COUNT, MONEY, MONEY_M, PERCENT, CHANGE = "count", "money", "money_m", "percent", "change"
# One published cell shown as published: a percentage the release (or DfE, OHID) gives, an average score or a
# figure in years, an ordinal rank.
RATE, SCORE, RANK = "rate", "score", "rank"
KINDS = (COUNT, MONEY, MONEY_M, PERCENT, CHANGE, RATE, SCORE, RANK)
AS_PUBLISHED = (RATE, SCORE, RANK)

SETTING_ORDER = tuple(SETTING_TYPES)
PROVISION_LABELS = {"E": "EHC plan", "K": "SEN support", "N": "No SEN", "Total": "All pupils"}
# Not calendar.month_name: that follows the process locale. The names EES takes as time identifiers.
MONTHS = EES_MONTHS


class ReportDataError(LookupError):
    """The release does not hold a cell the report needs (named by table and filters, never by value)."""


# ---- code lists: the dbt seeds and the placements contract define them once; the report only shortens them -------


@functools.cache
def seed_rows(seed: str) -> tuple[dict[str, str], ...]:
    """Rows of a dbt seed (a code list, not data) from the project the pipeline builds; none if it is missing."""
    path = seeds_dir() / f"{seed}.csv"
    if not path.exists():
        return ()
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _short(label: str) -> str:
    """A code list's label without its explanation: "Age group (phase of education by NC year)" -> "Age group"."""
    return re.split(r" \(|, | - (?=[a-z])", label, maxsplit=1)[0].strip() or label


def need_label(code: str) -> str:
    labels = {r["primary_need"]: r["primary_need_label"] for r in seed_rows("sen_primary_need_codes")}
    return f"{labels[code]} ({code})" if code in labels else code


def need_order(codes: Iterable[str]) -> list[str]:
    """Codes in the seed's display order (the order DfE tables use), unknown codes last."""
    order = {r["primary_need"]: int(r["display_order"]) for r in seed_rows("sen_primary_need_codes")}
    return sorted(codes, key=lambda code: (order.get(code, len(order) + 1), code))


def group_label(group: str) -> str:
    rows = seed_rows("pupil_characteristic_codes")
    labels = {r["characteristic_group"]: r["characteristic_group_label"] for r in rows}
    return _short(labels.get(group, group.replace("_", " ").capitalize()))


def characteristic_label(group: str, value: str) -> str:
    rows = seed_rows("pupil_characteristic_codes")
    labels = {r["characteristic"]: r["characteristic_label"] for r in rows if r["characteristic_group"] == group}
    if group == "ethnicity":
        return labels.get(value, value)
    return labels.get(value, value) if group == "sex" else value


def setting_label(code: str) -> str:
    return _short(SETTING_TYPES.get(code, code))


@dataclass(frozen=True)
class Cell:
    """One published cell: table, DuckDB rowid in reporting.<table>, column, and the text the release holds."""

    table: str
    row: int
    column: str
    text: str

    @property
    def ref(self) -> str:
        return f"{self.table}:{self.row}:{self.column}"

    @property
    def number(self) -> Decimal | None:
        return Decimal(self.text) if NUMBER.fullmatch(self.text) else None

    @property
    def symbol(self) -> str | None:
        if self.number is not None:
            return None
        return self.text if self.text in SYMBOLS else "x"


def _symbol(cells: Iterable[Cell]) -> str | None:
    symbols = {c.symbol for c in cells} - {None}
    return next((s for s in SYMBOLS if s in symbols), None)


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Fact:
    """A number computed from published cells.

    count / money / money_m: the sum of ``cells`` less the sum of ``minus``; percent: 100 x (sum(cells) -
    sum(minus)) / sum(base); change: the percentage change from sum(base) to sum(cells). ``rate_rule``: a
    percentage of children over fewer than ten is ``c``. rate / score / rank: one published cell shown as published
    (``29.6%``, ``-0.17``, ``303rd``).
    """

    kind: str
    cells: tuple[Cell, ...]
    base: tuple[Cell, ...] = ()
    rate_rule: bool = True
    minus: tuple[Cell, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fact kind {self.kind!r}")
        if (self.kind in (PERCENT, CHANGE)) != bool(self.base):
            raise ValueError(f"a {self.kind} fact needs a base exactly when it is a percentage or a change")
        if self.kind in AS_PUBLISHED and (len(self.cells) != 1 or self.minus):
            raise ValueError(f"a {self.kind} fact is one published cell")
        if self.minus and self.kind not in (COUNT, PERCENT):
            raise ValueError("only a count or a percentage subtracts cells")

    @property
    def symbol(self) -> str | None:
        """The symbol shown instead of a number, or None when the fact is computed."""
        symbol = _symbol((*self.cells, *self.minus, *self.base))
        if symbol or self.kind not in (PERCENT, CHANGE):
            return symbol
        base = sum((c.number for c in self.base), Decimal(0))
        if base == 0:
            return "z"
        if self.rate_rule and abs(base) < RATE_MIN_DENOMINATOR:
            return "c"
        return None

    @property
    def available(self) -> bool:
        return self.symbol is None

    @property
    def exact(self) -> Decimal | None:
        if not self.available:
            return None
        total = sum((c.number for c in self.cells), Decimal(0)) - sum((c.number for c in self.minus), Decimal(0))
        if self.kind in (COUNT, MONEY, MONEY_M, *AS_PUBLISHED):
            return total
        base = sum((c.number for c in self.base), Decimal(0))
        return 100 * (total - base) / base if self.kind == CHANGE else 100 * total / base

    @property
    def value(self) -> float | None:
        """For charts: the number (percentages not rounded), None when a symbol is shown."""
        exact = self.exact
        return None if exact is None else float(exact)

    @property
    def text(self) -> str:
        exact = self.exact
        if exact is None:
            return str(self.symbol)
        if self.kind == COUNT:
            return f"{int(exact):,}"
        if self.kind == MONEY:
            return ("-" if exact < 0 else "") + f"£{abs(round_half_up(exact, 0)):,.0f}"
        if self.kind == MONEY_M:
            return ("-" if exact < 0 else "") + f"£{abs(round_half_up(exact / 1_000_000, 1))}m"
        if self.kind == RATE:
            return f"{exact}%"  # the published decimals, kept
        if self.kind == SCORE:
            return str(exact)
        if self.kind == RANK:
            return ordinal(int(exact))
        rounded = round_half_up(exact, 1)
        if self.kind == PERCENT and exact and not rounded:
            return LOW  # not zero but rounding to it, as the release writes it (rule 8)
        return f"{rounded:+}%" if self.kind == CHANGE else f"{rounded}%"


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 303rd."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class When:
    """A date or period: shown as text, machine-readable as ISO (the <time> element's datetime)."""

    text: str
    iso: str


@dataclass(frozen=True)
class Label:
    """A category as the table names it, or a fixed term with a number in it ("20 weeks")."""

    text: str


Part = str | Fact | When | Label
Sentence = tuple[Part, ...]
# A number standing on its own ("16", "0-25"), not a digit inside a code word such as SEN2 or S251.
DIGIT = re.compile(r"(?<![A-Za-z\d])\d")


def say(*parts: Part) -> Sentence:
    """A sentence; its plain-text parts may not hold a digit (every number is a Fact, When or Label)."""
    for part in parts:
        if isinstance(part, str) and DIGIT.search(part):
            raise ValueError("a number in a sentence must be a Fact, When or Label, not plain text")
    return tuple(parts)


def sentence_text(sentence: Sentence) -> str:
    """The sentence as plain text (a symbol fact reads as its symbol)."""
    return "".join(p if isinstance(p, str) else p.text for p in sentence)


def facts_of(sentence: Sentence) -> list[Fact]:
    return [p for p in sentence if isinstance(p, Fact)]


class Published:
    """One published table of the release: its rows as text (symbols kept), with each row's rowid in `_row`."""

    def __init__(self, name: str, frame: pd.DataFrame):
        if "_row" not in frame.columns:
            frame = frame.reset_index(drop=True).assign(_row=range(len(frame)))
        self.name = name
        self.frame = frame.astype(object).where(frame.notna(), None)
        self._positions: dict[str, dict] = {}  # column -> value -> row positions (sorted), built on first use
        self._values: dict[str, np.ndarray] = {}  # column -> its values, built on first use

    def _require(self, column: str) -> None:
        if column not in self.frame.columns:
            raise ReportDataError(f"{self.name}: no column {column}")

    def _column(self, column: str) -> np.ndarray:
        self._require(column)
        if column not in self._values:
            self._values[column] = self.frame[column].to_numpy()
        return self._values[column]

    def _rows_with(self, column: str, value: str) -> np.ndarray:
        self._require(column)
        if column not in self._positions:  # the report looks up ~2,000 cells: index each column once
            self._positions[column] = self.frame.groupby(column, sort=False).indices
        return self._positions[column].get(value, np.empty(0, dtype=np.intp))

    def _matching(self, where: dict[str, str]) -> np.ndarray:
        """Positions of the rows whose columns equal the given values, in table order."""
        positions = np.arange(len(self.frame))
        for i, (column, value) in enumerate(where.items()):
            found = self._rows_with(column, value)
            positions = found if i == 0 else np.intersect1d(positions, found, assume_unique=True)
        return positions

    def rows(self, **where: str) -> pd.DataFrame:
        """The rows whose columns equal the given values, in table order."""
        return self.frame.iloc[self._matching(where)] if where else self.frame

    def cells(self, column: str, **where: str) -> list[Cell]:
        """The cells of ``column`` in the rows ``where`` selects (read from arrays: a DataFrame per lookup cost
        ~0.2 ms, a fifth of the report's time)."""
        values = self._column(column)
        positions = self._matching(where)
        rows = self._column("_row")[positions]
        return [Cell(self.name, int(r), column, str(t)) for r, t in zip(rows, values[positions], strict=True)]

    def find(self, column: str, **where: str) -> Cell | None:
        cells = self.cells(column, **where)
        if len(cells) > 1:
            raise ReportDataError(f"{self.name}: {len(cells)} rows where one was expected ({_describe(where)})")
        return cells[0] if cells else None

    def cell(self, column: str, **where: str) -> Cell:
        found = self.find(column, **where)
        if found is None:
            raise ReportDataError(f"{self.name}: no row {_describe(where)} for {column}")
        return found

    def by(self, key: str, column: str, **where: str) -> list[tuple[str, Cell]]:
        """(value of `key`, cell of `column`) for every row matching `where`, in key order."""
        rows = self.rows(**where).sort_values(key, kind="stable")
        return [
            (str(k), Cell(self.name, int(r), column, str(t)))
            for k, r, t in zip(rows[key], rows["_row"], rows[column], strict=True)
        ]

    def distinct(self, column: str, **where: str) -> list[str]:
        return sorted({str(v) for v in self.rows(**where)[column] if v is not None})

    def latest(self, column: str = "time_period", **where: str) -> str:
        values = self.distinct(column, **where)
        if not values:
            raise ReportDataError(f"{self.name}: no rows {_describe(where)}")
        return values[-1]

    def la_name(self) -> str:
        names = self.distinct("la_name", geographic_level="Local authority") if "la_name" in self.frame else []
        return names[0] if len(names) == 1 else "the local authority"


def _describe(where: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())


@dataclass(frozen=True)
class Release:
    release_id: str
    built_at: datetime
    tables: dict[str, Published]

    def __getitem__(self, name: str) -> Published:
        return self.tables[name]


def count(*cells: Cell) -> Fact:
    """The sum of published cells; no cells is nobody (a table that publishes only its non-empty rows)."""
    if any(c is None for c in cells):
        raise ReportDataError("a count is missing one of its published cells")
    return Fact(COUNT, tuple(cells))


def difference(cells: Sequence[Cell] | Cell, minus: Sequence[Cell] | Cell) -> Fact:
    """A count of published cells less others (children permanently excluded less those also suspended)."""
    cells = (cells,) if cells is None or isinstance(cells, Cell) else tuple(cells)  # None: a cell not found
    minus = (minus,) if minus is None or isinstance(minus, Cell) else tuple(minus)
    if any(c is None for c in (*cells, *minus)):
        raise ReportDataError("a difference is missing one of its published cells")
    return Fact(COUNT, cells, minus=minus)


def percent(
    part: Sequence[Cell] | Cell, whole: Sequence[Cell] | Cell, rate_rule: bool = True, minus: Sequence[Cell] = ()
) -> Fact:
    part = (part,) if isinstance(part, Cell) else tuple(part)
    whole = (whole,) if isinstance(whole, Cell) else tuple(whole)
    return Fact(PERCENT, part, whole, rate_rule, tuple(minus))


def as_published(kind: str, cell: Cell) -> Fact:
    """One published cell shown as published: a rate (``29.6%``), a score (``-0.17``) or a rank (``303rd``)."""
    if cell is None:
        raise ReportDataError(f"a {kind} is missing its published cell")
    return Fact(kind, (cell,))


def change(before: Sequence[Cell] | Cell, after: Sequence[Cell] | Cell, rate_rule: bool = True) -> Fact:
    before = (before,) if isinstance(before, Cell) else tuple(before)
    after = (after,) if isinstance(after, Cell) else tuple(after)
    return Fact(CHANGE, after, before, rate_rule)


# ---- periods -------------------------------------------------------------------------------------------------


def period(time_period: str, time_identifier: str) -> When:
    """An EES time period as a reader says it: Spring 2023, 2022-23, 2018/19, 2023."""
    tp = str(time_period)
    if len(tp) == 6 and tp.isdigit():
        start, end = tp[:4], f"{tp[:2]}{tp[4:]}"
        if time_identifier.endswith("term"):
            term = time_identifier.removesuffix(" term")
            month = {"Spring": "01", "Summer": "05", "Autumn": "10"}.get(term, "01")
            year = end if term in ("Spring", "Summer") else start
            return When(f"{term} {year}", f"{year}-{month}")
        if time_identifier == "Financial year":
            return When(f"{start}-{tp[4:]}", f"{start}-04")
        return When(f"{start}/{tp[4:]}", f"{start}-09")
    return When(tp, tp)


def on_date(value: str, day: bool = False) -> When:
    """A reference date (`2023-04-01`) as `April 2023`, or `31 December 2022` with day=True."""
    d = date.fromisoformat(str(value)[:10])
    text = f"{d.day} {MONTHS[d.month - 1]} {d.year}" if day else f"{MONTHS[d.month - 1]} {d.year}"
    return When(text, d.isoformat())


def year_counted(table: Published, year: str) -> tuple:
    """A year of a table counted to a day (counted_to) as `2023` (a calendar year) or `2022/23` (an academic year,
    time_period 202223), with `(to 30 June 2023)` when its figures stop before the year's last day (the year still
    running at the extract's date): parts of a sentence."""
    [counted_to] = table.distinct("counted_to", time_period=year)
    d = date.fromisoformat(str(counted_to))
    academic = len(str(year)) == 6
    when = period(year, "Academic year") if academic else When(year, year)
    if d == (date(int(str(year)[:4]) + 1, 8, 31) if academic else date(int(year), 12, 31)):
        return (when,)
    return when, " (to ", on_date(d.isoformat(), day=True), ")"


def table_period(table: Published, time_period: str) -> When:
    rows = table.rows(time_period=time_period)
    if rows.empty:
        raise ReportDataError(f"{table.name}: no rows for time_period={time_period}")
    return period(time_period, str(rows["time_identifier"].iloc[0]))
