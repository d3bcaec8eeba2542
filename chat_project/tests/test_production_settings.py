"""Production settings (issue 18, item 4): ``check --deploy`` is clean for the README's
production block, and the app refuses to start on the public development key with
DEBUG off. Each case runs ``manage.py`` in a fresh process (settings are read once)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def documented_production_settings() -> dict[str, str]:
    """The README's "Production settings" block, the secret key filled in."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Production settings", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)[1]
    settings = dict(re.findall(r"^([A-Z_]+)=(\S+)", block, re.M))
    assert settings["DJANGO_SECRET_KEY"] == "..."
    settings["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return settings


def plain_env() -> dict[str, str]:
    """The test run's own variables (the servers' URLs) less those that say "test run"."""
    drop = ("FAST_PASSWORD_HASHER", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "PYTEST_CURRENT_TEST")
    return {k: v for k, v in os.environ.items() if k not in drop}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env={**plain_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings():
    """Issue 18: with DJANGO_DEBUG=0 the deploy checks said nothing about the key, HSTS,
    the SSL redirect or cookies; with the README's settings they now pass clean."""
    settings = documented_production_settings()
    assert {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"} <= set(settings)
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout + result.stderr


def test_debug_off_without_a_secret_key_refuses_to_start():
    """Issue 18: with DJANGO_DEBUG=0 and no DJANGO_SECRET_KEY the app ran on the public
    default key."""
    result = run("manage.py", "check", env={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "refusing to run on the public development key" in result.stderr
    served = run("-c", "import chat_project.asgi", env={"DJANGO_DEBUG": "0"})
    assert served.returncode != 0
    assert "ImproperlyConfigured" in served.stderr


def test_check_deploy_names_the_development_key_and_the_test_hasher():
    env = {"DJANGO_DEBUG": "1", "FAST_PASSWORD_HASHER": "1"}  # DEBUG off refuses both
    result = run("manage.py", "check", "--deploy", env=env)
    output = result.stdout + result.stderr
    assert "security.W009" in output  # the key ("django-insecure-" prefix)
    assert "chat_project.W001" in output  # FAST_PASSWORD_HASHER on


STRONG = secrets.token_urlsafe(50)
DEV_KEY = "django-insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"


def starts(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Settings read as any start reads them (manage.py, the ASGI module)."""
    return run("-c", "import chat_project.settings", env=env)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("short", "fewer than 50 characters"),
        (" " * 60, "fewer than 5 distinct characters"),
        (DEV_KEY + " ", "the public development key"),
        (" " + DEV_KEY, "the public development key"),
        ("django-insecure-" + STRONG, "starts with 'django-insecure-'"),
        ("\n" + STRONG[:45] + "\n", "fewer than 50 characters"),
    ],
)
def test_debug_off_refuses_any_key_check_deploy_calls_weak(key, why):
    """Issue 28: with DJANGO_DEBUG=0 the app started with `short`, 60 spaces or the
    development key plus a space; check --deploy only warned."""
    result = starts({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert why in result.stderr


def test_debug_off_starts_with_a_strong_key():
    result = starts({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": STRONG})
    assert result.returncode == 0, result.stderr


def test_the_fast_hasher_is_refused_outside_tests():
    """Issue 28: FAST_PASSWORD_HASHER=1 re-allowed the development key and MD5 hashing
    with DEBUG off. Now it is refused with DEBUG off unless a test started the process."""
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": STRONG, "FAST_PASSWORD_HASHER": "1"}
    refused = starts(env)
    assert refused.returncode != 0
    assert "FAST_PASSWORD_HASHER is for the test suite only" in refused.stderr
    in_a_test = starts({**env, "PYTEST_CURRENT_TEST": "tests/x.py::test (call)"})
    assert in_a_test.returncode == 0, in_a_test.stderr
    with_the_dev_key = starts({**env, "DJANGO_SECRET_KEY": DEV_KEY, "PYTEST_CURRENT_TEST": "x"})
    assert with_the_dev_key.returncode != 0  # nothing re-allows the public key
    assert starts({**env, "DJANGO_DEBUG": "1"}).returncode == 0  # development


def test_ssl_redirect_spares_the_health_probe(settings, db):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/api/chat/rooms").status_code == 301
    assert client.get("/api/health").status_code in (200, 503)
    assert client.get("/api/chat/rooms", secure=True).status_code == 401
