"""The scoring script: init() loads the model once per worker, run() answers each request."""
import json
import logging
import os

import joblib
import numpy


def init():
    global model
    # AZUREML_MODEL_DIR is azureml-models/<name>/<version>; the registered folder is below it.
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl")
    model = joblib.load(path)
    logging.info("model loaded from %s", path)


def run(raw_data):
    data = numpy.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()
