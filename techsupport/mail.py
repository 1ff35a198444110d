"""E-mail for tickets: outgoing replies that thread, and the IMAP intake (built next)."""


def thread_reply_on_commit(event, notification) -> None:
    """Placeholder until the intake lands: the reply's portal notification is e-mailed as usual."""
