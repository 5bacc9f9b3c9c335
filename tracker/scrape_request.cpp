#include "tracker/scrape_request.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/http/url.hpp"

namespace blobswarm::tracker {

result<scrape_request> scrape_request::parse(std::string_view query) {
  scrape_request r;
  std::optional<error> problem;
  std::size_t seen = 0;
  http::query_string(query).for_each([&](std::string_view key, std::string_view value) {
    if (problem || key != "info_hash") return;
    ++seen;
    if (r.count == max_hashes) {
      problem = error{errc::invalid_argument,
                      fmt::format("too many info_hash values (at most {})", max_hashes)};
      return;
    }
    char buf[60];
    if (value.size() > sizeof buf) {
      problem = error{errc::invalid_argument, "info_hash must be 20 bytes (got more)"};
      return;
    }
    auto n = http::percent_decode_into(value, buf, false);
    if (!n) {
      problem = error{errc::invalid_argument, "info_hash is not valid percent-encoding"};
      return;
    }
    if (*n != 20) {
      problem =
          error{errc::invalid_argument, fmt::format("info_hash must be 20 bytes (got {})", *n)};
      return;
    }
    std::memcpy(r.hashes[r.count++].bytes.data(), buf, 20);
  });
  if (problem) return fail(std::move(*problem));
  if (seen == 0) {
    return fail(errc::invalid_argument,
                "scrape needs at least one info_hash (this private tracker has no full scrape)");
  }
  auto end = r.hashes.begin() + static_cast<std::ptrdiff_t>(r.count);
  std::sort(r.hashes.begin(), end);
  r.count = static_cast<std::size_t>(std::unique(r.hashes.begin(), end) - r.hashes.begin());
  return r;
}

}  // namespace blobswarm::tracker
