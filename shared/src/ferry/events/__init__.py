"""The published contract: one module per publishing service, plus the base and registry."""

from __future__ import annotations

from ferry.events import change, deploy, dml, els, policy, release
from ferry.events.base import Event, EventRegistry

RELEASE_EVENTS: list[type[Event]] = [
    release.ReleasePlanned,
    release.ReleaseRescheduled,
    release.ReleaseCancelled,
    release.ReleaseDependenciesSet,
    release.ReleaseScopeSet,
    release.DeploymentWindowsSet,
    release.CommunicationPlanSet,
    release.CommunicationDue,
    release.RiskAssessed,
    release.BackoutPlanSet,
    release.ReleasePackageBuilt,
    release.ValidationResultRecorded,
    release.ReleaseValidated,
    release.ReleaseValidationFailed,
    release.ApprovalGiven,
    release.ReleaseApproved,
    release.ReleaseRejected,
    release.ReleaseMadeAvailable,
    release.ReleaseDeployed,
    release.ReleaseInEarlyLifeSupport,
    release.ReleaseReadyForReview,
    release.ReleaseClosed,
    release.ReleaseReviewed,
    release.ImprovementActionRaised,
]

REGISTRY = EventRegistry(
    [
        *RELEASE_EVENTS,
        policy.ReleasePolicySet,
        policy.FreezePeriodDeclared,
        policy.FreezePeriodLifted,
        dml.LibraryEntryOpened,
        dml.PackageValidated,
        dml.PackageApproved,
        dml.ReleaseAvailabilityRefused,
        dml.MediaStaged,
        dml.MediaAuthorized,
        dml.MediaRevoked,
        dml.LicenceAttached,
        dml.MediaCorruptionDetected,
        dml.MediaRetrieved,
        dml.ReleaseAvailable,
        dml.ReleaseRevoked,
        dml.SpareRegistered,
        dml.SpareWithdrawn,
        dml.SpareReturned,
        dml.SpareReplaced,
        dml.SpareRevisionOutOfDate,
        deploy.EnvironmentDefined,
        deploy.DeploymentScheduled,
        deploy.DeploymentStarted,
        deploy.WaveStarted,
        deploy.TargetDeployed,
        deploy.TargetFailed,
        deploy.WaveVerified,
        deploy.DeploymentCompleted,
        deploy.DeploymentFailed,
        deploy.RollbackStarted,
        deploy.TargetRolledBack,
        deploy.DeploymentRolledBack,
        deploy.DeploymentPaused,
        deploy.DeploymentResumed,
        deploy.DeploymentAborted,
        els.ElsStarted,
        els.ElsExited,
        change.ChangeApproved,
        change.ChangeRejected,
    ]
)
"""Every event type Ferry publishes; consumers parse with it and skip what it lacks."""

__all__ = ["REGISTRY", "Event", "EventRegistry"]
