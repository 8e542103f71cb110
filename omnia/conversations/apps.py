from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "omnia.conversations"
    label = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from omnia.conversations import handlers
        from omnia.customers import registry as customers_registry

        handlers.register()

        # A customer merge moves the customer's conversations too.
        customers_registry.register_customer_reference("conversations.Conversation", "customer")
