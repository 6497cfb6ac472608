"""doseladder: design, simulate and run early-phase dose-finding trials."""

from __future__ import annotations

__version__ = "0.1.0"
