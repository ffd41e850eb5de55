-- One row per pupil per census: only C (single) and M (main dual) registrations count; S is the same pupil
-- at a second school. Adds the DfE period (time_period, census_term) and the primary/secondary age group.
--
-- Incremental by census term: a new census adds its term's rows and leaves the earlier terms' rows as they are;
-- a corrected extract (new content for a term already built) replaces that term's rows (delete+insert on the
-- term). A term is rebuilt when its term_fingerprint - count and sum of row hashes of its C/M registrations in
-- the staged extract - differs from the one stored with its rows. `dbt build --full-refresh` rebuilds every term
-- (the nightly job does that when the dbt project or SEND_LA_CODE changed, pipeline/dbt.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='time_period, census_term',
    on_schema_change='fail'
) }}

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

terms as (
    select
        time_period,
        census_term,
        cast(count(*) as varchar) || ':' || cast(sum(cast(hash(periods) as hugeint)) as varchar) as term_fingerprint
    from periods
    group by time_period, census_term
),

terms_to_build as (
    select time_period, census_term, term_fingerprint from terms
    {% if is_incremental() %}
    except
    select distinct time_period, census_term, term_fingerprint from {{ this }}
    {% endif %}
)

select
    periods.*,
    terms_to_build.term_fingerprint,
    current_timestamp as built_at
from periods
inner join terms_to_build
    on terms_to_build.time_period = periods.time_period
    and terms_to_build.census_term = periods.census_term
qualify row_number() over (
    partition by periods.time_period, periods.census_term, periods.pupil_id
    order by periods.enrol_status, periods.laestab, periods.source_file
) = 1
