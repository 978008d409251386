"""Regularized optimization of an input for a unit: objectives, parametrizations, regularizers, the job."""
