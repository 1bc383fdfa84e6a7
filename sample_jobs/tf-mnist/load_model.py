"""Load the SavedModel written by tf_mnist.py and measure its test accuracy.

    python3 load_model.py --model-dir DIR --data-folder DIR

--model-dir is the folder given to `amlemu model download --download-path`
(the SavedModel is its `model` sub-folder), or the SavedModel folder itself
(for example ./outputs/model after a local run). Prints
`test accuracy: 0.xxxx` on the 10,000 test images of --data-folder.
"""

import argparse
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import find_data_file, load_data  # noqa: E402


def parse_args():
    """Parse the command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--model-dir', required=True,
                        help='download folder holding model/, or the SavedModel folder')
    parser.add_argument('--data-folder', required=True,
                        help='folder with the MNIST-format gzip files (or a sub-folder of it)')
    return parser.parse_args()


def saved_model_dir(model_dir):
    """The SavedModel folder: ``model_dir`` itself or its ``model`` sub-folder."""
    for candidate in (model_dir, os.path.join(model_dir, 'model')):
        if os.path.isfile(os.path.join(candidate, 'saved_model.pb')):
            return candidate
    raise FileNotFoundError(f'no saved_model.pb in {model_dir} or {os.path.join(model_dir, "model")}')


def main():
    """Load the model and the test set, print the test accuracy."""
    args = parse_args()
    try:
        folder = saved_model_dir(args.model_dir)
        X_test = load_data(find_data_file(args.data_folder, 't10k-images-idx3-ubyte.gz'))
        y_test = load_data(find_data_file(args.data_folder, 't10k-labels-idx1-ubyte.gz'),
                           label=True)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')

    model = tf.saved_model.load(folder)
    # Keras 3's model.export() names the endpoint `serve`; fall back to the signature.
    if hasattr(model, 'serve'):
        predict = model.serve
    else:
        signature = model.signatures['serving_default']
        predict = lambda x: next(iter(signature(x).values()))  # noqa: E731
    probs = np.concatenate([predict(tf.constant(X_test[i:i + 5000])).numpy()
                            for i in range(0, len(X_test), 5000)])
    acc = float(np.mean(np.argmax(probs, axis=1) == y_test))
    print(f'test accuracy: {acc:.4f}')


if __name__ == '__main__':
    main()
