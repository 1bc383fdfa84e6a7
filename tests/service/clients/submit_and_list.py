"""One of many users at once: waits for the start signal, submits jobs with azure-ai-ml, lists the
workspace's jobs while others submit, and prints what it saw as JSON.

    submit_and_list.py START_FILE JOBS SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import json
import os
import sys
import time

from azure.ai.ml import MLClient, command
from azure.identity import DefaultAzureCredential

start_file, count = sys.argv[1], int(sys.argv[2])
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[3:6])
ml_client.workspaces.get(sys.argv[5])  # credential and metadata fetched before the start
while not os.path.exists(start_file):
    time.sleep(0.01)
names = []
for i in range(count):
    job = ml_client.jobs.create_or_update(command(
        command="echo client %d job %d" % (os.getpid(), i),
        environment="AzureML-sklearn-1.5@latest", compute="cpu-cluster",
        experiment_name="service-concurrency"))
    names.append(job.name)
listed = [j.name for j in ml_client.jobs.list()]
print(json.dumps({"names": names, "listed": listed}))
