"""MLflow's module path mlflow.exceptions: ``cairn.exceptions.MlflowException``
is cairn.CairnError. Like MLflow's, it carries an ``error_code``:
INVALID_PARAMETER_VALUE for a key MLflow refuses (InvalidParameterValue, a
subclass), INTERNAL_ERROR for everything else the library reports."""

from ._cairn import CairnError

MlflowException = CairnError
CairnError.error_code = "INTERNAL_ERROR"


class InvalidParameterValue(CairnError):
    """A value MLflow refuses with INVALID_PARAMETER_VALUE (an invalid key)."""
    error_code = "INVALID_PARAMETER_VALUE"


__all__ = ["MlflowException", "InvalidParameterValue"]
