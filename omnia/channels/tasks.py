"""Background entry points for channels. Idempotent: a message already sent is never sent again."""

from __future__ import annotations

from django_tasks import task

from omnia.channels import delivery
from omnia.channels.email import imap


@task()
def deliver_message(message_id: int) -> str:
    retry_at = delivery.deliver(message_id)
    if retry_at is not None:
        deliver_message.using(run_after=retry_at).enqueue(message_id)
        return f"retry at {retry_at.isoformat()}"
    return "done"


@task()
def poll_mailboxes() -> dict[str, int]:
    """Fetch new mail from every active e-mail channel, each mailbox on its own. Runs every 30 s."""
    return imap.poll_all()
