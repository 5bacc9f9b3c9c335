// migration: one numbered schema step, shared by the sqlite (database) and
// PostgreSQL (pg_connection) layers. Each engine applies its own list, in
// order, each step once, and records it in a schema_version table.
#pragma once

#include <span>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::db {

struct migration {
  int version;               // 1, 2, 3, ... in order, no gaps
  std::string_view summary;  // recorded with the version
  std::string_view sql;      // one or more statements
};

// The check both engines make before migrating: versions 1, 2, 3, ... in
// order, no gaps (errc::internal otherwise: a bug, not bad input).
inline result<void> check_order(std::span<const migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return fail(errc::internal, "migration {} is out of order (expected version {})",
                  migrations[i].version, i + 1);
    }
  }
  return {};
}

// The refusal both engines give a database migrated by a newer binary.
inline unexpected<error> newer_schema(std::string_view where, int current, int newest) {
  return fail(errc::conflict,
              "database {} has schema version {}, newer than the {} this binary knows; run a "
              "newer blobswarm or restore a backup",
              where, current, newest);
}

}  // namespace blobswarm::db
