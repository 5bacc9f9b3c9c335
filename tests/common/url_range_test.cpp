// Query strings, percent-encoding and Range headers.
#include <gtest/gtest.h>

#include "common/http/range.hpp"
#include "common/http/router.hpp"
#include "common/http/url.hpp"

namespace blobswarm::http {
namespace {

TEST(url, percent_decode_handles_escapes_plus_and_errors) {
  EXPECT_EQ(*percent_decode("a%20b+c"), "a b c");
  EXPECT_EQ(*percent_decode("a+b", false), "a+b");
  EXPECT_EQ(*percent_decode("%00%FF%7e"), std::string("\x00\xff~", 3));
  for (auto bad : {"%", "%2", "%zz", "a%g0"}) EXPECT_FALSE(percent_decode(bad)) << bad;
  std::string raw = std::string("\x12\x34\xab\xcd") + " spaces/and?more";
  EXPECT_EQ(*percent_decode(percent_encode(raw)), raw);
  EXPECT_EQ(percent_encode("a-b_c.d~e f"), "a-b_c.d~e%20f");
}

TEST(url, query_string_finds_first_and_iterates_all) {
  query_string q("info_hash=%12%34&peer_id=abc&flag&info_hash=second&empty=");
  EXPECT_EQ(q.get("info_hash"), "%12%34");
  EXPECT_EQ(*q.get_decoded("info_hash"), "\x12\x34");
  EXPECT_EQ(q.get("flag"), "");
  EXPECT_EQ(q.get("empty"), "");
  EXPECT_FALSE(q.get("missing"));
  std::vector<std::string> hashes;
  q.for_each([&](std::string_view k, std::string_view v) {
    if (k == "info_hash") hashes.emplace_back(v);
  });
  EXPECT_EQ(hashes, (std::vector<std::string>{"%12%34", "second"}));
  query_string empty("");
  EXPECT_FALSE(empty.get("x"));
}

TEST(range, parses_single_ranges_per_rfc_9110) {
  using k = range_request::kind;
  struct row {
    std::optional<std::string_view> header;
    std::uint64_t size;
    k what;
    byte_range r;
  };
  for (const auto& [header, size, what, r] : std::initializer_list<row>{
           {std::nullopt, 100, k::whole, {}},
           {"bytes=0-9", 100, k::partial, {0, 9}},
           {"bytes=90-", 100, k::partial, {90, 99}},
           {"bytes=90-500", 100, k::partial, {90, 99}},
           {"bytes=-10", 100, k::partial, {90, 99}},
           {"bytes=-500", 100, k::partial, {0, 99}},
           {"bytes=100-", 100, k::unsatisfiable, {}},
           {"bytes=-0", 100, k::unsatisfiable, {}},
           {"bytes=0-", 0, k::unsatisfiable, {}},
           {"bytes=5-4", 100, k::whole, {}},
           {"bytes=0-1,5-6", 100, k::whole, {}},
           {"items=0-1", 100, k::whole, {}},
           {"bytes=abc", 100, k::whole, {}},
           {"bytes=1-2-3", 100, k::whole, {}},
           {"bytes=99999999999999999999-", 100, k::whole, {}},
       }) {
    auto got = parse_range(header, size);
    EXPECT_EQ(got.what, what) << header.value_or("(none)");
    if (what == k::partial) {
      EXPECT_EQ(got.range, r) << header.value_or("(none)");
    }
  }
  EXPECT_EQ(content_range({0, 9}, 100), "bytes 0-9/100");
}

TEST(router, matches_in_order_and_falls_back_for_head) {
  router r;
  int which = 0;
  r.get("/v2/", sync_handler([&](request&) {
          which = 1;
          return response(200);
        }));
  r.get("/v2/{rest*}", sync_handler([&](request&) {
          which = 2;
          return response(200);
        }));
  auto call = [&](verb v, std::string target) {
    auto req = request::make(v, std::move(target));
    auto m = r.find(req);
    (void)std::get<sync_handler> (*m.h)(req);
    return std::pair{which, std::string(req.param("rest"))};
  };
  EXPECT_EQ(call(verb::get, "/v2/").first, 1);
  EXPECT_EQ(call(verb::get, "/v2/library/alpine/blobs/sha256:x"),
            (std::pair{2, std::string("library/alpine/blobs/sha256:x")}));
  EXPECT_EQ(call(verb::head, "/v2/a/manifests/latest?ns=docker.io").first, 2);
  auto req = request::make(verb::get, "/v2");
  EXPECT_TRUE(r.find(req).allow.empty());
}

}  // namespace
}  // namespace blobswarm::http
