-- Rename, cast, recode only: AUT (newer returns) -> ASD; setting types grouped as the needs assessment reports
-- them; age in completed years at the extract date (from the birth month); current = open on the extract date.
select
    placement_id,
    person_id,
    pupil_id,
    extract_date::date as extract_date,
    birth_month::date as birth_month,
    cast(floor(
        ((extract(year from extract_date) - extract(year from birth_month)) * 12
            + extract(month from extract_date) - extract(month from birth_month)) / 12.0
    ) as integer) as age_at_extract,
    has_ehcp,
    case primary_need when 'AUT' then 'ASD' else primary_need end as primary_need,
    setting_type,
    case
        when setting_type = 'EARLY_YEARS' then 'early_years'
        when setting_type = 'MAINSTREAM' then 'mainstream'
        when setting_type = 'ERP' then 'resourced_provision'
        when setting_type in ('LA_SPECIAL', 'INMSS') then 'special_school'
        when setting_type = 'AP' then 'alternative_provision'
        when setting_type in ('FE_COLLEGE', 'SPI') then 'college'
        when setting_type = 'APPRENTICESHIP' then 'apprenticeship'
        when setting_type = 'RESIDENTIAL' then 'residential'
        else 'other'
    end as setting_group,
    in_county,
    start_date::date as start_date,
    end_date::date as end_date,
    (start_date <= extract_date and (end_date is null or end_date >= extract_date)) as is_current,
    annual_cost_gbp,
    source_file
from {{ source('placements', 'placements') }}
