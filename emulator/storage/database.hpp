// SQLite through RAII: a connection that closes itself, statements that finalize themselves and a
// transaction that rolls back unless committed. WAL, the busy timeout, foreign keys and
// BEGIN IMMEDIATE for writers are decided here, once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace amlemu::storage {

/// A prepared statement. One borrowed from its connection's cache goes back to it, reset, when
/// it is destroyed; any other is finalized.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  Statement(sqlite3* db, sqlite3_stmt* cached, bool* in_use)
      : db_(db), stmt_(cached), in_use_(in_use) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_), in_use_(o.in_use_) {
    o.stmt_ = nullptr;
  }

  /// Binds by 1-based index; returns *this to chain.
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value) { return bind(index, std::string(value)); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  /// Steps once: true when a row is available.
  bool step();
  /// Steps to the end (for statements without rows).
  void run();
  void reset();

  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::int64_t integer(int col) const;
  double real(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // the cache's flag, for a borrowed statement
};

class Database {
 public:
  /// Opens (and creates, when `create`) the database and brings its schema up to date.
  /// Throws std::runtime_error naming the file on failure.
  explicit Database(const std::filesystem::path& file, bool create = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  /// The statement for `sql`, compiled once per connection: repositories run the same few
  /// statements many times (a stream polls the status, a supervisor writes several), and
  /// compiling one costs more than running it.
  Statement prepare(const std::string& sql);
  std::int64_t last_insert_rowid() const;
  /// Rows the last INSERT, UPDATE or DELETE changed.
  int changes() const;
  int schema_version();
  /// True while a transaction is open on this connection.
  bool in_transaction() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  void migrate();
  void close() noexcept;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  std::unordered_map<std::string, std::unique_ptr<Cached>> cache_;
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
};

/// Copies the write-ahead log of the database `file` into it and truncates the log, unless
/// another connection is reading or writing (then it leaves everything as it is). Never throws.
void fold_log(const std::filesystem::path& file) noexcept;

/// A write transaction (BEGIN IMMEDIATE, so writers queue on the busy timeout instead of failing
/// on upgrade). Rolls back on destruction unless commit() was called. Inside another transaction
/// it is a savepoint, so repository calls compose into one atomic change.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool nested_ = false;
  bool done_ = false;
};

}  // namespace amlemu::storage
