"""The walkthrough's TensorFlow job as a user submits it with azure-ai-ml: a command() with the
sample's code, the MNIST folder of the default datastore mounted, a curated TensorFlow
environment and the GPU cluster.

    tf_mnist.py RESULT_JSON CODE_FOLDER EPOCHS SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import json
import sys

from azure.ai.ml import Input, MLClient, command
from azure.ai.ml.entities import Environment
from azure.identity import DefaultAzureCredential

result_file, code, epochs = sys.argv[1:4]
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[4:7])
job = command(
    code=code,
    command="python tf_mnist.py --data-folder ${{inputs.data}} --batch-size ${{inputs.batch_size}} "
            "--first-layer-neurons 300 --second-layer-neurons 100 --learning-rate 0.01 "
            "--epochs " + epochs,
    inputs={"data": Input(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/mnist",
                          mode="ro_mount"),
            "batch_size": 50},
    # As sample_jobs/tf-mnist/job.yml: an image alone runs on the machine's TensorFlow.
    environment=Environment(image="mcr.microsoft.com/azureml/curated/tensorflow-2.16-cuda12:latest"),
    compute="gpucluster",
    experiment_name="tf-mnist",
    display_name="tf-mnist",
)
returned = ml_client.jobs.create_or_update(job)
ml_client.jobs.stream(returned.name)
with open(result_file, "w") as f:
    json.dump({"name": returned.name, "status": ml_client.jobs.get(returned.name).status}, f)
