"""Domain exceptions; the API layer maps them to HTTP statuses, operators to BPMN errors."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, details=None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Invalid(DomainError):
    """Input that breaks a rule; details list every problem as {"field", "message"}."""
    code = "validation_error"


class Conflict(DomainError):
    """The change contradicts the current state (already shipped, already paid, ...)."""
    code = "conflict"
