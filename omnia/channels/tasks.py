"""Background entry points for channels. Idempotent: a message already sent is never sent again."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from omnia.channels import delivery, ingest
from omnia.channels.email import imap
from omnia.core import clock

# Events a server process stored but has not applied within this long are applied by the sweep.
SWEEP_AFTER = dt.timedelta(seconds=30)


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


@task()
def apply_waiting_events() -> int:
    """Apply webhook events stored but left unapplied (their process died first). Runs every 30 s."""
    applied = 0
    cutoff = clock.now() - SWEEP_AFTER
    while taken := ingest.apply_pending(received_before=cutoff):
        applied += taken
    return applied
