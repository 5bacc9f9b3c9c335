// Table-driven tests of the strong types' validating factories.
#include <gtest/gtest.h>

#include "common/digest.hpp"
#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/info_hash.hpp"
#include "common/net.hpp"
#include "common/repository_name.hpp"
#include "common/units.hpp"

namespace blobswarm {
namespace {

const std::string hex64(64, 'a');

TEST(digest, accepts_canonical_sha256_and_sha512) {
  auto d = digest::parse("sha256:" + hex64);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->algorithm(), hash_algorithm::sha256);
  EXPECT_EQ(d->hex(), hex64);
  EXPECT_EQ(d->algorithm_name(), "sha256");
  EXPECT_EQ(d->str(), "sha256:" + hex64);
  EXPECT_TRUE(digest::parse("sha512:" + std::string(128, '0')));
}

TEST(digest, rejects_malformed_input) {
  const std::vector<std::string> bad = {
      "",
      "sha256",
      "sha256:",
      hex64,
      "sha256:" + std::string(63, 'a'),
      "sha256:" + std::string(65, 'a'),
      "sha256:" + std::string(64, 'A'),
      "sha256:" + std::string(63, 'a') + "g",
      "SHA256:" + hex64,
      "md5:" + std::string(32, 'a'),
      "sha512:" + hex64,
      "sha256:" + hex64 + "\n",
      "sha256:../../" + std::string(58, 'a'),
  };
  for (const auto& text : bad) {
    auto d = digest::parse(text);
    EXPECT_FALSE(d) << "accepted: '" << text << "'";
    if (!d) {
      EXPECT_EQ(d.error().code, errc::invalid_argument);
    }
  }
}

TEST(digest, from_raw_matches_hasher_output) {
  auto raw = sha256("hello");
  auto d = digest::from_raw(hash_algorithm::sha256, raw);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_FALSE(digest::from_raw(hash_algorithm::sha256, "short"));
  EXPECT_FALSE(digest::from_raw(hash_algorithm::sha1, sha1("x")));
}

TEST(hasher, incremental_equals_one_shot_and_is_reusable) {
  hasher h(hash_algorithm::sha1);
  h.update("hel").update("lo");
  EXPECT_EQ(to_hex(h.finish()), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  h.update("hello");
  EXPECT_EQ(to_hex(h.finish()), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  hasher copy(hash_algorithm::sha256);
  copy.update("hel");
  hasher forked = copy;
  forked.update("lo");
  EXPECT_EQ(forked.finish(), sha256("hello"));
}

TEST(info_hash, parses_v1_and_v2_hex_and_raw) {
  auto v1 = info_hash::from_hex(std::string(40, 'f'));
  ASSERT_TRUE(v1);
  EXPECT_TRUE(v1->is_v1());
  EXPECT_EQ(v1->raw().size(), 20u);
  auto v2 = info_hash::from_hex(std::string(64, 'A'));
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->is_v2());
  EXPECT_EQ(v2->hex(), std::string(64, 'a'));
  auto raw = info_hash::from_raw(std::string(20, '\x01'));
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->hex(), "0101010101010101010101010101010101010101");
}

TEST(info_hash, rejects_wrong_lengths_and_non_hex) {
  for (auto text : {std::string(39, 'a'), std::string(41, 'a'), std::string(63, 'a'),
                    std::string(40, 'z'), std::string()}) {
    EXPECT_FALSE(info_hash::from_hex(text)) << text;
  }
  EXPECT_FALSE(info_hash::from_raw(std::string(19, 'x')));
  EXPECT_FALSE(info_hash::from_raw(std::string(33, 'x')));
}

TEST(info_hash, v2_swarm_key_is_its_first_20_bytes) {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(i));
  auto v2 = *info_hash::from_raw(raw);
  auto key = v2.swarm_key();
  EXPECT_TRUE(key.is_v1());
  EXPECT_EQ(key.raw(), raw.substr(0, 20));
  EXPECT_EQ(key, *info_hash::from_raw(raw.substr(0, 20)));
  EXPECT_EQ(std::hash<info_hash>{}(key),
            std::hash<info_hash>{}(*info_hash::from_raw(raw.substr(0, 20))));
}

