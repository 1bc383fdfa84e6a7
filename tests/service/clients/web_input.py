"""A user script that names its data by web URL, as azureml-examples jobs do: a command job with
an https:// uri_file input, submitted with azure-ai-ml and followed to its end. Prints the job's
name and status as JSON; with --expect-refusal, prints the service's error instead.

    web_input.py URL SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME [--expect-refusal]
"""
import json
import sys

from azure.ai.ml import Input, MLClient, command
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential

url = sys.argv[1]
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[2:5])
job = command(
    command="cat ${{inputs.iris}}",
    inputs={"iris": Input(type="uri_file", path=url)},
    environment="AzureML-sklearn-1.5@latest", compute="cpu-cluster",
    experiment_name="web-input")
if "--expect-refusal" in sys.argv:
    try:
        ml_client.jobs.create_or_update(job)
    except HttpResponseError as e:
        print(json.dumps({"status": e.status_code, "message": e.message}))
        sys.exit(0)
    sys.exit("the job was accepted")
created = ml_client.jobs.create_or_update(job)
ml_client.jobs.stream(created.name)
print(json.dumps({"name": created.name, "status": ml_client.jobs.get(created.name).status}))
