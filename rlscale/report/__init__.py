"""Reports across runs: learning curves grouped over seeds."""
