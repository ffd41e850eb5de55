-- Rename, cast, recode only: the financial year as DfE's time_period and its first and last days; age in completed
-- years on 31 March, the year's last day (exact from the birth month: everyone born in March has had their birthday
-- by its last day) and the band the needs assessment reports; whether the young person had their health check.
with young_people as (
    select
        *,
        cast(left(financial_year, 4) as integer) as start_year
    from {{ source('health_checks', 'ld_health_checks') }}
),

aged as (
    select
        *,
        cast(floor(
            ((start_year + 1 - extract(year from birth_month)) * 12 + 3 - extract(month from birth_month)) / 12.0
        ) as integer) as age_on_31_march
    from young_people
)

select
    person_id,
    financial_year,
    cast(start_year * 100 + (start_year + 1) % 100 as integer) as time_period,
    make_date(start_year, 4, 1) as period_start,
    make_date(start_year + 1, 3, 31) as period_end,
    birth_month::date as birth_month,
    age_on_31_march,
    case when age_on_31_march <= 17 then '14 to 17' else '18 to 25' end as age_band,
    health_check_date::date as health_check_date,
    health_check_date is not null as had_health_check,
    source_file
from aged
