#!/usr/bin/env python3
"""`make chart-test`: the Helm chart in deploy/helm/switchyard, checked offline.

For the default values and each values file in the chart's ci/ directory:
  - `helm lint` (Helm's own library, from PyPI helm-python-sdk; warnings count as failures);
  - `helm template`, then every rendered manifest validated against the schemas of Kubernetes
    KUBE_VERSION (PyPI kubernetes-validate, strict: an unknown field is an error). The one custom
    resource, the Prometheus Operator's ServiceMonitor, has no schema there and is checked by hand;
  - the references between manifests that no schema sees (selectors, ports, volumes, Secrets);
  - the mounted policy: the operator's text unchanged (plus the chart's ledger line), and accepted
    by `switchyard policy check` when a switchyard binary is built.
Then the settings that must not render (several replicas on SQLite, ...) are rendered and must
fail with their message, and the pod-template digest must change for start-up-only policy
settings and only for them. Prints one line per check and `chart-test: N passed, N failed`.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import helm_python as helm
import kubernetes_validate
import yaml
from checklist import Checklist

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "deploy" / "helm" / "switchyard"
# The chart as `helm package` ships it: files/ links to deploy/policy.yaml and policies/, and the
# copy holds what they point at (Helm would log every link it follows).
CHART = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-chart-")) / "switchyard"
KUBE_VERSION = os.environ.get("KUBE_VERSION", "1.37.0")
RELEASE, NAMESPACE = "sy", "switchyard"

checks = Checklist("chart-test")
check = checks.check


def render(values: dict | None) -> list[dict]:
    """Every manifest `helm template` makes for these values, parsed (NOTES.txt left out)."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    manifests = []
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc["__template"] = path.rsplit("/", 1)[-1]
                manifests.append(doc)
    return manifests


def render_error(values: dict) -> str | None:
    try:
        render(values)
    except helm.HelmError as error:
        return str(error)
    return None


