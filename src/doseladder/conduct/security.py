"""Authentication primitives, roles and the permission matrix.

* Passwords are hashed with argon2id (``argon2-cffi``; the PHC string carries its cost
  parameters).  Hashes of the earlier ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` format still verify
  and are replaced by argon2id at the next successful login (:func:`needs_rehash`).  The
  policy (:func:`validate_password`) follows NIST SP 800-63B.
* API tokens are opaque random strings (``dl_`` + 43 URL-safe characters, 256 bits); only their
  SHA-256 digest is stored, so a database leak does not leak usable tokens.
* :data:`PERMISSIONS` is the role → permission matrix.  Users bound to a site (every site
  investigator, optionally a data manager or monitor) see only that site's patients' details
  (:func:`check_site`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from itertools import pairwise

from argon2 import PasswordHasher
from argon2 import Type as Argon2Type
from argon2.exceptions import Argon2Error

from doseladder.conduct.errors import Forbidden, ValidationError

__all__ = [
    "PERMISSIONS",
    "SYSTEM",
    "Actor",
    "Permission",
    "Role",
    "check_site",
    "common_passwords",
    "hash_password",
    "needs_rehash",
    "new_token",
    "require",
    "token_digest",
    "validate_password",
    "verify_password",
]


class Role(StrEnum):
    """The roles of trial-conduct users."""

    ADMIN = "admin"
    STATISTICIAN = "statistician"
    INVESTIGATOR = "investigator"
    DATA_MANAGER = "data_manager"
    MONITOR = "monitor"
    COMMITTEE = "committee"  # safety review / data monitoring committee member

    @classmethod
    def parse(cls, value: object, field: str = "role") -> Role:
        """The role named ``value``; :class:`ValidationError` listing the roles otherwise."""
        if isinstance(value, Role):
            return value
        if isinstance(value, str):
            for role in cls:
                if role.value == value.strip().lower():
                    return role
        allowed = ", ".join(r.value for r in cls)
        raise ValidationError(field, f"unknown role {value!r}; one of {allowed}")


class Permission(StrEnum):
    """Operations guarded by the permission matrix."""

    VIEW_TRIAL = "view_trial"  # trials, protocol versions, decisions, recommendations
    VIEW_PATIENTS = "view_patients"  # patient-level records (site isolation applies)
    MANAGE_TRIAL = "manage_trial"  # create trials, protocol versions/amendments, open/close
    SUSPEND_ACCRUAL = "suspend_accrual"  # suspend/resume accrual
    MANAGE_SITES = "manage_sites"  # create sites
    MANAGE_USERS = "manage_users"  # create/deactivate users, reset passwords
    REGISTER_PATIENT = "register_patient"  # register patients, record screening
    ENROL = "enrol"  # enrol a screened patient at the decided dose
    ENTER_OUTCOMES = "enter_outcomes"  # infusions, AEs, efficacy, and their corrections
    ADJUDICATE_DLT = "adjudicate_dlt"  # DLT adjudication, confirm/override a proposed DLT call
    CALL_RESPONSE = "call_response"  # confirm/override a proposed response
    RECORD_DECISION = "record_decision"  # compute and record the next-dose decision
    OVERRIDE_DOSE = "override_dose"  # record a dose different from the design's, with reason
    SIGN_OFF = "sign_off"  # committee sign-off of a dose decision
    SELECT_FINAL = "select_final"  # compute and record the final MTD / OBD selection
    ACKNOWLEDGE_OPENING = "acknowledge_opening"  # acknowledge a protocol item before opening
    EXPORT = "export"  # CSV / Dataset-JSON exports of every table
    AUDIT = "audit"  # verify the audit chain, export the certified copy


_P = Permission
#: role → permissions.  The administrator runs the system (trials, sites, users) but enters no
#: clinical data; the statistician (for the safety review committee) adjudicates DLTs (only
#: they confirm or override a proposed DLT call), records and overrides decisions, computes the
#: final selection and signs them off; investigators register, enrol and report for their own
#: site and confirm or override a proposed response; data managers enter and correct data for
#: every site; monitors read.  An administrator and a statistician (two different people) each
#: acknowledge a protocol item that would otherwise keep a trial from opening.
PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            _P.VIEW_TRIAL,
            _P.VIEW_PATIENTS,
            _P.MANAGE_TRIAL,
            _P.SUSPEND_ACCRUAL,
            _P.MANAGE_SITES,
            _P.MANAGE_USERS,
            _P.SIGN_OFF,
            _P.EXPORT,
            _P.AUDIT,
            _P.ACKNOWLEDGE_OPENING,
        }
    ),
    Role.STATISTICIAN: frozenset(
        {
            _P.VIEW_TRIAL,
            _P.VIEW_PATIENTS,
            _P.MANAGE_TRIAL,
            _P.SUSPEND_ACCRUAL,
            _P.ADJUDICATE_DLT,
            _P.CALL_RESPONSE,
            _P.RECORD_DECISION,
            _P.OVERRIDE_DOSE,
            _P.SELECT_FINAL,
            _P.SIGN_OFF,
            _P.EXPORT,
            _P.AUDIT,
            _P.ACKNOWLEDGE_OPENING,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            _P.VIEW_TRIAL,
            _P.VIEW_PATIENTS,
            _P.REGISTER_PATIENT,
            _P.ENROL,
            _P.ENTER_OUTCOMES,
            _P.CALL_RESPONSE,
            _P.RECORD_DECISION,
        }
    ),
    Role.DATA_MANAGER: frozenset(
        {_P.VIEW_TRIAL, _P.VIEW_PATIENTS, _P.REGISTER_PATIENT, _P.ENTER_OUTCOMES, _P.EXPORT}
    ),
    Role.MONITOR: frozenset({_P.VIEW_TRIAL, _P.VIEW_PATIENTS, _P.EXPORT, _P.AUDIT}),
    # committee members review and sign (four eyes: never what they proposed themselves)
    Role.COMMITTEE: frozenset({_P.VIEW_TRIAL, _P.VIEW_PATIENTS, _P.SIGN_OFF, _P.AUDIT}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user on whose behalf a service operation runs.

    Attributes:
        user_id: database id of the user (``None`` only for :data:`SYSTEM`).
        username: login name (recorded in the audit trail).
        role: the user's role.
        site_id: the site the user is bound to; such users see only that site's patients.
    """

    user_id: int | None
    username: str
    role: Role
    site_id: int | None = None

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission``."""
        return permission in PERMISSIONS[self.role]

    @property
    def site_restricted(self) -> bool:
        """Whether the user sees only one site's patients."""
        return self.site_id is not None

    def may_see_site(self, site_id: int) -> bool:
        """Whether patient-level details of ``site_id`` are visible to this user."""
        return self.site_id is None or self.site_id == site_id


