#include "storage/database.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "storage/migrations.hpp"

namespace amlemu::storage {

namespace {
// Long enough that 16 concurrent writers queue instead of failing with "database is locked".
constexpr int kBusyTimeoutMs = 30000;
// Statements built from varying text (IN lists of any length) are not kept past this many.
constexpr size_t kMaxCachedStatements = 128;

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}
}  // namespace

Statement::Statement(sqlite3* db, const std::string& sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    fail(db, "SQL prepare failed");
  }
}

Statement::~Statement() {
  if (!stmt_) return;
  if (in_use_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Statement& Statement::bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, "SQL step failed");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}
std::optional<std::string> Statement::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}
std::int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const { return sqlite3_column_double(stmt_, col); }
bool Statement::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Database::Database(const std::filesystem::path& file, bool create) : file_(file) {
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open database " + file.string();
    if (db_) {
      msg += std::string(": ") + sqlite3_errmsg(db_);
      sqlite3_close(db_);
      db_ = nullptr;
    }
    throw std::runtime_error(msg);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Commands are short-lived: by default the last connection to close copies the write-ahead
  // log into the database and syncs it (three fdatasyncs, most of a quick command's exit). The
  // log is checkpointed instead when it grows past SQLite's autocheckpoint size, by whichever
  // commit crosses it.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    // A constructor that throws runs no destructor: the connection is closed here (its kept
    // statements first, or SQLite would refuse to close it).
    close();
    throw;
  }
}

Database::~Database() { close(); }

void Database::close() noexcept {
  for (auto& [sql, c] : cache_) sqlite3_finalize(c->stmt);
  cache_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

Statement Database::prepare(const std::string& sql) {
  const auto it = cache_.find(sql);
  if (it != cache_.end()) {
    // The same statement twice at once (a loop inside a loop over it) gets its own copy.
    if (it->second->in_use) return Statement(db_, sql);
    it->second->in_use = true;
    return Statement(db_, it->second->stmt, &it->second->in_use);
  }
  if (cache_.size() >= kMaxCachedStatements) return Statement(db_, sql);
  auto c = std::make_unique<Cached>();
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &c->stmt, nullptr) != SQLITE_OK) {
    fail(db_, "SQL prepare failed");
  }
  c->in_use = true;
  auto& slot = cache_[sql] = std::move(c);
  return Statement(db_, slot->stmt, &slot->in_use);
}

void Database::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("SQL failed on " + file_.string() + ": " + msg);
  }
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

int Database::schema_version() {
  auto st = prepare("PRAGMA user_version");
  st.step();
  return static_cast<int>(st.integer(0));
}

void Database::migrate() {
  const auto& all = migrations();
  const int version = schema_version();
  if (version > static_cast<int>(all.size())) {
    // A newer amlemu made it: its tables may mean what this build cannot know.
    throw std::runtime_error(file_.string() + " has schema version " + std::to_string(version) +
                             " but this amlemu knows up to " + std::to_string(all.size()) +
                             ": use the amlemu build that created it");
  }
  if (version == static_cast<int>(all.size())) return;
  // Migrations run under the write lock, so concurrent first opens apply each one once.
  Transaction tx(*this);
  for (int v = schema_version(); v < static_cast<int>(all.size()); ++v) {
    exec(all[static_cast<size_t>(v)].sql);
    exec("PRAGMA user_version=" + std::to_string(v + 1));
  }
  tx.commit();
}

void fold_log(const std::filesystem::path& file) noexcept {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) ==
      SQLITE_OK) {
    // No busy timeout: a busy workspace is left alone rather than made to wait. A connection
    // learns that the database is in WAL mode (and opens the log) only when it first reads:
    // until then a checkpoint does nothing.
    if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK) {
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    }
    // The log, now empty, stays: as the last connection to close, this one would otherwise
    // delete it, and the next command would create it (and its first page) again.
    int keep = 1;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &keep);
  }
  sqlite3_close(db);
}

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Transaction::Transaction(Database& db) : db_(db), nested_(db.in_transaction()) {
  db_.exec(nested_ ? "SAVEPOINT amlemu_nested" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec(nested_ ? "ROLLBACK TO amlemu_nested; RELEASE amlemu_nested" : "ROLLBACK");
    } catch (...) {
    }
  }
}

void Transaction::commit() {
  db_.exec(nested_ ? "RELEASE amlemu_nested" : "COMMIT");
  done_ = true;
}

}  // namespace amlemu::storage
