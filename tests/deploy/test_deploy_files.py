"""The deployment files (``docker/``) keep their promises: the image runs as a non-root user
with a writable numba cache and the client where ``backtest serve`` looks for it; compose
migrates before anything starts and checks every service's health; the Kubernetes manifests
validate against Kubernetes' schemas, probe ``/healthz`` and ``/readyz``, and budget
disruptions; and every environment variable they set is a real setting with a valid value.

``make deploy-check`` also runs ``docker-compose config`` and the ``kubernetes-validate`` CLI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = DOCKER / "k8s"
K8S_VERSION = "1.30.0"
# read by the runtime or a library, not by store.settings (the image sets them)
NOT_SETTINGS = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
                "PIP_DISABLE_PIP_VERSION_CHECK", "VIRTUAL_ENV", "PATH", "NUMBA_CACHE_DIR"}


def settings_names() -> set[str]:
    """Every variable ``store.settings`` reads, or documents as another program's own (its
    docstring's ``Not read here`` entries)."""
    source = (ROOT / "store" / "settings.py").read_text()
    names = set(re.findall(r'\(source, "([A-Z_]+)"', source))
    names |= set(re.findall(r'source\.get\("([A-Z_]+)"', source))
    for entry in re.split(r"\n``", source.split('"""', 2)[1]):
        if "Not read here" in entry:
            names |= set(re.findall(r"^([A-Z_]+)``", entry))
    return names


def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def test_settings_names_are_found() -> None:
    names = settings_names()
    assert {"DATABASE_URL", "REDIS_URL", "EXECUTOR", "LOG_FORMAT", "METRICS", "METRICS_TOKEN",
            "FORWARDED_ALLOW_IPS", "PROMETHEUS_MULTIPROC_DIR"} <= names
    assert "NOT_A_SETTING" not in names


# ---- the image ------------------------------------------------------------------------------

def test_the_image_runs_as_a_non_root_user_with_a_writable_numba_cache() -> None:
    text = dockerfile()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, flags=re.M)
    assert [alias for _, alias in stages] == ["client", "runtime"]
    assert re.search(r"^ARG NODE_IMAGE=node:20\S*$", text, flags=re.M)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\S*$", text, flags=re.M)
    runtime = text.split("AS runtime", 1)[1]
    users = re.findall(r"^USER\s+(\S+)", runtime, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    user = users[-1].split(":")[0]
    cache = re.search(r"NUMBA_CACHE_DIR=(\S+)", runtime)
    assert cache is not None
    # the cache and DATA_DIR belong to that user, and the kernels are compiled as that user
    chown = re.search(r"chown -R (\w+):\w+ ([^\n\\&]+)", runtime)
    assert chown is not None and chown.group(1) == user
    assert any(cache.group(1).startswith(p) for p in chown.group(2).split())
    assert runtime.index("USER backtest") < runtime.index("RUN backtest warm")
    assert re.search(r'^CMD \["backtest", "serve", "--host", "0\.0\.0\.0"', runtime, flags=re.M)


def test_the_image_puts_the_client_where_serve_reads_it() -> None:
    """``graph/client_files.py`` serves ``<the folder holding graph/>/client/dist``: in the
    image, the virtual environment's site-packages."""
    client_files = (ROOT / "graph" / "client_files.py").read_text()
    assert 'Path(__file__).resolve().parent.parent / "client" / "dist"' in client_files
    text = dockerfile()
    venv = re.search(r"VIRTUAL_ENV=(\S+)", text)
    assert venv is not None
    copied = re.search(r"^COPY --from=client /src/client/dist (\S+)$", text, flags=re.M)
    assert copied is not None
    assert copied.group(1) == f"{venv.group(1)}/lib/python3.11/site-packages/client/dist"
    assert "pip install --no-compile ." in text  # the package, not an editable checkout
    assert re.search(r"^RUN npm ci", text, flags=re.M) and "npm run build" in text


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "data", ".env", "client/node_modules", "client/dist",
                  "tests"):
        assert entry in ignored
    for needed in ("client", "domain", "graph", "store", "tasks", "cli", "migrations",
                   "pyproject.toml", "README.md", "schema.graphql"):
        assert needed not in ignored


def test_the_image_s_own_settings_are_settings() -> None:
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", "\n".join(
        line for line in dockerfile().splitlines()
        if not line.lstrip().startswith(("#", "RUN", "CMD", "HEALTHCHECK", "ARG")))))
    assert names - NOT_SETTINGS <= settings_names(), names - NOT_SETTINGS - settings_names()


