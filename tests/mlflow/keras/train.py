# A small Keras classifier on Fashion-MNIST (the IDX files of the job's input), logged with
# mlflow.autolog(): per-epoch metrics, the training parameters and the model, with no explicit
# mlflow call but autolog.
import argparse
import gzip
import os

import mlflow
import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--samples", type=int, default=6000)
args = parser.parse_args()


def idx(name, offset):
    with gzip.open(os.path.join(args.data, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[: args.samples].astype("float32") / 255.0
y = idx("train-labels-idx1-ubyte.gz", 8)[: args.samples]

mlflow.autolog()
model = tf.keras.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=args.epochs, batch_size=64, validation_split=0.1, verbose=2)
