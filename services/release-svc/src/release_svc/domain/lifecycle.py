"""Where a release is in its life, and which commands each state allows."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PLANNED = "planned"
    PACKAGE_BUILT = "package_built"
    VALIDATED = "validated"
    VALIDATION_FAILED = "validation_failed"
    APPROVED = "approved"
    REJECTED = "rejected"
    AVAILABLE = "available"
    DEPLOYED = "deployed"
    IN_EARLY_LIFE_SUPPORT = "in_early_life_support"
    READY_FOR_REVIEW = "ready_for_review"
    CLOSED = "closed"
    CANCELLED = "cancelled"


BEFORE_DEPLOYMENT = frozenset(
    {
        Status.PLANNED,
        Status.PACKAGE_BUILT,
        Status.VALIDATED,
        Status.VALIDATION_FAILED,
        Status.APPROVED,
        Status.REJECTED,
        Status.AVAILABLE,
    }
)
"""The plan may change and the release be cancelled until it is first deployed."""

PACKAGE_MAY_CHANGE = frozenset(
    {
        Status.PLANNED,
        Status.PACKAGE_BUILT,
        Status.VALIDATED,
        Status.VALIDATION_FAILED,
        Status.REJECTED,
    }
)
"""Up to approval; an approved package is what the DML makes available."""

UNDER_VALIDATION = frozenset({Status.PACKAGE_BUILT, Status.VALIDATED, Status.VALIDATION_FAILED})
"""A package exists and is not yet approved: testers record results, approvers may reject."""

DEPLOYABLE = frozenset({Status.APPROVED, Status.AVAILABLE, Status.DEPLOYED})
"""A deployment reported in these states makes the release deployed; in others (cancelled,
closed, never approved, already in Early Life Support) it is recorded, the state kept."""

DEPLOYED_STATES = frozenset(
    {Status.DEPLOYED, Status.IN_EARLY_LIFE_SUPPORT, Status.READY_FOR_REVIEW}
)
"""Deployed somewhere, and not yet closed: Early Life Support may (re)start."""

OPEN = frozenset(Status) - {Status.CLOSED, Status.CANCELLED}
"""Neither closed nor cancelled: readiness may still be confirmed (production may come
after a first deployment elsewhere)."""
