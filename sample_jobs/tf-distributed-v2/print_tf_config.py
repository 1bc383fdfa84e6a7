"""Prints the TF_CONFIG that Azure ML gives each task of a TensorFlow distributed job."""
import json
import os

tf_config = os.environ.get("TF_CONFIG")
if tf_config is None:
    print("TF_CONFIG is not set")
else:
    print("TF_CONFIG=" + json.dumps(json.loads(tf_config), sort_keys=True))
