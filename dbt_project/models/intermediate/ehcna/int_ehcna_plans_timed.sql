-- One row per EHC plan with its chain (assessment, request, person) and the 20-week measure DfE publishes,
-- computed from the dates (never read from the extract): a new plan (assessment outcome Y) issued within 20
-- weeks of the request, i.e. start_date - received_date <= 140 days, counted in the year of the issue date.
-- Reported with exceptions (every new plan) and without them (plans where an exception to the time limit
-- applies are left out of both the count and the total: the column is NULL for them).
with plans as (
    select * from {{ ref('stg_ehcna__plans') }}
),

assessments as (
    select * from {{ ref('stg_ehcna__assessments') }}
),

requests as (
    select * from {{ ref('stg_ehcna__requests') }}
),

joined as (
    select
        plans.plan_id,
        requests.person_id,
        plans.assessment_id,
        assessments.request_id,
        plans.primary_need,
        plans.start_date,
        plans.cease_date,
        plans.cease_reason,
        assessments.assessment_outcome,
        assessments.week20_exception,
        requests.received_date,
        coalesce(assessments.assessment_outcome = 'Y', false) as is_new_plan,
        {{ dbt.datediff('requests.received_date', 'plans.start_date', 'day') }} as days_from_request
    from plans
    left join assessments on plans.assessment_id = assessments.assessment_id
    left join requests on assessments.request_id = requests.request_id
)

select
    plan_id,
    person_id,
    assessment_id,
    request_id,
    primary_need,
    start_date,
    cease_date,
    cease_reason,
    assessment_outcome,
    week20_exception,
    received_date,
    is_new_plan,
    extract(year from start_date) as issue_year,
    case when is_new_plan then days_from_request end as days_to_issue,
    case when is_new_plan then days_from_request <= 140 end as issued_within_20_weeks,
    case
        when is_new_plan and not coalesce(week20_exception, false) then days_from_request <= 140
    end as issued_within_20_weeks_excluding_exceptions
from joined
