"""Agents: the borrower population (a struct of arrays in one Mesa agent) and the collectors."""
