-- One row per pupil per census, with every characteristic the census marts break pupils down by, recoded to the
-- values of the pupil_characteristic_codes seed, and whether the pupil lives in the home local authority (var
-- la_code, from SEND_LA_CODE). Only C (single) and M (main dual) registrations count; S is the same pupil at a
-- second school, and a pupil with two C/M registrations in a census keeps one, the first by enrol_status (C before
-- M), then laestab (the lower), then the file and the row in it (source_file, source_row: the earlier): a total order
-- (a file and row is one registration), so the same extract keeps the same registration - and with it the pupil's SEN
-- provision - on every build. pipeline/checks/census_totals.py counts SEN pupils by the same rule, written apart.
-- Adds the DfE period (time_period, census_term) and the primary/secondary age group.
--
-- Incremental by census term: a new census adds its term's rows and leaves the earlier terms' rows as they are;
-- a corrected extract (new content for a term already built) replaces that term's rows (delete+insert on the
-- term). A term is rebuilt when its term_fingerprint - count and sum of row hashes of its C/M registrations in
-- the staged extract - differs from the one stored with its rows, or when its residence was worked out for another
-- home LA. A term no extract holds any more (its file removed, or its rows corrected into another term) is deleted
-- after the build (post_hook), as a rebuild would not have it. `dbt build --full-refresh` rebuilds every term (the
-- nightly job does that when the dbt project or SEND_LA_CODE changed, pipeline/dbt_assets.py).
--
-- One model, not a de-duplicated table and a profiled one: at national scale (18 M registrations) writing the
-- de-duplicated rows with every staging column first cost ~17 s of ~31 s.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='time_period, census_term',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where (time_period, census_term) not in (
        select distinct ({{ census_time_period('census_date') }}, {{ census_term('census_date') }})
        from {{ ref('stg_census__pupils') }} where enrol_status in ('C', 'M'))"
) }}

-- counted, periods and to_build are read more than once (fingerprints, duplicates, rows): NOT MATERIALIZED keeps
-- DuckDB from writing 9 M-row copies of them
with counted as not materialized (
    select *
    from {{ ref('stg_census__pupils') }}
    where enrol_status in ('C', 'M')
),

periods as not materialized (
    select
        *,
        {{ census_time_period('census_date') }} as time_period,
        {{ census_term('census_date') }} as census_term,
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

-- a term built for another home LA (residence_la_code) is rebuilt too
terms_to_build as (
    select time_period, census_term, term_fingerprint from terms
    {% if is_incremental() %}
    except
    select distinct time_period, census_term, term_fingerprint from {{ this }}
    where residence_la_code = '{{ var("la_code") }}'
    {% endif %}
),

-- the terms to build are picked first (a semi-join on a handful of rows) and their fingerprint joined at the end:
-- joining every row to its term first cost a third more time at national scale
to_build as not materialized (
    select * from periods
    where (time_period, census_term) in (select (time_period, census_term) from terms_to_build)
),

-- pupils with more than one C/M registration in a term: the only rows that need the window (none in a clean
-- census; a window over every row cost ~10 s of 18 M rows at national scale)
registered_twice as (
    select time_period, census_term, pupil_id
    from to_build
    group by time_period, census_term, pupil_id
    having count(*) > 1
),

deduplicated as (
    select * from to_build
    anti join registered_twice using (time_period, census_term, pupil_id)
    union all
    -- one row per pupil: the first by enrol_status (C before M), then school, file and row. An inner join, not a semi
    -- join: DuckDB builds the semi join's hash table on the 18 M rows (9 s at national scale), the inner join's
    -- on the few registered twice
    select to_build.* from to_build
    inner join registered_twice using (time_period, census_term, pupil_id)
    qualify row_number() over (
        partition by time_period, census_term, pupil_id
        order by enrol_status, laestab, source_file, source_row
    ) = 1
)

select
    pupils.time_period,
    pupils.census_term,
    year(pupils.census_date) as census_year,
    pupils.pupil_id,
    pupils.school_la_code,
    pupils.sen_provision,
    pupils.sen_primary_need,
    pupils.gender as sex,
    pupils.age_group,
    coalesce(pupils.ethnicity, 'MISSING') as ethnicity,
    ethnicity_groups.ethnic_group,
    case
        when pupils.first_language in ('ENG', 'ENB') then 'English'
        when pupils.first_language is null or pupils.first_language in ('REF', 'NOT') then 'Unclassified'
        else 'Other than English'
    end as first_language,
    case
        when pupils.fsm_eligible then 'Eligible'
        when not pupils.fsm_eligible then 'Not eligible'
    end as fsm,
    case
        when pupils.pupil_premium then 'Yes'
        when not pupils.pupil_premium then 'No'
    end as pupil_premium,
    pupils.home_la_code,
    case
        when pupils.home_la_code = '{{ var("la_code") }}' then 'Resident'
        when pupils.home_la_code is not null then 'Out of county'
    end as residence,
    cast('{{ var("la_code") }}' as varchar) as residence_la_code,
    terms_to_build.term_fingerprint,
    current_timestamp as built_at
from deduplicated as pupils
inner join terms_to_build
    on terms_to_build.time_period = pupils.time_period
    and terms_to_build.census_term = pupils.census_term
left join {{ ref('ethnicity_groups') }} as ethnicity_groups
    on ethnicity_groups.ethnicity = coalesce(pupils.ethnicity, 'MISSING')
