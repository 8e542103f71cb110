from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "omnia.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from omnia.customers import registry

        # A merge moves the card's holds and back-in-stock requests too.
        registry.register_customer_reference("inventory.Reservation", "customer")
        registry.register_customer_reference("inventory.StockSubscription", "customer")
