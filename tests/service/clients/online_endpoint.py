"""A user script that deploys a model with azure-ai-ml, unchanged: a managed online endpoint, a
model registered from a local folder, a deployment of the sample's score.py and conda
environment, all traffic to it, an invoke, its logs and keys, then the endpoint deleted. Prints
what it saw as JSON (last line).

    online_endpoint.py SAMPLE_FOLDER MODEL_FOLDER SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import json
import os
import sys

from azure.ai.ml import MLClient
from azure.ai.ml.entities import (CodeConfiguration, Environment, ManagedOnlineDeployment,
                                  ManagedOnlineEndpoint, Model)
from azure.identity import DefaultAzureCredential

sample, model_folder = sys.argv[1], sys.argv[2]
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[3:6])

endpoint = ManagedOnlineEndpoint(name="sdk-endpoint", auth_mode="key", description="from the SDK")
ml_client.online_endpoints.begin_create_or_update(endpoint).result()
model = ml_client.models.create_or_update(Model(path=model_folder, name="sdk-model"))
deployment = ManagedOnlineDeployment(
    name="blue", endpoint_name="sdk-endpoint", model=model,
    code_configuration=CodeConfiguration(code=os.path.join(sample, "score"), scoring_script="score.py"),
    environment=Environment(conda_file=os.path.join(sample, "environment", "conda.yml"),
                            image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest"),
    instance_type="Standard_DS3_v2", instance_count=1)
created = ml_client.online_deployments.begin_create_or_update(deployment).result()
endpoint.traffic = {"blue": 100}
ml_client.online_endpoints.begin_create_or_update(endpoint).result()
shown = ml_client.online_endpoints.get("sdk-endpoint")
answer = ml_client.online_endpoints.invoke(endpoint_name="sdk-endpoint",
                                           request_file=os.path.join(sample, "sample-request.json"))
logs = ml_client.online_deployments.get_logs(name="blue", endpoint_name="sdk-endpoint", lines=50)
keys = ml_client.online_endpoints.get_keys("sdk-endpoint")
deployments = [d.name for d in ml_client.online_deployments.list(endpoint_name="sdk-endpoint")]
ml_client.online_endpoints.begin_delete(name="sdk-endpoint").result()
left = [e.name for e in ml_client.online_endpoints.list()]
print(json.dumps({"state": created.provisioning_state, "traffic": shown.traffic,
                  "scoring_uri": shown.scoring_uri, "answer": json.loads(answer),
                  "logs": logs, "has_key": bool(keys.primary_key), "deployments": deployments,
                  "left": left}))
