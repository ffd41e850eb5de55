-- Needs assessment 7.1: annual reviews of EHC plans due and held in time, by academic year (1 September to 31 August,
-- as the seed counts them; its "2023" is 2022/23 to date), from int_ehcna_annual_reviews_timed. A review is due on
-- its due date; reviews falling due after the extract date (data_as_at of int_ehcp_reporting_periods) are not yet
-- due. Percentages from the counts, unrounded.
with years as (
    select * from {{ ref('int_ehcp_reporting_periods') }}
    where period_type = 'Academic year'
),

reviews as (
    select
        due_academic_year as time_period,
        count(*) as annual_reviews_due,
        sum(case when held_in_time then 1 else 0 end) as annual_reviews_in_time
    from {{ ref('int_ehcna_annual_reviews_timed') }}
    where due_date <= (select max(data_as_at) from years)
    group by due_academic_year
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    years.time_period,
    years.time_identifier,
    years.period_start,
    years.period_end,
    years.is_complete_period,
    years.reference_date as counted_to,
    cast(coalesce(reviews.annual_reviews_due, 0) as integer) as annual_reviews_due,
    cast(coalesce(reviews.annual_reviews_in_time, 0) as integer) as annual_reviews_in_time,
    100.0 * reviews.annual_reviews_in_time / nullif(reviews.annual_reviews_due, 0) as annual_reviews_in_time_pct
from years
left join reviews on reviews.time_period = years.time_period
cross join {{ ref('int_home_la_geography') }} as home_la
order by years.time_period
