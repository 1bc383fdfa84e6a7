#include "datastore/framework_caches.hpp"

#include <algorithm>

#include "amlemu/mirror.hpp"

namespace amlemu::datastore {

namespace stdfs = std::filesystem;

namespace {

// Keras keeps Fashion-MNIST's four files in datasets/fashion-mnist/; every other dataset file
// (mnist.npz, imdb.npz, reuters.npz, ...) directly in datasets/.
constexpr std::string_view kFashionMnist[] = {"train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                                              "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"};

// The files Keras's load_data() checks against a fixed SHA-256.
constexpr std::string_view kKerasHashed[] = {"mnist.npz", "imdb.npz", "reuters.npz",
                                             "boston_housing.npz", "california_housing.npz",
                                             "cifar-10-python.tar.gz", "cifar-100-python.tar.gz"};

bool present(const Mirror& mirror, const MirrorEntry& e, stdfs::path* path) {
  std::error_code ec;
  *path = mirror.stored_path(e);
  if (e.kind == "folder") return stdfs::is_directory(*path, ec);
  const auto size = stdfs::file_size(*path, ec);
  return !ec && static_cast<long long>(size) == e.size;
}

}  // namespace

std::string keras_cache_path(const std::string& url) {
  if (url.rfind(kKerasDatasetsUrl, 0) != 0) return "";
  const auto name = url.substr(kKerasDatasetsUrl.size());
  if (name.empty() || name.find_first_of("/?") != std::string::npos || name == "." || name == "..") {
    return "";
  }
  if (std::find(std::begin(kFashionMnist), std::end(kFashionMnist), name) != std::end(kFashionMnist)) {
    return "datasets/fashion-mnist/" + name;
  }
  return "datasets/" + name;
}

std::string keras_hash_note(const std::string& url) {
  const auto rel = keras_cache_path(url);
  if (rel.empty()) return "";
  const auto name = rel.substr(rel.rfind('/') + 1);
  if (std::find(std::begin(kKerasHashed), std::end(kKerasHashed), name) == std::end(kKerasHashed)) {
    return "";
  }
  return "Keras checks " + name + " against a fixed SHA-256: load_data() takes only Keras's own " +
         "file; other content makes it try the network (and fail, in a run)";
}

FrameworkCaches prepare_framework_caches(const Mirror& mirror, const stdfs::path& dir) {
  FrameworkCaches out;
  const auto keras = dir / "keras";
  stdfs::create_directories(keras);
  out.variables["KERAS_HOME"] = keras.string();
  out.variables["HF_HOME"] = (dir / "huggingface").string();
  std::error_code ec;
  if (!stdfs::exists(mirror.root() / "index.json", ec)) return out;
  int keras_files = 0;
  for (const auto& e : mirror.list()) {
    stdfs::path copy;
    if (e.url == "cache:scikit-learn" || e.url == "cache:huggingface") {
      if (!present(mirror, e, &copy)) {
        out.preparation_lines.push_back("The offline mirror's " + e.url + " is gone (" +
                                        copy.string() + "); add it again: " +
                                        mirror_add_command(e.url, true));
        continue;
      }
      const bool sklearn = e.url == "cache:scikit-learn";
      out.variables[sklearn ? "SCIKIT_LEARN_DATA" : "HF_HUB_CACHE"] = copy.string();
      out.preparation_lines.push_back(std::string(sklearn ? "SCIKIT_LEARN_DATA" : "HF_HUB_CACHE") +
                                      ": the offline mirror's " + e.url + " (read-only)");
      continue;
    }
    const auto rel = keras_cache_path(e.url);
    if (rel.empty() || e.kind != "file") continue;
    if (!present(mirror, e, &copy)) {
      out.preparation_lines.push_back("The offline mirror's copy of " + e.url + " is gone or changed (" +
                                      copy.string() + "); add it again: " + mirror_add_command(e.url));
      continue;
    }
    const auto link = keras / rel;
    stdfs::create_directories(link.parent_path());
    stdfs::create_symlink(copy, link, ec);
    if (!ec) ++keras_files;
  }
  if (keras_files > 0) {
    out.preparation_lines.push_back("KERAS_HOME: " + std::to_string(keras_files) +
                                    " dataset file(s) from the offline mirror");
  }
  return out;
}

}  // namespace amlemu::datastore
