// output_file: writes the finished .torrent so that no partial file is ever
// left under its final name: a temporary file next to it, fsync, then an
// atomic rename. Without `overwrite` the rename refuses to replace an
// existing file (RENAME_NOREPLACE), so a file that appeared while we were
// hashing is not clobbered either.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

result<void> write_output_file(const std::filesystem::path& path, std::string_view data,
                               bool overwrite);

}  // namespace blobswarm::torrentgen
