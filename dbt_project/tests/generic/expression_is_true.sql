{% test expression_is_true(model, expression) %}
{#- Rows for which a SQL condition over one row is not true (false or NULL): each failing row is returned. -#}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
