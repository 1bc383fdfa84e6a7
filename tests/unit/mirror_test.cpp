// Rooms: datastore and registry. The offline mirror (which URLs it takes, what it keeps, what it
// refuses), storage URLs of the workspace's own account, and data asset version rules.
#include <catch2/catch.hpp>

#include <fstream>

#include "amlemu/assets.hpp"
#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/mirror.hpp"
#include "amlemu/workspace.hpp"
#include "common/fs.hpp"
#include "datastore/framework_caches.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {
void write(const stdfs::path& p, const std::string& text) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
}  // namespace

TEST_CASE("web URLs: the schemes the mirror stands behind", "[mirror]") {
  for (const char* url : {"https://azuremlexamples.blob.core.windows.net/datasets/iris.csv",
                          "http://example.com/a", "HTTPS://Example.com/a",
                          "wasbs://datasets@azuremlexamples.blob.core.windows.net/iris.csv",
                          "abfss://fs@account.dfs.core.windows.net/p"}) {
    INFO(url);
    CHECK(is_web_url(url));
  }
  for (const char* not_web : {"azureml://datastores/workspaceblobstore/paths/a", "azureml:iris:1",
                              "./data", "/abs/path", "ftp://host/x", "://x", "https:/x"}) {
    INFO(not_web);
    CHECK_FALSE(is_web_url(not_web));
  }
}

TEST_CASE("web URLs: the key is the URL with its scheme and host in lower case", "[mirror]") {
  CHECK(normalize_web_url("HTTPS://Example.COM/Data/Iris.csv?x=1") ==
        "https://example.com/Data/Iris.csv?x=1");
  CHECK(normalize_web_url("wasbs://Data@Acct.blob.core.windows.net/p") ==
        "wasbs://data@acct.blob.core.windows.net/p");
}

TEST_CASE("web URLs: malformed ones and ones with credentials are refused, naming the URL", "[mirror]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"https://user:secret@example.com/a.csv", "credentials"},
      {"https://user@example.com/a.csv", "credentials"},
      {"wasbs://c:key@acct.blob.core.windows.net/p", "credentials"},
      {"https://acct.blob.core.windows.net/c/a.csv?sv=2021&sig=abc", "SAS signature"},
      {"https://example.com/a?token=abc", "token"},
      {"https://example.com/a.csv#part", "fragment"},
      {"https:///a.csv", "no host"},
      {"https://exa mple.com/a", "whitespace"},
      {std::string("https://example.com/a\nb"), "control"},
      {"ftp://example.com/a", "not a web URL"},
  };
  for (const auto& [url, why] : bad) {
    INFO(url);
    try {
      normalize_web_url(url);
      FAIL("accepted");
    } catch (const UserErrorException& e) {
      CHECK_THAT(e.what(), Contains(why));
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
      // A refused credential is not echoed back either.
      CHECK(std::string(e.what()).find("secret") == std::string::npos);
      CHECK(std::string(e.what()).find("sig=abc") == std::string::npos);
    }
  }
}

TEST_CASE("the mirror keeps a file by content, finds it by URL and serves a checked copy", "[mirror]") {
  testing::TempHome t;
  Mirror m(t.root() / "mirror");
  write(t.work() / "iris.csv", "a,b\n1,2\n");
  const auto e = m.add_file("https://Example.com/datasets/iris.csv", t.work() / "iris.csv");
  CHECK(e.url == "https://example.com/datasets/iris.csv");
  CHECK(e.kind == "file");
  CHECK(e.name == "iris.csv");
  CHECK(e.size == 8);
  const auto found = m.find("https://example.com/datasets/iris.csv");
  REQUIRE(found);
  const auto path = m.verified_path(*found);
  CHECK(path.filename() == "iris.csv");
  CHECK(path.parent_path().filename() == e.sha1);
  CHECK_FALSE(m.find("https://example.com/other.csv"));
  // The source may change or go: the mirror holds its own copy.
  stdfs::remove(t.work() / "iris.csv");
  CHECK(m.verified_path(*found) == path);
  REQUIRE(m.list().size() == 1);
}

