"""Config parity: each enabled service's rendered ConfigMap and container environment start the real binary.

For every value set (defaults, ci/*.yaml) and every rendered Deployment, this takes the container's args, env
and mounted ConfigMap exactly as rendered and rewrites only what must point at this machine:
  - listen addresses (grpc.addr, admin.addr, disclosure.http_addr) -> 127.0.0.1 on free ports;
  - database.url host/port -> the local PostgreSQL, database name -> a fresh test_helm_* database;
  - nats.url -> a private nats-server with JetStream on a free port (so the run never joins the durable consumers
    of a platform running on the shared NATS); nats.tls_required -> false and nats.credentials_file dropped, after
    checking the file it names is mounted, because the local server has neither TLS nor accounts;
  - paths under a volume mount -> the same path under a temporary root holding the mounted files;
  - PGUSER -> the local superuser (the role in the chart does not exist here).
Secrets referenced with secretKeyRef come from the rendered Secret when the chart made it, else from test values.
The service must reach SERVING (grpc.health.v1, for "" and for the readiness probe's service name), answer
/healthz on its admin port (and /log/v1/info on the disclosure HTTP port), and exit 0 on SIGTERM. Every metric the
rendered PrometheusRule and Grafana dashboard query must be one that the services' /metrics expose.

Usage: python check_parity.py --bin-dir target/debug [--database-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import base64
import copy
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

import monitoring
from render import Rendering, render, value_sets

START_TIMEOUT = 120.0
RUN_ID = secrets.token_hex(4)

# Test content for a mounted Secret file of Ed25519 public keys (auth.publicKeysSecret).
TEST_PUBLIC_KEYS = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAOO/GPRTOjWRGTLspdqpX1de3xU85mL4pHNW+tgZN1fY=
-----END PUBLIC KEY-----
"""

