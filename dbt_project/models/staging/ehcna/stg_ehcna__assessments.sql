-- Rename, cast, recode only.
select
    assessment_id,
    request_id,
    assessment_outcome,
    cast(assessment_outcome_date as date) as assessment_outcome_date,
    cast(week20_exception as boolean) as week20_exception,
    extract_date,
    source_file
from {{ source('ehcna', 'ehcna_assessments') }}
