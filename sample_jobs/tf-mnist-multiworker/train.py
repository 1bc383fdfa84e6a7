"""The walkthrough's 784-300-100-10 MLP trained on several TensorFlow workers with
MultiWorkerMirroredStrategy (synchronous data parallelism).

Every worker holds a full copy of the model. Each global batch of --batch-size images is split
across the workers; every worker computes the gradients of its shard, the gradients are summed
over all workers (an all-reduce, over gRPC), and every worker applies the same update, so the
copies stay identical. Worker 0 (TensorFlow's chief when the cluster has no chief job) logs
``training_acc`` and ``validation_acc`` per epoch and ``final_acc`` on the 10,000 test images
through ``Run.get_context()``, and saves the model to ./outputs/model.

The cluster comes from TF_CONFIG, which Azure ML and amlemu set for each worker. Run without
TF_CONFIG, the script trains as a single worker.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# Azure ML (and amlemu) put "ps": [] in TF_CONFIG for a job with workers only. TensorFlow 2.13
# and later crash (segmentation fault) on an empty job when MultiWorkerMirroredStrategy enables
# collective ops, so drop it before TensorFlow reads TF_CONFIG, as Azure's own examples do.
_TF_CONFIG = json.loads(os.environ.get('TF_CONFIG') or '{}')
if 'cluster' in _TF_CONFIG and not _TF_CONFIG['cluster'].get('ps'):
    _TF_CONFIG['cluster'].pop('ps', None)
    os.environ['TF_CONFIG'] = json.dumps(_TF_CONFIG)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from utils import find_data_file, load_data  # noqa: E402

try:
    from azureml.core.run import Run
except ImportError:
    class Run:
        """Minimal stand-in for azureml's Run when the SDK is not installed."""

        @classmethod
        def get_context(cls):
            """Return an offline run that prints logged metrics."""
            return cls()

        def log(self, name, value):
            """Print a scalar metric the way the SDK's offline run does."""
            print(f"Attempted to log scalar metric {name}:\n{value}", flush=True)

N_INPUTS = 28 * 28
N_OUTPUTS = 10
N_VALIDATION = 5000
SEED = 0
MODEL_DIR = './outputs/model'


