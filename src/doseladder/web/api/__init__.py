"""The JSON API routers (one module per concept), mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from doseladder.web.api import (
    audit,
    auth,
    decisions,
    exports,
    lymphodepletion,
    opening,
    outcomes,
    patients,
    sites,
    trials,
    users,
)

__all__ = ["api_router"]

api_router = APIRouter()
for _module in (
    auth,
    sites,
    users,
    trials,
    opening,
    patients,
    outcomes,
    lymphodepletion,
    decisions,
    audit,
    exports,
):
    api_router.include_router(_module.router)
