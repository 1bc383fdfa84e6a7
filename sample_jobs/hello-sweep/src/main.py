# The azureml-examples hello-sweep trial: logs a random metric that depends on its two
# hyperparameters, as MLflow would in Azure ML; the sweep minimizes it.
import argparse
import random

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--A", type=float, default=0.5)
parser.add_argument("--B", type=str, default="hello world")
parser.add_argument("--C", type=float, default=1.0)
args = parser.parse_args()

random.seed(int(args.A * 1000) + len(args.B))
with mlflow.start_run():
    mlflow.log_param("B", args.B)
    mlflow.log_metric("random_metric", random.random() * args.A * args.C)
