"""The walkthrough's 784-300-100-10 MLP trained with TensorFlow's ParameterServerStrategy
(asynchronous data parallelism).

The variables (weights and Adam's slots) live on the parameter server(s). A coordinator, the
`chief` task, schedules training steps with a ClusterCoordinator; each step runs on whichever
worker is free: it reads the current weights from the parameter servers, computes the gradients
of one batch of --batch-size images taken from that worker's own copy of the training set, and
sends the update back, without waiting for the other workers. The workers and parameter servers
only run a TensorFlow server; all Python code (the model, the loop, the evaluation) runs in the
chief, which logs ``training_acc`` and ``validation_acc`` per epoch and ``final_acc`` on the
10,000 test images through ``Run.get_context()`` and saves the model to ./outputs/model.

The cluster comes from TF_CONFIG. Submitted with ``"chief": true`` (amlemu), the cluster has a
``chief`` job and amlemu ends the workers and parameter servers once the chief has exited. Azure
ML itself never starts a chief: when the cluster has none, worker 0 becomes the coordinator (it
is taken out of the worker list), and the serving tasks end themselves once the coordinator has
gone, so the same script also runs from the CLI v2 job.yml.
"""

import argparse
import json
import os
import socket
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

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
FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')


def parse_args():
    """Parse the command-line arguments of the sample."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--data-folder', type=str, dest='data_folder', required=True,
                        help='data folder mounting point')
    parser.add_argument('--batch-size', type=int, dest='batch_size', default=100,
                        help='mini batch size of one training step')
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


def cluster_config():
    """TF_CONFIG, with worker 0 turned into the chief when the cluster has no chief job.

    Azure ML starts only `worker` and `ps` tasks; ParameterServerStrategy needs a coordinator
    outside the workers. The rewritten TF_CONFIG is put back in the environment, where
    TFConfigClusterResolver reads it.
    """
    config = json.loads(os.environ.get('TF_CONFIG') or '{}')
    cluster, task = config.get('cluster', {}), config.get('task', {})
    if not cluster.get('ps') or not cluster.get('worker'):
        sys.exit('error: this sample needs TF_CONFIG with at least one ps and one worker task: '
                 'submit it as a tensorflow job with parameter_server_count >= 1 and either '
                 '"chief": true (amlemu) or worker_count >= 2 (worker 0 then coordinates)')
    if 'chief' not in cluster:
        if len(cluster['worker']) < 2:
            sys.exit('error: without a chief task, worker 0 coordinates and at least one more '
                     'worker is needed to train')
        cluster['chief'] = cluster['worker'][:1]
        cluster['worker'] = cluster['worker'][1:]
        if task['type'] == 'worker':
            task = {'type': 'chief', 'index': 0} if task['index'] == 0 else \
                {'type': 'worker', 'index': task['index'] - 1}
        config['azure_task'] = config['task']  # remembered: the serving tasks end themselves
        config['cluster'], config['task'] = cluster, task
        os.environ['TF_CONFIG'] = json.dumps(config)
    return config


def reachable(address):
    """Whether something accepts TCP connections at host:port."""
    host, port = address.rsplit(':', 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def serve(config):
    """Run this worker's or parameter server's TensorFlow server until the end of the job."""
    task = config['task']
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    server = tf.distribute.Server(resolver.cluster_spec(), job_name=task['type'],
                                  task_index=task['index'], protocol='grpc', start=True)
    azure_task = config.get('azure_task')
    where = '{} {} at {}'.format(task['type'], task['index'],
                                 config['cluster'][task['type']][task['index']])
    if azure_task:
        where += ' (task {type} {index} in the job)'.format(**azure_task)
    print('serving as', where, flush=True)
    if not azure_task:
        # amlemu's "chief": true: amlemu ends this task once the chief has exited
        server.join()
    # No chief task (Azure ML's layout): the run ends once its workers have exited, and a
    # server never returns from join(), so watch the coordinator's port instead and leave once
    # it has come up and gone away again.
    chief = config['cluster']['chief'][0]
    while not reachable(chief):
        time.sleep(2)
    while reachable(chief):
        time.sleep(2)
    print('the coordinator has finished; leaving', flush=True)
    sys.exit(0)


def load_dataset(data_folder):
    """The four files' paths, and the images (float32 in [0, 1]) and labels as numpy arrays."""
    paths = [find_data_file(data_folder, name) for name in FILES]
    arrays = [load_data(path, label=i % 2 == 1) for i, path in enumerate(paths)]
    arrays[1], arrays[3] = arrays[1].astype(np.int32), arrays[3].astype(np.int32)
    return paths, arrays


