-- Needs assessment 6.8: children and young people on the disability (Aiming High) register at each snapshot, by
-- the seed's bands - living in the area aged 0-18 and 19-25, out of area at any age - and how many have an EHC
-- plan. Two more bands keep the Total whole: in the area and over 25, and residence not recorded (no in_area
-- flag); both are 0 when the register has no such child. Percentages from the counts, unrounded.
with register as (
    select * from {{ ref('stg_disability_register__children') }}
),

bands as (
    select 1 as display_order, '0-18' as age_band, 'Living in the area, aged 0-18' as age_band_label
    union all
    select 2, '19-25', 'Living in the area, aged 19-25'
    union all
    select 3, 'over 25', 'Living in the area, aged over 25'
    union all
    select 4, 'out of area', 'Out of area - all ages'
    union all
    select 5, 'residence not recorded', 'Residence not recorded - all ages'
    union all
    select 6, 'Total', 'Total'
),

banded as (
    select
        snapshot_date,
        register_id,
        has_ehcp,
        case
            when residence = 'in_area' then age_band
            when residence = 'out_of_area' then 'out of area'
            else 'residence not recorded'
        end as age_band
    from register
),

snapshots as (
    select snapshot_date, count(distinct register_id) as children_on_register
    from register
    group by snapshot_date
),

counted as (
    select
        snapshots.snapshot_date,
        snapshots.children_on_register,
        bands.display_order,
        bands.age_band,
        bands.age_band_label,
        count(distinct banded.register_id) as children,
        count(distinct case when banded.has_ehcp then banded.register_id end) as children_with_ehcp
    from snapshots
    cross join bands
    left join banded
        on banded.snapshot_date = snapshots.snapshot_date
        and (banded.age_band = bands.age_band or bands.age_band = 'Total')
    group by snapshots.snapshot_date, snapshots.children_on_register, bands.display_order, bands.age_band,
        bands.age_band_label
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    counted.snapshot_date,
    counted.age_band,
    counted.age_band_label,
    counted.display_order,
    cast(counted.children as integer) as children,
    cast(counted.children_with_ehcp as integer) as children_with_ehcp,
    100.0 * counted.children_with_ehcp / nullif(counted.children, 0) as pct_with_ehcp,
    100.0 * counted.children / nullif(counted.children_on_register, 0) as pct_of_register
from counted
cross join {{ ref('int_home_la_geography') }} as home_la
order by counted.snapshot_date, counted.display_order
