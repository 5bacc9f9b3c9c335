// The announce and scrape query parsers: every parameter, and each kind of
// bad input getting a clear reason.
#include "tracker/announce_request.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/http/url.hpp"
#include "tracker/scrape_request.hpp"

namespace blobswarm::tracker {
namespace {

const std::string hash20(20, '\xab');
const std::string peer20 = "-LT2080-abcdefghijkl";

std::string base(std::string extra = "") {
  return "info_hash=" + http::percent_encode(hash20) + "&peer_id=" + http::percent_encode(peer20) +
         "&port=6881&uploaded=10&downloaded=20&left=30" + extra;
}

TEST(announce_request, parses_the_parameters_libtorrent_sends) {
  // The request views the query string (ipv6, zone): keep it alive.
  auto query = base(
      "&corrupt=0&key=1A2B3C4D&event=started&numwant=200&compact=1&no_peer_id=1"
      "&supportcrypto=1&redundant=0&ipv6=%3A%3A1&zone=dc-1");
  auto r = announce_request::parse(query);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->info_hash.view(), hash20);
  EXPECT_EQ(r->peer.view(), peer20);
  EXPECT_EQ(r->port, 6881);
  EXPECT_EQ(r->uploaded, 10u);
  EXPECT_EQ(r->downloaded, 20u);
  EXPECT_EQ(r->left, 30u);
  EXPECT_EQ(r->event, announce_event::started);
  EXPECT_EQ(r->numwant, 200u);
  EXPECT_TRUE(r->compact);
  EXPECT_TRUE(r->no_peer_id);
  EXPECT_NE(r->key, 0u);
  EXPECT_EQ(r->key, announce_request::parse(base("&key=1A2B3C4D"))->key);
  EXPECT_NE(r->key, announce_request::parse(base("&key=1A2B3C4E"))->key);
  EXPECT_EQ(r->ipv6, "%3A%3A1");
  EXPECT_EQ(r->zone, "dc-1");
  EXPECT_FALSE(r->is_seeder());
}

TEST(announce_request, defaults_when_optional_parameters_are_absent) {
  auto r = announce_request::parse(base());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event, announce_event::none);
  EXPECT_TRUE(r->compact);
  EXPECT_FALSE(r->numwant);
  EXPECT_EQ(r->key, 0u);
  EXPECT_TRUE(r->ip.empty());
  EXPECT_TRUE(r->zone.empty());
  EXPECT_FALSE(r->origins);
  EXPECT_TRUE(announce_request::parse(base("&origins=1"))->origins);
  EXPECT_FALSE(announce_request::parse(base("&origins=0"))->origins);
}

TEST(announce_request, accepts_every_event_and_compact_0) {
  EXPECT_EQ(announce_request::parse(base("&event=completed"))->event, announce_event::completed);
  EXPECT_EQ(announce_request::parse(base("&event=stopped"))->event, announce_event::stopped);
  EXPECT_EQ(announce_request::parse(base("&event=paused"))->event, announce_event::paused);
  EXPECT_EQ(announce_request::parse(base("&event=empty"))->event, announce_event::none);
  EXPECT_EQ(announce_request::parse(base("&event="))->event, announce_event::none);
  EXPECT_FALSE(announce_request::parse(base("&compact=0"))->compact);
}

TEST(announce_request, caps_huge_numwant_instead_of_failing) {
  EXPECT_EQ(*announce_request::parse(base("&numwant=99999999999999999999999"))->numwant,
            0xffffffffu);
  EXPECT_EQ(*announce_request::parse(base("&numwant=0"))->numwant, 0u);
}

struct bad_case {
  std::string query;
  std::string reason;  // a substring of the failure reason
};

class announce_request_rejects : public testing::TestWithParam<bad_case> {};

TEST_P(announce_request_rejects, with_a_clear_reason) {
  auto r = announce_request::parse(GetParam().query);
  ASSERT_FALSE(r) << GetParam().query;
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().message.find(GetParam().reason), std::string::npos) << r.error().message;
}

const std::string ih = "info_hash=" + http::percent_encode(hash20);
const std::string pid = "&peer_id=" + http::percent_encode(peer20);
const std::string nums = "&uploaded=0&downloaded=0&left=0";

