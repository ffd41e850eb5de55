-- SEN pupils by provision (E = EHC plan, K = SEN support), with pupil premium and free school meals (needs
-- assessment 6.1, Spring 2023 table). The table's Total column is E + K; the shares of the bullets are in
-- fct_send_characteristics (provision SEN).
with sen_pupils as (
    select *
    from {{ ref('int_census_pupils_profiled') }}
    where sen_provision in ('E', 'K')
),

censuses as (
    select distinct time_period, census_term
    from {{ ref('int_census_pupils_profiled') }}
),

grid as (
    select censuses.time_period, censuses.census_term, codes.sen_provision, codes.sen_provision_label
    from censuses
    cross join {{ ref('sen_provision_codes') }} as codes
),

counted as (
    select
        grid.time_period,
        grid.census_term,
        grid.sen_provision,
        count(sen_pupils.pupil_id) as pupils,
        count(sen_pupils.pupil_id) filter (where sen_pupils.pupil_premium = 'Yes') as pupils_pupil_premium,
        count(sen_pupils.pupil_id) filter (where sen_pupils.fsm = 'Eligible') as pupils_fsm
    from grid
    left join sen_pupils
        on sen_pupils.time_period = grid.time_period
        and sen_pupils.census_term = grid.census_term
        and sen_pupils.sen_provision = grid.sen_provision
    group by grid.time_period, grid.census_term, grid.sen_provision
)

select
    grid.time_period,
    grid.census_term,
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    home_la.region_code,
    home_la.region_name,
    grid.sen_provision,
    grid.sen_provision_label,
    counted.pupils,
    counted.pupils_pupil_premium,
    counted.pupils_fsm
from grid
cross join {{ ref('int_home_la_geography') }} as home_la
inner join counted
    on counted.time_period = grid.time_period
    and counted.census_term = grid.census_term
    and counted.sen_provision = grid.sen_provision
order by grid.time_period, grid.census_term, grid.sen_provision
