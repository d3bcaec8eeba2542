"""The support manager's view of agents in the Django admin (``agents/admin.py``).

A proxy of the user model: no collection of its own, only agents listed. Kept in this
app (the supervisor's console) so the accounts and agents apps need no migration for it.
"""

from accounts.models import Role, SupportUserManager, User


class AgentManager(SupportUserManager):
    def get_queryset(self):
        return super().get_queryset().filter(role=Role.AGENT)


class Agent(User):
    objects = AgentManager()

    class Meta:
        proxy = True
        ordering = ["username"]
        verbose_name = "agent"
        verbose_name_plural = "agents"
