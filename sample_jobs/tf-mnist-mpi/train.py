"""The walkthrough's 784-300-100-10 MLP trained on several MPI ranks, Horovod-style
(synchronous data parallelism with mpi4py; Horovod itself is not needed).

Every rank holds a copy of the model; rank 0's initial weights are broadcast to all. Each global
batch of --batch-size images is split across the ranks; every rank computes the gradients of its
shard with TensorFlow (GradientTape), the gradients are summed over the ranks with
``MPI.COMM_WORLD.Allreduce`` (numpy buffers) into the gradient of the whole global batch, and
every rank applies the same Adam update, so the copies stay identical. Rank 0 logs
``training_acc`` and ``validation_acc`` per epoch and ``final_acc`` on the 10,000 test images
through ``Run.get_context()``, and saves the model to ./outputs/model.

Run without mpirun, the script trains as a single rank.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from mpi4py import MPI  # noqa: E402
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

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def parse_args():
    """Parse the command-line arguments of the sample."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--data-folder', type=str, dest='data_folder', required=True,
                        help='data folder mounting point')
    parser.add_argument('--batch-size', type=int, dest='batch_size', default=100,
                        help='global mini batch size, split across the ranks')
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


def share_cpus():
    """Split this node's CPUs between the ranks on it, as Horovod's guides advise: TensorFlow
    otherwise starts as many threads as there are CPUs in every rank."""
    local_size = int(os.environ.get('OMPI_COMM_WORLD_LOCAL_SIZE', '1'))
    threads = max(1, len(os.sched_getaffinity(0)) // local_size)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    return threads


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


def broadcast_weights(model, root=0):
    """Give every rank the root rank's weights (hvd.broadcast_variables)."""
    for variable in model.trainable_variables:
        buffer = np.ascontiguousarray(variable.numpy())
        comm.Bcast(buffer, root=root)
        variable.assign(buffer)


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
    """Train with gradients all-reduced over the ranks; rank 0 evaluates, logs and saves."""
    args = parse_args()
    threads = share_cpus()
    try:
        X_train, y_train, X_test, y_test = load_dataset(args.data_folder)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    print('rank {} of {} on {}, {} TensorFlow thread(s)'.format(
        rank, size, os.environ.get('AMLEMU_NODE_ADDRESS', MPI.Get_processor_name()), threads),
        flush=True)
    if rank == 0:
        print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep='\n', flush=True)

    X_val, y_val = X_train[-N_VALIDATION:], y_train[-N_VALIDATION:]
    X_train, y_train = X_train[:-N_VALIDATION], y_train[:-N_VALIDATION]

    global_batch = args.batch_size
    steps = (len(X_train) + global_batch - 1) // global_batch
    keras.utils.set_random_seed(SEED + rank)  # different on purpose: the broadcast fixes it
    model = build_model(args.n_hidden_1, args.n_hidden_2)
    optimizer = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(
        args.learning_rate, decay_steps=args.n_epochs * steps))
    optimizer.build(model.trainable_variables)
    broadcast_weights(model)
    shapes = [v.shape for v in model.trainable_variables]
    sizes = [int(np.prod(shape)) for shape in shapes]

    @tf.function(input_signature=[tf.TensorSpec([None, N_INPUTS], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def local_gradients(x, y):
        """This rank's shard: the gradients as one flat vector, and the right answers."""
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            # sum over the shard / global batch: summed over the ranks, it is the mean loss of
            # the whole global batch, even when the shards differ in size
            loss = tf.reduce_sum(
                keras.losses.sparse_categorical_crossentropy(y, probs)) / global_batch
        grads = tape.gradient(loss, model.trainable_variables)
        flat = tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probs, axis=1, output_type=tf.int32) == y,
                                        tf.float32))
        return flat, correct

    @tf.function(input_signature=[tf.TensorSpec([sum(sizes)], tf.float32)])
    def apply_gradients(flat):
        """The same update on every rank, from the all-reduced gradients."""
        grads = [tf.reshape(g, s) for g, s in zip(tf.split(flat, sizes), shapes)]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    run = Run.get_context() if rank == 0 else None
    start_time = time.time()
    comm_time = 0.0
    for epoch in range(args.n_epochs):
        # the same permutation on every rank; each takes its slice of every global batch
        order = np.random.default_rng(SEED + epoch).permutation(len(X_train))
        correct = 0.0
        for step in range(steps):
            batch = order[step * global_batch:(step + 1) * global_batch]
            shard = np.array_split(batch, size)[rank]
            flat, right = local_gradients(X_train[shard], y_train[shard])
            grads = flat.numpy()  # a fresh, writable float32 buffer
            tick = time.time()
            comm.Allreduce(MPI.IN_PLACE, grads, op=MPI.SUM)
            comm_time += time.time() - tick
            apply_gradients(grads)
            correct += float(right)
        # training accuracy: the epoch's images the model got right as it trained on them
        correct = comm.allreduce(correct, op=MPI.SUM)
        if rank == 0:
            acc_train = correct / len(X_train)
            acc_val = accuracy(model, X_val, y_val)
            print(epoch, '-- Training accuracy:', round(acc_train, 4),
                  '\b Validation accuracy:', round(acc_val, 4),
                  '({:.1f} s)'.format(time.time() - start_time), flush=True)
            run.log('training_acc', float(acc_train))
            run.log('validation_acc', float(acc_val))
    # the copies of the model are identical on every rank: compare this line across the logs
    checksum = sum(float(np.sum(np.abs(v.numpy()), dtype=np.float64))
                   for v in model.trainable_variables)
    print('Training time: {:.1f} s (of which {:.1f} s in Allreduce, waiting for the other ranks '
          'included); weights checksum {:.6f}'.format(time.time() - start_time, comm_time,
                                                      checksum), flush=True)

    if rank == 0:
        final_acc = accuracy(model, X_test, y_test)
        print('Final accuracy on test set:', round(final_acc, 4), flush=True)
        run.log('final_acc', float(final_acc))
        save_model(model)


if __name__ == '__main__':
    main()