INSTANTIATE_TEST_SUITE_P(
    table, announce_request_rejects,
    testing::Values(
        bad_case{"", "missing info_hash"},
        bad_case{pid.substr(1) + "&port=1" + nums, "missing info_hash"},
        bad_case{ih + "&port=1" + nums, "missing peer_id"},
        bad_case{ih + pid + nums, "missing port"},
        bad_case{ih + pid + "&port=1&downloaded=0&left=0", "missing uploaded"},
        bad_case{ih + pid + "&port=1&uploaded=0&left=0", "missing downloaded"},
        bad_case{ih + pid + "&port=1&uploaded=0&downloaded=0", "missing left"},
        bad_case{"info_hash=abc" + pid + "&port=1" + nums, "info_hash must be 20 bytes (got 3)"},
        bad_case{"info_hash=" + std::string(61, 'a') + pid + "&port=1" + nums,
                 "info_hash must be 20 bytes"},
        bad_case{"info_hash=%zz%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB" + pid +
                     "&port=1" + nums,
                 "info_hash is not valid percent-encoding"},
        bad_case{"info_hash=%A" + pid + "&port=1" + nums, "percent-encoding"},
        bad_case{ih + "&peer_id=short&port=1" + nums, "peer_id must be 20 bytes (got 5)"},
        bad_case{ih + pid + "&port=0" + nums, "port must be between 1 and 65535 (got 0)"},
        bad_case{ih + pid + "&port=65536" + nums, "port must be between 1 and 65535"},
        bad_case{ih + pid + "&port=http" + nums, "port must be a non-negative integer"},
        bad_case{ih + pid + "&port=1&uploaded=-5&downloaded=0&left=0",
                 "uploaded must be a non-negative integer (got '-5')"},
        bad_case{ih + pid + "&port=1&uploaded=0&downloaded=1e9&left=0",
                 "downloaded must be a non-negative integer"},
        bad_case{ih + pid + "&port=1&uploaded=0&downloaded=0&left=99999999999999999999999",
                 "left must be a non-negative integer"},
        bad_case{ih + pid + "&port=1" + nums + "&event=bogus", "unknown event 'bogus'"},
        bad_case{ih + pid + "&port=1" + nums + "&compact=2", "compact must be 0 or 1"},
        bad_case{ih + pid + "&port=1" + nums + "&numwant=-1", "numwant must be a non-negative"},
        bad_case{ih + pid + "&port=1" + nums + "&numwant=ten", "numwant must be"},
        bad_case{ih + pid + "&port=1" + nums + "&key=" + std::string(65, 'k'), "key is too long"},
        bad_case{ih + pid + "&port=1" + nums + "&zone=a%20b", "zone must be"},
        bad_case{ih + pid + "&port=1" + nums + "&zone=", "zone must be"}));

TEST(announce_request, never_quotes_raw_client_bytes) {
  auto r = announce_request::parse(base("&event=%00%FF\x01\x7f"));
  ASSERT_FALSE(r);
  for (char c : r.error().message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
}

TEST(announce_request, parses_address_parameters) {
  auto v4 = announce_request::parse_address("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->str(), "10.1.2.3");
  auto v6 = announce_request::parse_address("%5Bfd00%3A%3A1%5D");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->str(), "fd00::1");
  auto mapped = announce_request::parse_address("::ffff:10.0.0.1");
  ASSERT_TRUE(mapped);
  EXPECT_FALSE(mapped->v6);
  EXPECT_FALSE(announce_request::parse_address("example.com"));
  EXPECT_FALSE(announce_request::parse_address(""));
  EXPECT_FALSE(announce_request::parse_address(std::string(300, '1')));
}

TEST(scrape_request, sorts_and_deduplicates_info_hashes) {
  std::string a(20, 'a'), b(20, 'b');
  auto r = scrape_request::parse("info_hash=" + http::percent_encode(b) +
                                 "&info_hash=" + http::percent_encode(a) +
                                 "&info_hash=" + http::percent_encode(b) + "&other=1");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->info_hashes().size(), 2u);
  EXPECT_EQ(r->info_hashes()[0].view(), a);
  EXPECT_EQ(r->info_hashes()[1].view(), b);
}

TEST(scrape_request, rejects_bad_input) {
  EXPECT_NE(scrape_request::parse("").error().message.find("at least one info_hash"),
            std::string::npos);
  EXPECT_NE(scrape_request::parse("info_hash=abc").error().message.find("20 bytes (got 3)"),
            std::string::npos);
  EXPECT_NE(scrape_request::parse("info_hash=%G0").error().message.find("percent"),
            std::string::npos);
  std::string many;
  for (int i = 0; i < 65; ++i) {
    std::string h(20, 'x');
    h[0] = static_cast<char>(i);
    many += "&info_hash=" + http::percent_encode(h);
  }
  EXPECT_NE(scrape_request::parse(many).error().message.find("too many"), std::string::npos);
}

}  // namespace
}  // namespace blobswarm::tracker
