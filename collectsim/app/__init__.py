"""The interactive app (``collectsim app``): a Solara page where a manager compares strategies.

``inputs.py`` (the ready and uploaded files, the headline levers, the checked
:class:`~collectsim.app.inputs.RunSpec`), ``runner.py`` (the live lockstep run and the
replications, off the page's thread), ``page.py`` (the Solara page), ``server.py`` (the
server ``collectsim app`` starts), ``config.py`` (the server's settings). See ``docs/app.md``.

Importing this package loads neither Solara nor the model: :func:`serve` is imported on
first use.
"""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "serve": "collectsim.app.server",
    "Lockstep": "collectsim.app.runner",
    "Job": "collectsim.app.runner",
    "Levers": "collectsim.app.inputs",
    "build_spec": "collectsim.app.inputs",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
