"""E-mail for tickets: replies that thread (`outgoing`)."""

from .outgoing import send_ticket_mail, thread_notification_on_commit, thread_reply_on_commit

__all__ = ["send_ticket_mail", "thread_notification_on_commit", "thread_reply_on_commit"]
