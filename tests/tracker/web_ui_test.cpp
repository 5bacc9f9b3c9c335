// The web UI's building blocks without a browser: password hashing, the
// sign-in rate limit, sessions, the per-minute history, client names from
// peer_ids, sealed passkeys, zone names, torrent search and .torrent
// rewriting (private flag, magnet links).
#include <gtest/gtest.h>

#include <libtorrent/torrent_info.hpp>

#include "common/hex.hpp"
#include "tests/support/support.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tracker/catalog.hpp"
#include "tracker/login_limiter.hpp"
#include "tracker/passkey_vault.hpp"
#include "tracker/passwords.hpp"
#include "tracker/peer.hpp"
#include "tracker/peer_client.hpp"
#include "tracker/session_store.hpp"
#include "tracker/stats_history.hpp"
#include "tracker/torrent_file.hpp"
#include "tracker/torrent_json.hpp"
#include "tracker/zone_directory.hpp"

namespace blobswarm::tracker {
namespace {

using test_support::make_torrent;
using test_support::torrent_kind;

TEST(passwords, verify_accepts_the_password_and_nothing_else) {
  auto h = passwords::hash("correct horse", 1000);
  EXPECT_TRUE(h.starts_with("pbkdf2-sha256$1000$"));
  EXPECT_TRUE(passwords::verify("correct horse", h));
  EXPECT_FALSE(passwords::verify("correct horsE", h));
  EXPECT_FALSE(passwords::verify("", h));
  // Salted: the same password hashes differently each time.
  EXPECT_NE(passwords::hash("correct horse", 1000), h);
}

TEST(passwords, default_hash_is_slow_and_salted) {
  auto h = passwords::hash("a-password");
  EXPECT_TRUE(h.starts_with("pbkdf2-sha256$600000$"));
  EXPECT_TRUE(passwords::verify("a-password", h));
}

TEST(passwords, rejects_stored_strings_that_are_not_ours) {
  for (std::string bad : std::vector<std::string>{
           "", "plain", "pbkdf2-sha256$1000$00", "md5$1$00$00",
           "pbkdf2-sha256$0$00$" + std::string(64, '0'),
           "pbkdf2-sha256$99999999999$00$" + std::string(64, '0'),
           "pbkdf2-sha256$1000$zz$" + std::string(64, '0'), "pbkdf2-sha256$1000$00$0011"}) {
    EXPECT_FALSE(passwords::verify("x", bad)) << bad;
  }
  EXPECT_FALSE(passwords::verify("", passwords::decoy()));
}

TEST(passwords, rules) {
  EXPECT_FALSE(passwords::check_rules("short"));
  EXPECT_TRUE(passwords::check_rules("long enough"));
  EXPECT_FALSE(passwords::check_rules(std::string("bad\nchar")));
  EXPECT_FALSE(passwords::check_rules(std::string(2000, 'a')));
}

TEST(login_limiter, allows_a_burst_then_refuses_until_refilled) {
  login_limiter l({.burst = 3, .refill = 60});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(l.retry_after("k", 1000), 0u);
    l.failed("k", 1000);
  }
  EXPECT_EQ(l.retry_after("k", 1000), 60u);
  EXPECT_EQ(l.retry_after("other", 1000), 0u);
  EXPECT_EQ(l.retry_after("k", 1030), 30u);
  EXPECT_EQ(l.retry_after("k", 1060), 0u);
  l.failed("k", 1060);
  EXPECT_GT(l.retry_after("k", 1060), 0u);
  l.succeeded("k");
  EXPECT_EQ(l.retry_after("k", 1060), 0u);
}

TEST(login_limiter, stays_bounded_under_many_keys) {
  login_limiter l({.burst = 1, .refill = 600}, 100);
  std::size_t most = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    l.failed("key" + std::to_string(i), 5000 + i);
    most = std::max(most, l.keys());
  }
  EXPECT_LE(most, 100u);
  // The newest keys are still limited; the oldest made room.
  EXPECT_GT(l.retry_after("key999", 6000), 0u);
  EXPECT_GT(l.retry_after("key950", 6000), 0u);
  EXPECT_EQ(l.retry_after("key0", 6000), 0u);
  // Under the bound, nothing is dropped early.
  login_limiter roomy({.burst = 1, .refill = 600}, 100);
  for (std::uint32_t i = 0; i < 100; ++i) roomy.failed("key" + std::to_string(i), 5000 + i);
  EXPECT_EQ(roomy.keys(), 100u);
  EXPECT_GT(roomy.retry_after("key0", 5100), 0u);
}

