"""How events become release facts: what of a scope is deployed, and which media a
manifest lists (a `MediaRevoked` of any of them revokes the release)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from deploy_svc.consumers import manifest_media, split_scope
from ferry.events.dml import ManifestItem
from ferry.events.release import ScopeItem, ScopeKind
from ferry.manifest import canonical


def test_services_and_configuration_items_come_from_the_scope() -> None:
    scope = [
        ScopeItem(kind=ScopeKind.SERVICE, name="Payments"),
        ScopeItem(kind=ScopeKind.APPLICATION, name="payments-api", version="2026.12.0"),
        ScopeItem(kind=ScopeKind.COMPONENT, name="payments-db-schema"),
        ScopeItem(kind=ScopeKind.DOCUMENTATION, name="runbook"),
        ScopeItem(kind=ScopeKind.TRAINING, name="support training"),
        ScopeItem(kind=ScopeKind.PROCESS, name="refunds"),
        ScopeItem(kind=ScopeKind.SERVICE, name="Payments"),
    ]
    assert split_scope(scope) == ({"Payments"}, {"payments-api", "payments-db-schema"})


def test_a_manifest_lists_its_media_by_name_and_version() -> None:
    items = [
        ManifestItem(name="payments-api.tar.gz", version="2026.12.0", sha256="ab" * 32, size=1),
        ManifestItem(name="notes.pdf", version="2026.12.0", sha256="cd" * 32, size=2),
    ]
    text = canonical(uuid4(), "2026.12.0", items, datetime(2026, 12, 1, tzinfo=UTC))
    assert manifest_media(text) == {
        ("payments-api.tar.gz", "2026.12.0"),
        ("notes.pdf", "2026.12.0"),
    }


def test_what_is_not_a_manifest_lists_nothing() -> None:
    # Still recorded as available: the library refuses it when a deployment fetches it.
    assert manifest_media("not json") == set()
    assert manifest_media('{"release_id": "x"}') == set()