TEST_CASE("a mirror copy that changed under it is refused with the URL and the fix", "[mirror]") {
  testing::TempHome t;
  Mirror m(t.root() / "mirror");
  write(t.work() / "a.csv", "1\n");
  const auto e = m.add_file("https://example.com/a.csv", t.work() / "a.csv");
  const auto path = m.verified_path(e);
  stdfs::permissions(path, stdfs::perms::owner_write, stdfs::perm_options::add);
  std::ofstream(path) << "2\n";
  try {
    m.verified_path(e);
    FAIL("a changed copy was served");
  } catch (const UserErrorException& ex) {
    CHECK_THAT(ex.what(), Contains("https://example.com/a.csv"));
    CHECK_THAT(ex.what(), Contains("changed"));
    CHECK_THAT(ex.what(), Contains("amlemu mirror add"));
  }
}

TEST_CASE("the mirror keeps folders, lists from a file, and removes unused copies", "[mirror]") {
  testing::TempHome t;
  Mirror m(t.root() / "mirror");
  write(t.work() / "mnist/train.gz", "x");
  write(t.work() / "mnist/test.gz", "y");
  write(t.work() / "b.txt", "b");
  write(t.work() / "urls.tsv", "# URL\tpath\nhttps://example.com/mnist/\tmnist\n\nhttps://example.com/b.txt\tb.txt\n");
  const auto added = m.add_from_list(t.work() / "urls.tsv");
  REQUIRE(added.size() == 2);
  CHECK(added[0].kind == "folder");
  CHECK(added[0].size == 2);
  CHECK(stdfs::exists(m.verified_path(added[0]) / "train.gz"));
  // A bad line anywhere adds nothing.
  write(t.work() / "bad.tsv", "https://example.com/c.txt\tb.txt\nhttps://u:p@example.com/d\tb.txt\n");
  CHECK_THROWS_AS(m.add_from_list(t.work() / "bad.tsv"), UserErrorException);
  CHECK_FALSE(m.find("https://example.com/c.txt"));
  // The same content under two URLs shares one copy, kept until neither uses it.
  const auto again = m.add_file("https://mirror.example.org/b.txt", t.work() / "b.txt");
  CHECK(again.sha1 == added[1].sha1);
  CHECK(m.remove("https://example.com/b.txt"));
  CHECK(stdfs::exists(m.verified_path(again)));
  CHECK(m.remove("https://mirror.example.org/b.txt"));
  CHECK_FALSE(stdfs::exists(m.root() / "objects" / again.sha1));
  CHECK_FALSE(m.remove("https://mirror.example.org/b.txt"));
}

TEST_CASE("framework caches: Keras's dataset URLs land where Keras looks for them", "[mirror][caches]") {
  using datastore::keras_cache_path;
  const std::string keras(datastore::kKerasDatasetsUrl);
  CHECK(keras_cache_path(keras + "mnist.npz") == "datasets/mnist.npz");
  CHECK(keras_cache_path(keras + "imdb_word_index.json") == "datasets/imdb_word_index.json");
  CHECK(keras_cache_path(keras + "train-images-idx3-ubyte.gz") ==
        "datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  for (const auto& other : {std::string("https://example.com/mnist.npz"), keras, keras + "a/b.npz",
                            keras + "..", keras + "x.npz?download=1"}) {
    INFO(other);
    CHECK(keras_cache_path(other).empty());
  }
  CHECK_THAT(datastore::keras_hash_note(keras + "mnist.npz"), Contains("SHA-256"));
  CHECK(datastore::keras_hash_note(keras + "train-labels-idx1-ubyte.gz").empty());
}

