-- Needs assessment 5.2 (poverty and deprivation): every area of the Indices of Deprivation extract per edition,
-- with its rank among all districts (1 = most deprived) and its place within its region counted from the least
-- deprived (1 = the region's least deprived district). The ranks are of lower-tier districts while la_geography is
-- upper-tier, so region membership is the extract's own region_code; the place in the region is only right when
-- the extract carries every district of that region (the extract the demo generates carries the whole East
-- Midlands). The home LA (var la_code) is flagged; for a county council, whose districts are ranked rather than
-- the county, no row is the home LA's.
with ranks as (
    select * from {{ ref('stg_deprivation__ranks') }}
),

regions as (
    select distinct region_code, region_name from {{ ref('la_geography') }}
),

placed as (
    select
        ranks.*,
        case when ranks.region_code is not null then
            rank() over (partition by ranks.year, ranks.region_code order by ranks.rank desc)
        end as rank_in_region_least_deprived,
        case when ranks.region_code is not null then
            count(*) over (partition by ranks.year, ranks.region_code)
        end as districts_in_region
    from ranks
)

select
    placed.year,
    placed.new_la_code,
    placed.old_la_code,
    coalesce(geography.la_name, placed.la_name) as la_name,
    placed.region_code,
    regions.region_name,
    placed.rank,
    placed.districts_ranked,
    cast(placed.rank_in_region_least_deprived as integer) as rank_in_region_least_deprived,
    cast(placed.districts_in_region as integer) as districts_in_region,
    coalesce(placed.old_la_code = '{{ var("la_code") }}', false) as is_home_la
from placed
left join {{ ref('la_geography') }} as geography
    on geography.new_la_code = placed.new_la_code
left join regions
    on regions.region_code = placed.region_code
order by placed.year, placed.region_code, placed.rank desc
