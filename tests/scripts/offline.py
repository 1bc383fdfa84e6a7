"""Run outside amlemu: get_context() must return an offline run."""
from azureml.core.run import Run

run = Run.get_context()
print(run.id.split("_")[0])
run.log("accuracy", 0.5)
