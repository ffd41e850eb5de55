{#-
  The measure columns of each data file of DfE's EHC plans release (2025), in the file's order, as (column, kind):
  kind 'count' (a whole number, summed from LAs to regions and England) or 'percentage' (a ratio, never summed).
  dfe_staging casts them (models/staging/dfe); int_dfe_ehcp_aggregates_reconciled sums the counts.
  caseload.csv and newplans.csv share the placement types; the two need files share the primary needs.
-#}
{% macro dfe_measures(dfe_file) %}
    {%- set placements = [
        ('mainstream_la_maintained', 'count'),
        ('mainstream_la_maintained_resourced_provision', 'count'),
        ('mainstream_la_maintained_senunit', 'count'),
        ('mainstream_academy', 'count'),
        ('mainstream_academy_resourced_provision', 'count'),
        ('mainstream_academy_senunit', 'count'),
        ('mainstream_free_school', 'count'),
        ('mainstream_free_school_resourced_provision', 'count'),
        ('mainstream_free_school_senunit', 'count'),
        ('mainstream_independent', 'count'),
        ('mainstream_total', 'count'),
        ('mainstream_total_pc', 'percentage'),
        ('special_la_maintained', 'count'),
        ('special_academy_free', 'count'),
        ('special_independent', 'count'),
        ('special_non_maintained', 'count'),
        ('special_total', 'count'),
        ('special_total_pc', 'percentage'),
        ('ap_pru_academy', 'count'),
        ('ap_pru_free_school', 'count'),
        ('ap_pru_la_maintained', 'count'),
        ('ap_pru_total', 'count'),
        ('ap_pru_total_pc', 'percentage'),
        ('general_fe_tertiary_colleges', 'count'),
        ('specialist_post_16_institutions', 'count'),
        ('ukrlp_provider', 'count'),
        ('fe_total', 'count'),
        ('fe_total_pc', 'percentage'),
        ('elective_home_education', 'count'),
        ('other_arrangements_la', 'count'),
        ('other_arrangements_parents', 'count'),
        ('online_provider', 'count'),
        ('w_settings', 'count'),
        ('other_schools', 'count'),
        ('other_placement_settings', 'count'),
        ('neet', 'count'),
        ('neet_ntci', 'count'),
        ('neet_other', 'count'),
        ('neet_other_csa', 'count'),
        ('ed_elsewhere', 'count'),
        ('ed_elsewhere_pc', 'percentage'),
        ('nm_early_years', 'count'),
        ('nm_early_years_pc', 'percentage'),
        ('placement_unknown', 'count'),
        ('placement_unknown_pc', 'percentage'),
        ('await_prov_2022', 'count'),
        ('perm_ex_2022', 'count')
    ] -%}
    {%- set needs = [
        ('number_asd', 'count'),
        ('number_hi', 'count'),
        ('number_mld', 'count'),
        ('number_msi', 'count'),
        ('number_oth', 'count'),
        ('number_pd', 'count'),
        ('number_pmld', 'count'),
        ('number_semh', 'count'),
        ('number_slcn', 'count'),
        ('number_sld', 'count'),
        ('number_spld', 'count'),
        ('number_vi', 'count'),
        ('number_need_unknown', 'count'),
        ('asd_pc', 'percentage'),
        ('hi_pc', 'percentage'),
        ('mld_pc', 'percentage'),
        ('msi_pc', 'percentage'),
        ('oth_pc', 'percentage'),
        ('pd_pc', 'percentage'),
        ('pmld_pc', 'percentage'),
        ('semh_pc', 'percentage'),
        ('slcn_pc', 'percentage'),
        ('sld_pc', 'percentage'),
        ('spld_pc', 'percentage'),
        ('vi_pc', 'percentage'),
        ('unknown_pc', 'percentage')
    ] -%}
    {%- set measures = {
        'caseload': [('ehcplans', 'count')] + placements,
        'newplans': [('new_ehc_plans', 'count')] + placements,
        'sen_needs_all_plans': [('ehc_plans', 'count')] + needs,
        'sen_need_newplans': [('ehc_plans', 'count')] + needs,
        'requests': [
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
            ('tribunal_after_mediation_request', 'count')
        ],
        'assessments': [
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
            ('number_other_mediation_tribunal', 'count')
        ],
        'timeliness_20_week': [
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
            ('pc_plans_issued_gt_1_year_ex', 'percentage')
        ],
    } -%}
    {{ return(measures[dfe_file]) }}
{% endmacro %}

{#- The count measures of one file (dfe_measures without the percentages), in the file's order. -#}
{% macro dfe_count_measures(dfe_file) %}
    {%- set counts = [] -%}
    {%- for measure, kind in dfe_measures(dfe_file) if kind == 'count' -%}
        {%- do counts.append(measure) -%}
    {%- endfor -%}
    {{ return(counts) }}
{% endmacro %}
