"""Errors raised by the core.  Every validation failure names the field and the reason."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Invalid input: ``field`` names what was wrong, ``reason`` says why.

    ``str(err)`` is a one-line message ``"<field>: <reason>"`` suitable for a CLI or an API.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
