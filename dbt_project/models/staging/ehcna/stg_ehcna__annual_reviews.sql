-- Rename, cast, recode only.
select
    plan_id,
    cast(due_date as date) as due_date,
    cast(review_date as date) as review_date,
    extract_date,
    source_file
from {{ source('ehcna', 'ehcna_annual_reviews') }}
