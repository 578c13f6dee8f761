"""Independent checks of the simulator against published models.

The modules here never import the simulator: they re-derive the quantities a model
predicts (closed forms, ODEs, dynamic programmes) so that the simulator's output can be
compared with them. :mod:`collectsim.validation.cgw` covers the no-action account value
of Chehrazi, Glynn & Weber (2019).
"""
