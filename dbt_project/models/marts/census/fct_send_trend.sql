-- EHC plans and SEN support over the years (needs assessment 6.2): one row per Spring (January) census x provision
-- (E, K, and SEN = both), as a count and as a percentage of all pupils on roll, computed here from the counts,
-- beside England's percentage where the England comparators seed holds it.
-- pupils is read twice (rolls, counted): NOT MATERIALIZED keeps DuckDB from copying the Spring rows first (0.57 ->
-- 0.15 s at national scale)
with pupils as not materialized (
    select * from {{ ref('int_census_pupils_profiled') }}
    where census_term = 'Spring'
),

provision_groups as (
    select * from {{ ref('sen_provision_groups') }}
    where sen_provision in ('E', 'K', 'SEN')
),

-- one row per pupil per census (unique_combination test on int_census_pupils_profiled), one per group and member
-- in sen_provision_groups (its unique_combination test): count(), not count(distinct)
rolls as (
    select time_period, census_term, census_year, count(pupil_id) as roll
    from pupils
    group by time_period, census_term, census_year
),

counted as (
    select pupils.time_period, pupils.census_term, provision_groups.sen_provision, count(pupils.pupil_id) as pupils
    from pupils
    inner join provision_groups on provision_groups.member_provision = pupils.sen_provision
    group by pupils.time_period, pupils.census_term, provision_groups.sen_provision
),

provisions as (
    select distinct sen_provision, sen_provision_label, display_order from provision_groups
),

england as (
    select time_period, census_term, breakdown as sen_provision, pct_of_pupils_published
    from {{ ref('england_send_comparators') }}
    where breakdown_topic = 'SEN provision'
)

select
    rolls.time_period,
    rolls.census_term,
    rolls.census_year,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    provisions.sen_provision,
    provisions.sen_provision_label,
    provisions.display_order,
    coalesce(counted.pupils, 0) as pupils,
    rolls.roll,
    100 * cast(coalesce(counted.pupils, 0) as double) / nullif(rolls.roll, 0) as pct_of_roll,
    england.pct_of_pupils_published as england_pct_of_pupils_published
from rolls
cross join provisions
cross join {{ ref('int_home_la_geography') }} as home_la
left join counted
    on counted.time_period = rolls.time_period
    and counted.census_term = rolls.census_term
    and counted.sen_provision = provisions.sen_provision
left join england
    on england.time_period = rolls.time_period
    and england.census_term = rolls.census_term
    and england.sen_provision = provisions.sen_provision
order by rolls.time_period, provisions.display_order
