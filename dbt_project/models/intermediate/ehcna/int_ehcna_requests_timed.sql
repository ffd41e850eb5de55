-- One row per request, with the 6-week measure DfE publishes computed from the dates (never read from the
-- extract): a decision whether to assess (request outcome Y or N) made within 6 weeks, i.e.
-- request_outcome_date - received_date <= 42 days. Decisions are counted in the year of the decision date.
with requests as (
    select * from {{ ref('stg_ehcna__requests') }}
),

timed as (
    select
        *,
        request_outcome in ('Y', 'N') and request_outcome_date is not null as is_decision,
        {{ dbt.datediff('received_date', 'request_outcome_date', 'day') }} as days_from_request
    from requests
)

select
    request_id,
    person_id,
    received_date,
    extract(year from received_date) as received_year,
    request_outcome,
    request_outcome_date,
    is_decision,
    case when is_decision then extract(year from request_outcome_date) end as decision_year,
    case when is_decision then days_from_request end as days_to_decision,
    case when is_decision then days_from_request <= 42 end as decided_within_6_weeks
from timed