# ---- compose --------------------------------------------------------------------------------

def test_compose_services_health_checks_and_migrations_first() -> None:
    services = compose()["services"]
    assert set(services) == {"timescaledb", "redis", "migrate", "api", "worker", "beat"}
    assert re.fullmatch(r"timescale/timescaledb:[\d.]+-pg1[56]", services["timescaledb"]["image"])
    assert services["migrate"]["command"] == ["backtest", "db", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    for name in ("api", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name
    for name in ("timescaledb", "redis", "api", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["api"]["command"][:2] == ["backtest", "serve"]
    assert services["worker"]["command"][:2] == ["backtest", "worker"]
    assert services["beat"]["command"][:2] == ["backtest", "beat"]


def _compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's variables with compose's ``${NAME:-default}`` replaced by the default."""
    return {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(v))
            for k, v in (service.get("environment") or {}).items()}


def test_compose_sets_real_settings_with_valid_values() -> None:
    services = compose()["services"]
    known = settings_names()
    for name in ("migrate", "api", "worker", "beat"):
        env = _compose_environment(services[name])
        assert set(env) <= known, (name, set(env) - known)
        settings = Settings.from_env(env)  # every value valid
        assert settings.executor == "celery" and settings.backend == "postgresql"
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.log_format == "json" and settings.metrics
        assert settings.jwt_secret is not None and len(settings.jwt_secret) >= 32
        assert "timescaledb:5432" in settings.database_url


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (make deploy-check installs it)")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker-compose", "-f", str(DOCKER / "compose.yaml"), "config",
                             "--quiet"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---- Kubernetes ----------------------------------------------------------------------------

@pytest.mark.parametrize("path_doc", manifests(), ids=lambda p: f"{p[0].name}:{p[1]['kind']}")
def test_manifests_validate_against_kubernetes_schemas(path_doc: tuple[Path, dict[str, Any]]
                                                       ) -> None:
    kubernetes_validate.validate(path_doc[1], K8S_VERSION, strict=True)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers


def test_deployments_probes_and_non_root() -> None:
    deployments = of_kind("Deployment")
    assert {"backtest-api", "backtest-worker", "backtest-beat"} <= set(deployments)
    (api,) = _containers(deployments["backtest-api"])
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (worker,) = _containers(deployments["backtest-worker"])
    assert worker["command"][:2] == ["backtest", "worker"]
    assert "inspect ping" in " ".join(worker["livenessProbe"]["exec"]["command"])
    assert deployments["backtest-beat"]["spec"]["replicas"] == 1
    assert deployments["backtest-beat"]["spec"]["strategy"]["type"] == "Recreate"
    for doc in [*deployments.values(), *of_kind("Job").values()]:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
            assert refs == {"backtest-config", "backtest-secrets"}


def test_selectors_budgets_service_and_autoscaler_match() -> None:
    deployments = of_kind("Deployment")
    labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}

    def matches(selector: dict[str, str]) -> set[str]:
        return {name for name, have in labels.items() if selector.items() <= have.items()}

    for name, d in deployments.items():
        assert matches(d["spec"]["selector"]["matchLabels"]) == {name}
    budgets = of_kind("PodDisruptionBudget")
    covered = set().union(*(matches(b["spec"]["selector"]["matchLabels"])
                            for b in budgets.values()))
    assert {"backtest-api", "backtest-worker"} <= covered
    (service,) = of_kind("Service").values()
    assert matches(service["spec"]["selector"]) == {"backtest-api"}
    (hpa,) = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "backtest-worker"
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]
    assert metric["name"] == "backtest_job_queue_depth"  # a series of graph/metrics.py
    assert "backtest_job_queue_depth" in (ROOT / "graph" / "metrics.py").read_text()
    (job,) = of_kind("Job").values()
    assert _containers(job)[0]["command"] == ["backtest", "db", "migrate"]


def test_k8s_config_and_secret_are_real_settings_and_placeholders() -> None:
    (config,) = of_kind("ConfigMap").values()
    (secret,) = of_kind("Secret").values()
    env = {**config["data"], **secret["stringData"]}
    assert set(env) <= settings_names(), set(env) - settings_names()
    for value in secret["stringData"].values():
        assert "REPLACE_ME" in value  # a placeholder, never a real secret
    settings = Settings.from_env(env)  # every value valid
    assert settings.executor == "celery" and settings.backend == "postgresql"
    assert settings.production and settings.metrics and settings.log_format == "json"
