-- Rename, cast, recode only: DfE's older codes (FIXED, FIXD, FIXED PERIOD: a suspension was a "fixed-period
-- exclusion" before 2021) read as suspension, PERM as permanent; the academic year also as text (2021/22).
select
    pupil_id,
    cast(time_period as integer) as time_period,
    cast(time_period // 100 as varchar) || '/' || lpad(cast(time_period % 100 as varchar), 2, '0') as academic_year,
    case
        when exclusion_type in ('SUSPENSION', 'FIXED', 'FIXD', 'FIXED PERIOD', 'FIXED-PERIOD', 'FIXED_PERIOD')
            then 'suspension'
        when exclusion_type in ('PERMANENT', 'PERM') then 'permanent'
    end as exclusion_type,
    start_date::date as start_date,
    sessions,
    reason,
    source_file
from {{ source('exclusions', 'exclusions') }}
