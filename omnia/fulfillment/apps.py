from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "omnia.fulfillment"
    label = "fulfillment"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        import datetime as dt

        from omnia.core import schedule
        from omnia.fulfillment import handlers, tasks

        handlers.register()
        schedule.every(dt.timedelta(minutes=15), tasks.report_delayed_parcels)
