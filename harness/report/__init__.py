"""Reports: report.html per run, results/index.html, junit.xml, and `harness serve`."""

from .index import write_index
from .junit import write_junit, write_junit_many
from .render import ReportError, write_report
from .serve import make_server, serve

__all__ = ["ReportError", "make_server", "serve", "write_index", "write_junit", "write_junit_many", "write_report"]
