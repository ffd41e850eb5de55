-- Needs assessment 9: high needs spending by financial year, S251 line and spending category, with the line
-- totals (category 'Total'), the category totals across lines (line_code 'Total') and the year's total (both
-- 'Total'). Money stays exact DECIMAL(18,2), never float. An amount the return did not report (symbol c, x or z)
-- is left out of every sum, never counted as 0: the row of that amount keeps its symbol, and an aggregate counts
-- the amounts it lacks in amounts_not_reported (an aggregate with no amount at all carries a symbol instead: the
-- common one, or x when they differ). Share of the year's total is computed from the amounts; growth on the previous
-- financial year like for like, over the amounts both years reported (a total of one year may lack an amount the
-- other has: its growth would count that amount in one year only).
with spend as (
    select
        financial_year,
        time_period,
        cast(substring(financial_year, 1, 4) as integer) as start_year,
        line_code,
        line_label,
        category,
        amount_gbp,
        amount_symbol
    from {{ ref('stg_finance__high_needs') }}
),

-- each amount beside the same line and category's amount the year before (one at most: staging is unique on them)
with_previous as (
    select spend.*, previous_year.amount_gbp as previous_gbp
    from spend
    left join spend as previous_year
        on previous_year.start_year = spend.start_year - 1
        and previous_year.line_code = spend.line_code
        and previous_year.category = spend.category
),

aggregated as (
    select
        financial_year,
        time_period,
        start_year,
        case when grouping(line_code) = 1 then 'Total' else line_code end as line_code,
        case when grouping(line_code) = 1 then 'Total' else max(line_label) end as line_label,
        case when grouping(category) = 1 then 'Total' else category end as category,
        sum(amount_gbp) as amount_gbp,
        count(*) as amounts,
        count(amount_gbp) as amounts_reported,
        min(amount_symbol) as first_symbol,
        max(amount_symbol) as last_symbol,
        -- like for like: the amounts both years reported (NULL when there is none)
        sum(amount_gbp) filter (where previous_gbp is not null)
            - sum(previous_gbp) filter (where amount_gbp is not null) as growth_gbp,
        sum(previous_gbp) filter (where amount_gbp is not null) as compared_previous_gbp
    from with_previous
    group by grouping sets (
        (financial_year, time_period, start_year, line_code, category),
        (financial_year, time_period, start_year, line_code),
        (financial_year, time_period, start_year, category),
        (financial_year, time_period, start_year)
    )
),

cells as (
    select
        financial_year,
        time_period,
        start_year,
        line_code,
        line_label,
        category,
        cast(amount_gbp as decimal(18, 2)) as amount_gbp,
        case
            when amounts_reported = 0 and first_symbol = last_symbol then first_symbol
            when amounts_reported = 0 then 'x'
        end as amount_symbol,
        amounts - amounts_reported as amounts_not_reported,
        cast(growth_gbp as decimal(18, 2)) as growth_gbp,
        compared_previous_gbp
    from aggregated
),

year_totals as (
    select start_year, amount_gbp as year_total_gbp
    from cells
    where line_code = 'Total' and category = 'Total'
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    cells.financial_year,
    cells.time_period,
    'Financial year' as time_identifier,
    cells.line_code,
    cells.line_label,
    cells.category,
    cells.amount_gbp,
    cells.amount_symbol,
    cast(cells.amounts_not_reported as integer) as amounts_not_reported,
    100.0 * cells.amount_gbp / nullif(year_totals.year_total_gbp, 0) as share_of_year_pct,
    previous.financial_year as previous_financial_year,
    previous.amount_gbp as previous_amount_gbp,
    cells.growth_gbp,
    100.0 * cells.growth_gbp / nullif(cells.compared_previous_gbp, 0) as growth_pct
from cells
left join year_totals
    on year_totals.start_year = cells.start_year
left join cells as previous
    on previous.start_year = cells.start_year - 1
    and previous.line_code = cells.line_code
    and previous.category = cells.category
cross join {{ ref('int_home_la_geography') }} as home_la
order by cells.start_year, cells.line_code, cells.category
