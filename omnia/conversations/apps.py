from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "omnia.conversations"
    label = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        import datetime as dt

        from omnia.conversations import handlers, tasks
        from omnia.core import schedule
        from omnia.customers import registry as customers_registry

        handlers.register()
        schedule.every(dt.timedelta(seconds=30), tasks.record_sla_breaches)
        schedule.every(dt.timedelta(seconds=30), tasks.wake_snoozed)

        # A customer merge moves the customer's conversations too.
        customers_registry.register_customer_reference("conversations.Conversation", "customer")
