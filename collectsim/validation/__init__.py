"""Independent checks of the simulator: oracles that share no code with what they check.

* :mod:`collectsim.validation.reference` — the per-agent reference model: one Mesa agent
  per borrower and per collector, plain Python, its own random generator and its own KPIs;
  the engine must agree with it in distribution.
* :mod:`collectsim.validation.cgw` — the published model of Chehrazi, Glynn & Weber (2019)
  solved independently (Riccati ODEs, an exact backward recursion for the daily scheme).
* :mod:`collectsim.validation.audit` — the contact log re-checked against the law, written
  from the rule texts: its own classification of each channel in law and of what each
  requirement counts; it shares no rule object, channel list or code with the engine and
  does not even read the channel vocabulary (it takes channel names from the log).

They use the scenario (parameters), the vocabulary, the policy objects and the numba
decorator (:mod:`collectsim.kernels`), never the engine (``agents``, ``compliance``,
``model``, ``results``); ``tests/test_architecture.py`` checks it.
"""
