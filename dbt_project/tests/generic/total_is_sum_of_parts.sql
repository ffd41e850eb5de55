{% test total_is_sum_of_parts(model, group_by, part_column, columns, total_value='Total') %}
{#- A mart's Total rows hold the sum of its other rows: for each group (`group_by`), the row whose `part_column` is
    `total_value` against the sum of the rows whose `part_column` is anything else, for every column of `columns`.
    Returns one row per group and column that does not add up (a group without its Total row too). -#}
with sums as (
    select
        {{ group_by | join(', ') }},
        count(*) filter (where {{ part_column }} = '{{ total_value }}') as total_rows
        {%- for column in columns %},
        sum({{ column }}) filter (where {{ part_column }} = '{{ total_value }}') as total_{{ loop.index }},
        sum({{ column }}) filter (where {{ part_column }} <> '{{ total_value }}') as parts_{{ loop.index }}
        {%- endfor %}
    from {{ model }}
    group by {{ group_by | join(', ') }}
)
{%- for column in columns %}
select {{ group_by | join(', ') }}, '{{ column }}' as column_name, total_{{ loop.index }} as total,
    parts_{{ loop.index }} as sum_of_parts
from sums
where total_rows <> 1 or total_{{ loop.index }} is distinct from coalesce(parts_{{ loop.index }}, 0)
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
