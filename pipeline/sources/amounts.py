"""Amounts of money as finance and case systems print them (finance, placements): SQL macros shared by those sources.

``£1,234,567.89``, ``1234.5``, ``12 000``, ``£ 0.10``: an optional ``£``, thousands grouped by commas or by spaces
(three digits a group, one kind of separator in a number), at most two decimals; negative with a minus sign
(``-£12.05``, ``£-3``) or in brackets (``(£45,210.50)``). ``send_gbp`` casts the text straight to DECIMAL(18, 2),
never through a float (exact to the penny), and is NULL for any other text: a decimal comma (``12,5``) or a
mis-grouped number (``1,2345``) is not read as some other amount. The EES symbols ``c``, ``x``, ``z`` (confidential,
not available, not applicable) are a missing amount, never 0: ``send_gbp_symbol`` gives the symbol. Pure: SQL text.
"""

SYMBOLS = ("c", "x", "z")

# One number: plain digits, or thousands grouped by commas, or by spaces; then at most two decimals.
_SPACE = r"[\s\x{00A0}]*"  # spaces (or a non-breaking space) may follow the sign or the pound sign
_NUMBER = r"([0-9]{1,3}(,[0-9]{3})+|[0-9]{1,3}([ \x{00A0}][0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?"
SIGNED_AMOUNT_REGEX = rf"(-{_SPACE}£?|£{_SPACE}-?)?{_SPACE}{_NUMBER}"
BRACKETED_AMOUNT_REGEX = rf"\({_SPACE}£?{_SPACE}{_NUMBER}{_SPACE}\)"

AMOUNT_MACROS = rf"""
CREATE OR REPLACE TEMP MACRO send_gbp_digits(v) AS
    regexp_replace(v, '[£,()\s\x{{00A0}}]', '', 'g');
CREATE OR REPLACE TEMP MACRO send_gbp(v) AS CASE
    WHEN regexp_full_match(v, '{SIGNED_AMOUNT_REGEX}')
        THEN TRY_CAST(send_gbp_digits(v) AS DECIMAL(18, 2))
    WHEN regexp_full_match(v, '{BRACKETED_AMOUNT_REGEX}')
        THEN -TRY_CAST(send_gbp_digits(v) AS DECIMAL(18, 2))
END;
CREATE OR REPLACE TEMP MACRO send_gbp_symbol(v) AS CASE WHEN lower(v) IN ({", ".join(f"'{s}'" for s in SYMBOLS)})
    THEN lower(v) END;
"""
