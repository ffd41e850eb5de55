-- Rename, cast, recode only: one row per edition of the indices and area (a local authority district).
select
    cast(year as integer) as year,
    new_la_code,
    old_la_code,
    la_name,
    region_code,
    cast(rank as integer) as rank,
    cast(districts_ranked as integer) as districts_ranked,
    source_file
from {{ source('deprivation', 'deprivation_ranks') }}
