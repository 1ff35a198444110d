"""E-mail for tickets: replies that thread (`outgoing`) and the support mailbox intake (`intake`)."""

from .intake import IntakeResult, fetch_mailbox, file_message
from .outgoing import send_ticket_mail, send_unsent, thread_notification_on_commit, thread_reply_on_commit

__all__ = [
    "IntakeResult",
    "fetch_mailbox",
    "file_message",
    "send_ticket_mail",
    "send_unsent",
    "thread_notification_on_commit",
    "thread_reply_on_commit",
]
