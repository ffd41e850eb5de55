{#-
  Staging for one data file of a DfE explore-education-statistics release, as published: rename, cast, recode only.
  Every measure is TRY_CAST to a number (counts bigint, percentages double) beside <measure>_symbol, the EES symbol
  published in its place (x unavailable, z not applicable, c suppressed, low rounds to zero, u low reliability): a
  symbol gives a NULL value and the symbol, never 0. The home LA comes from var('la_code'), never a literal.
-#}
{% macro dfe_staging(source_table, measures) %}
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
from {{ source('dfe', source_table) }}
{% endmacro %}
