-- DfE "Education, health and care plans" 2025, newplans.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql; the measures this file shares with another: macros/dfe_measures.sql.
{%- set measures = [('new_ehc_plans', 'count')] + dfe_placement_measures() %}
{{ dfe_staging('dfe_ehcp_newplans', measures) }}
