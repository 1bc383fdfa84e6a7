"""Helpers of amlemu's sweep parents that need a Python library (Bayesian sampling)."""
