-- The home local authority's DfE geography, for the geography columns of every mart under marts/ehcp (this
-- model's children in dbt docs' lineage; not only the EHC plan marts): old_la_code from configuration (var
-- la_code = SEND_LA_CODE), new_la_code and la_name from DfE's own published rows (the latest time period's, should
-- an authority have been renamed). Always exactly one row: when DfE publishes no row for the configured code,
-- new_la_code and la_name are NULL and their not_null tests fail, instead of every mart
-- silently coming out empty.
with configured as (
    select cast('{{ var("la_code") }}' as varchar) as old_la_code
),

published as (
    select
        old_la_code,
        new_la_code,
        la_name,
        row_number() over (
            partition by old_la_code order by time_period desc, new_la_code, la_name
        ) as recency
    from {{ ref('stg_dfe__ehcp_caseload') }}
    where geographic_level = 'Local authority'
        and old_la_code = '{{ var("la_code") }}'
)

select
    published.new_la_code,
    configured.old_la_code,
    published.la_name
from configured
left join published
    on published.old_la_code = configured.old_la_code
    and published.recency = 1
