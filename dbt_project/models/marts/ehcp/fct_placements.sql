-- Needs assessment 6.4-6.5: children and young people by where they are placed on each extract date - setting
-- type, in or out of county, age group - counting distinct children whose placement is open on the extract date
-- (is_current), separately for those with and without an EHC plan. Post-16 destinations are the 16-25 rows,
-- grouped by post16_destination. Costs are exact decimals (never float); a placement without a recorded cost adds
-- nothing to annual_cost_gbp and is counted in placements_without_cost. Percentages from the counts, unrounded.
with current_placements as (
    select
        *,
        case
            when age_at_extract < 16 then '0-15'
            when age_at_extract <= 25 then '16-25'
            else 'over 25'
        end as age_group
    from {{ ref('stg_placements__placements') }}
    where is_current
),

children_on_date as (
    select extract_date, has_ehcp, count(distinct person_id) as children_all_settings
    from current_placements
    group by extract_date, has_ehcp
),

cells as (
    select
        extract_date,
        has_ehcp,
        setting_type,
        setting_group,
        in_county,
        age_group,
        count(distinct person_id) as children,
        count(*) as placements,
        sum(annual_cost_gbp) as annual_cost_gbp,
        sum(case when annual_cost_gbp is null then 1 else 0 end) as placements_without_cost
    from current_placements
    group by extract_date, has_ehcp, setting_type, setting_group, in_county, age_group
)

select
    home_la.new_la_code,
    home_la.old_la_code,
    home_la.la_name,
    cells.extract_date,
    cells.has_ehcp,
    cells.setting_type,
    cells.setting_group,
    cells.in_county,
    cells.age_group,
    case
        when cells.age_group <> '16-25' then null
        when cells.setting_group in ('college', 'alternative_provision') then 'college_or_alternative_provision'
        when cells.setting_group in ('apprenticeship', 'residential') then 'apprenticeship_or_residential'
        else 'other'
    end as post16_destination,
    cast(cells.children as integer) as children,
    cast(cells.placements as integer) as placements,
    cast(children_on_date.children_all_settings as integer) as children_all_settings,
    100.0 * cells.children / children_on_date.children_all_settings as pct_of_children,
    cast(cells.annual_cost_gbp as decimal(18, 2)) as annual_cost_gbp,
    cast(cells.placements_without_cost as integer) as placements_without_cost
from cells
inner join children_on_date
    on children_on_date.extract_date = cells.extract_date
    and children_on_date.has_ehcp = cells.has_ehcp
cross join {{ ref('int_home_la_geography') }} as home_la
order by cells.extract_date, cells.has_ehcp desc, cells.setting_group, cells.setting_type, cells.in_county desc,
    cells.age_group
