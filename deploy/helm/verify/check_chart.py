"""Lints the chart, renders it with every value set, validates each object against the Kubernetes schemas,
checks the chart's conventions (STYLE.md items 23-24), and checks that the values schema refuses bad values.

Usage: python check_chart.py    (exit status 0 when every check passed)
"""

from __future__ import annotations

import re
import sys

import helm_python as helm
import kubernetes_validate
import yaml

import monitoring
from render import CHART, Rendering, render, value_sets

# The newest release kubernetes-validate ships, and the oldest one Chart.yaml's kubeVersion admits.
KUBE_VERSIONS = [kubernetes_validate.utils.latest_version(), "1.27"]
SERVICES = ["registry", "review", "pricing", "evaluation", "disclosure"]
SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
LABEL_KEYS = SELECTOR_KEYS | {
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}
# Kinds from CRDs: kubernetes-validate has no schema for them; they get the structural checks below.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
# The alerts the PrometheusRule must carry (issue 18): error ratio, p99 latency, outbox backlog, consumer lag, dead letters.
ALERTS = {"PdopRpcErrorRatioHigh", "PdopRpcLatencyP99High", "PdopOutboxBacklog", "PdopConsumerLag", "PdopDeadLetters"}

failures: list[str] = []
passed = 0


def check(ok: bool, what: str) -> None:
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print(f"FAIL {what}", flush=True)


def lint() -> None:
    for label, values in value_sets():
        report = helm.lint(CHART, values, strict=True, namespace="pdop")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        for m in problems:
            print(f"  lint {label}: {m['path']}: {m['error'].strip()}")
        check(not problems and not report["errors"], f"helm lint --strict ({label})")


def validate_objects(r: Rendering) -> None:
    for obj, source in zip(r.objects, r.sources):
        name = f"{r.label}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')} ({source})"
        if obj.get("kind") == "ServiceMonitor":
            check(servicemonitor_ok(r, obj), f"{name} matches its Service's admin port")
            continue
        if obj.get("kind") == "PrometheusRule":
            problems = monitoring.rule_problems(obj)
            check(not problems, f"{name} against the PrometheusRule CRD schema: {problems}")
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
                check(True, name)
            except kubernetes_validate.utils.ValidationError as err:
                where = "/".join(map(str, err.absolute_path))
                check(False, f"{name} against Kubernetes {version}: {err.message} at {where}")
            except kubernetes_validate.utils.SchemaNotFoundError:
                check(False, f"{name}: no schema in Kubernetes {version}")


def servicemonitor_ok(r: Rendering, monitor: dict) -> bool:
    spec = monitor.get("spec", {})
    service = r.get("Service", monitor["metadata"]["name"])
    if not service or monitor.get("apiVersion") != "monitoring.coreos.com/v1":
        return False
    ports = {p["name"] for p in service["spec"]["ports"]}
    selects = spec.get("selector", {}).get("matchLabels", {}).items() <= service["metadata"]["labels"].items()
    return selects and all(e.get("port") in ports and e.get("path") == "/metrics" for e in spec.get("endpoints", []))


def conventions(r: Rendering) -> None:
    for obj in r.objects:
        labels = obj["metadata"].get("labels", {})
        check(LABEL_KEYS <= labels.keys(), f"{r.label}: {obj['kind']}/{obj['metadata']['name']} has the standard labels")
    for dep in r.of_kind("Deployment"):
        name = dep["metadata"]["name"]
        component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        selector = dep["spec"]["selector"]["matchLabels"]
        check(set(selector) == SELECTOR_KEYS, f"{r.label}: {name} selector is name/instance/component only")
        pod = dep["spec"]["template"]
        spec = pod["spec"]
        c = spec["containers"][0]
        check("checksum/config" in pod["metadata"].get("annotations", {}), f"{r.label}: {name} has checksum/config")
        reference, _, digest = c["image"].partition("@")
        tag = reference.rsplit(":", 1)[-1]
        check(":" in reference and tag != "latest", f"{r.label}: {name} image tag is pinned ({c['image']})")
        check(not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None,
              f"{r.label}: {name} image digest is sha256 ({c['image']})")
        grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
        check(c["startupProbe"]["grpc"]["port"] == grpc_port, f"{r.label}: {name} startupProbe is gRPC on the gRPC port")
        check(c["livenessProbe"]["grpc"]["port"] == grpc_port, f"{r.label}: {name} livenessProbe is gRPC on the gRPC port")
        readiness = c["readinessProbe"]["grpc"]
        expected = f"pdop.{component}.v1.{component.capitalize()}Service"
        check(readiness == {"port": grpc_port, "service": expected}, f"{r.label}: {name} readinessProbe asks for {expected}")
        sc, psc = c["securityContext"], spec["securityContext"]
        check(
            psc.get("runAsNonRoot") is True
            and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
            and sc.get("readOnlyRootFilesystem") is True
            and sc.get("allowPrivilegeEscalation") is False
            and sc.get("capabilities", {}).get("drop") == ["ALL"],
            f"{r.label}: {name} has the secure pod defaults",
        )
        res = c.get("resources", {})
        check({"cpu", "memory"} <= res.get("requests", {}).keys() and {"cpu", "memory"} <= res.get("limits", {}).keys(),
              f"{r.label}: {name} sets requests and limits")
    for pdb in r.of_kind("PodDisruptionBudget"):
        check(pdb["spec"].get("maxUnavailable") == 1, f"{r.label}: {pdb['metadata']['name']} maxUnavailable 1")
    for pod in r.of_kind("Pod"):
        hook = pod["metadata"].get("annotations", {}).get("helm.sh/hook")
        urls = [a for a in pod["spec"]["containers"][0]["args"] if a.startswith("http://")]
        enabled = len(r.of_kind("Deployment"))
        check(hook == "test" and len(urls) == enabled, f"{r.label}: helm test pod checks all {enabled} services")
    for dep in r.of_kind("Deployment"):
        component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        check(component in r.notes, f"{r.label}: NOTES.txt mentions {component}")


