-- DfE "Education, health and care plans" 2025, caseload.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql; the file's measures: macros/dfe_measures.sql.
{{ dfe_staging('dfe_ehcp_caseload', dfe_measures('caseload')) }}
