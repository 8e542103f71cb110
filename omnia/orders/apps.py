from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "omnia.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        import datetime as dt

        from omnia.core import schedule
        from omnia.orders import handlers, tasks

        handlers.register()
        schedule.every(dt.timedelta(minutes=1), tasks.poll_kaspi)
        schedule.every(dt.timedelta(minutes=1), tasks.poll_satu)
