-- DfE "Education, health and care plans" 2025, requests.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql.
{%- set measures = [
    ('requests_received_in_year', 'count'),
    ('requests_rya', 'count'),
    ('requests_decided_to_assess', 'count'),
    ('requests_decided_not_to_assess', 'count'),
    ('requests_decision_not_made', 'count'),
    ('requests_withdrawn', 'count'),
    ('request_assess_pc', 'percentage'),
    ('request_not_assess_pc', 'percentage'),
    ('request_outstanding_pc', 'percentage'),
    ('request_withdrawn_pc', 'percentage'),
    ('request_outcome_six_weeks', 'count'),
    ('request_outcome_over_6_weeks', 'count'),
    ('request_outcome_six_weeks_pc', 'percentage'),
    ('request_outcome_over_6_weeks_pc', 'percentage'),
    ('mediation_related_request', 'count'),
    ('tribunal_related_request', 'count'),
    ('tribunal_after_mediation_request', 'count'),
] %}
{{ dfe_staging('dfe_ehcp_requests', measures) }}
