"""Reports: tables, plots and files made from results (the last step of the data flow)."""
