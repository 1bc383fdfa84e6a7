"""A user script that registers data with azure-ai-ml and trains on it, unchanged: a data asset
from a local folder (the SDK uploads it), listed and read back, a command job on
azureml:numbers@latest (also in direct mode: the URI itself) whose output becomes the data asset
job-result:1, then the version archived. Prints what it saw as JSON (last line).

    data_assets.py FOLDER SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import json
import sys

from azure.ai.ml import Input, MLClient, Output, command
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data
from azure.identity import DefaultAzureCredential

folder = sys.argv[1]
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[2:5])
made = ml_client.data.create_or_update(Data(
    name="numbers", path=folder, type=AssetTypes.URI_FOLDER, description="numbers for a job"))
listed = [(d.name, d.version) for d in ml_client.data.list(name="numbers")]
latest = ml_client.data.get("numbers", label="latest")
job = ml_client.jobs.create_or_update(command(
    command="cat ${{inputs.data}}/numbers.txt && echo direct=${{inputs.uri}} && "
            "cp ${{inputs.data}}/numbers.txt ${{outputs.result}}/",
    inputs={"data": Input(type=AssetTypes.URI_FOLDER, path="azureml:numbers@latest"),
            "uri": Input(type=AssetTypes.URI_FOLDER, path="azureml:numbers@latest", mode="direct")},
    outputs={"result": Output(type=AssetTypes.URI_FOLDER, name="job-result", version="1")},
    environment="AzureML-sklearn-1.5@latest", compute="cpu-cluster",
    experiment_name="data-assets"))
ml_client.jobs.stream(job.name)
status = ml_client.jobs.get(job.name).status
result_path = ml_client.data.get("job-result", version="1").path
ml_client.data.archive("numbers", version=made.version)
after_archive = [d.version for d in ml_client.data.list(name="numbers")]
print(json.dumps({"version": made.version, "path": made.path, "listed": listed,
                  "latest": latest.version, "job": job.name, "status": status, "result": result_path,
                  "after_archive": after_archive}))
