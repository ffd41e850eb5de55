{% test expression_is_true(model, expression) %}
{#- Rows for which a SQL condition over one row is not true (false or NULL): each failing row is returned. Each use
    declares in `config: meta: breaking_row` a change of one row that breaks it ({column: SQL over the row}), with
    which tests/test_dbt_checks.py shows the test can fail. -#}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
