-- DfE "Education, health and care plans" 2025, sen_needs_all_plans.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql; the file's measures: macros/dfe_measures.sql.
{{ dfe_staging('dfe_ehcp_sen_needs_all_plans', dfe_measures('sen_needs_all_plans')) }}