TEST(stats_history, spreads_announces_over_minutes_and_keeps_an_hour) {
  stats_history h;
  std::uint32_t t0 = 6000 * 60;  // a minute boundary
  h.record({t0, 0, 5, 2, 1});
  h.record({t0 + 30, 60, 6, 3, 1});   // 60 announces in 30 s
  h.record({t0 + 90, 180, 7, 3, 1});  // 120 in the next 60 s: 60 in each minute
  auto hour = h.last_hour({t0 + 90, 180, 7, 3, 1});
  ASSERT_EQ(hour.size(), 60u);
  const auto& prev = hour[58];
  const auto& now = hour[59];
  EXPECT_EQ(prev.start, t0);
  EXPECT_TRUE(prev.known);
  EXPECT_EQ(prev.announces, 120u);
  EXPECT_DOUBLE_EQ(prev.per_second, 2.0);
  EXPECT_EQ(prev.peers, 6u);
  EXPECT_EQ(now.announces, 60u);
  EXPECT_EQ(now.peers, 7u);
  EXPECT_FALSE(hour[0].known);
  // An hour later the old minutes are gone.
  auto later = h.last_hour({t0 + 3700, 180, 0, 0, 1});
  for (const auto& m : later) EXPECT_NE(m.start, t0);
}

TEST(peer_client, names_common_clients) {
  auto id = [](std::string_view s) {
    return peer_id::from(std::string(s) + std::string(20 - s.size(), 'x'));
  };
  EXPECT_EQ(client_name(id("-LT2080-")), "libtorrent 2.0.8");
  EXPECT_EQ(client_name(id("-qB4520-")), "qBittorrent 4.5.2");
  EXPECT_EQ(client_name(id("-TR3000-")), "Transmission 3.00");
  EXPECT_EQ(client_name(id("A2-1-36-0-")), "aria2 1.36.0");
  EXPECT_EQ(client_name(id("M7-2-0--")), "BitTorrent (mainline) 7.2.0");
  EXPECT_EQ(client_name(peer_id::from(std::string(20, '\0'))), "unknown");
  // Unknown styles give their printable prefix: plain text the UI escapes.
  EXPECT_EQ(client_name(id("<script>")).substr(0, 8), "<script>");
}

TEST(passkey_vault, seals_and_opens_only_for_the_same_user_and_key) {
  std::array<unsigned char, 32> key{};
  key[0] = 1;
  auto v = passkey_vault::with_key(key);
  auto sealed = v.seal("0123456789abcdef0123456789abcdef", 42);
  EXPECT_EQ(sealed.find("0123456789abcdef"), std::string::npos);
  auto opened = v.open(sealed, 42);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(v.open(sealed, 43));
  auto tampered = sealed;
  tampered[20] ^= 1;
  EXPECT_FALSE(v.open(tampered, 42));
  key[0] = 2;
  EXPECT_FALSE(passkey_vault::with_key(key).open(sealed, 42));
  EXPECT_FALSE(v.open("short", 42));
}

TEST(passkey_vault, creates_its_key_file_once) {
  test::temp_dir dir;
  auto path = dir.path() / "k";
  auto a = passkey_vault::open_or_create(path);
  ASSERT_TRUE(a);
  auto b = passkey_vault::open_or_create(path);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b->open(a->seal("pk-0123456789abcdef", 1), 1), "pk-0123456789abcdef");
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  test::write_text(path, "nothex\n");
  EXPECT_FALSE(passkey_vault::open_or_create(path));
}

TEST(zone_directory, names_zones_it_was_told_about) {
  zone_directory z;
  z.note(zone_of_name("dc1"), "dc1");
  EXPECT_EQ(z.describe(zone_of_name("dc1")), "dc1");
  EXPECT_EQ(z.describe(0), "");
  EXPECT_TRUE(z.describe(zone_of_name("other")).starts_with("zone "));
  for (int i = 0; i < 400; ++i) {
    auto n = "z" + std::to_string(i);
    z.note(zone_of_name(n), n);
  }
  EXPECT_EQ(z.describe(zone_of_name("dc1")), "dc1");
}

TEST(peer, progress_is_kept_in_the_records_padding) {
  static_assert(sizeof(peer) <= 88);
  EXPECT_EQ(left_in_kib(0), 0u);
  EXPECT_EQ(left_in_kib(1), 1u);
  EXPECT_EQ(left_in_kib(2048), 2u);
  EXPECT_EQ(left_in_kib(~0ULL), peer::unknown_left - 1);
}