TEST(repository_name, accepts_distribution_spec_names) {
  for (auto name : {"library/alpine", "alpine", "a", "my-org/my_app", "a__b/c.d", "a---b",
                    "foo/bar/baz/qux", "0/1", "x.y_z-w"}) {
    auto n = repository_name::parse(name);
    EXPECT_TRUE(n) << name << ": " << (n ? "" : n.error().message);
  }
}

TEST(repository_name, rejects_invalid_names) {
  for (auto name :
       {"",     "/",     "a/", "/a", "a//b", "..",    "a/../b", "a..b", "Alpine", "library/Alpine",
        "a b",  "a/b?c", "-a", "a-", "a_",   "a___b", "_a",     ".a",   "a.",     "a%2fb",
        "a\\b", "a:b"}) {
    auto n = repository_name::parse(name);
    EXPECT_FALSE(n) << "accepted: '" << name << "'";
  }
  EXPECT_FALSE(repository_name::parse(std::string(256, 'a')));
  EXPECT_TRUE(repository_name::parse(std::string(255, 'a')));
}

TEST(tag, follows_the_reference_grammar) {
  for (auto t : {"latest", "v1.2.3", "1", "_x", "A-b_c.d"}) EXPECT_TRUE(is_valid_tag(t)) << t;
  for (auto t : {"", "-x", ".x", "a/b", "a:b", "a b"}) EXPECT_FALSE(is_valid_tag(t)) << t;
  EXPECT_TRUE(is_valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
}

TEST(byte_size, parses_decimal_binary_and_bare_units) {
  struct row {
    const char* text;
    std::uint64_t bytes;
  };
  for (auto [text, bytes] : std::initializer_list<row>{{"0", 0},
                                                       {"1024", 1024},
                                                       {"512MB", 512'000'000},
                                                       {"10GiB", 10ULL << 30},
                                                       {"4MiB", 4ULL << 20},
                                                       {"4M", 4ULL << 20},
                                                       {"16kib", 16384},
                                                       {"1.5GiB", 3ULL << 29},
                                                       {" 2 TB ", 2'000'000'000'000ULL},
                                                       {"7B", 7}}) {
    auto s = byte_size::parse(text);
    ASSERT_TRUE(s) << text << ": " << s.error().message;
    EXPECT_EQ(s->bytes, bytes) << text;
  }
}

TEST(byte_size, rejects_junk_and_overflow) {
  for (auto text : {"", "GiB", "10XB", "-1", "1e9", "10 GiB extra", "99999999999999999999",
                    "20000000TiB", "1..5M"}) {
    EXPECT_FALSE(byte_size::parse(text)) << "accepted: " << text;
  }
}

TEST(byte_size, str_round_trips_and_human_is_readable) {
  for (std::uint64_t v : {0ULL, 1ULL, 1023ULL, 1024ULL, 3ULL << 30, 5ULL << 40, 123456789ULL}) {
    auto back = byte_size::parse(byte_size{v}.str());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->bytes, v);
  }
  EXPECT_EQ(byte_size{1536}.human(), "1.50 KiB");
  EXPECT_EQ(byte_size{512}.human(), "512 B");
  EXPECT_EQ(byte_size{10ULL << 30}.human(), "10.0 GiB");
}

