from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "omnia.inventory"
    label = "inventory"
    verbose_name = _("Stock")

    def ready(self) -> None:
        import datetime as dt

        from omnia.core import schedule
        from omnia.inventory import handlers, tasks

        handlers.register()
        schedule.every(dt.timedelta(hours=24), tasks.check_stock_integrity)
        schedule.every(dt.timedelta(minutes=1), tasks.release_expired_holds)
        schedule.every(dt.timedelta(minutes=1), tasks.build_stale_feeds)
