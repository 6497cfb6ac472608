"""Service layer: one module per concept.

* :mod:`.trials` -- trials, protocol versions/amendments, status, participating sites;
* :mod:`.sites_users` -- sites, users, passwords, login and API tokens;
* :mod:`.patients` -- registration, screening, enrolment, infusion, corrections;
* :mod:`.outcomes` -- adverse events, efficacy assessments, DLT adjudications;
* :mod:`.decisions` -- recommendations, recorded decisions, overrides, sign-offs, replay;
* :mod:`.exports` -- CSV of every table, Dataset-JSON DM/EX/AE.

Conventions: ``fn(session, actor, ...)``; the permission is checked first; keyword-only
arguments; nothing is committed (the caller's transaction commits the change with its audit
records, or nothing at all); errors are :mod:`doseladder.conduct.errors` exceptions.
"""
