"""MLflow's module path mlflow.exceptions: ``cairn.exceptions.MlflowException``
is cairn.CairnError."""

from ._cairn import CairnError

MlflowException = CairnError

__all__ = ["MlflowException"]
