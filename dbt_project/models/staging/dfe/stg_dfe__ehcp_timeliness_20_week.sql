-- DfE "Education, health and care plans" 2025, timeliness_20_week.csv: rename, cast, recode only.
-- Every measure is TRY_CAST to a number (counts bigint, percentages double) beside <measure>_symbol, the EES symbol
-- published in its place (x unavailable, z not applicable, c suppressed, low rounds to zero, u low reliability):
-- a symbol gives a NULL value and the symbol, never 0. The home LA comes from var('la_code'), never a literal.
{%- set measures = [
    ('plans_issued_den', 'count'),
    ('plans_issued_den_ex', 'count'),
    ('plans_issued_within_20_weeks', 'count'),
    ('plans_issued_20_weeks_ex', 'count'),
    ('pc_plans_issued_within_20_weeks', 'percentage'),
    ('pc_plans_issued_20_weeks_ex', 'percentage'),
    ('plans_issued_gt20weeks_ltyear', 'count'),
    ('plans_issued_gt20weeks_ltyear_ex', 'count'),
    ('pc_plans_issued_gt20weeks_ltyear', 'percentage'),
    ('pc_plans_issued_gt20weeks_ltyear_ex', 'percentage'),
    ('plans_issued_gt_1_year', 'count'),
    ('plans_issued_gt_1_year_ex', 'count'),
    ('pc_plans_issued_gt_1_year', 'percentage'),
    ('pc_plans_issued_gt_1_year_ex', 'percentage'),
] %}
select
    cast(time_period as integer) as time_period,
    time_identifier,
    geographic_level,
    country_code,
    country_name,
    region_code,
    region_name,
    new_la_code,
    old_la_code,
    la_name,
    coalesce(old_la_code = '{{ var("la_code") }}', false) as is_home_la,
    breakdown_topic,
    breakdown,
    {%- for measure, kind in measures %}
    try_cast({{ measure }} as {{ 'bigint' if kind == 'count' else 'double' }}) as {{ measure }},
    case when {{ measure }} in ('x', 'z', 'c', 'low', 'u') then {{ measure }} end as {{ measure }}_symbol,
    {%- endfor %}
    source_file,
    source_row
from {{ source('dfe', 'dfe_ehcp_timeliness_20_week') }}
