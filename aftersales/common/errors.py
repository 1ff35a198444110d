"""Domain errors raised by services. The API turns them into JSON with a `code` and the matching
HTTP status; the portal shows their message. Bad input is never a 500."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    http_status = 400
    default_message = _("The request cannot be carried out.")

    def __init__(self, message=None, *, fields: dict | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(str(self.message))

    @property
    def text(self) -> str:
        """The message and every field's messages, for a one-line notice (dashboard messages)."""
        details = [str(m) for messages in self.fields.values() for m in messages]
        return " ".join([str(self.message), *details])


class ValidationFailed(DomainError):
    code = "invalid"
    default_message = _("Some fields are not valid.")


class PolicyRefused(DomainError):
    """A business rule said no; `rule` is the DOMAIN.md id (e.g. "R-RET-1")."""

    code = "policy_refused"

    def __init__(self, message=None, *, rule: str, fields: dict | None = None):
        self.rule = rule
        super().__init__(message, fields=fields)


class InvalidTransition(DomainError):
    """The case is not in a status this action starts from."""

    code = "invalid_transition"
    http_status = 409
    default_message = _("This action is not possible in the case's current status.")


class TransitionConflict(DomainError):
    """Someone else changed the case between reading and writing it."""

    code = "conflict"
    http_status = 409
    default_message = _("The case was changed by someone else meanwhile. Reload and try again.")


class NotAllowed(DomainError):
    code = "permission_denied"
    http_status = 403
    default_message = _("You are not allowed to do this.")


class RateLimited(DomainError):
    """Too many of one action in the configured period (README "Accounts security"): the API answers
    429 with Retry-After; the portal shows the message on the form."""

    code = "rate_limited"
    http_status = 429
    default_message = _("Too many attempts. Please wait a while and try again.")

    def __init__(self, message=None, *, retry_after: int, fields: dict | None = None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, fields=fields)
