// The download caches of the frameworks scripts use, filled from the offline mirror on each node:
// Keras (KERAS_HOME: its datasets/ holds the mirrored files of Keras's dataset URLs),
// scikit-learn (SCIKIT_LEARN_DATA: the mirrored folder `cache:scikit-learn`) and Hugging Face
// (HF_HOME, and HF_HUB_CACHE on the mirrored folder `cache:huggingface`). A run finds there what
// its script would otherwise download, and only that: the user's own caches are not shared in.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace amlemu {
class Mirror;
}

namespace amlemu::datastore {

/// Where Keras fetches its datasets (tf.keras.datasets.*.load_data()).
inline constexpr std::string_view kKerasDatasetsUrl =
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";

struct FrameworkCaches {
  std::map<std::string, std::string> variables;  // KERAS_HOME, SCIKIT_LEARN_DATA, HF_HOME, ...
  std::vector<std::string> preparation_lines;    // for the node's job-preparation log
};

/// Where Keras keeps the file of `url` under KERAS_HOME ("datasets/mnist.npz",
/// "datasets/fashion-mnist/train-images-idx3-ubyte.gz"), or "" for a URL outside Keras's
/// datasets.
std::string keras_cache_path(const std::string& url);

/// The note for a mirrored Keras file that Keras checks against a fixed hash (mnist.npz,
/// imdb.npz, ...): only Keras's own file passes; "" for the others.
std::string keras_hash_note(const std::string& url);

/// Makes the caches of one node under `dir` from `mirror`: `dir`/keras (created; its datasets/
/// only when the mirror holds Keras files) and `dir`/huggingface (made by the library when it
/// writes). Copies are checked for presence and size, not re-hashed (a cache may be gigabytes
/// and most runs never open it). A run creates as few folders as it can: each is an inode, and
/// on some filesystems (ext4 without a journal) every new inode costs a scan past the ones
/// deleted in the last minute.
FrameworkCaches prepare_framework_caches(const Mirror& mirror, const std::filesystem::path& dir);

}  // namespace amlemu::datastore
