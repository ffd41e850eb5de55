"""The needs-assessment report, regenerated from the published release (issue 7).

`build_report(published)` reads only `<published>/send_reporting.duckdb` and writes `<published>/report/index.html`
into the release folder; `pipeline.release.publish_release` builds it inside each new release before the release is
swapped in (Dagster asset published/report); `send-pipeline report` rebuilds the live release's.

The names below are imported on first use (PEP 562): importing pipeline.release for the Dagster definitions does
not import the report's modules (Altair), which a run imports in the background while dbt works.
"""

import importlib

_EXPORTS = {
    "REPORT_DIR": "pipeline.report.build",
    "REPORT_FILE": "pipeline.report.build",
    "BuiltReport": "pipeline.report.build",
    "ReportError": "pipeline.report.build",
    "build_release_report": "pipeline.report.build",
    "build_report": "pipeline.report.build",
    "ReportDataError": "pipeline.report.facts",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
