"""Background entry points for notifications. Idempotent: dispatch sends nothing already in flight,
delivered, or through a channel tried before."""

from __future__ import annotations

from django_tasks import task

from omnia.notifications import actions


@task()
def send_notification(notification_id: int) -> str:
    """Send a due notification through the next allowed channel."""
    notification = actions.dispatch(notification_id)
    return "gone" if notification is None else notification.status


@task()
def send_due() -> int:
    """Every minute: notifications whose quiet hours ended, and any left with nothing in flight."""
    ids = actions.due_notifications()
    for notification_id in ids:
        actions.dispatch(notification_id)
    return len(ids)


@task()
def time_out_attempts() -> int:
    """Every minute: tries not delivered in time pass to the next channel."""
    return actions.do_time_out_attempts()


@task()
def raise_reply_waiting() -> int:
    """Every minute: operators' web-chat replies the customer has not read are told through another channel."""
    return len(actions.do_raise_reply_waiting())
