-- Rename, cast, recode only: one row per mid-year, area, single year of age (90 = 90 and over) and sex.
select
    cast(year as integer) as year,
    new_la_code,
    old_la_code,
    cast(age as integer) as age,
    sex,
    cast(population as integer) as population,
    source_file
from {{ source('population', 'population_estimates') }}
