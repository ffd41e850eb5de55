-- One row per annual review due, with whether it was held in time (review_date <= due_date; a review not yet
-- held is not in time), counted in the academic year of the due date (1 September to 31 August; seed 7.1 counts
-- annual reviews by academic year), coded as EES codes it (202021 = 2020/21).
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
    -- the academic year's first calendar year: the year of the date 8 months earlier (September -> January)
    cast(extract(year from reviews.due_date - interval 8 month) as integer) * 100
    + (cast(extract(year from reviews.due_date - interval 8 month) as integer) + 1) % 100 as due_academic_year,
    reviews.review_date,
    coalesce(reviews.review_date <= reviews.due_date, false) as held_in_time,
    {{ dbt.datediff('reviews.due_date', 'reviews.review_date', 'day') }} as days_after_due
from reviews
left join plans on reviews.plan_id = plans.plan_id
