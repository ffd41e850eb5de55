-- DfE "Education, health and care plans" 2025, sen_need_newplans.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql; the measures this file shares with another: macros/dfe_measures.sql.
{%- set measures = [('ehc_plans', 'count')] + dfe_need_measures() %}
{{ dfe_staging('dfe_ehcp_sen_need_newplans', measures) }}
