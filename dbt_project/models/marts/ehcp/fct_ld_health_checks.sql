-- Needs assessment 7.2 (health assessments): young people aged 14 to 25 on a GP learning disability register in each
-- financial year, by the age band of their age on 31 March (14 to 17, 18 to 25) and in Total, and how many had
-- their learning disability annual health check in the year. Every band has a row in every year the extract holds
-- (0 when empty). The percentage from the counts, unrounded.
with young_people as (
    select * from {{ ref('stg_health_checks__young_people') }}
),

bands as (
    select 1 as display_order, '14 to 17' as age_band
    union all
    select 2, '18 to 25'
    union all
    select 3, 'Total'
),

years as (
    select distinct financial_year, time_period, period_start, period_end
    from young_people
),

counted as (
    select
        years.financial_year,
        years.time_period,
        years.period_start,
        years.period_end,
        bands.display_order,
        bands.age_band,
        count(young_people.person_id) as people_on_register,
        count(young_people.person_id) filter (where young_people.had_health_check) as health_checks_done
    from years
    cross join bands
    left join young_people
        on young_people.financial_year = years.financial_year
        and (young_people.age_band = bands.age_band or bands.age_band = 'Total')
    group by all
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    counted.financial_year,
    counted.time_period,
    'Financial year' as time_identifier,
    counted.period_start,
    counted.period_end,
    counted.age_band,
    counted.display_order,
    cast(counted.people_on_register as integer) as people_on_register,
    cast(counted.health_checks_done as integer) as health_checks_done,
    100.0 * counted.health_checks_done / nullif(counted.people_on_register, 0) as pct_health_checks_done
from counted
cross join {{ ref('int_home_la_geography') }} as home_la
order by counted.time_period, counted.display_order
