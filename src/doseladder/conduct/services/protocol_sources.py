"""Where a trial's protocol comes from: a protocol shipped with doseladder, or an uploaded file.

Both give ``(mapping, text, file name)`` for :func:`doseladder.conduct.services.trials.
create_trial` / ``amend_protocol``, which validate the mapping with the protocol loader (errors
name the dotted path of the bad key, e.g. ``protocol.doses[2].label``) and keep the text
verbatim.
"""

from __future__ import annotations

from typing import Any

import yaml

from doseladder.conduct.errors import ValidationError
from doseladder.protocols import list_protocols, shipped_path

__all__ = ["MAX_UPLOAD_BYTES", "shipped_names", "shipped_source", "uploaded_source"]

#: the largest protocol file accepted
MAX_UPLOAD_BYTES = 1_000_000


def shipped_names() -> list[str]:
    """The names of the shipped protocols."""
    return list_protocols()


def shipped_source(name: str, field: str = "shipped_protocol") -> tuple[dict[str, Any], str, str]:
    """``(mapping, text, file name)`` of a shipped protocol (:class:`ValidationError` naming
    ``field`` for an unknown name)."""
    known = list_protocols()
    if name not in known:
        raise ValidationError(field, f"no shipped protocol {name!r}; one of {', '.join(known)}")
    path = shipped_path(name)
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):  # pragma: no cover - shipped files are mappings
        raise ValidationError(field, "the shipped file is not a mapping")
    return data, text, path.name


def uploaded_source(
    data: bytes, file_name: str | None, field: str = "protocol_file"
) -> tuple[dict[str, Any], str, str | None]:
    """``(mapping, text, file name)`` of an uploaded protocol or design file (YAML or JSON).

    Refuses (naming ``field``) an empty or too large file, text that is not UTF-8, YAML that
    does not parse (with the line) and a document that is not a mapping.
    """
    if not data:
        raise ValidationError(field, "choose a protocol file (YAML or JSON) to upload")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(field, f"the file is larger than {MAX_UPLOAD_BYTES // 1000} kB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(field, "the file is not UTF-8 text") from None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValidationError(field, f"not valid YAML{where}: {problem}") from None
    if not isinstance(parsed, dict):
        raise ValidationError(field, "must be a mapping (a protocol or design file)")
    name = (file_name or "").strip()[:255] or None
    return parsed, text, name
