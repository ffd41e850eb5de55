-- DfE "Education, health and care plans" 2025, caseload.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql; the measures this file shares with another: macros/dfe_measures.sql.
{%- set measures = [('ehcplans', 'count')] + dfe_placement_measures() %}
{{ dfe_staging('dfe_ehcp_caseload', measures) }}
