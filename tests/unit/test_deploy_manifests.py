"""deploy/ checked offline: every Kubernetes manifest against the Kubernetes schemas (kubernetes-validate,
strict: an unknown field fails), the Compose file against the compose specification (check-jsonschema's
vendored schema), and both against the code: every variable they give an e-Maket process is one its
settings class reads, every variable production needs is set, and the settings classes accept the result.

No kustomize binary here: the overlay is rendered by a small strategic merge (by kind and name; lists of
named items merged by name), enough for the patches in deploy/k8s/overlays.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import ValidationError as K8sValidationError

from common.settings import ServiceSettings
from gateway.settings import GatewaySettings
from services.decision.settings import DecisionSettings
from services.eligibility.settings import EligibilitySettings
from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.payment_queue.settings import PaymentQueueSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
SECRET_TEMPLATES = K8S / "secrets" / "secrets.template.yaml"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose" / "env.example"

# The oldest Kubernetes the manifests promise to run on, and the newest the validator knows.
K8S_VERSIONS = ("1.30", "1.37")

# Process -> its settings class. Hyphenated names are the Kubernetes / Compose names.
SETTINGS: dict[str, type] = {
    "gateway": GatewaySettings,
    "intake": IntakeSettings,
    "eligibility": EligibilitySettings,
    "decision": DecisionSettings,
    "payment-queue": PaymentQueueSettings,
    "notifier": NotifierSettings,
}
# Required outside dev mode, but checked when used rather than by the settings validator.
REQUIRED_AT_RUN = {
    "gateway": {"GATEWAY_JWKS", "GATEWAY_INTERNAL_SIGNING_KEY_FILE"}
    | {f"GATEWAY_{s.upper()}_URL" for s in ("intake", "eligibility", "decision", "payment_queue", "notifier")},  # default 127.0.0.1
    "decision": {"DECISION_SIGNING_KEY_FILE"},  # services/decision/adapters/signer.py load_signer
    "payment-queue": {"PAYMENTS_DB_URL", "DECISION_JWKS"},  # no sandbox fallback; decision_keys_source()
}
# Variables an e-Maket container may carry that no settings class reads, and who reads them.
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS": "uvicorn --forwarded-allow-ips (the gateway's client address for rate limits)"}
# Never in a production manifest.
FORBIDDEN = {"CRASH_POINT", "SANDBOX_URL", "DATA_DIR", "GATEWAY_JWT_PUBLIC_KEY_FILE"}
EMAKET_IMAGE = re.compile(r"^(\$\{EMAKET_IMAGE[^}]*\}|emaket(:.*)?)$")


# --- loading ---------------------------------------------------------------------------------------


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def key_of(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def resource_files(directory: Path) -> list[Path]:
    return [directory / r for r in kustomization(directory).get("resources", []) if (directory / r).is_file()]


def k8s_files() -> list[Path]:
    files = resource_files(BASE) + [SECRET_TEMPLATES]
    for overlay in OVERLAYS:
        files += resource_files(overlay)
    return files


def strategic_merge(base: Any, patch: Any) -> Any:
    """Maps merge key by key; lists of maps that all carry a name merge by name; anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for k, v in patch.items():
            merged[k] = strategic_merge(base[k], v) if k in base else v
        return merged
    named = isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i for i in base + patch)
    if named and base:
        merged_list = list(base)
        index = {item["name"]: n for n, item in enumerate(base)}
        for item in patch:
            if item["name"] in index:
                merged_list[index[item["name"]]] = strategic_merge(base[index[item["name"]]], item)
            else:
                merged_list.append(item)
        return merged_list
    return patch


