-- Rename, cast, recode only.
select
    request_id,
    person_id,
    cast(received_date as date) as received_date,
    request_outcome,
    cast(request_outcome_date as date) as request_outcome_date,
    extract_date,
    source_file
from {{ source('ehcna', 'ehcna_requests') }}
