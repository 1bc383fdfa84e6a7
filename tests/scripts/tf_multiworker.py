"""MultiWorkerMirroredStrategy from the TF_CONFIG amlemu sets: a tiny linear model trained for a
few steps with a custom loop; gradients are all-reduced across the workers."""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Azure ML (and amlemu) put "ps": [] in TF_CONFIG; TensorFlow 2.13 and later crash on an empty
# job in MultiWorkerMirroredStrategy, so drop it first, as Azure's own examples do.
_config = json.loads(os.environ["TF_CONFIG"])
if not _config["cluster"].get("ps"):
    _config["cluster"].pop("ps", None)
    os.environ["TF_CONFIG"] = json.dumps(_config)
import tensorflow as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()
task = _config["task"]
print("workers in sync:", strategy.num_replicas_in_sync, flush=True)
with strategy.scope():
    w = tf.Variable(tf.zeros([8, 1]))
    b = tf.Variable(0.0)
true_w = tf.reshape(tf.range(8, dtype=tf.float32), [8, 1])


@tf.function
def train_step(seed):
    def step_fn(seed):
        x = tf.random.stateless_normal([32, 8], seed=[seed, task["index"]])
        y = x @ true_w + 1.0
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((x @ w + b - y) ** 2)
        grads = tape.gradient(loss, [w, b])
        grads = tf.distribute.get_replica_context().all_reduce("mean", grads)
        w.assign_sub(0.05 * grads[0])
        b.assign_sub(0.05 * grads[1])
        return loss
    return strategy.run(step_fn, args=(seed,))


for step in range(20):
    loss = train_step(tf.constant(step))
print("task", task["type"], task["index"], "trained, replicas", strategy.num_replicas_in_sync,
      "loss", float(loss), flush=True)
