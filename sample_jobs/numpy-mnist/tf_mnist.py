"""Train a 2-hidden-layer MLP on MNIST-format data, without TensorFlow.

The no-TensorFlow twin of ../tf-mnist/tf_mnist.py: it mirrors the arguments,
printed output and logged metrics of the Azure ML sample
"train-hyperparameter-tune-deploy-with-tensorflow" (tf_mnist.py), implemented
with plain numpy only (minibatch SGD with momentum 0.9, He initialisation).
It runs on any interpreter that has numpy, so it is the sample to use where
TensorFlow is not installed. The model is saved to ./outputs/model as
model.npz (the weights) and model.json (the architecture).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from utils import find_data_file, load_data

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
    return parser.parse_args()


def load_dataset(data_folder):
    """Load the training and test images and labels from ``data_folder``."""
    def read(name, label):
        return load_data(find_data_file(data_folder, name), label=label)

    X_train = read('train-images-idx3-ubyte.gz', False)
    y_train = read('train-labels-idx1-ubyte.gz', True)
    X_test = read('t10k-images-idx3-ubyte.gz', False)
    y_test = read('t10k-labels-idx1-ubyte.gz', True)
    return X_train, y_train, X_test, y_test


def init_params(rng, sizes):
    """He-initialised weights and zero biases for consecutive layer sizes."""
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        scale = np.sqrt(2.0 / n_in)
        params[f'W{i}'] = (rng.standard_normal((n_in, n_out)) * scale).astype(np.float32)
        params[f'b{i}'] = np.zeros(n_out, dtype=np.float32)
    return params


def forward(params, X):
    """Return (hidden1, hidden2, softmax probabilities) for a batch."""
    h1 = np.maximum(X @ params['W1'] + params['b1'], 0)
    h2 = np.maximum(h1 @ params['W2'] + params['b2'], 0)
    logits = h2 @ params['W3'] + params['b3']
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return h1, h2, exp / exp.sum(axis=1, keepdims=True)


def backward(params, X, y, h1, h2, probs):
    """Gradients of the mean cross-entropy loss with respect to each parameter."""
    d3 = probs.copy()
    d3[np.arange(len(y)), y] -= 1.0
    d3 /= len(y)
    d2 = (d3 @ params['W3'].T) * (h2 > 0)
    d1 = (d2 @ params['W2'].T) * (h1 > 0)
    return {
        'W3': h2.T @ d3, 'b3': d3.sum(axis=0),
        'W2': h1.T @ d2, 'b2': d2.sum(axis=0),
        'W1': X.T @ d1, 'b1': d1.sum(axis=0),
    }


def sgd_momentum_step(params, grads, velocity, learning_rate, momentum=0.9):
    """Apply one in-place SGD-with-momentum update."""
    for name, grad in grads.items():
        velocity[name] *= momentum
        velocity[name] -= learning_rate * grad
        params[name] += velocity[name]


def accuracy(params, X, y, chunk=10000):
    """Fraction of rows of X whose predicted class equals y."""
    correct = 0
    for start in range(0, len(X), chunk):
        probs = forward(params, X[start:start + chunk])[2]
        correct += int((probs.argmax(axis=1) == y[start:start + chunk]).sum())
    return correct / len(X)


def train(params, X_train, y_train, X_val, y_val, args, rng, run):
    """Train for args.n_epochs epochs, printing and logging accuracies."""
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    lr = np.float32(args.learning_rate)
    for epoch in range(args.n_epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), args.batch_size):
            idx = order[start:start + args.batch_size]
            X_batch, y_batch = X_train[idx], y_train[idx]
            h1, h2, probs = forward(params, X_batch)
            grads = backward(params, X_batch, y_batch, h1, h2, probs)
            sgd_momentum_step(params, grads, velocity, lr)
        # like the sample, training accuracy is measured on the last batch
        acc_train = accuracy(params, X_batch, y_batch)
        acc_val = accuracy(params, X_val, y_val)
        print(epoch, '-- Training accuracy:', acc_train,
              '\b Validation accuracy:', acc_val, flush=True)
        run.log('training_acc', float(acc_train))
        run.log('validation_acc', float(acc_val))


def save_model(params, sizes, folder='./outputs/model'):
    """Write weights to model.npz and the architecture to model.json."""
    os.makedirs(folder, exist_ok=True)
    np.savez(os.path.join(folder, 'model.npz'), **params)
    description = {
        'framework': 'numpy',
        'layer_sizes': list(sizes),
        'hidden_activation': 'relu',
        'output_activation': 'softmax',
        'weights': ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'],
        'input_shape': [N_INPUTS],
        'input_scaling': 'uint8 pixel / 255.0 -> float32 in [0, 1]',
    }
    with open(os.path.join(folder, 'model.json'), 'w') as handle:
        json.dump(description, handle, indent=2)
    print('Model saved in folder', folder, flush=True)


def main():
    """Load data, train, evaluate on the test set and save the model."""
    args = parse_args()
    try:
        X_train, y_train, X_test, y_test = load_dataset(args.data_folder)
    except FileNotFoundError as error:
        sys.exit(f'error: {error}')
    print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep='\n', flush=True)

    X_val, y_val = X_train[-N_VALIDATION:], y_train[-N_VALIDATION:]
    X_train, y_train = X_train[:-N_VALIDATION], y_train[:-N_VALIDATION]

    run = Run.get_context()
    rng = np.random.default_rng(0)
    sizes = (N_INPUTS, args.n_hidden_1, args.n_hidden_2, N_OUTPUTS)
    params = init_params(rng, sizes)

    start_time = time.time()
    train(params, X_train, y_train, X_val, y_val, args, rng, run)
    print('Training time: {:.1f} s'.format(time.time() - start_time), flush=True)

    final_acc = accuracy(params, X_test, y_test)
    print('Final accuracy on test set:', final_acc, flush=True)
    run.log('final_acc', float(final_acc))

    save_model(params, sizes)


if __name__ == '__main__':
    main()
