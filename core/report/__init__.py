"""`restorefw report`: one self-contained HTML page for a run or bench folder, viewable offline."""

from restorefw.report.render import REPORT_NAME, write_report

__all__ = ["REPORT_NAME", "write_report"]
