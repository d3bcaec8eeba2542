import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("chat_project.fanout.publish", lambda g, m: sent.append((g, m)))
    return sent


def test_saving_a_user_publishes_nothing(customer, published):
    """Review finding (issue 28): ``User.save`` published ``auth.revoked`` on a password
    change; a model that publishes is reached by every save, whatever the caller meant.
    Publishing is the services' (``accounts.services.user_update``)."""
    customer.set_password("another-long-pass-77")
    customer.save(update_fields=["password"])
    customer.is_active = False
    customer.role = "agent"
    customer.save()
    assert published == []
