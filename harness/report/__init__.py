"""Reports: report.html per run, results/index.html, junit.xml, and `harness serve`."""

from .render import ReportError, write_report

__all__ = ["ReportError", "write_report"]
