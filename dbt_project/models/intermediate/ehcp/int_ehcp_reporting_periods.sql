-- The reporting periods the EHC needs assessment extract spans, from the month of its first recorded event to
-- the month of its extract date (data_as_at: the date the files' names give; when the modules' latest extracts
-- differ, the earliest of them, so no period is counted past what every module covers; no event is after its own
-- file's date, the ingest quarantines such a row), each with the day a stock such as "plans maintained" is counted
-- on (reference_date):
--   Month            every calendar month; reference_date = its first day (the caseload "as at 1 April 2023")
--   Calendar year    every calendar year; reference_date = 31 December, or data_as_at for the year to date
--   Academic year    every academic year, 1 September to 31 August (time_period 202021 = 2020/21, as DfE codes it);
--                    reference_date = 31 August, or data_as_at for the year to date (annual reviews, seed 7.1)
--   SEN2 census day  the third Thursday of January of every year, the day DfE's SEN2 return counts the plans
--                    maintained (time_period as DfE codes it: 201819 = January 2019, academic year 2018/19)
-- A Month or Calendar year ending after data_as_at is to date only (is_complete_period false), like "2023 YTD".
with recursive events as (
    select received_date as event_date from {{ ref('stg_ehcna__requests') }}
    union all
    select request_outcome_date from {{ ref('stg_ehcna__requests') }}
    union all
    select assessment_outcome_date from {{ ref('stg_ehcna__assessments') }}
    union all
    select start_date from {{ ref('stg_ehcna__plans') }}
    union all
    select cease_date from {{ ref('stg_ehcna__plans') }}
    union all
    select review_date from {{ ref('stg_ehcna__annual_reviews') }}
),

-- each module's latest extract (a module's files replace each other whole, so its rows hold one date)
module_extracts as (
    select max(extract_date) as extract_date from {{ ref('stg_ehcna__persons') }}
    union all
    select max(extract_date) from {{ ref('stg_ehcna__requests') }}
    union all
    select max(extract_date) from {{ ref('stg_ehcna__assessments') }}
    union all
    select max(extract_date) from {{ ref('stg_ehcna__plans') }}
    union all
    select max(extract_date) from {{ ref('stg_ehcna__annual_reviews') }}
),

bounds as (
    select
        cast({{ dbt.date_trunc('month', 'min(event_date)') }} as date) as first_month,
        (select min(extract_date) from module_extracts) as data_as_at
    from events
),

months as (
    select first_month as period_start from bounds where first_month is not null
    union all
    select cast({{ dbt.dateadd('month', 1, 'months.period_start') }} as date)
    from months
    cross join bounds
    where cast({{ dbt.dateadd('month', 1, 'months.period_start') }} as date) <= bounds.data_as_at
),

month_periods as (
    select
        'Month' as period_type,
        cast(extract(year from period_start) as integer) as time_period,
        case cast(extract(month from period_start) as integer)
            when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
            when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
            when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
        end as time_identifier,
        period_start,
        cast({{ dbt.last_day('period_start', 'month') }} as date) as period_end,
        period_start as reference_date
    from months
),

year_periods as (
    select
        'Calendar year' as period_type,
        time_period,
        'Calendar year' as time_identifier,
        cast({{ dbt.date_trunc('year', 'min(period_start)') }} as date) as period_start,
        cast({{ dbt.last_day('min(period_start)', 'year') }} as date) as period_end,
        cast({{ dbt.last_day('min(period_start)', 'year') }} as date) as reference_date
    from month_periods
    group by time_period
),

academic_year_periods as (
    select
        'Academic year' as period_type,
        academic_year * 100 + (academic_year + 1) % 100 as time_period,
        'Academic year' as time_identifier,
        make_date(academic_year, 9, 1) as period_start,
        make_date(academic_year + 1, 8, 31) as period_end,
        make_date(academic_year + 1, 8, 31) as reference_date
    from (
        select distinct
            cast(extract(year from period_start) as integer)
            - case when extract(month from period_start) < 9 then 1 else 0 end as academic_year
        from month_periods
    )
),

januaries as (
    select
        time_period,
        period_start as first_of_january,
        -- 0 = Sunday ... 4 = Thursday: days from 1 January to the first Thursday, then two weeks more
        cast(extract(dow from period_start) as integer) as weekday_of_first
    from month_periods
    where time_identifier = 'January'
),

census_days as (
    select
        'SEN2 census day' as period_type,
        (time_period - 1) * 100 + time_period % 100 as time_period,
        'Academic year' as time_identifier,
        cast({{ dbt.dateadd('day', '(11 - weekday_of_first) % 7 + 14', 'first_of_january') }} as date) as census_day
    from januaries
),

sen2_periods as (
    select period_type, time_period, time_identifier, census_day as period_start, census_day as period_end,
        census_day as reference_date
    from census_days
),

periods as (
    select * from month_periods
    union all
    select * from year_periods
    union all
    select * from academic_year_periods
    union all
    select * from sen2_periods
)

select
    periods.period_type,
    periods.time_period,
    periods.time_identifier,
    periods.period_start,
    periods.period_end,
    case
        when periods.reference_date > bounds.data_as_at then bounds.data_as_at
        else periods.reference_date
    end as reference_date,
    periods.period_end <= bounds.data_as_at as is_complete_period,
    bounds.data_as_at
from periods
cross join bounds
where periods.reference_date >= bounds.first_month
    and (periods.period_type <> 'SEN2 census day' or periods.reference_date <= bounds.data_as_at)
