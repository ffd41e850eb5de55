-- Rename, cast, recode only: AUT (newer returns) -> ASD.
select
    plan_id,
    assessment_id,
    cast(start_date as date) as start_date,
    cast(cease_date as date) as cease_date,
    cease_reason,
    case primary_need when 'AUT' then 'ASD' else primary_need end as primary_need,
    extract_date,
    source_file
from {{ source('ehcna', 'ehcna_plans') }}
