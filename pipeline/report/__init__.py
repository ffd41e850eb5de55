"""The needs-assessment report, regenerated from the published release (issue 7).

`build_report(published)` reads only `<published>/send_reporting.duckdb` and writes `<published>/report/index.html`
into the live release folder; `pipeline.report.asset.send_report` is its Dagster asset (published/report).
"""

from pipeline.report.build import REPORT_DIR, REPORT_FILE, BuiltReport, ReportError, build_release_report, build_report
from pipeline.report.narrative import ReportDataError

__all__ = [
    "REPORT_DIR",
    "REPORT_FILE",
    "BuiltReport",
    "ReportDataError",
    "ReportError",
    "build_release_report",
    "build_report",
]
