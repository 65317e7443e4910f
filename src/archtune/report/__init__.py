"""Results people can see: the HTML report, model export, JSON views, optuna-dashboard.

Nothing here imports plotly, torch or optuna-dashboard until it is used.
"""

from archtune.report._build import build_report, write_report
from archtune.report._inline import HTMLReport
from archtune.report._summary import Summary, pick_trial, summarize

__all__ = ["HTMLReport", "Summary", "build_report", "pick_trial", "summarize", "write_report"]
