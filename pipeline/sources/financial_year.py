"""The financial year of an extract (finance, LD health checks): SQL macros shared by those sources.

A council's or an ICB's systems write a financial year as ``2022-23``, ``2022/23``, ``2022-2023``, ``2022/2023`` or
the EES ``202223``; the second year must follow the first. ``send_financial_year`` gives ``2022-23`` (the form the
warehouse stores) and ``send_financial_year_start`` the first year (2022), NULL for any other text. Pure: SQL text.
"""

FINANCIAL_YEAR_MACROS = """
CREATE OR REPLACE TEMP MACRO send_financial_year_start(v) AS CASE
    WHEN regexp_full_match(v, '(19|20)[0-9]{2}[-/]?[0-9]{2}')
         AND TRY_CAST(right(v, 2) AS INTEGER) = (TRY_CAST(left(v, 4) AS INTEGER) + 1) % 100
        THEN TRY_CAST(left(v, 4) AS INTEGER)
    WHEN regexp_full_match(v, '(19|20)[0-9]{2}[-/](19|20)[0-9]{2}')
         AND TRY_CAST(right(v, 4) AS INTEGER) = TRY_CAST(left(v, 4) AS INTEGER) + 1
        THEN TRY_CAST(left(v, 4) AS INTEGER)
END;
CREATE OR REPLACE TEMP MACRO send_financial_year(v) AS
    send_financial_year_start(v)::VARCHAR || '-' || lpad(((send_financial_year_start(v) + 1) % 100)::VARCHAR, 2, '0');
"""
