from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "omnia.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        import datetime as dt

        from omnia.core import schedule
        from omnia.notifications import handlers, tasks

        handlers.register()
        schedule.every(dt.timedelta(minutes=1), tasks.send_due)
        schedule.every(dt.timedelta(minutes=1), tasks.time_out_attempts)
        schedule.every(dt.timedelta(minutes=1), tasks.raise_reply_waiting)
