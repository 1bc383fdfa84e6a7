"""amlemu's compatibility subset of the Azure ML SDK (azureml-core), put on a run's PYTHONPATH."""
