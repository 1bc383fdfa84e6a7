"""The Azure ML v2 quickstart as a user writes it, unchanged: nothing here knows about amlemu.

    walkthrough.py RESULT_JSON SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME

Its results go to RESULT_JSON, for the test to check."""
import json
import sys

from azure.ai.ml import Input, MLClient, command
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import AmlCompute, Model
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import DefaultAzureCredential

result = {}
subscription_id, resource_group, workspace_name = sys.argv[2:5]
ml_client = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace_name)

cluster = AmlCompute(name="cpu-cluster", size="STANDARD_DS3_V2", min_instances=0, max_instances=2)
result["compute"] = ml_client.compute.begin_create_or_update(cluster).result().provisioning_state

job = command(
    code="./src",
    command="python train.py --data ${{inputs.data}} --epochs 3",
    inputs={"data": Input(type=AssetTypes.URI_FOLDER, path="./data")},
    environment="AzureML-sklearn-1.5@latest",
    compute="cpu-cluster",
    experiment_name="service-walkthrough",
    display_name="walkthrough",
)
returned = ml_client.jobs.create_or_update(job)
result["name"] = returned.name
result["studio_url"] = returned.studio_url
print("submitted", returned.name, flush=True)
ml_client.jobs.stream(returned.name)
done = ml_client.jobs.get(returned.name)
result["status"] = done.status

ml_client.jobs.download(returned.name, download_path="./downloaded", all=True)

model_path = f"azureml://jobs/{returned.name}/outputs/artifacts/paths/outputs/model"
for _ in range(2):
    model = ml_client.models.create_or_update(
        Model(path=model_path, name="service-model", type=AssetTypes.CUSTOM_MODEL,
              description="from the walkthrough"))
    result.setdefault("model_versions", []).append(model.version)
result["listed_versions"] = sorted(m.version for m in ml_client.models.list(name="service-model"))
ml_client.models.download(name="service-model", version=result["model_versions"][-1],
                          download_path="./model-download")

try:
    ml_client.jobs.get("no_such_job_1234")
    result["missing"] = "found"
except ResourceNotFoundError as e:
    result["missing"] = type(e).__name__

with open(sys.argv[1], "w") as f:
    json.dump(result, f)
