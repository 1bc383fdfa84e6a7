"""Train a 784-300-100-10 MLP on MNIST-format data with TensorFlow 2.

The TensorFlow 2 version of the Azure ML sample
"train-hyperparameter-tune-deploy-with-tensorflow" (tf_mnist.py): the same
arguments (plus --epochs), printed lines and logged metrics. The network is a
Keras Sequential model (ReLU hidden layers, softmax output) trained with SGD
with momentum 0.9 at --learning-rate; the last 5,000 training images are held
out for validation. Per epoch it logs ``training_acc`` and ``validation_acc``,
at the end ``final_acc`` on the 10,000 test images, all through
``Run.get_context()``, and it exports a TensorFlow SavedModel to
./outputs/model (``tf.saved_model.load`` gives back a callable ``serve``
endpoint: float32 images of shape (N, 784) in [0, 1] to class probabilities).
"""

import argparse
import os
import sys
import time

# Keep the log readable: no TensorFlow INFO and WARNING lines. The oneDNN banner ignores
# TF_CPP_MIN_LOG_LEVEL; turning the oneDNN custom ops off silences it (and makes the numbers
# the same on every x86 CPU); on 2 cores it is as fast.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

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
    parser.add_argument('--batch-size', type=int, dest='batch_size', default=50,
                        help='mini batch size for training')
    parser.add_argument('--first-layer-neurons', type=int, dest='n_hidden_1', default=300,
                        help='# of neurons in the first layer')
    parser.add_argument('--second-layer-neurons', type=int, dest='n_hidden_2', default=100,
                        help='# of neurons in the second layer')
    parser.add_argument('--learning-rate', type=float, dest='learning_rate', default=0.01,
                        help='learning rate')
    parser.add_argument('--epochs', type=int, dest='n_epochs', default=20,
                        help='number of passes over the training data')
    args = parser.parse_args()
    for option, name in (('--batch-size', 'batch_size'), ('--first-layer-neurons', 'n_hidden_1'),
                         ('--second-layer-neurons', 'n_hidden_2'), ('--epochs', 'n_epochs')):
        if getattr(args, name) < 1:
            parser.error(f'{option} must be at least 1')
    if not args.learning_rate > 0:
        parser.error('--learning-rate must be positive')
    return args


def load_dataset(data_folder):
    """Load the training and test images (float32 in [0, 1]) and labels."""
    def read(name, label):
        return load_data(find_data_file(data_folder, name), label=label)

    X_train = read('train-images-idx3-ubyte.gz', False)
    y_train = read('train-labels-idx1-ubyte.gz', True)
    X_test = read('t10k-images-idx3-ubyte.gz', False)
    y_test = read('t10k-labels-idx1-ubyte.gz', True)
    return X_train, y_train, X_test, y_test


def build_model(n_hidden_1, n_hidden_2, learning_rate):
    """The 784-n_hidden_1-n_hidden_2-10 network, compiled for training."""
    model = keras.Sequential([
        keras.Input(shape=(N_INPUTS,), name='images'),
        keras.layers.Dense(n_hidden_1, activation='relu', name='h1'),
        keras.layers.Dense(n_hidden_2, activation='relu', name='h2'),
        keras.layers.Dense(N_OUTPUTS, activation='softmax', name='output'),
    ], name='dnn_mnist')
    # Plain SGD at 0.01 (the original sample) needs far more epochs; momentum
    # 0.9 gives the same step size the numpy version uses and converges in a few.
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name='accuracy')],
        # 100 batches per call of the compiled train step: same updates, less Python per batch
        steps_per_execution=100)
    return model


def accuracy(model, X, y):
    """Fraction of rows of X whose predicted class equals y."""
    probs = model.predict(X, batch_size=5000, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == y))


class LogEpoch(keras.callbacks.Callback):
    """Print and log the training and validation accuracy after every epoch."""

    def __init__(self, run, X_val, y_val):
        super().__init__()
        self.run, self.X_val, self.y_val = run, X_val, y_val

    def on_epoch_end(self, epoch, logs=None):
        # training accuracy: the mean over the epoch's batches, as Keras reports it
        acc_train = float(logs['accuracy'])
        acc_val = accuracy(self.model, self.X_val, self.y_val)
        print(epoch, '-- Training accuracy:', round(acc_train, 4),
              '\b Validation accuracy:', round(acc_val, 4), flush=True)
        self.run.log('training_acc', acc_train)
        self.run.log('validation_acc', acc_val)


def save_model(model, X_check, folder=MODEL_DIR):
    """Export a SavedModel to ``folder`` and check that it predicts as the model does."""
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    model.export(folder, format='tf_saved_model', verbose=False)
    print('Model saved in folder', folder, flush=True)
    loaded = tf.saved_model.load(folder)
    expected = model.predict(X_check, batch_size=5000, verbose=0)
    got = loaded.serve(tf.constant(X_check)).numpy()
    diff = float(np.max(np.abs(got - expected)))
    same = bool(np.all(np.argmax(got, axis=1) == np.argmax(expected, axis=1)))
    print('SavedModel reloaded: max probability difference {:.2e}, same classes: {}'
          .format(diff, same), flush=True)
    if not same or diff > 1e-4:
        sys.exit('error: the reloaded SavedModel does not predict as the trained model does')


def main():
    """Load data, train, evaluate on the test set and save the model."""
    args = parse_args()
    try:
        X_train, y_train, X_test, y_test = load_dataset(args.data_folder)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep='\n', flush=True)

    X_val, y_val = X_train[-N_VALIDATION:], y_train[-N_VALIDATION:]
    X_train, y_train = X_train[:-N_VALIDATION], y_train[:-N_VALIDATION]

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    run = Run.get_context()
    model = build_model(args.n_hidden_1, args.n_hidden_2, args.learning_rate)

    train_ds = (tf.data.Dataset.from_tensor_slices((X_train, y_train))
                .shuffle(len(X_train), seed=SEED, reshuffle_each_iteration=True)
                .batch(args.batch_size)
                .prefetch(tf.data.AUTOTUNE))

    start_time = time.time()
    model.fit(train_ds, epochs=args.n_epochs, verbose=0, shuffle=False,  # train_ds shuffles
              callbacks=[LogEpoch(run, X_val, y_val)])
    print('Training time: {:.1f} s'.format(time.time() - start_time), flush=True)

    final_acc = accuracy(model, X_test, y_test)
    print('Final accuracy on test set:', round(final_acc, 4), flush=True)
    run.log('final_acc', final_acc)

    save_model(model, X_test)


if __name__ == '__main__':
    main()
