-- EHC plans benchmark from the DfE release "Education, health and care plans" 2025: one row per time period x
-- geography x measure for the home LA (dbt var la_code, via int_benchmark_comparators_selected), its ten
-- statistical neighbours, its region and England. Values are DfE's as published (symbols stay symbols, never 0).
-- Region and England are also recomputed from the Local-authority rows (int_dfe_ehcp_aggregates_reconciled: the sum
-- of every LA in the region / country) and reconciled with DfE's own aggregate: reconciliation_status must be one of
-- the accepted values (a figure that does not add up, with no publisher footnote to explain it, fails the test).
-- Percentages are computed here from the counts, unrounded (round only at presentation).
{{ config(materialized="table") }}

with measures as (
    select * from {{ ref('int_benchmark_ehcp_measures_unpivoted') }}
),

comparators as (
    select * from {{ ref('int_benchmark_comparators_selected') }}
),

reconciled as (
    select * from {{ ref('int_dfe_ehcp_aggregates_reconciled') }}
),

-- the home LA's region as DfE codes it on the LA's own rows
home_regions as (
    select distinct measures.region_code
    from measures
    inner join comparators
        on measures.old_la_code = comparators.old_la_code
    where measures.geographic_level = 'Local authority'
        and comparators.geography_role = 'home_la'
),

local_authorities as (
    select
        measures.*,
        comparators.geography_role,
        comparators.neighbour_rank,
        comparators.neighbour_closeness
    from measures
    inner join comparators
        on measures.old_la_code = comparators.old_la_code
    where measures.geographic_level = 'Local authority'
),

aggregates as (
    select
        measures.*,
        case when measures.geographic_level = 'National' then 'england' else 'region' end as geography_role,
        cast(null as integer) as neighbour_rank,
        cast(null as varchar) as neighbour_closeness
    from measures
    where measures.geographic_level = 'National'
        or (
            measures.geographic_level = 'Regional'
            and measures.region_code in (select home_regions.region_code from home_regions)
        )
),

selected as (
    select * from local_authorities
    union all
    select * from aggregates
)

select
    selected.time_period,
    selected.time_identifier,
    selected.geography_role,
    selected.neighbour_rank,
    selected.neighbour_closeness,
    selected.geographic_level,
    selected.country_code,
    selected.country_name,
    selected.region_code,
    selected.region_name,
    selected.new_la_code,
    selected.old_la_code,
    selected.la_name,
    case selected.geographic_level
        when 'National' then selected.country_name
        when 'Regional' then selected.region_name
        else selected.la_name
    end as geography_name,
    selected.dfe_file,
    selected.measure,
    selected.measure_label,
    selected.value,
    selected.value_symbol,
    selected.denominator_measure,
    selected.denominator,
    selected.denominator_symbol,
    case
        when selected.denominator > 0 then 100.0 * cast(selected.value as double) / selected.denominator
    end as percentage,
    case
        when selected.denominator_measure is null then null
        when selected.value_symbol is not null then selected.value_symbol
        when selected.denominator_symbol is not null then selected.denominator_symbol
        when selected.denominator = 0 then 'z'
    end as percentage_symbol,
    aggregate_check.la_rows,
    aggregate_check.la_rows_with_symbol,
    aggregate_check.la_sum,
    aggregate_check.difference,
    case
        when selected.geographic_level = 'Local authority' then 'not_an_aggregate'
        else aggregate_check.reconciliation_status
    end as reconciliation_status,
    coalesce(aggregate_check.exception_note, region_exception.exception_note) as exception_note
from selected
left join reconciled as aggregate_check
    on selected.geographic_level in ('National', 'Regional')
    and aggregate_check.dfe_file = selected.dfe_file
    and aggregate_check.measure = selected.measure
    and aggregate_check.time_period = selected.time_period
    and aggregate_check.breakdown_topic = selected.breakdown_topic
    and aggregate_check.breakdown = selected.breakdown
    and aggregate_check.geographic_level = selected.geographic_level
    and coalesce(aggregate_check.region_code, '') = coalesce(selected.region_code, '')
-- an LA row in a region whose total the publisher's footnote explains (newplans 2022: every Yorkshire and The
-- Humber LA row carries the regional total) carries that footnote too
left join reconciled as region_exception
    on selected.geographic_level = 'Local authority'
    and region_exception.geographic_level = 'Regional'
    and region_exception.reconciliation_status = 'known_exception'
    and region_exception.dfe_file = selected.dfe_file
    and region_exception.measure = selected.measure
    and region_exception.time_period = selected.time_period
    and region_exception.breakdown_topic = selected.breakdown_topic
    and region_exception.breakdown = selected.breakdown
    and region_exception.region_code = selected.region_code
