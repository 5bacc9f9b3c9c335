// Parsing and printing of sizes and durations as people write them in
// configuration: "10GiB", "512MB", "4M"; "30s", "5m", "1h30m", "250ms".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm {

// A number of bytes. Units: B; KB MB GB TB (powers of 1000); KiB MiB GiB TiB
// and the bare K M G T (powers of 1024, as dd and numfmt --from=iec read
// them). Unit letters are case-insensitive; a fraction is allowed ("1.5GiB").
struct byte_size {
  std::uint64_t bytes = 0;

  static result<byte_size> parse(std::string_view text);
  // Exact, re-parseable form: the largest binary unit that divides evenly.
  std::string str() const;
  // Rounded, for people: "1.5 GiB", "512 B".
  std::string human() const;

  friend bool operator==(const byte_size&, const byte_size&) = default;
  friend auto operator<=>(const byte_size&, const byte_size&) = default;
};

std::string human_bytes(std::uint64_t bytes);

using duration = std::chrono::milliseconds;

// "250ms", "30s", "5m", "2h", "1d", concatenations ("1h30m"), or a bare
// number of seconds.
result<duration> parse_duration(std::string_view text);
// Re-parseable form: "30s", "5m", "1h30m", "250ms".
std::string format_duration(duration d);

}  // namespace blobswarm
