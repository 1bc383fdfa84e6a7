// Numbered schema migrations, compiled in from emulator/storage/sql/NNN_*.sql.
#pragma once

#include <string>
#include <vector>

namespace amlemu::storage {

struct Migration {
  std::string name;  // file name, e.g. "001_initial.sql"; its number is the schema version
  std::string sql;
};

/// Every migration, in order.
const std::vector<Migration>& migrations();

}  // namespace amlemu::storage
