-- The home LA's population (needs assessment 5.1): one row per mid-year x age band x sex (M, F and Total), from the
-- ONS single-year-of-age estimates of the home LA (var la_code). Bands overlap (see the population_age_bands
-- seed); the share of the same sex's whole population is computed here from the counts, unrounded.
with estimates as (
    select year, age, sex, population
    from {{ ref('stg_population__estimates') }}
    where old_la_code = '{{ var("la_code") }}'
),

bands as (
    select * from {{ ref('population_age_bands') }}
),

by_sex as (
    select year, age, sex, population from estimates
    union all
    select year, age, 'Total' as sex, population from estimates
),

years as (
    select distinct year from estimates
),

sexes as (
    select 'M' as sex, 1 as sex_order
    union all
    select 'F', 2
    union all
    select 'Total', 3
),

grid as (
    select years.year, bands.age_band, bands.age_from, bands.age_to, bands.display_order, sexes.sex, sexes.sex_order
    from years
    cross join bands
    cross join sexes
),

banded as (
    select
        grid.year,
        grid.age_band,
        grid.sex,
        cast(coalesce(sum(by_sex.population), 0) as bigint) as population
    from grid
    left join by_sex
        on by_sex.year = grid.year
        and by_sex.sex = grid.sex
        and by_sex.age between grid.age_from and grid.age_to
    group by grid.year, grid.age_band, grid.sex
),

all_ages as (
    select year, sex, cast(sum(population) as bigint) as population_all_ages
    from by_sex
    group by year, sex
)

select
    grid.year,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    grid.age_band,
    grid.age_from,
    grid.age_to,
    grid.display_order,
    grid.sex,
    banded.population,
    all_ages.population_all_ages,
    100 * cast(banded.population as double) / nullif(all_ages.population_all_ages, 0) as pct_of_all_ages
from grid
cross join {{ ref('int_home_la_geography') }} as home_la
inner join banded
    on banded.year = grid.year
    and banded.age_band = grid.age_band
    and banded.sex = grid.sex
left join all_ages
    on all_ages.year = grid.year
    and all_ages.sex = grid.sex
order by grid.year, grid.display_order, grid.sex_order
