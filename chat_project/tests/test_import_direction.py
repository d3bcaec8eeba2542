"""Apps import in one direction (README, "Architecture"):

    chat_project  <-  accounts  <-  chat  <-  agents  <-  integrations  <-  adminstats  <-  compat

each on the ones to its left, never to its right, so nothing depends on the reporting
app (but the compatibility edge, which translates all of them and which nothing imports)
and there is no cycle between apps. The project package imports no app, except the
modules that put the apps together (settings, URLs, the ASGI stack). Every import counts,
the ones inside functions too; tests and migrations are not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYERS = [
    "chat_project",
    "accounts",
    "chat",
    "agents",
    "integrations",
    "adminstats",
    "compat",
]
WIRING = {
    "chat_project/settings.py",
    "chat_project/urls.py",
    "chat_project/routing.py",
    "chat_project/asgi.py",
    "chat_project/gateway/handshake.py",  # the session's user, read by accounts
}


def _imported_packages(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def _checked_modules():
    for package in LAYERS:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).parts
            if "tests" in parts or "migrations" in parts or "mongo_migrations" in parts:
                continue
            yield package, path


def wrong_imports() -> list[str]:
    problems = []
    for package, path in _checked_modules():
        allowed = set(LAYERS[: LAYERS.index(package) + 1])
        if path.relative_to(REPO).as_posix() in WIRING:
            allowed = set(LAYERS)
        for imported in sorted(_imported_packages(ast.parse(path.read_text()))):
            if imported not in allowed:
                problems.append(f"{path.relative_to(REPO)} imports {imported}")
    return problems


def test_apps_import_only_the_apps_below_them():
    assert wrong_imports() == []


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    # The check itself: a module of accounts that imports chat is reported.
    fake = tmp_path / "accounts"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from chat import services\n")
    for package in LAYERS:
        if package != "accounts":
            (tmp_path / package).mkdir()
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    assert wrong_imports() == ["accounts/bad.py imports chat"]
