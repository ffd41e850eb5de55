-- DfE "Education, health and care plans" 2025, assessments.csv: rename, cast, recode only.
-- Every measure is TRY_CAST to a number (counts bigint, percentages double) beside <measure>_symbol, the EES symbol
-- published in its place (x unavailable, z not applicable, c suppressed, low rounds to zero, u low reliability):
-- a symbol gives a NULL value and the symbol, never 0. The home LA comes from var('la_code'), never a literal.
{%- set measures = [
    ('assess_in_year', 'count'),
    ('assess_issued', 'count'),
    ('assess_issued_pc', 'percentage'),
    ('assess_not_issued', 'count'),
    ('assess_not_issued_pc', 'percentage'),
    ('assess_not_made', 'count'),
    ('assess_not_made_pc', 'percentage'),
    ('assess_withdrawn', 'count'),
    ('assess_withdrawn_pc', 'percentage'),
    ('outcome_decision_within_time', 'count'),
    ('outcome_decision_over_time', 'count'),
    ('outcome_decision_within_time_pc', 'percentage'),
    ('outcome_decision_over_time_pc', 'percentage'),
    ('number_assess_mediation', 'count'),
    ('number_assess_tribunal', 'count'),
    ('number_asssess_mediation_tribunal', 'count'),
    ('number_other_mediation', 'count'),
    ('number_other_tribunal', 'count'),
    ('number_other_mediation_tribunal', 'count'),
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
from {{ source('dfe', 'dfe_ehcp_assessments') }}
