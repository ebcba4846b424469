"""The chart's monitoring objects: the PrometheusRule against the Prometheus Operator's CRD schema (vendored in
crds/), the Grafana dashboard ConfigMap as dashboard JSON, every PromQL expression parsed, and the metric names
they query, to be checked against what the services expose on /metrics.
"""

from __future__ import annotations

import json
import pathlib
import re

import jsonschema
import promql_parser
import yaml

from render import Rendering

CRD = pathlib.Path(__file__).resolve().parent / "crds" / "monitoring.coreos.com_prometheusrules.yaml"
# Grafana's built-in interval variables, replaced by a duration before parsing.
GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b")
DASHBOARD_LABEL = ("grafana_dashboard", "1")


def rule_schema() -> dict:
    crd = yaml.safe_load(CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return strict(version["schema"]["openAPIV3Schema"])


def strict(schema):
    """Refuses fields the schema does not define, which the API server would silently prune (a misspelt key)."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(v) for v in schema]
    return schema


def rule_problems(rule: dict) -> list[str]:
    """Where the PrometheusRule breaks the CRD's schema (the API server would refuse it)."""
    validator = jsonschema.Draft7Validator(rule_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(rule)]


def rule_expressions(rule: dict) -> dict[str, str]:
    """Each alert's or recording rule's expression, by name."""
    return {r.get("alert") or r.get("record"): r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


def dashboard(config_map: dict) -> dict:
    """The one dashboard a ConfigMap holds (raises when the JSON is not valid)."""
    (name, text), = config_map["data"].items()
    if not name.endswith(".json"):
        raise ValueError(f"{name} is not a .json file")
    return json.loads(text)


def dashboard_problems(board: dict) -> list[str]:
    problems = [f"no {key}" for key in ("uid", "title", "schemaVersion", "panels") if key not in board]
    ids = [p.get("id") for p in board.get("panels", [])]
    if len(ids) != len(set(ids)):
        problems.append("panel ids repeat")
    for p in board.get("panels", []):
        if p.get("type") != "row" and not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no query")
        if not {"h", "w", "x", "y"} <= p.get("gridPos", {}).keys():
            problems.append(f"panel {p.get('title')!r} has no gridPos")
    return problems


def dashboard_expressions(board: dict) -> dict[str, str]:
    """Each panel query and each query variable, by where it is."""
    found = {f"{p['title']} {t['refId']}": t["expr"] for p in board["panels"] for t in p.get("targets", [])}
    for var in board.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            # label_values(<selector>, label): the selector is PromQL.
            inner = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["definition"])
            found[f"variable {var['name']}"] = inner.group(1) if inner else var["definition"]
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (raises ValueError when it is not PromQL)."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            named = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), None)
            if named:
                names.add(named)
        return True

    promql_parser.walk(promql_parser.parse(GRAFANA_INTERVALS.sub("5m", expr)), visit)
    return names


def queried(r: Rendering) -> tuple[dict[str, set[str]], list[str]]:
    """Metric names by expression site in the rendering's PrometheusRules and dashboards, and what does not parse."""
    sites: dict[str, str] = {}
    for rule in r.of_kind("PrometheusRule"):
        sites.update({f"rule {name}": expr for name, expr in rule_expressions(rule).items()})
    for cm in dashboards(r):
        sites.update({f"dashboard {where}": expr for where, expr in dashboard_expressions(dashboard(cm)).items()})
    names, broken = {}, []
    for where, expr in sites.items():
        try:
            names[where] = metric_names(expr)
        except ValueError as err:
            broken.append(f"{where}: {err}")
    return names, broken


def dashboards(r: Rendering) -> list[dict]:
    return [cm for cm in r.of_kind("ConfigMap")
            if cm["metadata"].get("labels", {}).get(DASHBOARD_LABEL[0]) == DASHBOARD_LABEL[1]]


def exposed_names(exposition: str) -> set[str]:
    """Every sample name an OpenMetrics exposition can carry, from its TYPE lines and its samples."""
    names: set[str] = set()
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_count", "_sum", "_created"],
                "gauge": [""], "summary": ["", "_count", "_sum"], "info": ["_info"], "unknown": [""]}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            names.update(family + s for s in suffixes.get(kind, [""]))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
