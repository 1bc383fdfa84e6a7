"""The exceptions of ``azureml.exceptions`` that amlemu's compatibility package raises.

The SDK raises most metric errors as ``AzureMLException`` carrying an error code; amlemu gives the
codes it uses their own subclasses (``InvalidColumnLength``), so ``except AzureMLException`` works as
with the SDK and the code can still be caught by name.
"""


class AzureMLException(Exception):
    """Base of every exception raised by the package."""


class UserErrorException(AzureMLException):
    """Invalid input from the calling script."""


class RunEnvironmentException(AzureMLException):
    """Raised by ``Run.get_context(allow_offline=False)`` outside a run."""


class SchemaVersionError(AzureMLException):
    """The workspace database's schema is not one this package knows (amlemu's own; see
    ``azureml.core._schema``)."""


class InvalidColumnLength(UserErrorException):
    """``log_table`` was given columns of different lengths (the SDK's error code InvalidColumnLength)."""


__all__ = ["AzureMLException", "UserErrorException", "RunEnvironmentException",
           "SchemaVersionError", "InvalidColumnLength"]