TEST(duration, parses_units_and_combinations) {
  using namespace std::chrono;
  EXPECT_EQ(*parse_duration("30s"), seconds(30));
  EXPECT_EQ(*parse_duration("5m"), minutes(5));
  EXPECT_EQ(*parse_duration("1h30m"), minutes(90));
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("45"), seconds(45));
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parse_duration("2d"), hours(48));
  for (auto bad : {"", "s", "5x", "5 m", "-5s", "m5"}) EXPECT_FALSE(parse_duration(bad)) << bad;
  for (auto d :
       {milliseconds(0), milliseconds(250), milliseconds(90'000), milliseconds(3'723'000)}) {
    EXPECT_EQ(*parse_duration(format_duration(d)), d);
  }
}

TEST(host_port, parses_v4_v6_and_names) {
  auto a = host_port::parse("127.0.0.1:6969");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6969);
  auto b = host_port::parse("[::1]:80");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->str(), "[::1]:80");
  EXPECT_TRUE(host_port::parse("localhost:0"));
  for (auto bad : {"", "127.0.0.1", ":80", "::1:80", "[::1]80", "h:65536", "h:-1", "h:x"}) {
    EXPECT_FALSE(host_port::parse(bad)) << bad;
  }
}

TEST(ip_address, parses_formats_and_unmaps) {
  auto v4 = ip_address::parse("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->raw(), std::string("\x0a\x01\x02\x03", 4));
  EXPECT_EQ(v4->str(), "10.1.2.3");
  auto mapped = ip_address::parse("::ffff:10.1.2.3");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->unmapped(), *v4);
  EXPECT_TRUE(ip_address::parse("127.0.0.5")->is_loopback());
  EXPECT_TRUE(ip_address::parse("::1")->is_loopback());
  EXPECT_FALSE(ip_address::parse("10.0.0.1")->is_loopback());
  EXPECT_FALSE(ip_address::parse("10.0.0.256"));
  EXPECT_FALSE(ip_address::parse("host"));
}

TEST(cidr, matches_prefixes) {
  auto c = cidr::parse("10.99.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(*ip_address::parse("10.99.5.6")));
  EXPECT_FALSE(c->contains(*ip_address::parse("10.98.5.6")));
  EXPECT_TRUE(c->contains(*ip_address::parse("::ffff:10.99.0.1")));
  auto odd = cidr::parse("192.168.0.0/23");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(*ip_address::parse("192.168.1.255")));
  EXPECT_FALSE(odd->contains(*ip_address::parse("192.168.2.0")));
  auto v6 = cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*ip_address::parse("fd12::1")));
  EXPECT_FALSE(v6->contains(*ip_address::parse("10.0.0.1")));
  EXPECT_TRUE(cidr::parse("1.2.3.4")->contains(*ip_address::parse("1.2.3.4")));
  for (auto bad : {"10.0.0.0/33", "10.0.0.0/", "x/8", "10.0.0.0/8x"}) {
    EXPECT_FALSE(cidr::parse(bad)) << bad;
  }
}

TEST(hex, round_trips_and_rejects_bad_input) {
  EXPECT_EQ(to_hex(std::string_view("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*from_hex("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(error, describes_with_category_and_context) {
  auto e = error{errc::not_found, "blob x is not cached"};
  EXPECT_EQ(e.describe(), "not_found: blob x is not cached");
  EXPECT_EQ(e.with_context("GET /v2/x").message, "GET /v2/x: blob x is not cached");
  result<int> r = fail(errc::timeout, "after {}s", 5);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::timeout);
  EXPECT_EQ(r.error().message, "after 5s");
}

TEST(secrets_equal, matches_only_the_same_secret_of_any_length) {
  EXPECT_TRUE(secrets_equal("Bearer s3cret-token", "Bearer s3cret-token"));
  EXPECT_FALSE(secrets_equal("Bearer s3cret-tokeN", "Bearer s3cret-token"));
  EXPECT_FALSE(secrets_equal("Bearer s3cret-toke", "Bearer s3cret-token"));
  EXPECT_FALSE(secrets_equal("", "Bearer s3cret-token"));
  EXPECT_FALSE(secrets_equal(std::string("Bearer s3cret-token\0x", 21), "Bearer s3cret-token"));
  EXPECT_TRUE(secrets_equal("", ""));
}

}  // namespace
}  // namespace blobswarm