def by_kind(manifests: list[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[dict], kind: str) -> dict:
    found = by_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def switchyard_binary() -> str | None:
    candidates = [os.environ.get("SWITCHYARD_BIN", ""), ROOT / ".build/debug/switchyard", ROOT / ".build/release/switchyard"]
    return next((str(c) for c in candidates if c and os.access(c, os.X_OK)), None)


def validate_schemas(label: str, manifests: list[dict]) -> None:
    for m in manifests:
        body = {k: v for k, v in m.items() if k != "__template"}
        name = f"{label}: {m['kind']} {m['metadata']['name']} validates against Kubernetes {KUBE_VERSION}"
        if m["kind"] == "ServiceMonitor":
            continue  # a custom resource: checked in check_references
        try:
            kubernetes_validate.validate(body, KUBE_VERSION, strict=True)
            check(name, True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            check(name, False, f"{path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            check(name, False, error.message)


def check_references(label: str, manifests: list[dict], values: dict) -> dict:
    """What no schema sees: every name one manifest gives another exists and agrees."""
    deployment = one(manifests, "Deployment")
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    container = pod["spec"]["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}

    check(f"{label}: the Deployment selects its own pods", matches(deployment["spec"]["selector"]["matchLabels"], pod_labels))
    service = one(manifests, "Service")
    check(f"{label}: the Service selects the pods on a container port",
          matches(service["spec"]["selector"], pod_labels) and all(p["targetPort"] in port_names for p in service["spec"]["ports"]))
    probes = {k: container[k]["httpGet"]["path"] for k in ("readinessProbe", "livenessProbe", "startupProbe")}
    check(f"{label}: readiness asks /readyz, liveness and start-up /healthz",
          probes == {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}, str(probes))
    security = container["securityContext"]
    check(f"{label}: the container runs as the image's non-root user, read-only, without privileges",
          pod["spec"]["securityContext"].get("runAsNonRoot") is True and pod["spec"]["securityContext"].get("runAsUser") == 10001
          and security.get("readOnlyRootFilesystem") is True and security.get("allowPrivilegeEscalation") is False
          and security.get("capabilities") == {"drop": ["ALL"]} and "requests" in container["resources"])

    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    policy_mount = mounts.get("/etc/switchyard", {})
    configmap = volumes.get(policy_mount.get("name"), {}).get("configMap", {}).get("name")
    check(f"{label}: the policy ConfigMap is mounted as a directory (a subPath mount never sees an update)",
          ("ConfigMap", configmap) in names and "subPath" not in policy_mount)
    state = volumes.get(mounts.get("/var/lib/switchyard", {}).get("name"), {})
    claim = state.get("persistentVolumeClaim", {}).get("claimName")
    check(f"{label}: the state directory is a volume that exists",
          ("emptyDir" in state) or (claim is not None and (("PersistentVolumeClaim", claim) in names or claim == values.get("persistence", {}).get("existingClaim"))))
    check(f"{label}: /tmp is writable beside the read-only root", "/tmp" in mounts)

    secret_refs = [e["secretRef"]["name"] for e in container.get("envFrom", [])] + [
        e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
    existing = values.get("secrets", {}).get("existingSecret")
    check(f"{label}: every Secret the pods read is made by the chart or named in secrets.existingSecret",
          all(("Secret", s) in names or s == existing for s in secret_refs))

    for pdb in by_kind(manifests, "PodDisruptionBudget"):
        check(f"{label}: the PodDisruptionBudget covers the pods", matches(pdb["spec"]["selector"]["matchLabels"], pod_labels))
    for hpa in by_kind(manifests, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        check(f"{label}: the HPA scales the Deployment, which leaves replicas to it",
              (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"]) and "replicas" not in deployment["spec"])
    for ingress in by_kind(manifests, "Ingress"):
        backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
        service_ports = {p["name"] for p in service["spec"]["ports"]}
        check(f"{label}: the Ingress routes to the Service's port",
              all(b["name"] == service["metadata"]["name"] and b["port"].get("name") in service_ports for b in backends))
    for monitor in by_kind(manifests, "ServiceMonitor"):
        spec = monitor["spec"]
        check(f"{label}: the ServiceMonitor (custom resource, no published schema) scrapes /metrics on the Service's port",
              monitor["apiVersion"] == "monitoring.coreos.com/v1" and matches(spec["selector"]["matchLabels"], service["metadata"]["labels"])
              and set(spec) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
              and all(e["port"] in {p["name"] for p in service["spec"]["ports"]} and e["path"] == "/metrics" for e in spec["endpoints"]))
    for policy in by_kind(manifests, "NetworkPolicy"):
        check(f"{label}: the NetworkPolicy applies to the pods and admits the gateway's port",
              matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
              and any(p["port"] in port_names | {container["ports"][0]["containerPort"]} for r in policy["spec"]["ingress"] for p in r["ports"]))
    return one(manifests, "ConfigMap")


def check_policy(label: str, configmap: dict, values: dict) -> None:
    data = configmap["data"]
    source = values.get("policy", {}).get("content") or (ROOT / "deploy" / "policy.yaml").read_text()
    mounted = data["policy.yaml"]
    postgres = values.get("ledger", {}).get("postgres", {}).get("enabled") and "ledger" not in yaml.safe_load(source)
    if postgres:
        ok = mounted.startswith(source.rstrip("\n") + "\n") and yaml.safe_load(mounted)["ledger"] == {"postgres_url_env": "SWITCHYARD_LEDGER_URL"}
        check(f"{label}: the mounted policy is the operator's text, with the chart's ledger line added", ok)
    else:
        check(f"{label}: the mounted policy is the operator's text, byte for byte", mounted == source)
    check(f"{label}: the calibration file is beside the policy",
          data.get("smollm2-135m-calibration.json") == (ROOT / "policies" / "smollm2-135m-calibration.json").read_text())
    binary = switchyard_binary()
    if binary is None:
        print(f"SKIP {label}: `switchyard policy check` of the mounted policy (no switchyard binary built; set SWITCHYARD_BIN)")
        return
    with tempfile.TemporaryDirectory() as directory:
        for name, text in data.items():
            pathlib.Path(directory, name).write_text(text)
        result = subprocess.run([binary, "policy", "check", f"{directory}/policy.yaml"], capture_output=True, text=True, timeout=60)
    check(f"{label}: `switchyard policy check` accepts the mounted policy", result.returncode == 0, result.stdout + result.stderr)


def check_values(label: str, values: dict) -> None:
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}", namespace=NAMESPACE)
    problems = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    check(f"{label}: helm lint --strict", not problems, "; ".join(problems))
    try:
        manifests = render(values)
    except helm.HelmError as error:
        check(f"{label}: helm template", False, str(error))
        return
    check(f"{label}: helm template ({len(manifests)} manifests: {', '.join(sorted(m['kind'] for m in manifests))})", True)
    validate_schemas(label, manifests)
    configmap = check_references(label, manifests, values)
    check_policy(label, configmap, values)


def digest(values: dict) -> str:
    deployment = one(render(values), "Deployment")
    return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/policy-startup"]


def check_refusals() -> None:
    """Settings that must not render, each with the message that says what to do."""
    policy = (ROOT / "deploy" / "policy.yaml").read_text()
    postgres_policy = policy + "\nledger: {postgres_url_env: SWITCHYARD_LEDGER_URL}\n"
    cases = [
        ("three replicas on SQLite", {"replicaCount": 3}, "3 replicas need the PostgreSQL ledger"),
        ("autoscaling on SQLite", {"autoscaling": {"enabled": True, "maxReplicas": 4}}, "4 replicas need the PostgreSQL ledger"),
        ("PostgreSQL without the URL in a Secret", {"ledger": {"postgres": {"enabled": True}}}, "needs the database URL in the Secret under SWITCHYARD_LEDGER_URL"),
        ("a policy on PostgreSQL without ledger.postgres", {"policy": {"content": postgres_policy}}, "keeps the ledger in PostgreSQL"),
        ("ledger.postgres with a policy that keeps SQLite", {"ledger": {"postgres": {"enabled": True}}, "secrets": {"existingSecret": "s"},
                                                            "policy": {"content": policy + "\nledger: {sqlite_path: /var/lib/switchyard/l.sqlite}\n"}},
         "keeps the ledger elsewhere (sqlite)"),
        ("a policy and ledger.postgres.urlEnv naming different variables",
         {"ledger": {"postgres": {"enabled": True, "urlEnv": "DB_URL"}}, "secrets": {"existingSecret": "s"}, "policy": {"content": postgres_policy}},
         "reads the PostgreSQL URL from SWITCHYARD_LEDGER_URL but ledger.postgres.urlEnv is DB_URL"),
        ("an external engine with a kind: local model", {"engine": {"mode": "external"}}, "model \"local\" is kind: local"),
        ("a policy that is not a mapping", {"policy": {"content": "- just\n- a list\n"}}, "is not a policy"),
        ("a Secret key that is not a variable name", {"secrets": {"env": {"OPENAI API KEY": "x"}}}, "'OPENAI API KEY' does not match pattern"),
        ("a policy without API keys", {"policy": {"content": policy.replace("auth: {mode: required}", "auth: {mode: off}")}},
         "the policy's auth.mode is off"),
        ("a policy that does not mention auth", {"policy": {"content": policy.replace("auth: {mode: required}", "")}},
         "the policy's auth.mode is off"),
        ("both an existing Secret and secrets.env", {"secrets": {"existingSecret": "s", "env": {"OPENAI_API_KEY": "x"}}}, "not both"),
        # values.schema.json: a misspelt or mistyped setting is an error, not silently ignored.
        ("a misspelt setting", {"replicas": 3}, "additional properties 'replicas' not allowed"),
        ("an unknown engine mode", {"engine": {"mode": "sidecar"}}, "at '/engine/mode': value must be one of 'embedded', 'external'"),
    ]
    for name, values, message in cases:
        error = render_error(values)
        check(f"refused: {name}", error is not None and message in error, f"rendered, or without '{message}': {error}")

    # An open policy behind something that authenticates: served with --allow-unauthenticated.
    container = one(render({"allowUnauthenticated": True, "policy": {"content": policy.replace("auth: {mode: required}", "")}}),
                    "Deployment")["spec"]["template"]["spec"]["containers"][0]
    check("accepted: an open policy with allowUnauthenticated, served with --allow-unauthenticated",
          "--allow-unauthenticated" in container["args"])

    # A policy that names its PostgreSQL ledger itself renders, unchanged (no second ledger line).
    values = {"ledger": {"postgres": {"enabled": True}}, "secrets": {"existingSecret": "s"}, "replicaCount": 2, "policy": {"content": postgres_policy}}
    configmap = one(render(values), "ConfigMap")
    check("accepted: a policy that names its PostgreSQL ledger itself, mounted unchanged", configmap["data"]["policy.yaml"] == postgres_policy)

    # Hot reload covers policy edits; start-up-only settings roll the pods instead.
    base = digest({})
    renamed = policy.replace("- name: default", "- name: everything-else")
    check("a rule edit leaves the pod template alone (the gateway reloads it in place)",
          renamed != policy and digest({"policy": {"content": renamed}}) == base)
    check("a `server:` edit changes the pod template (read at start-up: the pods roll)",
          digest({"policy": {"content": policy + "\nserver: {max_connections: 512}\n"}}) != base)
    check("a local model edit changes the pod template",
          digest({"policy": {"content": policy.replace("slots: 4", "slots: 2")}}) != base)


def main() -> int:
    shutil.copytree(SOURCE, CHART, symlinks=False)
    try:
        check_values("default values", {})
        for path in sorted((CHART / "ci").glob("*-values.yaml")):
            check_values(path.name, yaml.safe_load(path.read_text()))
        check_refusals()
    finally:
        shutil.rmtree(CHART.parent)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
