-- DfE "Education, health and care plans" 2025, timeliness_20_week.csv: rename, cast, recode only.
-- Casting and symbols: macros/dfe_staging.sql.
{%- set measures = [
    ('plans_issued_den', 'count'),
    ('plans_issued_den_ex', 'count'),
    ('plans_issued_within_20_weeks', 'count'),
    ('plans_issued_20_weeks_ex', 'count'),
    ('pc_plans_issued_within_20_weeks', 'percentage'),
    ('pc_plans_issued_20_weeks_ex', 'percentage'),
    ('plans_issued_gt20weeks_ltyear', 'count'),
    ('plans_issued_gt20weeks_ltyear_ex', 'count'),
    ('pc_plans_issued_gt20weeks_ltyear', 'percentage'),
    ('pc_plans_issued_gt20weeks_ltyear_ex', 'percentage'),
    ('plans_issued_gt_1_year', 'count'),
    ('plans_issued_gt_1_year_ex', 'count'),
    ('pc_plans_issued_gt_1_year', 'percentage'),
    ('pc_plans_issued_gt_1_year_ex', 'percentage'),
] %}
{{ dfe_staging('dfe_ehcp_timeliness_20_week', measures) }}
