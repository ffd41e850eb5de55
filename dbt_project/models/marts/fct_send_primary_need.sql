-- SEN pupils (EHC plan or SEN support) by primary type of need, every need listed (0 when no pupil has it).
with sen_pupils as (
    select time_period, census_term, sen_primary_need as primary_need, pupil_id
    from {{ ref('int_census_pupils_deduplicated') }}
    where sen_provision in ('E', 'K')
),

censuses as (
    select distinct time_period, census_term
    from {{ ref('int_census_pupils_deduplicated') }}
),

grid as (
    select censuses.time_period, censuses.census_term, codes.primary_need, codes.primary_need_label,
        codes.display_order
    from censuses
    cross join {{ ref('sen_primary_need_codes') }} as codes
)

select
    grid.time_period,
    grid.census_term,
    grid.primary_need,
    grid.primary_need_label,
    grid.display_order,
    count(sen_pupils.pupil_id) as pupils
from grid
left join sen_pupils
    on sen_pupils.time_period = grid.time_period
    and sen_pupils.census_term = grid.census_term
    and sen_pupils.primary_need = grid.primary_need
group by all
order by grid.time_period, grid.census_term, grid.display_order
