-- DfE "Education, health and care plans" 2025, requests.csv: rename, cast, recode only.
-- Every measure is TRY_CAST to a number (counts bigint, percentages double) beside <measure>_symbol, the EES symbol
-- published in its place (x unavailable, z not applicable, c suppressed, low rounds to zero, u low reliability):
-- a symbol gives a NULL value and the symbol, never 0. The home LA comes from var('la_code'), never a literal.
{%- set measures = [
    ('requests_received_in_year', 'count'),
    ('requests_rya', 'count'),
    ('requests_decided_to_assess', 'count'),
    ('requests_decided_not_to_assess', 'count'),
    ('requests_decision_not_made', 'count'),
    ('requests_withdrawn', 'count'),
    ('request_assess_pc', 'percentage'),
    ('request_not_assess_pc', 'percentage'),
    ('request_outstanding_pc', 'percentage'),
    ('request_withdrawn_pc', 'percentage'),
    ('request_outcome_six_weeks', 'count'),
    ('request_outcome_over_6_weeks', 'count'),
    ('request_outcome_six_weeks_pc', 'percentage'),
    ('request_outcome_over_6_weeks_pc', 'percentage'),
    ('mediation_related_request', 'count'),
    ('tribunal_related_request', 'count'),
    ('tribunal_after_mediation_request', 'count'),
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
from {{ source('dfe', 'dfe_ehcp_requests') }}
