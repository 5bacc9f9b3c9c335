// migration: one numbered schema step, shared by the sqlite (database) and
// PostgreSQL (pg_connection) layers. Each engine applies its own list, in
// order, each step once, and records it in a schema_version table.
#pragma once

#include <string_view>

namespace blobswarm::db {

struct migration {
  int version;               // 1, 2, 3, ... in order, no gaps
  std::string_view summary;  // recorded with the version
  std::string_view sql;      // one or more statements
};

}  // namespace blobswarm::db