def render(directory: Path) -> list[dict[str, Any]]:
    """What `kustomize build` would give, for the features these kustomizations use."""
    spec = kustomization(directory)
    docs: list[dict[str, Any]] = []
    for ref in spec.get("resources", []):
        target = directory / ref
        docs += render(target) if target.is_dir() else load_docs(target)
    by_key = {key_of(d): n for n, d in enumerate(docs)}
    for entry in spec.get("patches", []):
        for patch in load_docs(directory / entry["path"]):
            assert key_of(patch) in by_key, f"{directory.name}: patch {entry['path']} targets {key_of(patch)}, which no resource defines"
            n = by_key[key_of(patch)]
            docs[n] = strategic_merge(docs[n], patch)
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] != "Namespace":
                doc["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for doc in docs:
            for container in containers_of(doc, init=True):
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    return docs


def containers_of(doc: dict[str, Any], *, init: bool = False) -> list[dict[str, Any]]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    return list(pod.get("containers", [])) + (list(pod.get("initContainers", [])) if init else [])


def k8s_validate(doc: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


# --- settings of the code --------------------------------------------------------------------------


def aliases(cls: type) -> set[str]:
    return {str(f.validation_alias) for f in cls.model_fields.values() if f.validation_alias}  # type: ignore[attr-defined]


ALL_ALIASES = set().union(*(aliases(c) for c in SETTINGS.values()))


def required(process: str) -> set[str]:
    cls = SETTINGS[process]
    fields = cls.model_fields  # type: ignore[attr-defined]
    needed = {"DEV_MODE"}  # explicit, even though false is the default: an operator reads it
    needed |= {str(f.validation_alias) for f in fields.values() if f.is_required()}
    if issubclass(cls, ServiceSettings):
        needed |= {"INTERNAL_JWKS"} | {str(fields[name].validation_alias) for name in cls.EXTERNAL_URLS}
    return needed | REQUIRED_AT_RUN.get(process, set())


def env_problems(process: str, env: dict[str, str]) -> list[str]:
    """What is wrong with ``env`` for ``process`` (empty: nothing)."""
    readable = aliases(SETTINGS[process]) | set(NOT_SETTINGS if process == "gateway" else ())
    problems = [f"{process}: {name} is read by no setting of this process" for name in sorted(set(env) - readable)]
    problems += [f"{process}: {name} must not be set in production" for name in sorted(set(env) & FORBIDDEN)]
    problems += [f"{process}: {name} is required outside dev mode and not set" for name in sorted(required(process) - set(env))]
    if env.get("DEV_MODE") != "false":
        problems.append(f"{process}: DEV_MODE must be exactly 'false', is {env.get('DEV_MODE')!r}")
    return problems


def settings_accept(process: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The process' own settings class, fed exactly this environment, starts (its fail-closed checks pass)."""
    for name in ALL_ALIASES | set(NOT_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[process]()
    assert settings.dev_mode is False
    if process == "payment-queue":
        assert settings.decision_keys_source() == env["DECISION_JWKS"]


# --- Kubernetes: schemas ---------------------------------------------------------------------------


K8S_DOCS = [(path, doc) for path in k8s_files() for doc in load_docs(path)]


@pytest.mark.parametrize(
    "path,doc", K8S_DOCS, ids=[f"{p.relative_to(K8S)}:{d['kind']}/{d['metadata']['name']}" for p, d in K8S_DOCS]
)
def test_k8s_manifest_matches_the_schema(path: Path, doc: dict[str, Any]) -> None:
    k8s_validate(doc)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[o.name for o in OVERLAYS])
def test_k8s_overlay_renders_to_valid_manifests(overlay: Path) -> None:
    docs = render(overlay)
    keys = [key_of(d) for d in docs]
    assert len(keys) == len(set(keys)), "a resource is defined twice"
    for doc in docs:
        k8s_validate(doc)
    kinds = {k for k, _ in keys}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "Job", "Ingress", "Namespace"} <= kinds
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    backends = {p["backend"]["service"]["name"] for i in ingresses for r in i["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway"}, "only the gateway is public"


def test_kustomizations_name_real_files_and_every_base_file() -> None:
    known = {"apiVersion", "kind", "resources", "patches", "namespace", "images", "labels", "commonAnnotations"}
    for directory in [BASE, *OVERLAYS]:
        spec = kustomization(directory)
        assert set(spec) <= known, f"{directory}: unexpected kustomization fields {set(spec) - known}"
        for ref in spec.get("resources", []) + [p["path"] for p in spec.get("patches", [])]:
            assert (directory / ref).exists(), f"{directory}: {ref} does not exist"
    listed = set(kustomization(BASE)["resources"])
    present = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert present == listed, f"base files not in base/kustomization.yaml: {present - listed}"


def test_secrets_are_templates_outside_every_kustomization() -> None:
    for doc in load_docs(SECRET_TEMPLATES):
        assert doc["kind"] == "Secret"
        assert all("REPLACE" in v for v in doc["stringData"].values()), f"{doc['metadata']['name']}: a value that is not a placeholder"
    for directory in [BASE, *OVERLAYS]:
        for doc in render(directory):
            assert doc["kind"] != "Secret", f"{directory}: an apply would overwrite the real {doc['metadata']['name']}"


def test_every_workload_is_hardened_and_probed() -> None:
    for doc in render(BASE):
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        name = doc["metadata"]["name"]
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers_of(doc, init=True):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= set(container["resources"]), name
        if doc["kind"] == "Deployment":
            assert doc["spec"]["replicas"] >= 2, name
            (app,) = containers_of(doc)
            # Services take traffic only when ready (broker and consumers too: /readyz); the gateway's readiness
            # is its own (/healthz), so one service down does not take the whole API out of rotation.
            ready = "/healthz" if name == "gateway" else "/readyz"
            expected = {"readinessProbe": ready, "startupProbe": ready, "livenessProbe": "/healthz"}
            for probe, path in expected.items():
                assert app[probe]["httpGet"]["path"] == path, (name, probe)
            assert name == "gateway" or pod["initContainers"][0]["command"][:3] == ["python", "-m", "common.migrations"], name


def test_network_policies_admit_only_the_gateway_to_the_services() -> None:
    policies = [d for d in render(BASE) if d["kind"] == "NetworkPolicy"]
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in p["spec"] for p in policies)
    sources: dict[str, list[dict[str, Any]]] = {}
    for policy in policies:
        target = policy["spec"]["podSelector"].get("matchLabels", {})
        for rule in policy["spec"].get("ingress", []):
            sources.setdefault(str(sorted(target.items())), []).extend(rule["from"])
    services = str(sorted({"app.kubernetes.io/component": "service"}.items()))
    peers = [p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") for p in sources[services]]
    assert sorted(peers) == ["gateway", "prometheus"]


def test_kubernetes_validation_can_fail() -> None:
    """The validator is not vacuous: each mutation of a valid Deployment is refused."""
    (deployment,) = [d for d in load_docs(BASE / "gateway.yaml") if d["kind"] == "Deployment"]
    k8s_validate(deployment)

    def misspelt_field(d: dict[str, Any]) -> None:
        d["spec"]["replica"] = d["spec"].pop("replicas")

    def wrong_type(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"

    def misspelt_nested(d: dict[str, Any]) -> None:
        sc = d["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        sc["readOnlyRootFileSystem"] = sc.pop("readOnlyRootFilesystem")

    for mutate in (misspelt_field, wrong_type, misspelt_nested):
        broken = copy.deepcopy(deployment)
        mutate(broken)
        with pytest.raises(K8sValidationError):
            k8s_validate(broken)


# --- Kubernetes: against the code ------------------------------------------------------------------


def k8s_env(docs: list[dict[str, Any]], container: dict[str, Any], pod: dict[str, Any]) -> dict[str, str]:
    """The container's environment, with ConfigMap values and Secret template values filled in; every
    reference must exist, and a path under /etc/emaket/ must be a mounted Secret's file or directory."""
    config_maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d["stringData"] for d in load_docs(SECRET_TEMPLATES)}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "configMapKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = config_maps[ref["name"]][ref["key"]]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
    for name, value in env.items():
        if not value.startswith("/etc/emaket/") or value.startswith("/etc/emaket/logging/"):
            continue
        directory = next((d for d in mounts if value == d or value.startswith(d + "/")), None)
        assert directory is not None, f"{container['name']}: {name}={value} is on no mounted volume"
        secret = mounts[directory]["secret"]["secretName"]
        assert secret in secrets, f"{container['name']}: volume secret {secret} has no template"
        if value != directory:
            assert value[len(directory) + 1 :] in secrets[secret], f"{container['name']}: {name}={value}: no such key in {secret}"
    return env


def k8s_processes(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    found = {}
    for doc in docs:
        if doc["kind"] == "Deployment":
            (app,) = containers_of(doc)
            found[app["name"]] = k8s_env(docs, app, doc["spec"]["template"]["spec"])
    return found


@pytest.mark.parametrize("directory", [BASE, *OVERLAYS], ids=["base", *[o.name for o in OVERLAYS]])
def test_k8s_environment_matches_the_settings(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(directory)
    processes = k8s_processes(docs)
    assert set(processes) == set(SETTINGS)
    problems = [p for process, env in processes.items() for p in env_problems(process, env)]
    for doc in docs:  # init containers (migrations) and jobs (topics) read service settings only
        for container in containers_of(doc, init=True):
            if container["name"] not in SETTINGS:
                env = k8s_env(docs, container, doc["spec"]["template"]["spec"])
                problems += [f"{doc['metadata']['name']}/{container['name']}: {n} is read by no setting" for n in set(env) - aliases(ServiceSettings)]
    assert not problems, "\n".join(problems)
    for process, env in processes.items():
        settings_accept(process, env, monkeypatch)


# --- Compose -----------------------------------------------------------------------------------------


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_matches_the_compose_specification() -> None:
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "old,new",
    [
        ("    replicas: 2\n", "    replica: 2\n"),  # misspelt field, in an anchor merged into every service
        ("      decision:\n        condition: service_healthy\n\n", "      decision:\n        condition: service_happy\n\n"),  # not an allowed value
        ("  cap_drop:\n    - ALL\n", "  cap_drop: ALL\n"),  # wrong type: a string where a list is required
    ],
    ids=["misspelt-field", "bad-enum", "wrong-type"],
)
def test_compose_validation_can_fail(old: str, new: str, tmp_path: Path) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"mutation anchor {old!r} not found once"
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    result = check_compose(broken)
    assert result.returncode != 0, f"the mutated compose file passed: {old!r} -> {new!r}"


def interpolate(value: str) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error}: the default, else a stand-in value."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        return arg if op in (":-", "-") else f"https://{name.lower()}.example"

    return re.sub(r"\$\{([A-Za-z0-9_]+)(?:(:?[-?])([^}]*))?\}", one, value)


def compose_services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def test_compose_environment_matches_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    ours = {name: s for name, s in compose["services"].items() if EMAKET_IMAGE.match(s.get("image", ""))}
    assert set(SETTINGS) <= set(ours)
    problems = []
    for name, service in ours.items():
        env = {k: interpolate(str(v)) for k, v in (service.get("environment") or {}).items()}
        for var, value in env.items():
            if value.startswith("/run/secrets/"):
                secret = value.removeprefix("/run/secrets/")
                if secret not in service.get("secrets", []) or secret not in compose["secrets"]:
                    problems.append(f"{name}: {var}={value} but the secret {secret} is not given to it")
        if name in SETTINGS:
            assert service["deploy"]["replicas"] == 2, name
            assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
            problems += env_problems(name, env)
        else:  # migrations and the topics job read service settings only
            problems += [f"{name}: {var} is read by no setting" for var in set(env) - aliases(ServiceSettings)]
    assert not problems, "\n".join(problems)
    for name in SETTINGS:
        settings_accept(name, {k: interpolate(str(v)) for k, v in compose_services()[name]["environment"].items()}, monkeypatch)


def test_compose_env_example_names_every_variable() -> None:
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))
    assert used <= listed, f"not in env.example: {sorted(used - listed)}"


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((DEPLOY / "compose" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    compose = compose_services()
    targets = {}
    for job in config["scrape_configs"]:
        for sd in job["dns_sd_configs"]:
            for host in sd["names"]:
                targets[host] = sd["port"]
    # The gateway too: it has its own /metrics (requests per route template).
    ports = {name: int(compose[name]["command"][compose[name]["command"].index("--port") + 1]) for name in SETTINGS}
    assert targets == ports


# --- The cross-check itself can fail -----------------------------------------------------------------


def test_environment_cross_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    processes = k8s_processes(render(BASE))
    assert env_problems("notifier", processes["notifier"]) == []
    unknown = dict(processes["notifier"], EGOV_URL="https://egov.example")  # another service's variable
    assert env_problems("notifier", unknown) == ["notifier: EGOV_URL is read by no setting of this process"]
    missing = {k: v for k, v in processes["eligibility"].items() if k != "EGOV_URL"}
    assert env_problems("eligibility", missing) == ["eligibility: EGOV_URL is required outside dev mode and not set"]
    with pytest.raises(ValueError, match="EGOV_URL"):
        settings_accept("eligibility", missing, monkeypatch)


# --- Topics ------------------------------------------------------------------------------------------


def topics_in_code() -> set[str]:
    """Topics consumed (ConsumerSpec topics=[...]), produced (TOPIC = "..."), and each service's dead letters."""
    topics: set[str] = set()
    for service in (ROOT / "services").iterdir():
        app = service / "app.py"
        if not app.exists():
            continue
        for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "topics":
                topics |= {e.value for e in node.value.elts}  # type: ignore[attr-defined]
            if isinstance(node, ast.keyword) and node.arg == "name" and isinstance(node.value, ast.Constant):
                topics.add(f"deadletter.{node.value.value}")
        for module in service.glob("*.py"):
            for node in ast.parse(module.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["TOPIC"]:
                    topics.add(node.value.value)  # type: ignore[attr-defined]
    return topics


def test_topic_job_creates_exactly_the_topics_the_code_uses() -> None:
    spec = importlib.util.spec_from_file_location("create_topics", DEPLOY / "create_topics.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = topics_in_code()
    assert {"applications", "eligibility", "decisions", "payments", "deadletter.payment_queue"} <= code
    assert set(module.TOPICS) == code
    args = module.parse_args(["--bootstrap", "kafka:9092"])
    assert (args.partitions, args.replication_factor, args.min_insync_replicas) == (12, 3, 2)
    assert module.topic_config("deadletter.intake", args)["min.insync.replicas"] == "2"


def test_the_ingress_publishes_the_api_but_not_metrics_or_readiness() -> None:
    for overlay in OVERLAYS:
        for ingress in (d for d in render(overlay) if d["kind"] == "Ingress"):
            paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
            assert "/api/" in paths and "/asyncapi.json" in paths, paths
            assert not paths & {"/", "/metrics", "/readyz"}, paths  # "/" as a prefix would publish everything
