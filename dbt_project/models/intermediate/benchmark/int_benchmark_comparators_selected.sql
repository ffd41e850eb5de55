-- The local authorities the EHC plan benchmark compares, one row each: the home LA (dbt var la_code, from
-- SEND_LA_CODE, never a literal) and its ten statistical neighbours from the seed statistical_neighbours.
select
    '{{ var("la_code") }}' as old_la_code,
    'home_la' as geography_role,
    cast(null as integer) as neighbour_rank,
    cast(null as varchar) as neighbour_closeness
union all
select
    neighbour_old_la_code as old_la_code,
    'statistical_neighbour' as geography_role,
    neighbour_rank,
    neighbour_closeness
from {{ ref('statistical_neighbours') }}
where old_la_code = '{{ var("la_code") }}'
