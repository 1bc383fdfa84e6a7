// Room: storage. The statement cache of a connection: compiled once, handed back reset.
#include <catch2/catch.hpp>

#include "storage/database.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;

namespace {
struct Db {
  testing::TempHome home;
  std::filesystem::path file = home.root() / "t.db";
  storage::Database db{file, true};
  Db() { db.exec("CREATE TABLE t(x INTEGER)"); }
  void insert(int x) { db.prepare("INSERT INTO t(x) VALUES (?)").bind(1, x).run(); }
  std::int64_t count() {
    auto st = db.prepare("SELECT count(*) FROM t");
    st.step();
    return st.integer(0);
  }
};
}  // namespace

TEST_CASE("a cached statement given back half-read ends its read, so the next use sees new rows",
          "[storage]") {
  Db d;
  d.insert(1);
  d.insert(2);
  {
    auto st = d.db.prepare("SELECT x FROM t ORDER BY x");
    REQUIRE(st.step());  // one row read, one left: the statement holds a read snapshot
  }
  storage::Database other(d.file);
  other.prepare("INSERT INTO t(x) VALUES (3)").run();
  CHECK(d.count() == 3);
  auto again = d.db.prepare("SELECT x FROM t ORDER BY x");
  int rows = 0;
  while (again.step()) ++rows;
  CHECK(rows == 3);
}

TEST_CASE("a cached statement forgets its bindings when given back", "[storage]") {
  Db d;
  d.insert(7);
  {
    auto st = d.db.prepare("SELECT count(*) FROM t WHERE x = ? OR ? IS NULL");
    st.bind(1, 7).bind(2, 0);
    REQUIRE(st.step());
    CHECK(st.integer(0) == 1);
  }
  auto st = d.db.prepare("SELECT count(*) FROM t WHERE x = ? OR ? IS NULL");
  st.bind(1, 8);  // the second parameter is unbound: NULL, not the 0 bound before
  REQUIRE(st.step());
  CHECK(st.integer(0) == 1);
}

TEST_CASE("the same statement twice at once gets two independent statements", "[storage]") {
  Db d;
  for (int i = 0; i < 3; ++i) d.insert(i);
  auto outer = d.db.prepare("SELECT x FROM t ORDER BY x");
  int pairs = 0;
  while (outer.step()) {
    auto inner = d.db.prepare("SELECT x FROM t ORDER BY x");
    while (inner.step()) ++pairs;
  }
  CHECK(pairs == 9);
  // Both went back: the cached one is reused and still works.
  CHECK(d.count() == 3);
}

TEST_CASE("statements moved out of a scope stay usable and go back once", "[storage]") {
  Db d;
  d.insert(5);
  auto make = [&] { return d.db.prepare("SELECT x FROM t"); };
  auto st = make();
  REQUIRE(st.step());
  CHECK(st.integer(0) == 5);
}

TEST_CASE("fold_log empties a grown write-ahead log, and leaves a busy one alone", "[storage]") {
  Db d;
  for (int i = 0; i < 200; ++i) d.insert(i);
  const auto wal = std::filesystem::path(d.file.string() + "-wal");
  REQUIRE(std::filesystem::file_size(wal) > 0);
  {
    // Another connection in the middle of a read: the log cannot be emptied under it.
    storage::Database reader(d.file);
    auto st = reader.prepare("SELECT x FROM t");
    REQUIRE(st.step());
    const auto before = std::filesystem::file_size(wal);
    storage::fold_log(d.file);
    CHECK(std::filesystem::file_size(wal) == before);
  }
  storage::fold_log(d.file);
  CHECK(std::filesystem::file_size(wal) == 0);
  CHECK(d.count() == 200);  // every row is in the database itself now
}

TEST_CASE("fold_log as the last connection leaves an empty write-ahead log, not none",
          "[storage]") {
  testing::TempHome home;
  const auto file = home.root() / "t.db";
  {
    storage::Database db(file, true);
    db.exec("CREATE TABLE t(x INTEGER)");
    for (int i = 0; i < 50; ++i) db.prepare("INSERT INTO t(x) VALUES (?)").bind(1, i).run();
  }
  const auto wal = std::filesystem::path(file.string() + "-wal");
  REQUIRE(std::filesystem::file_size(wal) > 0);
  storage::fold_log(file);
  // Deleted, the log would be created again by the next command that writes.
  REQUIRE(std::filesystem::exists(wal));
  CHECK(std::filesystem::file_size(wal) == 0);
  storage::Database db(file);
  auto st = db.prepare("SELECT count(*) FROM t");
  REQUIRE(st.step());
  CHECK(st.integer(0) == 50);
}