TEST(torrent_file, make_private_sets_the_flag_and_keeps_the_files) {
  test::temp_dir dir;
  auto file = dir.path() / "f.bin";
  test::write_text(file, test::random_bytes(100000));
  for (auto kind : {torrent_kind::v1, torrent_kind::hybrid}) {
    auto t = make_torrent(file, kind);
    // make_torrent makes private torrents.
    auto priv = make_private(t.bytes);
    ASSERT_TRUE(priv);
    auto meta = inspect_torrent(*priv);
    ASSERT_TRUE(meta);
    EXPECT_TRUE(meta->is_private);
    EXPECT_EQ(*priv, t.bytes);  // already private: unchanged
  }
  // torrentgen makes public torrents unless told --private.
  auto out = dir.path() / "public.torrent";
  auto made = test::run_command({test::binary("torrentgen").string(), "create", "--quiet", "-o",
                                 out.string(), file.string()});
  ASSERT_EQ(made.status, 0) << made.output;
  std::string pub_bytes = test::read_text(out);
  auto before = inspect_torrent(pub_bytes);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->is_private);
  auto priv = make_private(pub_bytes);
  ASSERT_TRUE(priv);
  auto after = inspect_torrent(*priv);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->is_private);
  EXPECT_NE(after->v1->hex(), before->v1->hex());
  EXPECT_EQ(after->size, before->size);
  EXPECT_EQ(after->piece_length, before->piece_length);
  EXPECT_EQ(after->name, before->name);
  EXPECT_FALSE(make_private("not a torrent"));
}

TEST(torrent_file, describe_and_magnet) {
  test::temp_dir dir;
  auto file = dir.path() / "g.bin";
  test::write_text(file, test::random_bytes(50000));
  auto t = make_torrent(file, torrent_kind::hybrid);
  auto c = describe_torrent(t.bytes);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->files.size(), 1u);
  EXPECT_EQ(c->files[0].path, "g.bin");
  EXPECT_EQ(c->files[0].size, 50000u);
  auto m = magnet_link(t.bytes, std::string("http://127.0.0.1:1/announce/pk"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->starts_with("magnet:?xt=urn:btih:" + t.v1_hex)) << *m;
  EXPECT_NE(m->find("urn:btmh:1220" + t.v2_hex), std::string::npos) << *m;
  EXPECT_NE(m->find("tr=http%3a%2f%2f127.0.0.1%3a1%2fannounce%2fpk"), std::string::npos) << *m;
  auto none = magnet_link(t.bytes, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->find("tr="), std::string::npos);
}

TEST(torrent_json, files_get_a_mirror_url_and_url_files_one_with_their_digest) {
  torrent_row upload;
  upload.v1 = *info_hash::from_hex(std::string(40, 'a'));
  upload.name = "dataset";
  auto f = fetch_urls(upload, "http://127.0.0.1:65001");
  EXPECT_EQ(kind_of(upload), "file");
  EXPECT_EQ(f["fetch_url"], "http://127.0.0.1:65001/files/" + std::string(40, 'a'));
  EXPECT_TRUE(f["fetch_by_url"].is_null());

  auto pulled = upload;
  pulled.blob = *digest::parse("sha256:" + std::string(64, 'b'));
  pulled.source_url = "https://huggingface.co/o/m/resolve/main/w 1.bin";
  f = fetch_urls(pulled, "http://node:65001");
  EXPECT_EQ(kind_of(pulled), "file");
  EXPECT_EQ(f["fetch_by_url"],
            "http://node:65001/files?url=https%3A%2F%2Fhuggingface.co%2Fo%2Fm%2Fresolve%2Fmain%2Fw"
            "%201.bin&digest=sha256%3A" +
                std::string(64, 'b'));

  // Image blobs go through the registry API; v2-only torrents mirrors refuse.
  auto blob = upload;
  blob.blob = pulled.blob;
  EXPECT_EQ(kind_of(blob), "blob");
  EXPECT_TRUE(fetch_urls(blob, "http://n")["fetch_url"].is_null());
  torrent_row v2_only;
  v2_only.v2 = *info_hash::from_hex(std::string(64, 'c'));
  EXPECT_TRUE(fetch_urls(v2_only, "http://n")["fetch_url"].is_null());
}

}  // namespace
}  // namespace blobswarm::tracker
