"""The walkthrough notebook's scoring script for the registered tf-dnn-mnist model: init() loads
the SavedModel once, run() returns the class id of each image ({"data": [[784 floats], ...]})."""
import json
import os

import numpy as np
import tensorflow as tf


def init():
    global model, predict  # the loaded object must live on: it owns the variables
    folder = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model")
    model = tf.saved_model.load(folder)
    # Keras 3's model.export() names the endpoint `serve`; else the serving signature.
    if hasattr(model, "serve"):
        predict = model.serve
    else:
        signature = model.signatures["serving_default"]
        predict = lambda x: next(iter(signature(x).values()))  # noqa: E731


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=np.float32)
    return np.argmax(predict(tf.constant(data)).numpy(), axis=1).tolist()
