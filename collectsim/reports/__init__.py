"""Reports: what a result folder says to a manager.

``build.py`` (:func:`build_report`: ``report.html`` and ``report.md`` of any result
folder), ``pages/`` (one page builder per folder kind), ``page.py`` (the page model and its
HTML/Markdown renderers), ``format.py`` (numbers as a manager reads them, shared with the
command line), ``common.py`` and ``plots/`` (the figures of each folder kind).
"""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "build_report": "collectsim.reports.build",
    "folder_kind": "collectsim.reports.build",
    "headline_sentences": "collectsim.reports.pages.compare",
    "contrast_sentences": "collectsim.reports.pages.compare",
    "shape_sentences": "collectsim.reports.pages.sweep",
    "format_value": "collectsim.reports.format",
    "format_diff": "collectsim.reports.format",
    "format_number": "collectsim.reports.format",
    "format_interval": "collectsim.reports.format",
    "format_p": "collectsim.reports.format",
    "Page": "collectsim.reports.page",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