#: the actor of operations without a user (bootstrap of the first administrator, migrations)
SYSTEM = Actor(user_id=None, username="system", role=Role.ADMIN)


def require(actor: Actor, permission: Permission) -> None:
    """Raise :class:`Forbidden` unless ``actor``'s role grants ``permission``."""
    if not isinstance(actor, Actor):
        raise Forbidden("not authenticated")
    if not actor.can(permission):
        raise Forbidden(f"role {actor.role.value!r} may not {permission.value.replace('_', ' ')}")


def check_site(actor: Actor, site_id: int, what: str = "patient") -> None:
    """Raise :class:`Forbidden` if ``actor`` is bound to another site than ``site_id``."""
    if not actor.may_see_site(site_id):
        raise Forbidden(f"this {what} belongs to another site")


# ------------------------------------------------------------------- passwords
#: scrypt cost of the hashes written before argon2id (still verified, re-hashed on login)
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32
#: argon2id cost for new hashes (RFC 9106 second recommended option: t=3, m=64 MiB, p=4)
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65536  # 64 MiB
ARGON2_PARALLELISM = 4
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: the published password of the demonstration accounts (refused everywhere else)
DEMO_PASSWORD = "doseladder-demo"
_COMMON = "common-passwords.txt.gz"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common and breached passwords (lower case; see data/README.md)."""
    raw = files("doseladder.conduct").joinpath("data", _COMMON).read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").split())


def _sequential(text: str) -> bool:
    """Whether ``text`` is one repeated character or a run such as ``abcdef…``/``98765…``."""
    if len(set(text)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    # digits may wrap around: 1234567890 12
    return steps <= {1, -9} or steps <= {-1, 9} or (len(steps) == 1 and steps <= {-1, 1})


def validate_password(
    password: object, field: str = "password", *, username: str | None = None
) -> str:
    """Check the password policy (NIST SP 800-63B §5.1.1.2).

    At least 12 characters (at most 1024), not blank, not a common or breached password (the
    bundled list, also with trailing digits removed), not repetitive or sequential
    (``aaaaaaaaaaaa``, ``123456789012``), not the username and not the demo password.
    """
    if not isinstance(password, str):
        raise ValidationError(field, "must be a string")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(field, f"must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(field, f"must have at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise ValidationError(field, "must not be blank")
    lowered = password.strip().lower()
    if lowered == DEMO_PASSWORD:
        raise ValidationError(field, "is the published demo password; choose another")
    if username and username.strip().lower() in lowered:
        raise ValidationError(field, "must not contain the username")
    common = common_passwords()
    if lowered in common or lowered.rstrip("0123456789") in common:
        raise ValidationError(field, "is a common or breached password; choose another")
    if _sequential(lowered):
        raise ValidationError(field, "is repetitive or sequential; choose another")
    return password


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        type=Argon2Type.ID,
    )


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string ``$argon2id$v=19$m=…,t=…,p=…$salt$hash``)."""
    return _hasher().hash(password)


def _scrypt_hash(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=dklen,
        maxmem=256 * 1024 * 1024,
    )


def scrypt_hash(password: str) -> str:
    """The legacy ``scrypt$n$r$p$salt$hash`` format (kept to test re-hashing on login)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt_hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (argon2id, or legacy scrypt; constant-time
    comparison)."""
    if stored.startswith("$argon2"):
        try:
            return _hasher().verify(stored, password)
        except (Argon2Error, ValueError, TypeError):
            return False
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(hash_b64)
        digest = _scrypt_hash(
            password, base64.b64decode(salt_b64), int(n), int(r), int(p), len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash should be replaced at the next login (scrypt, or argon2id with
    other parameters than the current ones)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _hasher().check_needs_rehash(stored)
    except (Argon2Error, ValueError):
        return True


# ---------------------------------------------------------------------- tokens
TOKEN_PREFIX = "dl_"


def new_token() -> str:
    """A new opaque API token (shown to the user once; only its digest is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
