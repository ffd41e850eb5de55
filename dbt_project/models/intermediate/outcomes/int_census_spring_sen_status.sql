-- Each pupil's SEN status for an academic year, as the Spring (January) census of that year records it: the status
-- the outcome marts (exclusions 6.6, attainment 8) classify a pupil's events and results by. One row per pupil per
-- academic year; a pupil in no Spring census of the year has no row (the marts count them as N).
select time_period, pupil_id, sen_provision
from {{ ref('int_census_pupils_profiled') }}
where census_term = 'Spring'
