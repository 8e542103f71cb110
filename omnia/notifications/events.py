from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class NotificationDue:
    """A notification was raised (or put back to wait) and should be sent at `due_at`."""

    notification_id: int
    due_at: dt.datetime
