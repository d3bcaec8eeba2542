"""The demo people of the README: one support manager, three agents, two customers."""

from __future__ import annotations

from accounts import services
from accounts.models import Role, User

DEMO_PASSWORD = "chat-demo-2026"
DEMO_PEOPLE = [
    ("admin", Role.ADMIN, "Morgan (support manager)"),
    ("agent1", Role.AGENT, "Ada (agent)"),
    ("agent2", Role.AGENT, "Grace (agent)"),
    ("agent3", Role.AGENT, "Linus (agent)"),
    ("alice", Role.USER, "Alice"),
    ("bob", Role.USER, "Bob"),
]


def demo_people_ensure() -> list[tuple[str, bool]]:
    """Create whichever demo people are missing; returns (username, created) pairs."""
    existing = set(
        User.objects.filter(username__in=[p[0] for p in DEMO_PEOPLE]).values_list(
            "username", flat=True
        )
    )
    report = []
    for username, role, display_name in DEMO_PEOPLE:
        if username in existing:
            report.append((username, False))
            continue
        services.user_create(
            username=username,
            email=f"{username}@example.com",
            password=DEMO_PASSWORD,
            display_name=display_name,
            role=role,
        )
        report.append((username, True))
    return report
