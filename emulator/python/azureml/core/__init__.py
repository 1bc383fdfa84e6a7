"""The part of ``azureml.core`` a training script uses: ``Run.get_context()`` and logging."""
from azureml.core.run import Run, RunEnvironmentException

__all__ = ["Run", "RunEnvironmentException"]
