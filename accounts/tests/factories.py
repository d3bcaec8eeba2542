import factory

from accounts.models import Role, User

DEMO_PASSWORD = "chat-demo-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    role = Role.USER

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEMO_PASSWORD)
        if create:
            self.save(update_fields=["password"])
