-- The home local authority (var la_code, from SEND_LA_CODE) with DfE's codes and names from the la_geography
-- seed, for the geography columns of every mart that takes the home LA's geography from that seed (this model's
-- children in dbt docs' lineage; not only the census marts). Always exactly one row: a code the seed does not know
-- gives NULL names, and their not_null tests fail, instead of every mart silently coming out empty.
with configured as (
    select cast('{{ var("la_code") }}' as varchar) as old_la_code
)

select
    geography.new_la_code,
    configured.old_la_code,
    geography.la_name,
    geography.region_code,
    geography.region_name
from configured
left join {{ ref('la_geography') }} as geography
    on geography.old_la_code = configured.old_la_code
