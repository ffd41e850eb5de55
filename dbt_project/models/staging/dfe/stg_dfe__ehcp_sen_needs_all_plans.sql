-- DfE "Education, health and care plans" 2025, sen_needs_all_plans.csv: rename, cast, recode only.
-- Every measure is TRY_CAST to a number (counts bigint, percentages double) beside <measure>_symbol, the EES symbol
-- published in its place (x unavailable, z not applicable, c suppressed, low rounds to zero, u low reliability):
-- a symbol gives a NULL value and the symbol, never 0. The home LA comes from var('la_code'), never a literal.
{%- set measures = [
    ('ehc_plans', 'count'),
    ('number_asd', 'count'),
    ('number_hi', 'count'),
    ('number_mld', 'count'),
    ('number_msi', 'count'),
    ('number_oth', 'count'),
    ('number_pd', 'count'),
    ('number_pmld', 'count'),
    ('number_semh', 'count'),
    ('number_slcn', 'count'),
    ('number_sld', 'count'),
    ('number_spld', 'count'),
    ('number_vi', 'count'),
    ('number_need_unknown', 'count'),
    ('asd_pc', 'percentage'),
    ('hi_pc', 'percentage'),
    ('mld_pc', 'percentage'),
    ('msi_pc', 'percentage'),
    ('oth_pc', 'percentage'),
    ('pd_pc', 'percentage'),
    ('pmld_pc', 'percentage'),
    ('semh_pc', 'percentage'),
    ('slcn_pc', 'percentage'),
    ('sld_pc', 'percentage'),
    ('spld_pc', 'percentage'),
    ('vi_pc', 'percentage'),
    ('unknown_pc', 'percentage'),
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
from {{ source('dfe', 'dfe_ehcp_sen_needs_all_plans') }}
