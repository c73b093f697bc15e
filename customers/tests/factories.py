import factory

from customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer
        django_get_or_create = ["wa_id"]

    wa_id = factory.Sequence(lambda n: f"9665{n:08d}")
    customer_name = factory.Faker("name")
    language = Customer.Language.ENGLISH
