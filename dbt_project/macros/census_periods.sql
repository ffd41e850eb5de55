{#- The DfE period of a census date: time_period (academic year, 202223 for January 2023) and census_term. -#}
{% macro census_time_period(census_date) -%}
    case
        when month({{ census_date }}) >= 9 then year({{ census_date }}) * 100 + (year({{ census_date }}) + 1) % 100
        else (year({{ census_date }}) - 1) * 100 + year({{ census_date }}) % 100
    end
{%- endmacro %}

{% macro census_term(census_date) -%}
    case
        when month({{ census_date }}) in (1, 2) then 'Spring'
        when month({{ census_date }}) in (5, 6) then 'Summer'
        when month({{ census_date }}) in (9, 10, 11) then 'Autumn'
    end
{%- endmacro %}
