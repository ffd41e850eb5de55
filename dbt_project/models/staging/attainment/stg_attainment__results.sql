-- Rename, cast only: one row per pupil, key stage and measure; the academic year also as text (2021/22).
select
    pupil_id,
    cast(time_period as integer) as time_period,
    cast(time_period // 100 as varchar) || '/' || lpad(cast(time_period % 100 as varchar), 2, '0') as academic_year,
    key_stage,
    measure,
    met_expected_standard,
    score,
    source_file
from {{ source('attainment', 'attainment_results') }}
