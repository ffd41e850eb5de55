-- Pupils at the LA's schools by where they live (needs assessment 6.4 table): one row per census x phase (by NC
-- year) x provision (E, K, N) x residence (Resident in the home LA, var la_code, or Out of county), every cell
-- listed (0 when empty). The percentage of the phase and provision is computed here from the counts, unrounded.
with pupils as (
    select * from {{ ref('int_census_pupils_profiled') }}
),

counted as (
    select
        time_period,
        census_term,
        age_group as phase,
        sen_provision,
        residence,
        count(pupil_id) as pupils  -- one row per pupil per census (unique_combination test on the grain)
    from pupils
    group by time_period, census_term, age_group, sen_provision, residence
),

censuses as (
    select distinct time_period, census_term from pupils
),

codes as (
    select * from {{ ref('pupil_characteristic_codes') }}
),

phases as (
    select characteristic as phase, characteristic_label as phase_label, display_order as phase_order
    from codes
    where characteristic_group = 'age_group'
),

residences as (
    select characteristic as residence, characteristic_label as residence_label, display_order as residence_order
    from codes
    where characteristic_group = 'residence'
),

provisions as (
    select distinct sen_provision, sen_provision_label, display_order as provision_order
    from {{ ref('sen_provision_groups') }}
    where sen_provision in ('E', 'K', 'N')
),

grid as (
    select
        censuses.time_period,
        censuses.census_term,
        phases.phase,
        provisions.sen_provision,
        residences.residence
    from censuses
    cross join phases
    cross join provisions
    cross join residences
),

-- a value missing from the code lists still gets a row (with NULL labels, which fail the not_null tests)
cells as (
    select
        coalesce(grid.time_period, counted.time_period) as time_period,
        coalesce(grid.census_term, counted.census_term) as census_term,
        coalesce(grid.phase, counted.phase) as phase,
        coalesce(grid.sen_provision, counted.sen_provision) as sen_provision,
        coalesce(grid.residence, counted.residence) as residence,
        coalesce(counted.pupils, 0) as pupils
    from grid
    full outer join counted
        on counted.time_period = grid.time_period
        and counted.census_term = grid.census_term
        and counted.phase = grid.phase
        and counted.sen_provision = grid.sen_provision
        and counted.residence = grid.residence
),

with_totals as (
    select
        *,
        cast(sum(pupils) over (partition by time_period, census_term, phase, sen_provision) as bigint)
            as pupils_in_phase_provision
    from cells
)

select
    with_totals.time_period,
    with_totals.census_term,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    with_totals.phase,
    phases.phase_label,
    with_totals.sen_provision,
    provisions.sen_provision_label,
    with_totals.residence,
    residences.residence_label,
    with_totals.pupils,
    with_totals.pupils_in_phase_provision,
    100 * cast(with_totals.pupils as double) / nullif(with_totals.pupils_in_phase_provision, 0)
        as pct_of_phase_provision
from with_totals
cross join {{ ref('int_home_la_geography') }} as home_la
left join phases on phases.phase = with_totals.phase
left join provisions on provisions.sen_provision = with_totals.sen_provision
left join residences on residences.residence = with_totals.residence
order by
    with_totals.time_period, with_totals.census_term, phases.phase_order, provisions.provision_order,
    residences.residence_order
