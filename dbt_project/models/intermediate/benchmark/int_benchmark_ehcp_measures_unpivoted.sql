-- The benchmark measures of the DfE EHC plans release 2025 in one long table: one row per published row x measure,
-- every geography (National, Regional, Local authority), only the all-children total of each file (in a full
-- published file the breakdown rows by age, sex, ... are left out). Values come straight from staging: a symbol
-- (x, z, c, low, u) stays a symbol in value_symbol with a NULL value, never 0. A share measure carries the count
-- it is a share of (denominator); the percentage itself is computed in the mart, never copied from DfE.
{%- set measures = [
    {'file': 'caseload', 'total': 'All EHC plans', 'measure': 'ehcplans',
     'label': 'EHC plans maintained in January', 'denominator': none},
    {'file': 'requests', 'total': 'All requests for EHC needs assessments', 'measure': 'requests_received_in_year',
     'label': 'Requests for an EHC needs assessment received in the calendar year', 'denominator': none},
    {'file': 'newplans', 'total': 'New EHC plans', 'measure': 'new_ehc_plans',
     'label': 'New EHC plans made in the calendar year', 'denominator': none},
    {'file': 'timeliness_20_week', 'total': 'All EHC plans issued', 'measure': 'plans_issued_den',
     'label': 'EHC plans issued in the calendar year, including exceptions', 'denominator': none},
    {'file': 'timeliness_20_week', 'total': 'All EHC plans issued', 'measure': 'plans_issued_within_20_weeks',
     'label': 'EHC plans issued within 20 weeks, including exceptions', 'denominator': 'plans_issued_den'},
    {'file': 'timeliness_20_week', 'total': 'All EHC plans issued', 'measure': 'plans_issued_den_ex',
     'label': 'EHC plans issued in the calendar year, excluding exceptions', 'denominator': none},
    {'file': 'timeliness_20_week', 'total': 'All EHC plans issued', 'measure': 'plans_issued_20_weeks_ex',
     'label': 'EHC plans issued within 20 weeks, excluding exceptions', 'denominator': 'plans_issued_den_ex'},
] %}
{%- for m in measures %}
{%- if not loop.first %}
union all
{%- endif %}
select
    '{{ m.file }}' as dfe_file,
    '{{ m.measure }}' as measure,
    '{{ m.label }}' as measure_label,
    time_period,
    time_identifier,
    geographic_level,
    country_code,
    country_name,
    region_code,
    region_name,
    new_la_code,
    old_la_code,
    la_name,
    is_home_la,
    breakdown_topic,
    breakdown,
    {{ m.measure }} as value,
    {{ m.measure }}_symbol as value_symbol,
    {%- if m.denominator %}
    '{{ m.denominator }}' as denominator_measure,
    {{ m.denominator }} as denominator,
    {{ m.denominator }}_symbol as denominator_symbol
    {%- else %}
    cast(null as varchar) as denominator_measure,
    cast(null as bigint) as denominator,
    cast(null as varchar) as denominator_symbol
    {%- endif %}
from {{ ref('stg_dfe__ehcp_' ~ m.file) }}
where breakdown_topic = '{{ m.total }}' and breakdown = '{{ m.total }}'
{%- endfor %}
