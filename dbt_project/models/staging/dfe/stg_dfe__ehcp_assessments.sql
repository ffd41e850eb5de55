-- DfE "Education, health and care plans" 2025, assessments.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql.
{%- set measures = [
    ('assess_in_year', 'count'),
    ('assess_issued', 'count'),
    ('assess_issued_pc', 'percentage'),
    ('assess_not_issued', 'count'),
    ('assess_not_issued_pc', 'percentage'),
    ('assess_not_made', 'count'),
    ('assess_not_made_pc', 'percentage'),
    ('assess_withdrawn', 'count'),
    ('assess_withdrawn_pc', 'percentage'),
    ('outcome_decision_within_time', 'count'),
    ('outcome_decision_over_time', 'count'),
    ('outcome_decision_within_time_pc', 'percentage'),
    ('outcome_decision_over_time_pc', 'percentage'),
    ('number_assess_mediation', 'count'),
    ('number_assess_tribunal', 'count'),
    ('number_asssess_mediation_tribunal', 'count'),
    ('number_other_mediation', 'count'),
    ('number_other_tribunal', 'count'),
    ('number_other_mediation_tribunal', 'count'),
] %}
{{ dfe_staging('dfe_ehcp_assessments', measures) }}
