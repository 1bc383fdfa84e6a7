# Nested MLflow runs inside a job become child runs of the job's run.
import mlflow

with mlflow.start_run():
    mlflow.log_metric("outer", 1.0)
    for fold in range(2):
        with mlflow.start_run(run_name="fold-%d" % fold, nested=True):
            mlflow.log_param("fold", fold)
            mlflow.log_metric("score", 0.5 + fold)
