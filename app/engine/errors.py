"""Exceptions the runtime raises; the API layer maps them to HTTP statuses."""


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str, details=None):
        super().__init__(message)
        self.message = message
        self.details = details


class DeploymentRejected(EngineError):
    """A diagram set that fails a check; details list each problem by file and element."""
    code = "deployment_rejected"


class NotFound(EngineError):
    code = "not_found"


class InvalidState(EngineError):
    """The instance or task is not in a state to take this change (409)."""
    code = "invalid_state"


class Forbidden(EngineError):
    code = "forbidden"


class InvalidInput(EngineError):
    """Submitted data does not satisfy the task's form (422)."""
    code = "validation_error"


class StaleRevision(Exception):
    """Someone saved the instance since we loaded it: roll back and run the unit again."""


class UnitFailed(Exception):
    """The engine raised while stepping: the unit rolls back and an incident is opened."""

    def __init__(self, original: BaseException, node_id: str | None, node_name: str | None, tb: str):
        super().__init__(str(original))
        self.original = original
        self.node_id = node_id
        self.node_name = node_name
        self.traceback = tb
