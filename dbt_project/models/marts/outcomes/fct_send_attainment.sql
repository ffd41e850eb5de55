-- Needs assessment 8 (attainment by SEN status): per academic year, key stage and measure, pupils with a result by
-- SEN status, the status the Spring (January) census of the same academic year records for the pupil (E = EHC
-- plan, K = SEN support, N = every other pupil, including pupils in no census of that year, who are also counted
-- in pupils_not_in_census). Binary measures give pupils meeting the standard over pupils with a result; score
-- measures (Attainment 8, Progress 8) give the mean score and the pupils it is based on. England's figure for the
-- same year, measure and SEN status from the national_attainment_by_sen seed. Exact, unsuppressed counts and
-- unrounded means: internal only (disclosure control belongs to the publication).
with results as (
    select * from {{ ref('stg_attainment__results') }}
),

spring_census as (
    select * from {{ ref('int_census_spring_sen_status') }}
),

classified as (
    select
        results.*,
        coalesce(spring_census.sen_provision, 'N') as sen_provision,
        spring_census.pupil_id is null as not_in_census
    from results
    left join spring_census
        on spring_census.time_period = results.time_period
        and spring_census.pupil_id = results.pupil_id
),

statuses as (
    select *
    from (
        values ('E', 'Education health and care plan', 'EHC plan'),
        ('K', 'SEN support', 'SEN support'),
        ('N', 'No SEN', null)
    ) as statuses (sen_provision, sen_provision_label, national_sen_status)
),

grid as (
    select
        years.time_period,
        measures.key_stage,
        measures.measure,
        measures.measure_label,
        measures.measure_type,
        measures.display_order,
        statuses.sen_provision,
        statuses.sen_provision_label,
        statuses.national_sen_status
    from (select distinct time_period from results) as years
    cross join {{ ref('attainment_measures') }} as measures
    cross join statuses
),

counted as (
    select
        time_period,
        key_stage,
        measure,
        sen_provision,
        count(*) as pupils_with_result,
        count(*) filter (where met_expected_standard) as pupils_meeting_standard,
        count(score) as pupils_with_score,
        -- the double nearest the exact mean (scores have at most two decimals: an integer of hundredths over
        -- 100 x n, one rounding), so that the release rounds the true mean; avg() of doubles can land below a half
        cast(cast(sum(score) * 100 as bigint) as double) / nullif(cast(100 * count(score) as double), 0)
            as average_score,
        count(*) filter (where not_in_census) as pupils_not_in_census
    from classified
    group by time_period, key_stage, measure, sen_provision
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
    grid.key_stage,
    grid.measure,
    grid.measure_label,
    grid.measure_type,
    grid.display_order,
    grid.sen_provision,
    grid.sen_provision_label,
    cast(coalesce(counted.pupils_with_result, 0) as integer) as pupils_with_result,
    case when grid.measure_type = 'percent_meeting_standard'
        then cast(coalesce(counted.pupils_meeting_standard, 0) as integer)
    end as pupils_meeting_standard,
    case when grid.measure_type = 'percent_meeting_standard' and counted.pupils_with_result > 0
        then 100.0 * counted.pupils_meeting_standard / counted.pupils_with_result
    end as pct_meeting_standard,
    case when grid.measure_type = 'average_score'
        then cast(coalesce(counted.pupils_with_score, 0) as integer)
    end as pupils_with_score,
    case when grid.measure_type = 'average_score' then counted.average_score end as average_score,
    cast(coalesce(counted.pupils_not_in_census, 0) as integer) as pupils_not_in_census,
    national.value as england_value
from grid
cross join {{ ref('int_home_la_geography') }} as home_la
left join counted
    on counted.time_period = grid.time_period
    and counted.key_stage = grid.key_stage
    and counted.measure = grid.measure
    and counted.sen_provision = grid.sen_provision
left join {{ ref('national_attainment_by_sen') }} as national
    on national.time_period = grid.time_period
    and national.key_stage = grid.key_stage
    and national.measure = grid.measure
    and national.sen_status = grid.national_sen_status
order by grid.time_period, grid.display_order, grid.sen_provision
