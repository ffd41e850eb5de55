-- One row per annual review due, with whether it was held in time (review_date <= due_date; a review not yet
-- held is not in time), counted in the year of the due date.
with reviews as (
    select * from {{ ref('stg_ehcna__annual_reviews') }}
),

plans as (
    select plan_id, person_id from {{ ref('int_ehcna_plans_timed') }}
)

select
    reviews.plan_id,
    plans.person_id,
    reviews.due_date,
    extract(year from reviews.due_date) as due_year,
    reviews.review_date,
    coalesce(reviews.review_date <= reviews.due_date, false) as held_in_time,
    {{ dbt.datediff('reviews.due_date', 'reviews.review_date', 'day') }} as days_after_due
from reviews
left join plans on reviews.plan_id = plans.plan_id
