from omnia.core.errors import Conflict, NotFound, ValidationFailed


class ConversationNotFound(NotFound):
    code = "CONVERSATION_NOT_FOUND"


class ReplyWindowClosed(Conflict):
    """WhatsApp/Instagram: free text only within 24 h of the customer's last message; use a template."""

    code = "REPLY_WINDOW_CLOSED"


class EmptyMessage(ValidationFailed):
    code = "MESSAGE_EMPTY"


class ChannelInactive(Conflict):
    code = "CHANNEL_INACTIVE"
