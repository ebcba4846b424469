"""Renders the pdop chart offline with Helm's own Go code (helm-python-sdk) and parses the result."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

import helm_python as helm
import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent / "pdop"
RELEASE = "pdop"
NAMESPACE = "pdop"


@dataclass
class Rendering:
    """One `helm template` equivalent: the objects per template file, plus NOTES.txt."""

    label: str
    values: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: str = ""

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of_kind(kind) if o["metadata"]["name"] == name), None)


def value_sets() -> list[tuple[str, dict[str, Any]]]:
    """The chart's defaults, then each ci/*.yaml file on top of them."""
    sets: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    for path in sorted((CHART / "ci").glob("*.yaml")):
        sets.append((f"ci/{path.name}", yaml.safe_load(path.read_text()) or {}))
    return sets


def render(label: str, values: dict[str, Any]) -> Rendering:
    """Renders like `helm template pdop deploy/helm/pdop -n pdop -f <values>` (schema checked by Helm)."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    result = Rendering(label=label, values=values)
    for source, text in sorted(manifests.items()):
        if source.endswith("NOTES.txt"):
            result.notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                result.objects.append(doc)
                result.sources.append(source)
    return result
