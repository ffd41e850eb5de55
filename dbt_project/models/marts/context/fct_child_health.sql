-- Needs assessment 5.3 (health of the LA's children): the child health snapshot for the home LA (var la_code), its
-- region and England, one row per indicator x geographic level x period. Every cell is the public extract's
-- (OHID Fingertips style), except the LA's two census-derived cells - pupils from minority ethnic groups and
-- pupils with SEMH needs - which are counted from the LA's own school census (Spring census of the academic year
-- the extract gives for the region and England) and whose percentages are computed here from the counts:
--   minority ethnic (DfE's definition): pupils of any ethnicity other than White British (WBRI); pupils whose
--     ethnicity is unclassified (REFU refused, NOBT not obtained, none recorded) are not counted as minority
--     ethnic but stay in the denominator; denominator = all pupils on roll (enrolment C and M).
--   SEMH: pupils whose primary type of need is SEMH (EHC plan or SEN support), as a percentage of all pupils.
with indicators as (
    select * from {{ ref('stg_child_health__indicators') }}
),

home_la as (
    select * from {{ ref('int_home_la_geography') }}
),

census_indicators as (
    -- the indicators the LA's own census gives (pipeline/sources/child_health.py CENSUS_INDICATORS)
    select 'pupils_minority_ethnic' as indicator
    union all
    select 'pupils_semh'
),

from_extract as (
    select indicators.*
    from indicators
    cross join home_la
    where
        (
            indicators.geographic_level = 'la'
            and indicators.area_code = home_la.new_la_code
            and indicators.indicator not in (select indicator from census_indicators)
        )
        or (indicators.geographic_level = 'region' and indicators.area_code = home_la.region_code)
        or indicators.geographic_level = 'england'
),

census_periods as (
    -- the periods the extract gives the census indicators for (region or England rows)
    select distinct indicator, indicator_label, display_order, unit, period, time_period
    from from_extract
    where indicator in (select indicator from census_indicators) and time_period is not null
),

roll as (
    select time_period, max(pupils_in_provision) as pupils
    from {{ ref('fct_send_characteristics') }}
    where census_term = 'Spring' and sen_provision = 'Total' and characteristic_group = 'ethnicity'
    group by time_period
),

minority_ethnic as (
    select characteristics.time_period, sum(characteristics.pupils) as pupils
    from {{ ref('fct_send_characteristics') }} as characteristics
    inner join {{ ref('ethnicity_groups') }} as groups
        on groups.ethnicity = characteristics.characteristic
    where
        characteristics.census_term = 'Spring'
        and characteristics.sen_provision = 'Total'
        and characteristics.characteristic_group = 'ethnicity'
        and characteristics.characteristic <> 'WBRI'
        and groups.ethnic_group <> 'Unclassified'
    group by characteristics.time_period
),

semh as (
    select time_period, pupils
    from {{ ref('fct_send_primary_need') }}
    where census_term = 'Spring' and primary_need = 'SEMH'
),

from_census as (
    select
        home_la.new_la_code as area_code,
        home_la.la_name as area_name,
        'la' as geographic_level,
        census_periods.indicator,
        census_periods.indicator_label,
        census_periods.display_order,
        census_periods.unit,
        census_periods.period,
        census_periods.time_period,
        cast(
            100 * cast(counted.pupils as double) / nullif(roll.pupils, 0) as decimal(12, 3)
        ) as value,
        cast(counted.pupils as bigint) as count,
        cast(roll.pupils as bigint) as denominator,
        'school census' as source
    from census_periods
    cross join home_la
    inner join roll
        on roll.time_period = census_periods.time_period
    inner join (
        select time_period, pupils, 'pupils_minority_ethnic' as indicator from minority_ethnic
        union all
        select time_period, pupils, 'pupils_semh' from semh
    ) as counted
        on counted.time_period = census_periods.time_period
        and counted.indicator = census_periods.indicator
),

cells as (
    select
        area_code, area_name, geographic_level, indicator, indicator_label, display_order, unit, period, time_period,
        value, count, denominator, 'child health extract' as source
    from from_extract
    union all
    select * from from_census
)

select
    cells.indicator,
    cells.indicator_label,
    cells.display_order,
    cells.geographic_level,
    case cells.geographic_level when 'la' then 1 when 'region' then 2 else 3 end as geography_order,
    cells.area_code,
    coalesce(
        case cells.geographic_level when 'la' then home_la.la_name when 'region' then home_la.region_name end,
        cells.area_name,
        'England'
    ) as area_name,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    cells.period,
    cells.time_period,
    cells.value,
    cells.count,
    cells.denominator,
    cells.unit,
    cells.source
from cells
cross join home_la
order by cells.display_order, geography_order, cells.period
