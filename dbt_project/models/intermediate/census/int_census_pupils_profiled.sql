-- One row per pupil per census (int_census_pupils_deduplicated) with every characteristic the census marts break
-- pupils down by, recoded to the values of the pupil_characteristic_codes seed, and whether the pupil lives in the
-- home local authority (var la_code, from SEND_LA_CODE).
--
-- Incremental by census term, like int_census_pupils_deduplicated: only the terms whose term_fingerprint there
-- differs from the one stored here, or whose residence was worked out for another home LA (residence_la_code),
-- are (re)built (delete+insert on the term). A change of the code lists changes the dbt project version, and the
-- nightly job then runs `dbt build --full-refresh`.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='time_period, census_term',
    on_schema_change='fail'
) }}

with pupils as (
    select * from {{ ref('int_census_pupils_deduplicated') }}
    {% if is_incremental() %}
    where (time_period, census_term, term_fingerprint) in (
        select distinct (time_period, census_term, term_fingerprint) from {{ ref('int_census_pupils_deduplicated') }}
        except
        select distinct (time_period, census_term, term_fingerprint) from {{ this }}
        where residence_la_code = '{{ var("la_code") }}'
    )
    {% endif %}
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
    pupils.term_fingerprint,
    pupils.built_at
from pupils
left join {{ ref('ethnicity_groups') }} as ethnicity_groups
    on ethnicity_groups.ethnicity = coalesce(pupils.ethnicity, 'MISSING')
