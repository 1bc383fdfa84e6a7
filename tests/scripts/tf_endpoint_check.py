"""Checks a deployed tf-dnn-mnist against the model itself: 30 Fashion-MNIST test images scored
through the endpoint and by loading the SavedModel here, then the scoring URI's other answers.

    tf_endpoint_check.py SCORING_URI KEY DATA_FOLDER SAVED_MODEL_FOLDER
"""
import gzip
import json
import sys
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf

uri, key, data, saved = sys.argv[1:5]
with gzip.open(data + "/t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:30].astype(np.float32) / 255.0
model = tf.saved_model.load(saved)
predict = model.serve if hasattr(model, "serve") else \
    (lambda x: next(iter(model.signatures["serving_default"](x).values())))
direct = np.argmax(predict(tf.constant(images)).numpy(), axis=1).tolist()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url, credential, body=None, method="POST"):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Content-Type", "application/json")
    if credential:
        req.add_header("Authorization", "Bearer " + credential)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


status, body = call(uri, key, json.dumps({"data": images.tolist()}).encode())
print("scored:", status, body)
print("direct:", direct)
print("same predictions" if status == 200 and json.loads(body) == direct else "DIFFERENT predictions")
root = uri[: -len("/score")]
print("GET / ->", *call(root + "/", key, method="GET"))
print("GET /swagger.json ->", call(root + "/swagger.json", key, method="GET")[0])
print("wrong key ->", call(uri, "wrong-key", b"{}")[0])
print("PUT /score ->", call(uri, key, b"{}", method="PUT")[0])
print("bad body ->", call(uri, key, b"not json")[0])
