-- Needs assessment 6.6 (exclusions): children suspended and permanently excluded per academic year by SEN status,
-- the status the Spring (January) census of the same academic year records for the pupil (E = EHC plan, K = SEN
-- support, N = no SEN). A pupil in no census of that year (joined a school later, or a UPN that links to nothing)
-- counts as N and is also counted in children_not_in_census. Children with SEND = E + K (a child has one status
-- per year, so the rows add up). Exact, unsuppressed counts: internal only.
with events as (
    select * from {{ ref('stg_exclusions__exclusions') }}
),

spring_census as (
    select * from {{ ref('int_census_spring_sen_status') }}
),

per_child as (
    select
        time_period,
        pupil_id,
        count(*) filter (where exclusion_type = 'suspension') as suspensions,
        count(*) filter (where exclusion_type = 'permanent') as permanent_exclusions,
        coalesce(sum(sessions) filter (where exclusion_type = 'suspension'), 0) as suspension_sessions,
        coalesce(sum(sessions) filter (where exclusion_type = 'permanent'), 0) as permanent_exclusion_sessions
    from events
    group by time_period, pupil_id
),

classified as (
    select
        per_child.*,
        coalesce(spring_census.sen_provision, 'N') as sen_provision,
        spring_census.pupil_id is null as not_in_census
    from per_child
    left join spring_census
        on spring_census.time_period = per_child.time_period
        and spring_census.pupil_id = per_child.pupil_id
),

grid as (
    select years.time_period, statuses.sen_provision, statuses.sen_provision_label
    from (select distinct time_period from events) as years
    cross join (
        values ('E', 'Education health and care plan'), ('K', 'SEN support'), ('N', 'No SEN')
    ) as statuses (sen_provision, sen_provision_label)
),

counted as (
    select
        time_period,
        sen_provision,
        count(*) filter (where suspensions > 0) as children_suspended,
        count(*) filter (where permanent_exclusions > 0) as children_permanently_excluded,
        count(*) filter (where suspensions > 0 and permanent_exclusions > 0)
            as children_suspended_and_permanently_excluded,
        count(*) filter (where suspensions = 0 and permanent_exclusions > 0)
            as children_permanently_excluded_not_suspended,
        sum(suspensions) as suspensions,
        sum(permanent_exclusions) as permanent_exclusions,
        sum(suspension_sessions) as sessions_lost_to_suspensions,
        sum(permanent_exclusion_sessions) as sessions_lost_to_permanent_exclusions,
        count(*) filter (where not_in_census) as children_not_in_census
    from classified
    group by time_period, sen_provision
)

select
    grid.time_period,
    cast(grid.time_period // 100 as varchar) || '/' || lpad(cast(grid.time_period % 100 as varchar), 2, '0')
        as academic_year,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    grid.sen_provision,
    grid.sen_provision_label,
    cast(coalesce(counted.children_suspended, 0) as integer) as children_suspended,
    cast(coalesce(counted.children_permanently_excluded, 0) as integer) as children_permanently_excluded,
    cast(coalesce(counted.children_suspended_and_permanently_excluded, 0) as integer)
        as children_suspended_and_permanently_excluded,
    cast(coalesce(counted.children_permanently_excluded_not_suspended, 0) as integer)
        as children_permanently_excluded_not_suspended,
    cast(coalesce(counted.suspensions, 0) as integer) as suspensions,
    cast(coalesce(counted.permanent_exclusions, 0) as integer) as permanent_exclusions,
    cast(coalesce(counted.sessions_lost_to_suspensions, 0) as decimal(9, 1)) as sessions_lost_to_suspensions,
    cast(coalesce(counted.sessions_lost_to_permanent_exclusions, 0) as decimal(9, 1))
        as sessions_lost_to_permanent_exclusions,
    cast(coalesce(counted.children_not_in_census, 0) as integer) as children_not_in_census
from grid
cross join {{ ref('int_home_la_geography') }} as home_la
left join counted
    on counted.time_period = grid.time_period
    and counted.sen_provision = grid.sen_provision
order by grid.time_period, grid.sen_provision
