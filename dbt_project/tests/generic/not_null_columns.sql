{% test not_null_columns(model, columns) %}
{#- The NOT NULL rule of several columns of one model in one scan: one dbt test node and one Dagster asset check per
    model instead of one per column (a dbt test node costs ~40 ms whatever it scans; a scan per column re-reads
    the table). Returns one row per column that has NULLs - the column and how many rows - so the failure count
    is the number of failing columns and the failing rows name them (`dbt show`, or the test's compiled SQL). -#}
with null_rows_by_column as (
    select
    {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column in columns %}
select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows
from null_rows_by_column
where null_rows_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
