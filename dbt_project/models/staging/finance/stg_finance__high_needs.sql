-- Rename, cast, recode only. amount_gbp stays NULL where the return carried a symbol (c, x, z): missing, not zero.
select
    financial_year,
    cast(left(financial_year, 4) || right(financial_year, 2) as integer) as time_period,
    line_code,
    line_label,
    category,
    cast(amount_gbp as decimal(18, 2)) as amount_gbp,
    amount_symbol,
    source_file
from {{ source('finance', 'finance_high_needs') }}
