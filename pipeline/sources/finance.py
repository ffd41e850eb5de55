"""Finance / high needs (S251 outturn): contract, reader and Dagster asset.

Contract (the brief's SOURCES.md "Finance / high needs", not in this repository: this docstring is the contract),
one row per S251 line x category x financial year, files
``raw/finance/*.csv|xlsx`` (Windows-1252 is the usual encoding of a council's finance export; a ``£`` is the
tell). No person identifiers: nothing is pseudonymised.

How the text becomes money (macros below, in ``Contract.macros``, so the rules and the load use one parser):

* ``financial_year``: ``2022-23`` (also ``2022/23``, ``2022-2023``, ``2022/2023`` and the EES ``202223``); the
  second year must follow the first. Stored as ``2022-23``; it is the period: a corrected file for the same
  financial year replaces the earlier one, whatever its name.
* ``amount_gbp``: an optional ``£``, thousands separators (``1,234,567`` or ``1 234 567``), at most two decimals,
  negative numbers in brackets ``(£1,234.00)`` or with a minus sign ``-£1,234`` / ``£-1,234``
  (``pipeline/sources/amounts.py``). Cast straight from text to DECIMAL(18,2), never through a float, so every
  amount is exact to the penny.
* The symbols ``c`` (confidential), ``x`` (not available) and ``z`` (not applicable) are *missing*, not zero:
  ``amount_gbp`` is NULL and the symbol is kept in ``amount_symbol``. An empty amount is quarantined
  (``required``): an export that means "not reported" says so with a symbol.
* ``category`` must be one of :data:`CATEGORIES` (case-insensitive), stored in the spelling given there.
* A line and category given twice for one financial year in a file (the year or the category written two ways
  counts as one) is quarantined, every row of it (``row_repeated_in_file``): which amount is right cannot be told,
  and loading both would count the money twice.
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, one_of, repeated_in_file, required, sql_list
from pipeline.resources import SendWarehouse
from pipeline.sources.amounts import AMOUNT_MACROS
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.sources.financial_year import FINANCIAL_YEAR_MACROS

# S251 lines this source accepts: 1.0.2 high needs place funding within the Individual Schools Budget, and the
# high needs block lines 1.2.1 .. 1.2.13. Labels as the S251 return words them (for the generator and docs).
S251_LINES: dict[str, str] = {
    "1.0.2": "High needs place funding within Individual Schools Budget, excluding academies and post-16",
    "1.2.1": "Top-up funding - maintained schools",
    "1.2.2": "Top-up funding - academies, free schools and colleges",
    "1.2.3": "Top-up and other funding - non-maintained and independent providers",
    "1.2.4": "Additional high needs targeted funding for mainstream schools and academies",
    "1.2.5": "SEN support services",
    "1.2.6": "Hospital education services",
    "1.2.7": "Other alternative provision services",
    "1.2.8": "Support for inclusion",
    "1.2.9": "Special schools and PRUs in financial difficulty",
    "1.2.10": "PFI/BSF costs at special schools and AP/PRUs",
    "1.2.11": "Direct payments (SEN and disability)",
    "1.2.12": "Carbon reduction commitment allowances (PRUs)",
    "1.2.13": "Therapies and other health related services",
}

# Spending categories (what the money buys), one code list; matched case-insensitively, stored as spelt here.
CATEGORIES: tuple[str, ...] = (
    "place funding",
    "top-up maintained",
    "top-up academies",
    "top-up further education",
    "independent/non-maintained",
    "out-of-county",
    "inter-authority recoupment",
    "mainstream targeted funding",
    "SEN support service",
    "hospital education",
    "alternative provision",
    "inclusion support",
    "schools in financial difficulty",
    "PFI/BSF",
    "direct payments",
    "carbon reduction",
    "therapies",
    "other",
)

MACROS = AMOUNT_MACROS + FINANCIAL_YEAR_MACROS


def _category_sql(column: str) -> str:
    whens = " ".join(f"WHEN {sql_list([c.upper()])} THEN {sql_list([c])}" for c in CATEGORIES)
    return f"CASE upper({column}) {whens} END"


def finance_rules() -> tuple[Rule, ...]:
    return (
        required("financial_year"),
        Rule("financial_year", "not_a_financial_year",
             "financial_year IS NOT NULL AND send_financial_year(financial_year) IS NULL"),
        required("line_code"),
        one_of("line_code", S251_LINES, name="unknown_s251_line"),
        required("category"),
        one_of("category", (c.upper() for c in CATEGORIES), name="category_not_recognised"),
        required("amount_gbp"),
        Rule("amount_gbp", "amount_not_pounds_or_symbol",
             "amount_gbp IS NOT NULL AND send_gbp_symbol(amount_gbp) IS NULL AND send_gbp(amount_gbp) IS NULL"),
        repeated_in_file("category", ("send_financial_year(financial_year)", "line_code", "upper(category)")),
    )  # fmt: skip


LOAD_SELECT = f"""
    send_financial_year(financial_year) AS financial_year,
    line_code,
    line_label,
    {_category_sql("category")} AS category,
    send_gbp(amount_gbp) AS amount_gbp,
    send_gbp_symbol(amount_gbp) AS amount_symbol
"""


def finance_contract() -> Contract:
    return Contract(
        source="finance",
        target_table="raw.finance_high_needs",
        file_glob="*",
        required_columns=("financial_year", "line_code", "category", "amount_gbp"),
        optional_columns=("line_label",),
        rules=finance_rules(),
        load_select=LOAD_SELECT,
        period_column="financial_year",
        macros=MACROS,
    )


@raw_source_asset(
    "finance_high_needs",
    "finance",
    "High needs spending by S251 line, category and financial year, loaded from raw/finance; "
    "amounts exact to the penny, c/x/z kept as symbols (never zero); bad rows go to raw.quarantine.",
)
def finance_high_needs(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, finance_contract)
