// Parsers for torrentgen's option values that need more than CLI11's type
// checks: tracker tiers ("-t a,b" is one tier), creation dates and thread
// counts. Pure; fuzzed by fuzz_torrentgen_options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

// One -t value: comma-separated announce URLs of one tier. Each must look
// like scheme://host... (http, https, udp, ws, wss).
result<std::vector<std::string>> parse_tracker_tier(std::string_view text);

// One -w value: an http(s) or ftp URL.
result<std::string> parse_web_seed(std::string_view text);

// --date: "none" (no creation date), "now" (`now`), or unix seconds.
result<std::optional<std::int64_t>> parse_creation_date(std::string_view text, std::int64_t now);

}  // namespace blobswarm::torrentgen
