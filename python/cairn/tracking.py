"""MLflow's module path mlflow.tracking: ``cairn.tracking.MlflowClient``."""

from .client import MlflowClient

__all__ = ["MlflowClient"]
