"""Reports: what a result folder says to a manager.

``build.py`` (:func:`build_report`: ``report.html`` and ``report.md`` of any result
folder), ``pages/`` (one page builder per folder kind), ``page.py`` (the page model and its
HTML/Markdown renderers), ``format.py`` (numbers as a manager reads them, shared with the
command line), ``common.py`` and ``plots/`` (the figures of each folder kind).
"""

from collectsim.reports.build import build_report, folder_kind
from collectsim.reports.format import format_diff, format_interval, format_number, format_p, format_value
from collectsim.reports.page import Page
from collectsim.reports.pages.compare import headline_sentences

__all__ = [
    "build_report", "folder_kind", "headline_sentences", "format_value", "format_diff", "format_number",
    "format_interval", "format_p", "Page",
]
