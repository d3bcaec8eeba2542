"""``docker-compose.yml`` and ``deploy/`` hold what the README and docs/deploy.md promise
(issue 17). No Docker engine runs here: the file is loaded as compose loads it (YAML with
its merge keys) and checked; the proxy's configuration is checked by HAProxy itself, and
runs in front of real processes in tests/e2e/test_proxy.py and tests/faults/test_drain.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from chat_project.dev.proxy import CONFIG, haproxy_binary

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def readme_variables() -> set[str]:
    table = (REPO / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)`", table, re.M)) | set(
        re.findall(r"`([A-Z0-9_]+)`", table)
    )


def test_the_proxy_is_the_only_way_in(services):
    proxy = services["proxy"]
    assert proxy["image"].startswith("haproxy:")
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    assert [p.split(":")[-1] for p in proxy["ports"]] == ["8080"]
    published = [name for name, service in services.items() if "ports" in service]
    # Prometheus (profile "metrics") listens on the host's loopback only.
    assert sorted(published) == ["prometheus", "proxy"]
    assert all(p.startswith("127.0.0.1:") for p in services["prometheus"]["ports"])


def test_the_app_scales_with_no_host_port_and_drains_on_stop(services):
    app = services["app"]
    assert "ports" not in app  # --scale app=N: no two replicas bind one host port
    assert app["expose"] == ["8000", "9100"]  # the app's port, its metrics port
    assert app["stop_signal"] == "SIGTERM"
    grace = int(app["stop_grace_period"].rstrip("s"))
    assert grace > float(app["environment"]["DRAIN_SECONDS"]) + 5
    assert app["environment"]["NUM_PROXIES"] == "1"
    cmd = app["build"]["dockerfile_inline"]
    assert "python -m chat_project.serve -b 0.0.0.0 -p 8000" in cmd
    assert "migrate" not in cmd  # no replica migrates on start


def test_migrations_run_once_before_the_app(services):
    migrate = services["migrate"]
    assert "manage.py migrate --noinput" in " ".join(migrate["command"])
    assert migrate["restart"] == "no"
    assert migrate["build"] == services["app"]["build"]  # the same image
    assert services["app"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_mongodb_is_a_three_member_replica_set(services):
    members = [name for name in services if re.fullmatch(r"mongo\d", name)]
    assert members == ["mongo1", "mongo2", "mongo3"]
    for name in members:
        assert services[name]["command"][:3] == ["mongod", "--replSet", "rs0"]
        assert services[name]["volumes"] == [f"{name}-data:/data/db"]
    init = " ".join(services["mongo-init"]["command"])
    assert all(f'host: "{name}:27017"' in init for name in members)
    uri = services["app"]["environment"]["MONGODB_URI"]
    assert uri == "mongodb://mongo1:27017,mongo2:27017,mongo3:27017/?replicaSet=rs0"
    assert "retryWrites=false" not in uri
    assert services["migrate"]["depends_on"]["mongo-init"] == {
        "condition": "service_completed_successfully"
    }


def test_attachments_go_to_s3_compatible_storage(services):
    env = services["app"]["environment"]
    assert env["S3_BUCKET"].startswith("${S3_BUCKET")
    assert env["AWS_ACCESS_KEY_ID"] == "${S3_ACCESS_KEY:?set S3_ACCESS_KEY}"
    assert "MEDIA_ROOT" not in env
    assert not any("media" in volume for volume in services["app"].get("volumes", []))
    assert services["app"]["depends_on"]["minio-init"]["condition"] == (
        "service_completed_successfully"
    )


def test_every_app_variable_is_documented(services):
    documented = readme_variables()
    # AWS_* are boto3's own (docs/deploy.md), not the app's settings.
    used = {k for k in services["app"]["environment"] if not k.startswith("AWS_")}
    assert used - documented == set()
    required = set(re.findall(r"\$\{(\w+):\?", (REPO / "docker-compose.yml").read_text()))
    example = (REPO / "deploy" / "env.example").read_text()
    assert {v for v in required if not re.search(rf"^{v}=", example, re.M)} == set()


def test_the_deploy_guide_covers_the_compose_file(services):
    guide = (REPO / "docs" / "deploy.md").read_text()
    for phrase in ("--scale app=", "CHANNEL_LAYER_HOSTS", "METRICS_TOKEN", "1012", "rs.add"):
        assert phrase in guide, phrase
    for name in services:
        assert f"`{name}`" in guide, name


def test_haproxy_accepts_the_production_config():
    binary = haproxy_binary()
    if binary is None:
        pytest.fail("HAProxy is missing: ./test.sh installs it (apt-get install -y haproxy)")
    check = subprocess.run(
        [binary, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
    text = CONFIG.read_text()
    assert "server-template app" in text  # every replica, through Docker's DNS
    assert not re.search(r"^\s*(cookie|stick|appsession)\b", text, re.M)  # no sticky sessions
    assert re.search(r"deny .*path,url_dec,lower -m beg /metrics", text)


def test_metrics_are_on_a_port_the_proxy_never_routes_to(services):
    """Issue 28: /%6Detrics through the proxy reached the app's port, which served
    /metrics. Metrics are on METRICS_PORT; the proxy names only port 8000, Prometheus
    scrapes the metrics port."""
    port = services["app"]["environment"]["METRICS_PORT"]
    assert port == "9100"
    servers = re.findall(r"^\s*server(?:-template)? .*", CONFIG.read_text(), re.M)
    assert servers
    assert all(":8000" in line and f":{port}" not in line for line in servers)
    prometheus = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    assert job["dns_sd_configs"][0]["port"] == int(port)


def test_the_image_holds_every_app_the_settings_install(compose):
    from django.conf import settings

    dockerfile = compose["x-app-image"]["build"]["dockerfile_inline"]
    copied = set(re.findall(r"^\s*COPY (\S+) \1$", dockerfile, re.M))
    ours = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (REPO / app.split(".")[0]).is_dir()
    }
    assert ours - copied == set()
    packaged = (REPO / "pyproject.toml").read_text().split("[tool.setuptools.packages.find]")[1]
    assert {app for app in ours if f'"{app}*"' not in packaged} == set()


def test_webhooks_go_out_from_a_worker_service_not_the_gateways(services):
    assert services["webhooks"]["command"][-1] == "run_webhooks"
    assert services["app"]["environment"]["WEBHOOKS_IN_GATEWAY"] == "0"
