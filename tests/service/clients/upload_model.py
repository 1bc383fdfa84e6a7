"""Registers a model from a local folder (./model), which azure-ai-ml uploads, and prints its
version.

    upload_model.py SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import sys

from azure.ai.ml import MLClient
from azure.ai.ml.entities import Model
from azure.identity import DefaultAzureCredential

ml_client = MLClient(DefaultAzureCredential(), *sys.argv[1:4])
model = ml_client.models.create_or_update(Model(path="./model", name="local-model", type="custom_model"))
print("model", model.name, model.version)
