-- Pupils by SEN provision and characteristic (needs assessment 6.1 bullets): one row per census x provision group
-- x characteristic x value, every value of the code list (0 when no pupil has it). Percentages are computed here
-- from the counts, unrounded.
with pupils as (
    select * from {{ ref('int_census_pupils_profiled') }}
),

provision_groups as (
    select * from {{ ref('sen_provision_groups') }}
),

-- The census marts' grain: one row per pupil per census (unique_combination test on int_census_pupils_profiled),
-- and one row per group and member in sen_provision_groups (its unique_combination test), so pupils are counted
-- with count(), never count(distinct): first per combination of characteristics (a few thousand rows a census),
-- then those counts are added up per characteristic.
profiles as (
    select
        time_period, census_term, sen_provision, sex, age_group, ethnic_group, ethnicity, first_language, fsm,
        pupil_premium, residence, count(pupil_id) as pupils
    from pupils
    group by all
),

grouped as (
    select profiles.*, provision_groups.sen_provision as provision_group
    from profiles
    inner join provision_groups on provision_groups.member_provision = profiles.sen_provision
),

characteristics as (
    select time_period, census_term, provision_group, pupils, 'sex' as characteristic_group, sex as characteristic
    from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'age_group', age_group from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'ethnic_group', ethnic_group from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'ethnicity', ethnicity from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'first_language', first_language from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'fsm', fsm from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'pupil_premium', pupil_premium from grouped
    union all
    select time_period, census_term, provision_group, pupils, 'residence', residence from grouped
),

counted as (
    select
        time_period,
        census_term,
        provision_group as sen_provision,
        characteristic_group,
        characteristic,
        cast(sum(pupils) as bigint) as pupils
    from characteristics
    group by time_period, census_term, provision_group, characteristic_group, characteristic
),

provision_totals as (
    select time_period, census_term, provision_group as sen_provision, cast(sum(pupils) as bigint) as pupils_in_provision
    from grouped
    group by time_period, census_term, provision_group
),

censuses as (
    select distinct time_period, census_term from pupils
),

provisions as (
    select distinct sen_provision, sen_provision_label, display_order from provision_groups
),

codes as (
    select * from {{ ref('pupil_characteristic_codes') }}
),

grid as (
    select
        censuses.time_period,
        censuses.census_term,
        provisions.sen_provision,
        codes.characteristic_group,
        codes.characteristic
    from censuses
    cross join provisions
    cross join codes
),

-- a value missing from the code list still gets a row (with NULL labels, which fail the not_null tests)
cells as (
    select
        coalesce(grid.time_period, counted.time_period) as time_period,
        coalesce(grid.census_term, counted.census_term) as census_term,
        coalesce(grid.sen_provision, counted.sen_provision) as sen_provision,
        coalesce(grid.characteristic_group, counted.characteristic_group) as characteristic_group,
        coalesce(grid.characteristic, counted.characteristic) as characteristic,
        coalesce(counted.pupils, 0) as pupils
    from grid
    full outer join counted
        on counted.time_period = grid.time_period
        and counted.census_term = grid.census_term
        and counted.sen_provision = grid.sen_provision
        and counted.characteristic_group = grid.characteristic_group
        and counted.characteristic = grid.characteristic
)

select
    cells.time_period,
    cells.census_term,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    cells.sen_provision,
    provisions.sen_provision_label,
    cells.characteristic_group,
    codes.characteristic_group_label,
    cells.characteristic,
    codes.characteristic_label,
    provisions.display_order as provision_order,
    codes.group_order,
    codes.display_order,
    cells.pupils,
    coalesce(provision_totals.pupils_in_provision, 0) as pupils_in_provision,
    100 * cast(cells.pupils as double) / nullif(provision_totals.pupils_in_provision, 0) as pct_of_provision
from cells
cross join {{ ref('int_home_la_geography') }} as home_la
left join provisions
    on provisions.sen_provision = cells.sen_provision
left join codes
    on codes.characteristic_group = cells.characteristic_group
    and codes.characteristic = cells.characteristic
left join provision_totals
    on provision_totals.time_period = cells.time_period
    and provision_totals.census_term = cells.census_term
    and provision_totals.sen_provision = cells.sen_provision
order by cells.time_period, cells.census_term, provisions.display_order, codes.group_order, codes.display_order
