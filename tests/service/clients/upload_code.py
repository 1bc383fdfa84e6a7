"""Submits a command job whose code folder azure-ai-ml uploads (./src), follows it, and prints
"job <name> <status>".

    upload_code.py SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import sys

from azure.ai.ml import MLClient, command
from azure.identity import DefaultAzureCredential

ml_client = MLClient(DefaultAzureCredential(), *sys.argv[1:4])
job = ml_client.jobs.create_or_update(command(
    code="./src", command="python hello.py", environment="AzureML-sklearn-1.5@latest",
    compute="cpu-cluster", experiment_name="service-crash"))
ml_client.jobs.stream(job.name)
status = ml_client.jobs.get(job.name).status
print("job", job.name, getattr(status, "value", status))
