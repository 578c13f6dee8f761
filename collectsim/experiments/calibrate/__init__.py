"""``collectsim calibrate``: fit the simulator to a lender's collections history (docs/data.md).

The parts, data flowing one way (history → estimates → fitted experiment → checks):

- ``state``: the accounts' observable state replayed from the history (DPD and bucket at
  each contact and day), which the other parts condition on;
- ``observed``: the strategy the lender actually ran, as a rule-table policy
  (``observed_policy.toml``);
- ``likelihood``: maximum-likelihood fits of what the contact table identifies (reach,
  right-party contact, opt-outs, complaints) with standard errors;
- ``intensity``: the repayment intensity (level, contacts' impulse, self-excitation,
  relaxation, bankruptcy hazards) by maximum simulated likelihood of the repayment days, in
  the manner of Chehrazi & Weber (2015), the latent traits integrated out;
- ``moments``: simulated moments, the engine run under the observed policy, for what has no
  tractable likelihood (the acceptance of promises and plans);
- ``recovery``: the parameter-recovery study (histories from parameters drawn at random,
  fitted, coverage of the intervals);
- ``statistics``: the history's statistics that a fit is judged by (recovery curve, roll
  rates, contact and RPC rates by channel × hour, promises, complaints, opt-outs), for the
  data and for histories simulated from the fitted experiment, with their bands, and the
  files the fit report reads (``fit_check_<name>.csv``, ``backtest.csv``);
- ``backtest``: the history cut at a day, fitted on the first part, the held-out days
  simulated and compared with prediction bands;
- ``calibrate``: the job that writes ``experiment.toml``, ``fit.json``,
  ``observed_policy.toml`` and the fit report.
"""
