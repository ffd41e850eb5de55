-- Rename, cast, recode only: AUT (newer returns) -> ASD, legacy statement S -> E.
select
    pupil_id,
    laestab,
    substr(laestab, 1, 3) as school_la_code,
    census_date::date as census_date,
    phase,
    ncyear_actual,
    enrol_status,
    birth_month::date as birth_month,
    gender,
    ethnicity,
    first_language,
    case sen_provision when 'S' then 'E' else sen_provision end as sen_provision,
    case sen_primary_need when 'AUT' then 'ASD' else sen_primary_need end as sen_primary_need,
    case sen_secondary_need when 'AUT' then 'ASD' else sen_secondary_need end as sen_secondary_need,
    fsm_eligible,
    pupil_premium,
    home_la_code,
    source_file,
    source_row
from {{ source('census', 'census_pupils') }}
