-- SEN pupils (EHC plan or SEN support) by primary type of need (needs assessment 6.1 table), every need listed (0
-- when no pupil has it), with each need's share of the census's SEN pupils and England's figures beside it where
-- the England comparators seed holds them (the January 2022 census). Shares are computed here from the counts.
with sen_pupils as (
    select time_period, census_term, sen_primary_need as primary_need, pupil_id
    from {{ ref('int_census_pupils_profiled') }}
    where sen_provision in ('E', 'K')
),

censuses as (
    select distinct time_period, census_term
    from {{ ref('int_census_pupils_profiled') }}
),

grid as (
    select censuses.time_period, censuses.census_term, codes.primary_need, codes.primary_need_label,
        codes.display_order
    from censuses
    cross join {{ ref('sen_primary_need_codes') }} as codes
),

counted as (
    select grid.time_period, grid.census_term, grid.primary_need, count(sen_pupils.pupil_id) as pupils
    from grid
    left join sen_pupils
        on sen_pupils.time_period = grid.time_period
        and sen_pupils.census_term = grid.census_term
        and sen_pupils.primary_need = grid.primary_need
    group by grid.time_period, grid.census_term, grid.primary_need
),

sen_totals as (
    select time_period, census_term, count(pupil_id) as sen_pupils
    from sen_pupils
    group by time_period, census_term
),

england as (
    select time_period, census_term, breakdown as primary_need, pupils as england_pupils
    from {{ ref('england_send_comparators') }}
    where breakdown_topic = 'Primary need'
),

england_totals as (
    select time_period, census_term, cast(sum(england_pupils) as bigint) as england_sen_pupils
    from england
    group by time_period, census_term
)

select
    grid.time_period,
    grid.census_term,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    grid.primary_need,
    grid.primary_need_label,
    grid.display_order,
    counted.pupils,
    coalesce(sen_totals.sen_pupils, 0) as sen_pupils,
    100 * cast(counted.pupils as double) / nullif(sen_totals.sen_pupils, 0) as pct_of_sen_pupils,
    england.england_pupils,
    england_totals.england_sen_pupils,
    100 * cast(england.england_pupils as double) / nullif(england_totals.england_sen_pupils, 0)
        as england_pct_of_sen_pupils
from grid
cross join {{ ref('int_home_la_geography') }} as home_la
inner join counted
    on counted.time_period = grid.time_period
    and counted.census_term = grid.census_term
    and counted.primary_need = grid.primary_need
left join sen_totals
    on sen_totals.time_period = grid.time_period
    and sen_totals.census_term = grid.census_term
left join england
    on england.time_period = grid.time_period
    and england.census_term = grid.census_term
    and england.primary_need = grid.primary_need
left join england_totals
    on england_totals.time_period = grid.time_period
    and england_totals.census_term = grid.census_term
order by grid.time_period, grid.census_term, grid.display_order