TEST_CASE("framework caches: a node gets KERAS_HOME, SCIKIT_LEARN_DATA and HF_HUB_CACHE from "
          "the mirror", "[mirror][caches]") {
  testing::TempHome t;
  Mirror m(t.root() / "mirror");
  // No mirror at all: empty caches, still the run's own (never the user's ~/.keras).
  auto none = datastore::prepare_framework_caches(m, t.work() / "node0");
  CHECK(none.variables.at("KERAS_HOME") == (t.work() / "node0/keras").string());
  CHECK(none.variables.count("SCIKIT_LEARN_DATA") == 0);
  CHECK(stdfs::is_empty(t.work() / "node0/keras"));  // datasets/ comes with the first link

  write(t.work() / "src/mnist.npz", "npz");
  write(t.work() / "src/t10k-labels-idx1-ubyte.gz", "labels");
  write(t.work() / "sk/openml/x.gz", "sk");
  write(t.work() / "hub/models--a--b/refs/main", "abc");
  const std::string keras(datastore::kKerasDatasetsUrl);
  m.add_file(keras + "mnist.npz", t.work() / "src/mnist.npz");
  m.add_file(keras + "t10k-labels-idx1-ubyte.gz", t.work() / "src/t10k-labels-idx1-ubyte.gz");
  m.add_file("https://example.com/iris.csv", t.work() / "src/mnist.npz");
  m.add_folder("cache:scikit-learn", t.work() / "sk");
  m.add_folder("cache:huggingface", t.work() / "hub");
  const auto c = datastore::prepare_framework_caches(m, t.work() / "node1");
  const stdfs::path home = c.variables.at("KERAS_HOME");
  CHECK(amlemu::fs::read_file(home / "datasets/mnist.npz") == "npz");
  CHECK(amlemu::fs::read_file(home / "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") == "labels");
  CHECK_FALSE(stdfs::exists(home / "datasets/iris.csv"));
  CHECK(amlemu::fs::read_file(stdfs::path(c.variables.at("SCIKIT_LEARN_DATA")) / "openml/x.gz") == "sk");
  CHECK(amlemu::fs::read_file(stdfs::path(c.variables.at("HF_HUB_CACHE")) / "models--a--b/refs/main") == "abc");
  CHECK(c.variables.at("HF_HOME") == (t.work() / "node1/huggingface").string());

  // A copy gone is left out, with the fix in the preparation log.
  const auto e = *m.find(keras + "mnist.npz");
  stdfs::remove_all(m.root() / "objects" / e.sha1);
  const auto again = datastore::prepare_framework_caches(m, t.work() / "node2");
  CHECK_FALSE(stdfs::exists(stdfs::path(again.variables.at("KERAS_HOME")) / "datasets/mnist.npz"));
  bool told = false;
  for (const auto& l : again.preparation_lines) told |= l.find("amlemu mirror add") != std::string::npos;
  CHECK(told);
}

TEST_CASE("framework caches: only the known caches, and only as folders", "[mirror][caches]") {
  testing::TempHome t;
  Mirror m(t.root() / "mirror");
  write(t.work() / "f.txt", "x");
  CHECK(mirror_key("cache:huggingface") == "cache:huggingface");
  CHECK_THROWS_WITH(mirror_key("cache:pip"), Contains("cache:scikit-learn or cache:huggingface"));
  CHECK_THROWS_WITH(m.add_file("cache:scikit-learn", t.work() / "f.txt"), Contains("--dir"));
  write(t.work() / "list.tsv", "cache:scikit-learn\tf.txt\n");
  CHECK_THROWS_WITH(m.add_from_list(t.work() / "list.tsv"), Contains("list.tsv:1"));
  CHECK(m.list().empty());
}

