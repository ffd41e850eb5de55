-- Rename, cast, recode only: one row per area, indicator and period. time_period is the EES form of an academic
-- or financial year (2021/22 -> 202122), of a single year (2021 -> 2021), NULL for a span (2018-2020).
select
    area_code,
    area_name,
    geographic_level,
    indicator,
    indicator_label,
    unit,
    display_order,
    period,
    case
        when regexp_full_match(period, '[0-9]{4}/[0-9]{2}') then cast(replace(period, '/', '') as integer)
        when regexp_full_match(period, '[0-9]{4}') then cast(period as integer)
    end as time_period,
    cast(value as decimal(12, 3)) as value,
    cast(count as bigint) as count,
    cast(denominator as bigint) as denominator,
    source_file
from {{ source('child_health', 'child_health_indicators') }}
