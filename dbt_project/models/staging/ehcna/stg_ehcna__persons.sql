-- Rename, cast, recode only.
select
    person_id,
    pupil_id,
    cast(birth_month as date) as birth_month,
    sex,
    ethnicity,
    postcode_district,
    extract_date,
    source_file
from {{ source('ehcna', 'ehcna_persons') }}
