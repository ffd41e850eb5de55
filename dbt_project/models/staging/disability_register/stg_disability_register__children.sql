-- Rename, cast, recode only: age in completed years at the snapshot date (from the birth month) and its band;
-- residence from the in_area flag (a postcode district straddles the county boundary, so it decides nothing);
-- the 12 months the service flags cover.
with register as (
    select
        *,
        cast(floor(
            ((extract(year from snapshot_date) - extract(year from birth_month)) * 12
                + extract(month from snapshot_date) - extract(month from birth_month)) / 12.0
        ) as integer) as age_at_snapshot
    from {{ source('disability_register', 'disability_register') }}
)

select
    register_id,
    pupil_id,
    snapshot_date::date as snapshot_date,
    birth_month::date as birth_month,
    age_at_snapshot,
    case
        when age_at_snapshot <= 18 then '0-18'
        when age_at_snapshot <= 25 then '19-25'
        else 'over 25'
    end as age_band,
    gender,
    home_postcode_district,
    in_area,
    case
        when in_area then 'in_area'
        when not in_area then 'out_of_area'
        else 'not_recorded'
    end as residence,
    has_ehcp,
    disability_codes,
    aiming_high_positive_activities,
    aiming_high_short_breaks,
    parent_support,
    cast(snapshot_date - interval '1 year' + interval '1 day' as date) as service_year_start,
    snapshot_date::date as service_year_end,
    source_file
from register
