// Fuzzes the shared parsers of outside input: digests, repository names,
// tags, sizes, durations, addresses, CIDRs, info-hashes, Range headers and
// query strings. The first byte picks the parser; the rest is the input.
// Beyond "no crash", each checks the invariant its callers rely on.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/digest.hpp"
#include "common/http/range.hpp"
#include "common/http/url.hpp"
#include "common/info_hash.hpp"
#include "common/net.hpp"
#include "common/repository_name.hpp"
#include "common/units.hpp"

using namespace blobswarm;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0:
      if (auto d = digest::parse(in)) {
        CHECK(d->str() == in);
        CHECK(digest::parse(d->str()).has_value());
        // Cache and store files are named after hex(): no path can come of it.
        CHECK(d->hex().size() == 64 || d->hex().size() == 128);
        for (char c : d->hex()) CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
      }
      break;
    case 1:
      if (auto n = repository_name::parse(in)) {
        CHECK(n->str().find("..") == std::string::npos);
        CHECK(n->str().find("//") == std::string::npos);
        CHECK(!n->str().starts_with('/') && !n->str().ends_with('/'));
      }
      (void)is_valid_tag(in);
      break;
    case 2:
      if (auto s = byte_size::parse(in)) {
        auto back = byte_size::parse(s->str());
        CHECK(back && back->bytes == s->bytes);
        (void)s->human();
      }
      break;
    case 3:
      if (auto d = parse_duration(in)) {
        auto back = parse_duration(format_duration(*d));
        CHECK(back && *back == *d);
      }
      break;
    case 4:
      if (auto hp = host_port::parse(in)) (void)host_port::parse(hp->str());
      if (auto a = ip_address::parse(in)) CHECK(ip_address::parse(a->str()).has_value());
      break;
    case 5:
      if (auto c = cidr::parse(in)) CHECK(c->contains(c->network));
      break;
    case 6:
      if (auto h = info_hash::from_hex(in)) {
        CHECK(h->hex().size() == in.size());
        CHECK(h->swarm_key().raw().size() == 20);
      }
      (void)info_hash::from_raw(in);
      break;
    case 7: {
      std::uint64_t length = in.size() * 997;
      auto r = http::parse_range(in, length);
      if (r.what == http::range_request::kind::partial) {
        CHECK(r.range.first <= r.range.last);
        CHECK(r.range.last < length);
      }
      break;
    }
    case 8: {
      http::query_string q(in);
      q.for_each([](std::string_view k, std::string_view v) {
        if (auto d = http::percent_decode(v)) CHECK(d->size() <= v.size());
        (void)k;
      });
      break;
    }
    case 9:
      if (auto d = http::percent_decode(in)) {
        CHECK(*http::percent_decode(http::percent_encode(*d), false) == *d);
      }
      break;
  }
  return 0;
}
