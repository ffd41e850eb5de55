"""English local authority codes, ONS GSS (``E06000017``) and DfE old 3-digit (``857``): the lookup both ways and
the SQL macros the sources whose files may use either form share (population, deprivation).

``send_old_la_code(code)``: the 3-digit code as given (NULL when it is not an English local authority), or the one a
GSS code maps to (NULL for an area that is not a DfE local authority: a district, a region, England).
``send_new_la_code(code)``: the GSS code as given (upper case), or the current GSS code of a 3-digit code.
Pure: SQL text.
"""

from pipeline.ingest import Rule, matches, required, sql_list

# ONS GSS code -> DfE old (3-digit) LA code of every English upper-tier local authority since 2009 (source: the
# DfE "LA name and codes" list, as used by explore-education-statistics). A trailing * marks a GSS code retired
# by a reorganisation or recoding: it still maps to its old code, but a 3-digit code maps to the live GSS code.
# Not derived from the dbt seed la_geography.csv: the seed has one row per DfE authority with the GSS code of DfE's
# latest period, which is not always the live one (815 North Yorkshire is E10000023 there, E06000065 here), and lacks
# GSS codes an ONS file may carry (E06000065, E08000038, ...) and the retired 820 and 875. A test checks that this
# table maps every seed row's GSS code to the seed's old code (tests/test_marts_census.py).
_LA_CODE_TABLE = """
E06000001 805  E06000002 806  E06000003 807  E06000004 808  E06000005 841  E06000006 876  E06000007 877
E06000008 889  E06000009 890  E06000010 810  E06000011 811  E06000012 812  E06000013 813  E06000014 816
E06000015 831  E06000016 856  E06000017 857  E06000018 892  E06000019 884  E06000020 894  E06000021 861
E06000022 800  E06000023 801  E06000024 802  E06000025 803  E06000026 879  E06000027 880  E06000028 837*
E06000029 836* E06000030 866  E06000031 874  E06000032 821  E06000033 882  E06000034 883  E06000035 887
E06000036 867  E06000037 869  E06000038 870  E06000039 871  E06000040 868  E06000041 872  E06000042 826
E06000043 846  E06000044 851  E06000045 852  E06000046 921  E06000047 840  E06000048 929* E06000049 895
E06000050 896  E06000051 893  E06000052 908  E06000053 420  E06000054 865  E06000055 822  E06000056 823
E06000057 929  E06000058 839  E06000059 838  E06000060 825  E06000061 940  E06000062 941  E06000063 942
E06000064 943  E06000065 815  E06000066 933
E08000001 350  E08000002 351  E08000003 352  E08000004 353  E08000005 354  E08000006 355  E08000007 356
E08000008 357  E08000009 358  E08000010 359  E08000011 340  E08000012 341  E08000013 342  E08000014 343
E08000015 344  E08000016 370* E08000017 371  E08000018 372  E08000019 373* E08000020 390* E08000021 391
E08000022 392  E08000023 393  E08000024 394  E08000025 330  E08000026 331  E08000027 332  E08000028 333
E08000029 334  E08000030 335  E08000031 336  E08000032 380  E08000033 381  E08000034 382  E08000035 383
E08000036 384  E08000037 390  E08000038 370  E08000039 373
E09000001 201  E09000002 301  E09000003 302  E09000004 303  E09000005 304  E09000006 305  E09000007 202
E09000008 306  E09000009 307  E09000010 308  E09000011 203  E09000012 204  E09000013 205  E09000014 309
E09000015 310  E09000016 311  E09000017 312  E09000018 313  E09000019 206  E09000020 207  E09000021 314
E09000022 208  E09000023 209  E09000024 315  E09000025 316  E09000026 317  E09000027 318  E09000028 210
E09000029 319  E09000030 211  E09000031 320  E09000032 212  E09000033 213
E10000001 820* E10000002 825* E10000003 873  E10000004 875* E10000006 909* E10000007 830  E10000008 878
E10000009 835* E10000011 845  E10000012 881  E10000013 916  E10000014 850  E10000015 919  E10000016 886
E10000017 888  E10000018 855  E10000019 925  E10000020 926  E10000021 928* E10000023 815* E10000024 891
E10000025 931  E10000027 933* E10000028 860  E10000029 935  E10000030 936  E10000031 937  E10000032 938
E10000034 885
"""


def _parse_la_codes(table: str) -> tuple[dict[str, str], dict[str, str]]:
    tokens = table.split()
    new_to_old: dict[str, str] = {}
    old_to_new: dict[str, str] = {}
    for new_code, old in zip(tokens[::2], tokens[1::2], strict=True):
        retired = old.endswith("*")
        old_code = old.rstrip("*")
        new_to_old[new_code] = old_code
        if not retired:
            old_to_new[old_code] = new_code
    for old_code in set(new_to_old.values()) - set(old_to_new):  # retired authorities with no successor code
        old_to_new[old_code] = max(n for n, o in new_to_old.items() if o == old_code)
    return new_to_old, old_to_new


NEW_TO_OLD_LA_CODE, OLD_TO_NEW_LA_CODE = _parse_la_codes(_LA_CODE_TABLE)

GSS_CODE_REGEX = "[EWSN][0-9]{8}"
OLD_LA_CODE_REGEX = "[0-9]{3}"


def _case_sql(expression: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {sql_list([k])} THEN {sql_list([v])}" for k, v in sorted(mapping.items()))
    return f"CASE {expression} {whens} END"


LA_CODE_MACROS = f"""
CREATE OR REPLACE TEMP MACRO send_old_la_code(code) AS CASE
    WHEN regexp_full_match(upper(code), '{OLD_LA_CODE_REGEX}')
        THEN CASE WHEN code IN ({sql_list(sorted(OLD_TO_NEW_LA_CODE))}) THEN code END
    ELSE {_case_sql("upper(code)", NEW_TO_OLD_LA_CODE)}
END;
CREATE OR REPLACE TEMP MACRO send_new_la_code(code) AS CASE
    WHEN regexp_full_match(upper(code), '{OLD_LA_CODE_REGEX}') THEN {_case_sql("code", OLD_TO_NEW_LA_CODE)}
    WHEN regexp_full_match(upper(code), '{GSS_CODE_REGEX}') THEN upper(code)
END;
"""


def la_key_sql(column: str = "la_code") -> str:
    """SQL of the authority a code names, however it is written (857 and E06000017 are one): its 3-digit code, or
    its GSS code when it has none (a key for a row repeated in a file)."""
    return f"coalesce(send_old_la_code({column}), send_new_la_code({column}))"


def la_code_rules(column: str = "la_code") -> tuple[Rule, ...]:
    """An area code column as population and deprivation files give it: required, a GSS or a 3-digit code, and a
    3-digit code an English local authority's (LA_CODE_MACROS must be loaded)."""
    return (
        required(column),
        matches(column, f"{GSS_CODE_REGEX}|{OLD_LA_CODE_REGEX}", f"{column}_not_ons_or_dfe_code"),
        Rule(column, f"old_{column}_unknown",
             f"regexp_full_match({column}, '{OLD_LA_CODE_REGEX}') AND send_old_la_code({column}) IS NULL"),
    )  # fmt: skip
