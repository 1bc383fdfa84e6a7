"""Every metrics call on the offline run (outside amlemu): each prints what it would have logged."""
import io

from azureml.core.run import Run

run = Run.get_context()
print(run.id.split("_")[0])
run.log("accuracy", 0.5)
run.log_list("losses", [3, 2, 1])
run.log_row("roc", fpr=0.1, tpr=0.8)
run.log_table("table", {"x": [1, 2]})
run.log_image("plot", path="roc.png")
run.upload_file("outputs/model.bin", "model.bin")
run.tag("quality", "good")
run.set_tags({"a": "1"})
run.remove_tags(["a"])
run.add_properties({"seed": 42})
print(run.get_tags(), run.get_properties())
run.flush()
run.complete()
