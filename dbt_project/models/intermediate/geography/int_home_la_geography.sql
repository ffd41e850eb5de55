-- The home local authority (var la_code, from SEND_LA_CODE) as DfE names and codes it: the one place the geography
-- columns of every mart (its children in dbt docs' lineage: census, EHCP, outcomes and context marts) and of the
-- release (pipeline.publish.home_geography) come from, so one release never names the LA two ways.
--   1. DfE's latest published Local authority row for the code in the loaded EHC plans release
--      (stg_dfe__ehcp_caseload; ties broken by new_la_code, la_name): a newer release that renamed or recoded the
--      LA wins over the seed, which is fixed in the repository;
--   2. else the la_geography seed's row (DfE's latest row per authority when the seed was made), for a code the
--      loaded release does not publish (an authority abolished before it, e.g. Northamptonshire 928).
-- Always exactly one row: a code neither knows gives NULL codes and names, and their not_null tests fail, instead
-- of every mart silently coming out empty.
with configured as (
    select cast('{{ var("la_code") }}' as varchar) as old_la_code
),

published as (
    select
        old_la_code,
        new_la_code,
        la_name,
        region_code,
        region_name,
        row_number() over (
            partition by old_la_code order by time_period desc, new_la_code, la_name
        ) as recency
    from {{ ref('stg_dfe__ehcp_caseload') }}
    where geographic_level = 'Local authority'
        and old_la_code = '{{ var("la_code") }}'
),

seeded as (
    select old_la_code, new_la_code, la_name, region_code, region_name
    from {{ ref('la_geography') }}
)

select
    -- the whole row from one source (never DfE's name beside the seed's code)
    case when published.old_la_code is not null then published.new_la_code else seeded.new_la_code end
        as new_la_code,
    configured.old_la_code,
    case when published.old_la_code is not null then published.la_name else seeded.la_name end as la_name,
    case when published.old_la_code is not null then published.region_code else seeded.region_code end
        as region_code,
    case when published.old_la_code is not null then published.region_name else seeded.region_name end
        as region_name
from configured
left join published
    on published.old_la_code = configured.old_la_code
    and published.recency = 1
left join seeded
    on seeded.old_la_code = configured.old_la_code