TEST_CASE("storage URLs of the workspace's own account name its datastores", "[mirror][datastore]") {
  testing::TempHome t;
  const auto ws = Workspace::create("sws", "sub", "rg");
  const auto account = storage_account_name(ws);
  const auto guid = ws.get_details()["workspaceid"].get<std::string>();
  const auto blob = "azureml-blobstore-" + guid;
  using P = std::pair<std::string, std::string>;
  CHECK(parse_storage_url(ws, "wasbs://" + blob + "@" + account + ".blob.core.windows.net/a/b.csv") ==
        P{"workspaceblobstore", "a/b.csv"});
  CHECK(parse_storage_url(ws, "WASB://" + blob + "@" + account + ".blob.core.windows.net/") ==
        P{"workspaceblobstore", ""});
  CHECK(parse_storage_url(ws, "https://" + account + ".blob.core.windows.net/" + blob + "/x/y") ==
        P{"workspaceblobstore", "x/y"});
  CHECK(parse_storage_url(ws, "abfss://azureml-filestore-" + guid + "@" + account + ".dfs.core.windows.net/d") ==
        P{"workspacefilestore", "d"});
  // Other accounts and other URLs are not the workspace's: the mirror answers those.
  CHECK_FALSE(parse_storage_url(ws, "wasbs://datasets@azuremlexamples.blob.core.windows.net/iris.csv"));
  CHECK_FALSE(parse_storage_url(ws, "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv"));
  CHECK_FALSE(parse_storage_url(ws, "https://example.com/" + blob + "/x"));
  CHECK_FALSE(parse_storage_url(ws, "wasbs://" + account + ".blob.core.windows.net/x"));
  // The account's other containers, and paths that leave a container, are refused by name.
  CHECK_THROWS_WITH(parse_storage_url(ws, "wasbs://other@" + account + ".blob.core.windows.net/x"),
                    Contains("container 'other'"));
  CHECK_THROWS_WITH(parse_storage_url(ws, "wasbs://" + blob + "@" + account + ".blob.core.windows.net/../x"),
                    Contains(".."));
}

TEST_CASE("data asset versions: next integer, @latest skips archived, archived still usable by version", "[data]") {
  testing::TempHome t;
  const auto ws = Workspace::create("dws", "sub", "rg");
  const auto uri = [](int i) { return "azureml://datastores/workspaceblobstore/paths/d" + std::to_string(i); };
  DataVersion d;
  d.name = "iris";
  d.uri = uri(1);
  CHECK(create_data_version(ws, d).version == "1");
  d.uri = uri(2);
  CHECK(create_data_version(ws, d).version == "2");
  d.version = "v-special";  // a version that is not a number does not move the count
  d.uri = uri(3);
  CHECK(create_data_version(ws, d).version == "v-special");
  d.version = "";
  d.uri = uri(4);
  CHECK(create_data_version(ws, d).version == "3");
  // The same version again: the same URI returns it, another is refused.
  d.version = "3";
  CHECK(create_data_version(ws, d).uri == uri(4));
  d.uri = uri(5);
  CHECK_THROWS_AS(create_data_version(ws, d), UserErrorException);

  CHECK(get_data_version(ws, "iris")->version == "3");
  CHECK(archive_data_version(ws, "iris", "3") == 1);
  CHECK(get_data_version(ws, "iris")->version == "v-special");  // newest not archived
  CHECK(get_data_version(ws, "iris", "3")->archived);            // still there by its version
  CHECK(list_data_versions(ws, std::string("iris")).size() == 3);
  CHECK(list_data_versions(ws, std::string("iris"), true).size() == 4);
  CHECK(archive_data_version(ws, "iris", "") == 4);
  CHECK_FALSE(get_data_version(ws, "iris"));
  CHECK(archive_data_version(ws, "iris", "1", false) == 1);
  CHECK(get_data_version(ws, "iris")->version == "1");
  CHECK_THROWS_AS(archive_data_version(ws, "nothing", ""), NotFoundException);
  CHECK_THROWS_AS(archive_data_version(ws, "iris", "9"), NotFoundException);
}