# Test values for keys of Secrets the chart does not create (existingSecret settings).
TEST_SECRET_VALUES = {
    "PDOP_DISCLOSURE__SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "PDOP_AUTH__DEV_SECRET": "helm-verify-dev-secret-0123456789",
    "PGPASSWORD": "unused-with-trust-auth",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Case:
    label: str
    service: str
    argv: list[str]
    env: dict[str, str]
    grpc_port: int
    admin_port: int
    http_port: int | None
    readiness_service: str
    grace: float
    log: pathlib.Path
    problems: list[str]
    # The sample names its /metrics exposes, read while it is SERVING.
    exposed: set[str] = field(default_factory=set)


def secret_value(r: Rendering, ref: dict, env_name: str, local_user: str) -> str:
    rendered = r.get("Secret", ref["name"])
    if rendered is not None:
        return base64.b64decode(rendered["data"][ref["key"]]).decode()
    if env_name == "PGUSER":
        return local_user
    return TEST_SECRET_VALUES[env_name]


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of earlier variables."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def walk_strings(node, fn):
    if isinstance(node, dict):
        return {k: walk_strings(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [walk_strings(v, fn) for v in node]
    return fn(node) if isinstance(node, str) else node


def prepare(r: Rendering, dep: dict, work: pathlib.Path, bin_dir: pathlib.Path, db: urllib.parse.SplitResult,
            nats_url: str) -> Case:
    service = dep["metadata"]["labels"]["app.kubernetes.io/component"]
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    problems: list[str] = []
    root = work / f"{RUN_ID}-{r.label.replace('/', '_')}-{service}"
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    # Materialize every volume mount under `root`: ConfigMaps and Secrets the chart rendered, test files otherwise.
    mounts: dict[str, pathlib.Path] = {}
    config_path: pathlib.Path | None = None
    for mount in container.get("volumeMounts", []):
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = target
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            cm = r.get("ConfigMap", volume["configMap"]["name"])
            if cm is None:
                problems.append(f"ConfigMap {volume['configMap']['name']} is mounted but not rendered")
                continue
            for key, text in cm["data"].items():
                (target / key).write_text(text)
                config_path = target / key if key == "config.yaml" else config_path
        elif "secret" in volume:
            rendered = r.get("Secret", volume["secret"]["secretName"])
            for item in volume["secret"].get("items", []):
                data = (base64.b64decode(rendered["data"][item["key"]]) if rendered
                        else pathlib.Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
                        if item["key"].endswith(".crt")
                        else TEST_PUBLIC_KEYS if item["key"].endswith(".pem") else b"test file\n")
                (target / item["path"]).write_bytes(data)

    def relocate(text: str) -> str:
        for mount_path, local in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if text == mount_path or text.startswith(mount_path.rstrip("/") + "/"):
                return str(local) + text[len(mount_path.rstrip("/")):]
        return text

    if config_path is None:
        raise RuntimeError(f"{service}: no config.yaml is mounted")
    rendered_config = yaml.safe_load(config_path.read_text())
    config = copy.deepcopy(rendered_config)

    # Ports as rendered must agree with the container ports and the probes.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for key, port_name in [("grpc", "grpc"), ("admin", "admin")]:
        rendered_port = int(config[key]["addr"].rsplit(":", 1)[1])
        if rendered_port != ports[port_name]:
            problems.append(f"{key}.addr port {rendered_port} != containerPort {ports[port_name]}")
    if service in config and "http_addr" in config[service]:
        if int(config[service]["http_addr"].rsplit(":", 1)[1]) != ports.get("http"):
            problems.append("disclosure.http_addr port != containerPort http")
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
        if container[probe]["grpc"]["port"] != ports["grpc"]:
            problems.append(f"{probe} port != the gRPC port")

    grpc_port, admin_port = free_port(), free_port()
    config["grpc"]["addr"] = f"127.0.0.1:{grpc_port}"
    config["admin"]["addr"] = f"127.0.0.1:{admin_port}"
    http_port = None
    if service in config and "http_addr" in config[service]:
        http_port = free_port()
        config[service]["http_addr"] = f"127.0.0.1:{http_port}"

    url = urllib.parse.urlsplit(config["database"]["url"])
    database = f"test_helm_{RUN_ID}_{r.label.split('/')[-1].split('-')[0].split('.')[0]}_{service}"
    config["database"]["url"] = urllib.parse.urlunsplit(
        (url.scheme, f"{url.username + '@' if url.username else ''}{db.hostname}:{db.port or 5432}", f"/{database}",
         url.query, ""))

    nats = config.setdefault("nats", {})
    credentials = nats.pop("credentials_file", None)
    if credentials and not pathlib.Path(relocate(credentials)).is_file():
        problems.append(f"nats.credentials_file {credentials} is not a mounted file")
    nats["url"] = nats_url
    nats["tls_required"] = False

    config = walk_strings(config, relocate)
    for key in ("holidays_file", "profiles_dir"):
        path = (config.get("rules") or {}).get(key)
        if path and not pathlib.Path(path).exists():
            problems.append(f"rules.{key} {path} is not mounted")

    local_config = root / "config.local.yaml"
    local_config.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "RUST_BACKTRACE": "0"}
    for var in container.get("env", []):
        name = var["name"]
        if "value" in var:
            value = expand(str(var["value"]), env)
        elif "secretKeyRef" in var.get("valueFrom", {}):
            value = secret_value(r, var["valueFrom"]["secretKeyRef"], name, db.username or "postgres")
        else:
            raise RuntimeError(f"{service}: env {name} has an unsupported source {var.get('valueFrom')}")
        env[name] = relocate(value)
    env["PGUSER"] = db.username or "postgres"

    args = [relocate(a) for a in container.get("args", [])]
    if str(config_path) not in args:
        problems.append(f"the container args {container.get('args')} do not pass the mounted config.yaml")
    args = [str(local_config) if a == str(config_path) else a for a in args]
    readiness = container["readinessProbe"]["grpc"].get("service", "")
    grace = float(pod.get("terminationGracePeriodSeconds", 30))
    return Case(r.label, service, [str(bin_dir / f"pdop-{service}"), *args], env, grpc_port, admin_port, http_port,
                readiness, grace, root / "service.log", problems)


def serving(port: int, name: str) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=1)
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(url: str) -> bool:
    return http_text(url) is not None


def http_text(url: str) -> str | None:
    """The body at url when it answers 200, else None."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode() if response.status == 200 else None
    except OSError:
        return None


def run(case: Case) -> list[str]:
    """Starts the binary, waits until SERVING, checks its HTTP ports, sends SIGTERM; returns the failures."""
    problems = list(case.problems)
    started = time.monotonic()
    with case.log.open("wb") as log:
        proc = subprocess.Popen(case.argv, env=case.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not (serving(case.grpc_port, "") and serving(case.grpc_port, case.readiness_service)):
            if proc.poll() is not None:
                problems.append(f"exited with status {proc.returncode} before SERVING")
                break
            if time.monotonic() - started > START_TIMEOUT:
                problems.append(f"not SERVING after {START_TIMEOUT:.0f}s")
                break
            time.sleep(0.2)
        else:
            if not http_ok(f"http://127.0.0.1:{case.admin_port}/healthz"):
                problems.append("admin /healthz did not answer 200")
            if case.http_port and not http_ok(f"http://127.0.0.1:{case.http_port}/log/v1/info"):
                problems.append("public HTTP /log/v1/info did not answer 200")
            exposition = http_text(f"http://127.0.0.1:{case.admin_port}/metrics")
            if exposition is None:
                problems.append("admin /metrics did not answer 200")
            else:
                case.exposed = monitoring.exposed_names(exposition)
    finally:
        took = time.monotonic() - started
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                status = proc.wait(timeout=case.grace)
                if status != 0 and not problems:
                    problems.append(f"exit status {status} after SIGTERM")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problems.append(f"still running {case.grace:.0f}s (terminationGracePeriodSeconds) after SIGTERM")
    if problems:
        report = [f"FAIL {case.label}: {case.service}: {'; '.join(problems)}", "  command: " + " ".join(case.argv),
                  "  env: " + " ".join(f"{k}={'***' if re.search('KEY|PASS|SECRET', k) else v}"
                                       for k, v in case.env.items() if k not in ("PATH", "HOME"))]
        report += [f"  | {line}" for line in case.log.read_text(errors="replace").splitlines()[-15:]]
    else:
        report = [f"ok {case.label}: {case.service} SERVING in {took:.1f}s ({case.readiness_service})"]
    print("\n".join(report), flush=True)
    return problems


def start_nats(work: pathlib.Path) -> tuple[subprocess.Popen | None, str]:
    server = shutil.which("nats-server")
    if server is None:
        url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
        print(f"nats-server not on PATH: using the shared NATS at {url}")
        return None, url
    port = free_port()
    store = work / "nats"
    store.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=(work / "nats.log").open("wb"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"nats://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the private nats-server did not start")


def drop_databases(database_url: str) -> None:
    if shutil.which("psql") is None:
        return
    listing = subprocess.run(["psql", database_url, "-Atqc",
                              f"SELECT datname FROM pg_database WHERE datname LIKE 'test\\_helm\\_{RUN_ID}\\_%'"],
                             capture_output=True, text=True)
    for name in listing.stdout.split():
        subprocess.run(["psql", database_url, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                       capture_output=True)


def queries_exposed(r: Rendering, cases: list[Case]) -> bool:
    """Every metric the rendered rule and dashboard query is exposed by one of the services just run."""
    exposed = set().union(*(c.exposed for c in cases))
    names, broken = monitoring.queried(r)
    if not names and not broken:
        return True
    missing = {where: sorted(n - exposed) for where, n in names.items() if n - exposed}
    if broken or missing:
        print(f"FAIL {r.label}: queries of metrics no service exposes: {missing or broken}", flush=True)
        return False
    queried = sorted(set().union(*names.values()))
    print(f"ok {r.label}: the {len(names)} rule and dashboard queries use exposed metrics only {queried}", flush=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, type=pathlib.Path)
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the test databases")
    parser.add_argument("--values", type=pathlib.Path, action="append",
                        help="check these values files instead of the defaults and ci/*.yaml")
    options = parser.parse_args()
    db = urllib.parse.urlsplit(options.database_url)
    work = pathlib.Path(tempfile.mkdtemp(prefix="pdop-helm-parity-"))
    nats, nats_url = start_nats(work)
    failures = total = 0
    try:
        sets = ([(str(p), yaml.safe_load(p.read_text()) or {}) for p in options.values] if options.values
                else value_sets())
        for label, values in sets:
            rendering = render(label, values)
            cases = [prepare(rendering, dep, work, options.bin_dir, db, nats_url)
                     for dep in rendering.of_kind("Deployment")]
            with ThreadPoolExecutor(max_workers=len(cases)) as pool:
                results = list(pool.map(run, cases))
            total += len(cases)
            failures += sum(1 for problems in results if problems)
            if not any(results):
                total += 1
                failures += 0 if queries_exposed(rendering, cases) else 1
    finally:
        if nats is not None:
            nats.terminate()
            nats.wait(timeout=10)
        if not options.keep:
            drop_databases(options.database_url)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    print(f"parity: {total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