def optional_objects(r: Rendering) -> None:
    """The flags guard their objects: production turns every one on, the defaults leave the CRD-backed ones off."""
    kinds = {o["kind"] for o in r.objects}
    if r.label == "defaults":
        check(kinds.isdisjoint({"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "HorizontalPodAutoscaler", "Ingress"}),
              "defaults render no ServiceMonitor, PrometheusRule, NetworkPolicy, HPA or Ingress")
        check(not monitoring.dashboards(r), "defaults render no dashboard ConfigMap")
        check(len(r.of_kind("Deployment")) == 5, "defaults render five Deployments")
    if r.label.endswith("production-values.yaml"):
        for kind in ["ServiceMonitor", "NetworkPolicy", "HorizontalPodAutoscaler", "PodDisruptionBudget"]:
            check(len(r.of_kind(kind)) == 5, f"{r.label}: five {kind} objects")
        check(len(r.of_kind("Ingress")) == 1, f"{r.label}: one Ingress (disclosure)")
        check(len(r.of_kind("PrometheusRule")) == 1, f"{r.label}: one PrometheusRule")
        check(len(monitoring.dashboards(r)) == 1, f"{r.label}: one dashboard ConfigMap")


def monitoring_objects(r: Rendering) -> None:
    """The PrometheusRule has every alert, the dashboard is dashboard JSON, and every expression is PromQL."""
    for rule in r.of_kind("PrometheusRule"):
        alerts = set(monitoring.rule_expressions(rule))
        check(ALERTS <= alerts, f"{r.label}: the PrometheusRule has the alerts {sorted(ALERTS)} (has {sorted(alerts)})")
        jobs = [d["metadata"]["name"] for d in r.of_kind("Deployment")]
        for name, expr in monitoring.rule_expressions(rule).items():
            check('namespace="pdop"' in expr and f'job=~"{"|".join(sorted(jobs))}"' in expr,
                  f"{r.label}: {name} selects this release's jobs")
    for cm in monitoring.dashboards(r):
        try:
            problems = monitoring.dashboard_problems(monitoring.dashboard(cm))
        except ValueError as err:
            problems = [str(err)]
        check(not problems, f"{r.label}: ConfigMap/{cm['metadata']['name']} is a Grafana dashboard: {problems}")
    names, broken = monitoring.queried(r)
    check(not broken, f"{r.label}: every rule and dashboard expression is PromQL: {broken}")
    check(all(names.values()), f"{r.label}: every expression queries a metric: {[w for w, n in names.items() if not n]}")


def schema_rejects_bad_values() -> None:
    for path in sorted((CHART.parent / "verify" / "bad-values").glob("*.yaml")):
        text = path.read_text()
        expected = re.search(r"^# expect: (.+)$", text, re.M).group(1).strip()
        try:
            render(path.name, yaml.safe_load(text))
            check(False, f"schema rejects {path.name} (it rendered)")
        except helm.HelmValuesError as err:
            check(expected in str(err), f"schema rejects {path.name} with '{expected}' (got: {err})")


def digests_pin_images() -> None:
    """THREATS L8: a digest set in values pins every image it belongs to (repository:tag@digest)."""
    digest = "sha256:" + "ab" * 32
    r = render("digests", {"serviceDefaults": {"image": {"digest": digest}}, "tests": {"image": {"digest": digest}}})
    pods = [d["spec"]["template"]["spec"] for d in r.of_kind("Deployment")] + [p["spec"] for p in r.of_kind("Pod")]
    images = [c["image"] for spec in pods for c in spec["containers"]]
    check(len(pods) > 1 and all(i.endswith(f":0.1.0@{digest}") or i.endswith(f":1.37.0@{digest}") for i in images),
          f"digests: every image is pinned by digest ({images})")


def values_are_documented() -> None:
    """STYLE.md 23: each key in values.yaml has a comment right above it that starts with the key's name."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    path: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9-]*):", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        while path and path[-1][0] >= indent:
            path.pop()
        path.append((indent, m.group(2)))
        dotted = ".".join(p for _, p in path)
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not re.match(r"^\s*# " + re.escape(dotted) + r"\b", lines[j]):
            j -= 1
        documented = j >= 0 and re.match(r"^\s*# " + re.escape(dotted) + r"\b", lines[j]) is not None
        check(documented, f"values.yaml documents {dotted}")


def main() -> int:
    lint()
    for label, values in value_sets():
        r = render(label, values)
        print(f"rendered {label}: {len(r.objects)} objects", flush=True)
        validate_objects(r)
        conventions(r)
        optional_objects(r)
        monitoring_objects(r)
    schema_rejects_bad_values()
    digests_pin_images()
    values_are_documented()
    print(f"chart: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
