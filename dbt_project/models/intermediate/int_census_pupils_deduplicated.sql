-- One row per pupil per census: only C (single) and M (main dual) registrations count; S is the same pupil
-- at a second school. Adds the DfE period (time_period, census_term) and the primary/secondary age group.
with counted as (
    select *
    from {{ ref('stg_census__pupils') }}
    where enrol_status in ('C', 'M')
),

periods as (
    select
        *,
        case
            when month(census_date) >= 9 then year(census_date) * 100 + (year(census_date) + 1) % 100
            else (year(census_date) - 1) * 100 + year(census_date) % 100
        end as time_period,
        case
            when month(census_date) in (1, 2) then 'Spring'
            when month(census_date) in (5, 6) then 'Summer'
            when month(census_date) in (9, 10, 11) then 'Autumn'
        end as census_term,
        case
            when ncyear_actual in ('E1', 'E2', 'N1', 'N2', 'R', '1', '2', '3', '4', '5', '6') then 'Primary'
            when ncyear_actual = 'X' then 'Not followed'
            else 'Secondary'
        end as age_group
    from counted
),

ranked as (
    select
        *,
        row_number() over (
            partition by time_period, census_term, pupil_id
            order by enrol_status, laestab, source_file
        ) as registration_rank
    from periods
)

select * exclude (registration_rank)
from ranked
where registration_rank = 1
