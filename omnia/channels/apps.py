from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "omnia.channels"
    label = "channels"
    verbose_name = _("Channels")

    def ready(self) -> None:
        import datetime as dt

        from omnia.channels import handlers, tasks
        from omnia.core import schedule

        handlers.register()
        schedule.every(dt.timedelta(seconds=30), tasks.poll_mailboxes)
        schedule.every(dt.timedelta(seconds=30), tasks.apply_waiting_events)
