"""The kustomize overlays on a real API server: applied with a server-side dry run (admission,
defaulting and the schemas of every kind, Strimzi's CRDs among them), then for real, in a
namespace that enforces the `restricted` Pod Security Standard; every Deployment then rolls
out through the controllers and the scheduler, and every migration Job completes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.k8s.rendered import RENDERS, Obj, render, render_chart
from tests.kubernetes.conftest import ControlPlane

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


def relocated(objects: list[Obj], namespace: str) -> str:
    """The overlay's objects in `namespace` instead of its own, as one YAML stream."""
    moved = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        obj["metadata"]["namespace"] = namespace
        moved.append(obj)
    return yaml.safe_dump_all(moved)


@pytest.fixture
def blob_volume(control_plane: ControlPlane) -> Iterator[Any]:
    """The volume an operator provides for the DML's ReadWriteMany claim (no provisioner
    here), bound to that one claim; removed after the test."""
    made: list[str] = []

    def make(namespace: str, claim: Obj) -> None:
        name = f"{namespace}-blobs"
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                "accessModes": claim["spec"]["accessModes"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": claim["spec"].get("storageClassName", ""),
                "claimRef": {"namespace": namespace, "name": claim["metadata"]["name"]},
                "hostPath": {"path": f"/var/lib/ferry-test/{name}"},
            },
        }
        done = control_plane.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(volume))
        assert done.returncode == 0, done.stderr
        made.append(name)

    yield make
    for name in made:
        control_plane.kubectl("delete", "persistentvolume", name, "--wait=false")


@pytest.mark.parametrize("overlay", RENDERS)
def test_an_overlay_applies_and_rolls_out_on_a_real_api_server(
    control_plane: ControlPlane, new_namespace: Any, blob_volume: Any, overlay: str
) -> None:
    rendered = render(overlay)
    namespace = new_namespace(RESTRICTED)
    stream = relocated(rendered.objects, namespace)

    dry = control_plane.kubectl(
        "apply", "--server-side", "--dry-run=server", "-n", namespace, "-f", "-", stdin=stream
    )
    assert dry.returncode == 0, f"{overlay}, server-side dry run:\n{dry.stderr}"
    assert "Warning" not in dry.stderr, f"{overlay}: the API server warned:\n{dry.stderr}"
    listed = control_plane.kubectl("get", "all", "-n", namespace, "-o", "name")
    assert listed.stdout.strip() == "", f"a dry run created objects: {listed.stdout}"

    for claim in rendered.of_kind("PersistentVolumeClaim"):
        blob_volume(namespace, claim)
    applied = control_plane.kubectl(
        "apply", "--server-side", "-n", namespace, "-f", "-", stdin=stream
    )
    assert applied.returncode == 0, f"{overlay}:\n{applied.stderr}"

    deployments = rendered.of_kind("Deployment")
    assert deployments, overlay
    for kind, condition in (("deployment", "Available"), ("job", "Complete")):
        done = control_plane.kubectl(
            "wait", f"--for=condition={condition}", "--timeout=120s", "-n", namespace, kind, "--all"
        )
        shown = describe(control_plane, namespace)
        assert done.returncode == 0, f"{overlay}: {done.stderr}\n{shown}"

    # Every replica asked for runs, scheduled and Ready: the HorizontalPodAutoscaler's
    # minimum where it owns the count.
    minimum = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
        for h in rendered.of_kind("HorizontalPodAutoscaler")
    }
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        wanted = deployment["spec"].get("replicas") or minimum[name]
        ready = control_plane.kubectl(
            "wait",
            f"--for=jsonpath={{.status.readyReplicas}}={wanted}",
            "--timeout=120s",
            "-n",
            namespace,
            f"deployment/{name}",
        )
        assert ready.returncode == 0, f"{overlay}: {name} not at {wanted} ready replicas"


def describe(control_plane: ControlPlane, namespace: str) -> str:
    """What a failure shows: the namespace's pods and events."""
    pods = control_plane.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout
    events = control_plane.kubectl("get", "events", "-n", namespace).stdout
    return f"{pods}\n{events}"


def test_the_chart_applies_again_and_upgrades_to_a_new_image(
    control_plane: ControlPlane, new_namespace: Any, blob_volume: Any
) -> None:
    """A repeated apply changes nothing, and the next release's apply makes migrate Jobs of
    its own instead of meeting the last one's immutable templates."""
    namespace = new_namespace(RESTRICTED)
    for claim in render("helm").of_kind("PersistentVolumeClaim"):
        blob_volume(namespace, claim)
    generations = []
    for tag in ("1.0.0", "1.0.0", "1.0.1"):
        rendered = render_chart(f"helm {tag}", None, f"image.tag={tag}")
        stream = relocated(rendered.objects, namespace)
        applied = control_plane.kubectl(
            "apply", "--server-side", "-n", namespace, "-f", "-", stdin=stream
        )
        assert applied.returncode == 0, f"{tag}:\n{applied.stderr}"
        found = control_plane.kubectl(
            "get",
            "deployments,jobs",
            "-n",
            namespace,
            "-o",
            "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.generation} {end}",
        )
        generations.append(sorted(found.stdout.split()))
    assert generations[1] == generations[0], "applying the same release again changed it"
    assert generations[2] != generations[1]
    for kind, condition in (("deployment", "Available"), ("job", "Complete")):
        done = control_plane.kubectl(
            "wait", f"--for=condition={condition}", "--timeout=120s", "-n", namespace, kind, "--all"
        )
        assert done.returncode == 0, f"{done.stderr}\n{describe(control_plane, namespace)}"
    images = control_plane.kubectl(
        "get", "deployments", "-n", namespace, "-o", "jsonpath={..containers[0].image}"
    )
    assert set(images.stdout.split()) == {"ferry/ferry:1.0.1"}
    jobs = control_plane.kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout.split()
    assert len(jobs) == 8, jobs  # each service's Job for 1.0.0, and for 1.0.1
