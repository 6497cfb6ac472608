"""Electronic signatures (21 CFR 11.50 / 11.70) and the four-eyes rule.

A signature is a record of *who* signed (the user, their role and their printed name), *when*
(the service clock, UTC), *what it means* (:data:`MEANINGS`) and *what* was signed: the
SHA-256 of the canonical JSON of the signed content, stored with the content itself.  The
signer re-enters their password at each signing (11.200(a)(1)(i): both components at the
first signing of a session; here at every one).  A signature belongs to one subject
(``subject_type``, ``subject_id``) and one content hash: it is immutable (database triggers)
and cannot be moved to other content -- :func:`verify` recomputes the hash of the subject's
content now and compares (11.70: signatures linked to their records).

Four eyes: the person who proposed or recorded what is signed can never sign it
(:func:`sign` with ``forbidden_signers``); each user signs a subject at most once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import AuthenticationError, Conflict, Forbidden, ValidationError
from doseladder.conduct.models import ElectronicSignature
from doseladder.conduct.security import Actor, Role
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.sites_users import authenticate

__all__ = [
    "MEANINGS",
    "content_sha256",
    "sign",
    "signature_view",
    "signatures_of",
    "verify",
]

#: what a signature means
MEANINGS = ("reviewed", "approved", "rejected")
#: length of the printed name of a signer (after stripping surrounding white space)
PRINTED_NAME_MIN, PRINTED_NAME_MAX = 2, 200


def content_sha256(content: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON of signed content and its SHA-256."""
    text = audit.canonical_json(dict(content))
    return text, hashlib.sha256(text.encode()).hexdigest()


def signatures_of(
    session: Session, subject_type: str, subject_id: int
) -> list[ElectronicSignature]:
    """Every signature of a subject, oldest first."""
    return list(
        session.scalars(
            select(ElectronicSignature)
            .where(
                ElectronicSignature.subject_type == subject_type,
                ElectronicSignature.subject_id == subject_id,
            )
            .order_by(ElectronicSignature.id)
        )
    )


def verify(signature: ElectronicSignature, content: Mapping[str, Any]) -> bool:
    """Whether a signature is bound to this content (its stored hash and text match)."""
    text, sha = content_sha256(content)
    return (
        signature.content_sha256 == sha
        and signature.content == text
        and hashlib.sha256(signature.content.encode()).hexdigest() == signature.content_sha256
    )


def sign(
    session: Session,
    actor: Actor,
    *,
    trial_id: int,
    subject_type: str,
    subject_id: int,
    content: Mapping[str, Any],
    password: object,
    printed_name: object,
    meaning: object,
    comment: object = None,
    forbidden_signers: Iterable[int | None] = (),
    roles: Iterable[Role] | None = None,
    why: str = "",
) -> ElectronicSignature:
    """Record one electronic signature of ``content`` by ``actor`` (permission checked by the
    caller).

    Refused (nothing stored) when: the password does not match the signer's; the printed name
    or meaning is missing or unknown; the signer is one of ``forbidden_signers`` (the person
    who proposed what is signed -- the four-eyes rule) or lacks one of ``roles``; or the signer
    already signed this subject.
    """
    if actor.user_id is None:
        raise Forbidden("an electronic signature needs a named user")
    if not isinstance(password, str) or not password:
        raise ValidationError("password", "is required: re-enter your password to sign")
    name = c.required_text(
        "printed_name", printed_name, max_len=PRINTED_NAME_MAX, min_len=PRINTED_NAME_MIN
    )
    if not isinstance(meaning, str) or meaning.strip().lower() not in MEANINGS:
        raise ValidationError("meaning", f"must be one of {', '.join(MEANINGS)}")
    what = meaning.strip().lower()
    note = c.text("comment", comment, max_len=2000, required=False)
    if actor.user_id in set(forbidden_signers):
        raise Forbidden(
            f"you proposed {why or subject_type} yourself: a second person must sign it "
            "(four-eyes rule)"
        )
    if roles is not None:
        allowed = set(roles)
        if actor.role not in allowed:
            names = " or ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"{why or subject_type} must be signed by {names} members")
    try:
        authenticate(session, actor.username, password)
    except AuthenticationError:
        raise ValidationError("password", "does not match your password") from None
    mine = session.scalars(
        select(ElectronicSignature.id).where(
            ElectronicSignature.subject_type == subject_type,
            ElectronicSignature.subject_id == subject_id,
            ElectronicSignature.signed_by_id == actor.user_id,
        )
    ).first()
    if mine is not None:
        raise Conflict(f"you have already signed {why or subject_type}")
    text, sha = content_sha256(content)
    sig = ElectronicSignature(
        trial_id=trial_id,
        subject_type=subject_type,
        subject_id=subject_id,
        meaning=what,
        printed_name=name,
        username=actor.username,
        role=actor.role.value,
        comment=note,
        content=text,
        content_sha256=sha,
        signed_at=c.now(session),
        signed_by_id=actor.user_id,
    )
    with audit.reason(session, f"electronic signature ({what}) of {why or subject_type}"):
        session.add(sig)
        session.flush()
    return sig


def signature_view(
    sig: ElectronicSignature, content: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A signature for display (``valid``: still bound to ``content``, when given)."""
    out: dict[str, Any] = {
        "id": sig.id,
        "subject_type": sig.subject_type,
        "subject_id": sig.subject_id,
        "meaning": sig.meaning,
        "printed_name": sig.printed_name,
        "username": sig.username,
        "role": sig.role,
        "comment": sig.comment,
        "signed_at": audit.jsonable(sig.signed_at),
        "signed_by_id": sig.signed_by_id,
        "content_sha256": sig.content_sha256,
    }
    if content is not None:
        out["valid"] = verify(sig, content)
    return out
