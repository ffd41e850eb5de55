-- Needs assessment 7.1: the statutory timescales of EHC needs assessment by calendar year, computed from the dates
-- in int_ehcna_* (never read from the extract): requests received; decisions whether to assess and those within
-- 6 weeks (counted in the year of the decision); new plans issued and those within 20 weeks, with exceptions
-- (every new plan) and excluding the plans where an exception to the time limit applies (counted in the year of
-- issue). Annual reviews, counted by academic year, are fct_ehcp_annual_reviews. Everything is counted as at the
-- extract date (data_as_at of int_ehcp_reporting_periods): a module extracted later than another counts nothing
-- after the earlier date.
-- Percentages from the counts, unrounded.
with years as (
    select * from {{ ref('int_ehcp_reporting_periods') }}
    where period_type = 'Calendar year'
),

extract_bounds as (
    select max(data_as_at) as data_as_at from years
),

requests as (
    select
        received_year as year,
        count(*) as requests_received
    from {{ ref('int_ehcna_requests_timed') }}
    where received_date <= (select data_as_at from extract_bounds)
    group by received_year
),

decisions as (
    select
        decision_year as year,
        count(*) as decisions,
        sum(case when decided_within_6_weeks then 1 else 0 end) as decisions_within_6_weeks
    from {{ ref('int_ehcna_requests_timed') }}
    where is_decision and request_outcome_date <= (select data_as_at from extract_bounds)
    group by decision_year
),

plans as (
    select
        issue_year as year,
        count(*) as new_plans_issued,
        sum(case when issued_within_20_weeks then 1 else 0 end) as plans_within_20_weeks,
        count(issued_within_20_weeks_excluding_exceptions) as new_plans_issued_excluding_exceptions,
        sum(
            case when issued_within_20_weeks_excluding_exceptions then 1 else 0 end
        ) as plans_within_20_weeks_excluding_exceptions
    from {{ ref('int_ehcna_plans_timed') }}
    where is_new_plan and start_date <= (select data_as_at from extract_bounds)
    group by issue_year
),

counted as (
    select
        years.time_period,
        years.time_identifier,
        years.period_start,
        years.period_end,
        years.is_complete_period,
        years.reference_date as counted_to,
        coalesce(requests.requests_received, 0) as requests_received,
        coalesce(decisions.decisions, 0) as decisions,
        coalesce(decisions.decisions_within_6_weeks, 0) as decisions_within_6_weeks,
        coalesce(plans.new_plans_issued, 0) as new_plans_issued,
        coalesce(plans.plans_within_20_weeks, 0) as plans_within_20_weeks,
        coalesce(plans.new_plans_issued_excluding_exceptions, 0) as new_plans_issued_excluding_exceptions,
        coalesce(plans.plans_within_20_weeks_excluding_exceptions, 0) as plans_within_20_weeks_excluding_exceptions
    from years
    left join requests on requests.year = years.time_period
    left join decisions on decisions.year = years.time_period
    left join plans on plans.year = years.time_period
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    counted.time_period,
    counted.time_identifier,
    counted.period_start,
    counted.period_end,
    counted.is_complete_period,
    counted.counted_to,
    cast(counted.requests_received as integer) as requests_received,
    cast(counted.decisions as integer) as decisions,
    cast(counted.decisions_within_6_weeks as integer) as decisions_within_6_weeks,
    100.0 * counted.decisions_within_6_weeks / nullif(counted.decisions, 0) as decisions_within_6_weeks_pct,
    cast(counted.new_plans_issued as integer) as new_plans_issued,
    cast(counted.plans_within_20_weeks as integer) as plans_within_20_weeks,
    100.0 * counted.plans_within_20_weeks / nullif(counted.new_plans_issued, 0) as plans_within_20_weeks_pct,
    cast(counted.new_plans_issued_excluding_exceptions as integer) as new_plans_issued_excluding_exceptions,
    cast(counted.plans_within_20_weeks_excluding_exceptions as integer) as plans_within_20_weeks_excluding_exceptions,
    100.0 * counted.plans_within_20_weeks_excluding_exceptions
    / nullif(counted.new_plans_issued_excluding_exceptions, 0) as plans_within_20_weeks_excluding_exceptions_pct
from counted
cross join {{ ref('int_home_la_geography') }} as home_la
order by counted.time_period
