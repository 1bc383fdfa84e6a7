"""ParameterServerStrategy: workers and parameter servers serve; the chief coordinates training."""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf

resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
task = json.loads(os.environ["TF_CONFIG"])["task"]
if task["type"] in ("worker", "ps"):
    server = tf.distribute.Server(resolver.cluster_spec(), job_name=task["type"],
                                  task_index=task["index"], protocol="grpc", start=True)
    print("serving as", task["type"], task["index"], flush=True)
    server.join()

strategy = tf.distribute.ParameterServerStrategy(resolver)
coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
with strategy.scope():
    w = tf.Variable(0.0)
    optimizer = tf.keras.optimizers.SGD(0.1)


@tf.function
def step():
    def replica_fn():
        with tf.GradientTape() as tape:
            loss = (w - 3.0) ** 2
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        return loss
    return strategy.run(replica_fn)


for _ in range(20):
    coordinator.schedule(step)
coordinator.join()
print("chief trained with", len(resolver.cluster_spec().as_dict()["ps"]), "ps; w =",
      float(w.numpy()), flush=True)
