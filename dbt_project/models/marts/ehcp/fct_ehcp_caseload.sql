-- Needs assessment 6.3: EHC plans maintained by the plan's primary need (with a Total row) on the reference date of
-- every period of int_ehcp_reporting_periods - as at the first day of each month, at each year end, and on each
-- SEN2 census day in January - and the requests for an EHC needs assessment received during each month and
-- calendar year (Total row only: a request records no need; to the extract date, data_as_at, for the month and
-- year to date). A plan is maintained on day d when start_date <= d
-- and it has not ceased by then (cease_date NULL or after d), the rule of int_ehcna_plans_timed. Percentages from
-- the counts, unrounded.
with periods as (
    select * from {{ ref('int_ehcp_reporting_periods') }}
    where period_type in ('Month', 'Calendar year', 'SEN2 census day')  -- academic years: annual reviews only
),

plans as (
    select plan_id, primary_need, start_date, cease_date from {{ ref('int_ehcna_plans_timed') }}
),

requests as (
    select request_id, received_date from {{ ref('int_ehcna_requests_timed') }}
),

-- every need a plan can record; NSA (SEN support without a specialist assessment) cannot be the need of a plan
needs as (
    select primary_need, primary_need_label, display_order
    from {{ ref('sen_primary_need_codes') }}
    where primary_need <> 'NSA'
    union all
    select 'Total', 'Total', 100
),

maintained as (
    select
        periods.period_type,
        periods.period_start,
        plans.primary_need,
        count(plans.plan_id) as ehcps_maintained
    from periods
    inner join plans
        on plans.start_date <= periods.reference_date
        and (plans.cease_date is null or plans.cease_date > periods.reference_date)
    group by periods.period_type, periods.period_start, plans.primary_need
),

maintained_total as (
    select period_type, period_start, sum(ehcps_maintained) as ehcps_maintained
    from maintained
    group by period_type, period_start
),

received as (
    select
        periods.period_type,
        periods.period_start,
        count(requests.request_id) as requests_received
    from periods
    inner join requests
        on requests.received_date between periods.period_start and least(periods.period_end, periods.data_as_at)
    where periods.period_type in ('Month', 'Calendar year')
    group by periods.period_type, periods.period_start
),

grid as (
    select
        periods.*,
        needs.primary_need,
        needs.primary_need_label,
        needs.display_order
    from periods
    cross join needs
),

counted as (
    select
        grid.*,
        coalesce(
            case when grid.primary_need = 'Total' then maintained_total.ehcps_maintained
                else maintained.ehcps_maintained end,
            0
        ) as ehcps_maintained,
        coalesce(maintained_total.ehcps_maintained, 0) as ehcps_maintained_all_needs,
        case
            when grid.primary_need = 'Total' and grid.period_type in ('Month', 'Calendar year')
                then coalesce(received.requests_received, 0)
        end as requests_received
    from grid
    left join maintained
        on maintained.period_type = grid.period_type
        and maintained.period_start = grid.period_start
        and maintained.primary_need = grid.primary_need
    left join maintained_total
        on maintained_total.period_type = grid.period_type
        and maintained_total.period_start = grid.period_start
    left join received
        on received.period_type = grid.period_type
        and received.period_start = grid.period_start
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    counted.period_type,
    counted.time_period,
    counted.time_identifier,
    counted.period_start,
    counted.period_end,
    counted.reference_date,
    counted.is_complete_period,
    counted.primary_need,
    counted.primary_need_label,
    counted.display_order,
    cast(counted.ehcps_maintained as integer) as ehcps_maintained,
    100.0 * counted.ehcps_maintained / nullif(counted.ehcps_maintained_all_needs, 0) as ehcps_maintained_pct,
    cast(counted.requests_received as integer) as requests_received
from counted
cross join {{ ref('int_home_la_geography') }} as home_la
order by counted.period_type, counted.period_start, counted.display_order