def make_dataset_fn(image_path, label_path, n_train, batch_size):
    """A function that builds the training set where it runs, on each worker, from the gzip
    IDX files themselves (TensorFlow ops only): the first n_train images, shuffled differently
    on every worker, repeated, in batches."""
    def idx_payload(path, header):
        raw = tf.io.decode_compressed(tf.io.read_file(path), compression_type='GZIP')
        return tf.io.decode_raw(tf.strings.substr(raw, header, -1), tf.uint8)

    def dataset_fn():
        images = tf.reshape(idx_payload(image_path, 16), [-1, N_INPUTS])[:n_train]
        labels = idx_payload(label_path, 8)[:n_train]
        images = tf.cast(images, tf.float32) / 255.0
        labels = tf.cast(labels, tf.int32)
        # no seed: each worker draws its own order
        return (tf.data.Dataset.from_tensor_slices((images, labels))
                .shuffle(n_train, reshuffle_each_iteration=True)
                .repeat()
                .batch(batch_size, drop_remainder=True)
                .prefetch(2))
    return dataset_fn


def build_model(n_hidden_1, n_hidden_2):
    """The 784-n_hidden_1-n_hidden_2-10 network (ReLU hidden layers, softmax output)."""
    return keras.Sequential([
        keras.Input(shape=(N_INPUTS,), name='images'),
        keras.layers.Dense(n_hidden_1, activation='relu', name='h1'),
        keras.layers.Dense(n_hidden_2, activation='relu', name='h2'),
        keras.layers.Dense(N_OUTPUTS, activation='softmax', name='output'),
    ], name='dnn_mnist')


def accuracy(model, X, y, chunk=10000):
    """Fraction of rows of X whose predicted class equals y (computed in the chief)."""
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
    """Serve (workers, parameter servers) or coordinate the training (chief)."""
    args = parse_args()
    config = cluster_config()
    if config['task']['type'] in ('worker', 'ps'):
        serve(config)

    try:
        paths, (X_train, y_train, X_test, y_test) = load_dataset(args.data_folder)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep='\n', flush=True)
    n_train = len(X_train) - N_VALIDATION
    X_val, y_val = X_train[n_train:], y_train[n_train:]
    if args.batch_size > n_train:
        sys.exit(f'error: --batch-size {args.batch_size} is above the {n_train} training images')

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    cluster = resolver.cluster_spec().as_dict()
    print('coordinating {} worker(s) and {} parameter server(s){}'.format(
        len(cluster['worker']), len(cluster['ps']),
        ' (no chief task: worker 0 of the job coordinates)' if 'azure_task' in config else ''),
        flush=True)
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)

    steps = n_train // args.batch_size  # steps per epoch
    keras.utils.set_random_seed(SEED)
    with strategy.scope():
        # created on the parameter servers
        model = build_model(args.n_hidden_1, args.n_hidden_2)
        optimizer = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(
            args.learning_rate, decay_steps=args.n_epochs * steps))
        optimizer.build(model.trainable_variables)
    tf.random.set_seed(None)  # the workers' shuffles must differ
    # The files are read where the dataset is built, on each worker, so the path must be valid
    # there: a mounted datastore is at the same path on every node, as on Azure.
    train_files = list(paths[:2])
    print('workers read', ' and '.join(train_files), flush=True)
    per_worker_dataset = coordinator.create_per_worker_dataset(
        make_dataset_fn(train_files[0], train_files[1], n_train, args.batch_size))
    per_worker_iterator = iter(per_worker_dataset)

    @tf.function
    def train_step(iterator):
        """One step on one worker: a batch from its own dataset, gradients, update on the ps."""
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probs))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return tf.reduce_sum(tf.cast(tf.argmax(probs, axis=1, output_type=tf.int32) == y,
                                         tf.float32))
        x, y = next(iterator)
        return strategy.run(step_fn, args=(x, y))

    run = Run.get_context()
    start_time = time.time()
    for epoch in range(args.n_epochs):
        results = [coordinator.schedule(train_step, args=(per_worker_iterator,))
                   for _ in range(steps)]
        coordinator.join()  # every scheduled step has run
        # training accuracy: the epoch's images the model got right as it trained on them
        acc_train = sum(float(r.fetch()) for r in results) / (steps * args.batch_size)
        acc_val = accuracy(model, X_val, y_val)
        print(epoch, '-- Training accuracy:', round(acc_train, 4),
              '\b Validation accuracy:', round(acc_val, 4),
              '({:.1f} s)'.format(time.time() - start_time), flush=True)
        run.log('training_acc', float(acc_train))
        run.log('validation_acc', float(acc_val))
    print('Training time: {:.1f} s'.format(time.time() - start_time), flush=True)

    final_acc = accuracy(model, X_test, y_test)
    print('Final accuracy on test set:', round(final_acc, 4), flush=True)
    run.log('final_acc', float(final_acc))
    save_model(model)


if __name__ == '__main__':
    main()
