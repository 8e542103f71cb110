from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "omnia.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        import datetime as dt

        from omnia.core import schedule
        from omnia.webhooks import handlers, tasks

        handlers.register()
        schedule.every(dt.timedelta(minutes=1), tasks.send_overdue)
        schedule.every(dt.timedelta(hours=24), tasks.prune_deliveries)
