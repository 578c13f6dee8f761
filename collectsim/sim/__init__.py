"""The simulation: scenario schema, channels, contact rules, random streams, the Mesa model and its metrics."""
