"""Clinical rules: calculators, toxicity grading, DLT adjudication, efficacy scores, eligibility.

Every function is pure and returns an :class:`~doseladder.core.clinical.result.Assessment`
that carries the inputs it used, the items that contributed and the reasoning, and is
explicitly *not evaluable* (never silently zero) when required data are missing.
"""
