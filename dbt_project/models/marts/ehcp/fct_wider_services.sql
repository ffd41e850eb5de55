-- Needs assessment 6.7: children and young people on the disability (Aiming High) register who used each
-- service in the 12 months a register snapshot covers (service_year_start..service_year_end; the March 2023
-- snapshot covers April 2022 - March 2023), and how many of them have an EHC plan. Besides the three services,
-- the rows positive_activities_and_short_breaks (both) and aiming_high_any (either, each child once) give the
-- overlap the seed reports. Percentages from the counts, unrounded.
with register as (
    select * from {{ ref('stg_disability_register__children') }}
),

services as (
    select 1 as display_order, 'positive_activities' as service,
        'Aiming High positive activities' as service_label
    union all
    select 2, 'short_breaks', 'Aiming High short breaks grant'
    union all
    select 3, 'positive_activities_and_short_breaks', 'Both positive activities and a short breaks grant'
    union all
    select 4, 'aiming_high_any', 'Any Aiming High support (positive activities or short breaks)'
    union all
    select 5, 'parent_carer_support', 'Parent/carer support, information and advice (ADHD and/or ASD)'
),

uses as (
    select
        register.snapshot_date,
        register.service_year_start,
        register.service_year_end,
        register.register_id,
        register.has_ehcp,
        services.display_order,
        services.service,
        services.service_label,
        case services.service
            when 'positive_activities' then register.aiming_high_positive_activities
            when 'short_breaks' then register.aiming_high_short_breaks
            when 'positive_activities_and_short_breaks'
                then register.aiming_high_positive_activities and register.aiming_high_short_breaks
            when 'aiming_high_any'
                then register.aiming_high_positive_activities or register.aiming_high_short_breaks
            when 'parent_carer_support' then register.parent_support
        end as used
    from register
    cross join services
),

counted as (
    select
        snapshot_date,
        service_year_start,
        service_year_end,
        display_order,
        service,
        service_label,
        count(distinct case when used then register_id end) as children,
        count(distinct case when used and has_ehcp then register_id end) as children_with_ehcp
    from uses
    group by snapshot_date, service_year_start, service_year_end, display_order, service, service_label
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    counted.service_year_start as period_start,
    counted.service_year_end as period_end,
    counted.snapshot_date,
    counted.service,
    counted.service_label,
    counted.display_order,
    cast(counted.children as integer) as children,
    cast(counted.children_with_ehcp as integer) as children_with_ehcp,
    100.0 * counted.children_with_ehcp / nullif(counted.children, 0) as pct_with_ehcp
from counted
cross join {{ ref('int_home_la_geography') }} as home_la
order by counted.snapshot_date, counted.display_order