def parse_args():
    """Parse the command-line arguments of the sample."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--data-folder', type=str, dest='data_folder', required=True,
                        help='data folder mounting point')
    parser.add_argument('--batch-size', type=int, dest='batch_size', default=100,
                        help='global mini batch size, split across the workers')
    parser.add_argument('--first-layer-neurons', type=int, dest='n_hidden_1', default=300,
                        help='# of neurons in the first layer')
    parser.add_argument('--second-layer-neurons', type=int, dest='n_hidden_2', default=100,
                        help='# of neurons in the second layer')
    parser.add_argument('--learning-rate', type=float, dest='learning_rate', default=0.001,
                        help='initial learning rate of Adam (cosine decay to 0 over the run)')
    parser.add_argument('--epochs', type=int, dest='n_epochs', default=10,
                        help='number of passes over the training data')
    args = parser.parse_args()
    for name in ('batch_size', 'n_hidden_1', 'n_hidden_2', 'n_epochs'):
        if getattr(args, name) < 1:
            parser.error(f'{name} must be at least 1')
    if not args.learning_rate > 0:
        parser.error('learning_rate must be positive')
    return args


def load_dataset(data_folder):
    """Load the training and test images (float32 in [0, 1]) and labels."""
    def read(name, label):
        return load_data(find_data_file(data_folder, name), label=label)

    X_train = read('train-images-idx3-ubyte.gz', False)
    y_train = read('train-labels-idx1-ubyte.gz', True).astype(np.int32)
    X_test = read('t10k-images-idx3-ubyte.gz', False)
    y_test = read('t10k-labels-idx1-ubyte.gz', True).astype(np.int32)
    return X_train, y_train, X_test, y_test


def build_model(n_hidden_1, n_hidden_2):
    """The 784-n_hidden_1-n_hidden_2-10 network (ReLU hidden layers, softmax output)."""
    return keras.Sequential([
        keras.Input(shape=(N_INPUTS,), name='images'),
        keras.layers.Dense(n_hidden_1, activation='relu', name='h1'),
        keras.layers.Dense(n_hidden_2, activation='relu', name='h2'),
        keras.layers.Dense(N_OUTPUTS, activation='softmax', name='output'),
    ], name='dnn_mnist')


def accuracy(model, X, y, chunk=10000):
    """Fraction of rows of X whose predicted class equals y (computed locally)."""
    correct = 0
    for start in range(0, len(X), chunk):
        probs = model(X[start:start + chunk], training=False)
        correct += int(np.sum(np.argmax(probs, axis=1) == y[start:start + chunk]))
    return correct / len(X)


def save_model(model, folder=MODEL_DIR):
    """Save the Keras model (model.keras) and its architecture (model.json)."""
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, 'model.keras'))
    with open(os.path.join(folder, 'model.json'), 'w') as handle:
        json.dump({'framework': 'tensorflow', 'keras_file': 'model.keras',
                   'layer_sizes': [N_INPUTS] + [layer.units for layer in model.layers],
                   'output': 'class probabilities (softmax)',
                   'input_scaling': 'uint8 pixel / 255.0 -> float32 in [0, 1]'},
                  handle, indent=2)
    print('Model saved in folder', folder, flush=True)


def main():
    """Join the workers, train with a custom loop, evaluate, log and save on worker 0."""
    args = parse_args()
    task = _TF_CONFIG.get('task', {'type': 'worker', 'index': 0})
    is_chief = task['type'] == 'chief' or (task['type'] == 'worker' and task['index'] == 0
                                           and 'chief' not in _TF_CONFIG.get('cluster', {}))
    try:
        X_train, y_train, X_test, y_test = load_dataset(args.data_folder)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')

    # Blocks until every worker in TF_CONFIG has started its server.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    n_workers = strategy.num_replicas_in_sync
    # this worker's position among the replicas (a chief, when the cluster has one, comes first)
    cluster = _TF_CONFIG.get('cluster', {})
    worker_rank = task['index']
    if task['type'] == 'worker':
        worker_rank += len(cluster.get('chief', []))
    print('task {} {}: worker {} of {}'.format(task['type'], task['index'], worker_rank,
                                               n_workers), flush=True)
    if is_chief:
        print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep='\n', flush=True)

    X_val, y_val = X_train[-N_VALIDATION:], y_train[-N_VALIDATION:]
    X_train, y_train = X_train[:-N_VALIDATION], y_train[:-N_VALIDATION]

    global_batch = args.batch_size
    steps = (len(X_train) + global_batch - 1) // global_batch
    keras.utils.set_random_seed(SEED)
    with strategy.scope():
        # Variables created here are mirrored: worker 0's initial values are broadcast to all.
        model = build_model(args.n_hidden_1, args.n_hidden_2)
        optimizer = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(
            args.learning_rate, decay_steps=args.n_epochs * steps))
        optimizer.build(model.trainable_variables)

    @tf.function(input_signature=[tf.TensorSpec([None, N_INPUTS], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def train_step(x, y):
        """One synchronous step: every worker passes its own shard of the global batch."""
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                per_example = keras.losses.sparse_categorical_crossentropy(y, probs)
                # sum over the shard / global batch: summed over the workers, it is the mean
                # loss of the whole global batch, even when the shards differ in size
                loss = tf.reduce_sum(per_example) / global_batch
            grads = tape.gradient(loss, model.trainable_variables)
            # Keras 3's optimizer sums the gradients over the replicas (an all-reduce across
            # the workers) inside apply_gradients, then every worker applies the same update.
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            # right answers in this shard, before the update (as Keras' training accuracy)
            return tf.reduce_sum(tf.cast(tf.argmax(probs, axis=1, output_type=tf.int32) == y,
                                         tf.float32))
        # one replica per worker: the result is this worker's own count, nothing is exchanged
        return strategy.experimental_local_results(strategy.run(step_fn, args=(x, y)))[0]

    @tf.function
    def sum_over_workers(values):
        """Add up a value over all workers (one all-reduce)."""
        return strategy.reduce(tf.distribute.ReduceOp.SUM,
                               strategy.run(tf.identity, args=(values,)), axis=None)

    run = Run.get_context() if is_chief else None
    start_time = time.time()
    for epoch in range(args.n_epochs):
        # the same permutation on every worker; each takes its slice of every global batch
        order = np.random.default_rng(SEED + epoch).permutation(len(X_train))
        correct = tf.constant(0.0)
        for step in range(steps):
            batch = order[step * global_batch:(step + 1) * global_batch]
            shard = np.array_split(batch, n_workers)[worker_rank]
            correct += train_step(X_train[shard], y_train[shard])
        # training accuracy: the epoch's images the model got right as it trained on them, on
        # all workers (every worker takes part in the all-reduce)
        correct = float(sum_over_workers(correct))
        if is_chief:
            acc_train = correct / len(X_train)
            acc_val = accuracy(model, X_val, y_val)
            print(epoch, '-- Training accuracy:', round(acc_train, 4),
                  '\b Validation accuracy:', round(acc_val, 4),
                  '({:.1f} s)'.format(time.time() - start_time), flush=True)
            run.log('training_acc', float(acc_train))
            run.log('validation_acc', float(acc_val))
    # the copies of the model are identical on every worker: compare this line across the logs
    checksum = sum(float(np.sum(np.abs(v.numpy()), dtype=np.float64))
                   for v in model.trainable_variables)
    print('Training time: {:.1f} s; weights checksum {:.6f}'.format(time.time() - start_time,
                                                                    checksum), flush=True)

    if is_chief:
        final_acc = accuracy(model, X_test, y_test)
        print('Final accuracy on test set:', round(final_acc, 4), flush=True)
        run.log('final_acc', float(final_acc))
        save_model(model)


if __name__ == '__main__':
    main()
