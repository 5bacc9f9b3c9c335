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

TEST(session_store, finds_sessions_until_they_expire) {
  session_store s({.ttl = 100, .idle = 30, .max_sessions = 10});
  auto made = s.create(7, "alice", false, 1000);
  EXPECT_EQ(made.id.size(), 64u);
  EXPECT_EQ(made.s.csrf.size(), 64u);
  EXPECT_NE(made.id, made.s.csrf);
  auto found = s.find(made.id, 1020);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->csrf, made.s.csrf);
  EXPECT_TRUE(s.find(made.id, 1049));   // used at 1020: idle until 1050
  EXPECT_FALSE(s.find(made.id, 1080));  // idle too long
  auto again = s.create(7, "alice", false, 2000);
  for (std::uint32_t t = 2000; t < 2100; t += 20) EXPECT_TRUE(s.find(again.id, t));
  EXPECT_FALSE(s.find(again.id, 2100));  // ttl from sign-in
  EXPECT_FALSE(s.find("not-a-session", 2000));
  EXPECT_FALSE(s.find(std::string(64, '0'), 2000));
}

TEST(session_store, ends_a_users_sessions_and_stays_bounded) {
  session_store s({.ttl = 1000, .idle = 1000, .max_sessions = 3});
  auto a = s.create(1, "a", false, 10);
  auto b = s.create(2, "b", false, 11);
  auto admin = s.create(0, "admin", true, 12);
  EXPECT_EQ(s.remove_user(1), 1u);
  EXPECT_FALSE(s.find(a.id, 20));
  EXPECT_TRUE(s.find(b.id, 20));
  EXPECT_TRUE(s.find(admin.id, 20));
  for (int i = 0; i < 10; ++i) s.create(5, "x", false, 30 + i);
  EXPECT_LE(s.size(), 3u);
  s.remove(b.id);
  EXPECT_FALSE(s.find(b.id, 40));
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

class catalog_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open(dir.path() / "t.db");
    ASSERT_TRUE(s);
    cat = std::make_unique<catalog>(std::move(*s), users, swarms);
    ASSERT_TRUE(cat->load());
  }
  std::string add_torrent(const std::string& name, std::size_t size,
                          const std::optional<digest>& blob = {},
                          const registration_details& details = {}) {
    auto file = dir.path() / name;
    test::write_text(file, std::string(size, 'a'));
    auto t = make_torrent(file, torrent_kind::v1);
    auto r = cat->register_torrent(t.bytes, blob, std::nullopt, 100 + counter++, details);
    EXPECT_TRUE(r) << r.error().message;
    return t.v1_hex;
  }
  test::temp_dir dir;
  user_table users;
  swarm_table swarms;
  std::unique_ptr<catalog> cat;
  int counter = 0;
};

TEST_F(catalog_fixture, search_filters_sorts_and_pages) {
  auto d = *digest::parse("sha256:" + std::string(64, 'b'));
  add_torrent("alpha.bin", 3000);
  add_torrent("beta_100%.bin", 1000);
  auto blob_hash = add_torrent("layer", 2000, d, {"library/app", std::nullopt});
  add_torrent("gamma.bin", 5000, std::nullopt, {std::nullopt, "alice"});

  auto all = cat->search_torrents({}, "name", false, 0, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 4u);
  ASSERT_EQ(all->rows.size(), 4u);
  EXPECT_EQ(all->rows[0].name, "alpha.bin");
  EXPECT_EQ(all->rows[3].name, "layer");

  auto by_size = cat->search_torrents({}, "size", true, 1, 2);
  ASSERT_TRUE(by_size);
  EXPECT_EQ(by_size->total, 4u);
  ASSERT_EQ(by_size->rows.size(), 2u);
  EXPECT_EQ(by_size->rows[0].name, "alpha.bin");
  EXPECT_EQ(by_size->rows[1].name, "layer");

  auto text = [&](std::string q, torrent_filter::kind k = torrent_filter::kind::all) {
    auto r = cat->search_torrents({q, k}, "created", false, 0, 10);
    EXPECT_TRUE(r);
    std::vector<std::string> names;
    for (const auto& t : r->rows) names.push_back(t.name);
    return names;
  };
  EXPECT_EQ(text("ALPHA"), std::vector<std::string>{"alpha.bin"});
  // LIKE wildcards in the search text are literal.
  EXPECT_EQ(text("100%"), std::vector<std::string>{"beta_100%.bin"});
  EXPECT_EQ(text("a_1"), std::vector<std::string>{"beta_100%.bin"});
  EXPECT_EQ(text("%"), std::vector<std::string>{"beta_100%.bin"});
  EXPECT_TRUE(text("a%b").empty());
  EXPECT_EQ(text("library/"), std::vector<std::string>{"layer"});
  EXPECT_EQ(text("bbbbbbbb"), std::vector<std::string>{"layer"});
  EXPECT_EQ(text(blob_hash.substr(4, 12)), std::vector<std::string>{"layer"});
  EXPECT_EQ(text("alice"), std::vector<std::string>{"gamma.bin"});
  EXPECT_EQ(text("", torrent_filter::kind::blobs), std::vector<std::string>{"layer"});
  EXPECT_EQ(text("", torrent_filter::kind::files).size(), 3u);

  auto row = cat->find_torrent(*info_hash::from_hex(blob_hash));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->repository, "library/app");
  EXPECT_FALSE(cat->search_torrents({}, "drop table", false, 0, 10));

  auto totals = cat->totals();
  ASSERT_TRUE(totals);
  EXPECT_EQ(totals->torrents, 4u);
  EXPECT_EQ(totals->blobs, 1u);
  EXPECT_EQ(totals->files, 3u);
  EXPECT_EQ(totals->size, 11000u);
}

TEST_F(catalog_fixture, orders_by_live_swarm_figures) {
  auto small = add_torrent("small", 1000);
  auto big = add_torrent("big", 2000);
  announce_request req;
  req.port = 1;
  req.left = 0;
  auto key = swarm_key::from(info_hash::from_hex(small)->raw());
  for (std::uint8_t i = 0; i < 3; ++i) {
    peer_identity who{peer_id::from(std::string(20, static_cast<char>('a' + i))), 1, 0};
    swarms.with(key,
                [&](swarm& s) { s.announce(who, req, *ip_address::parse("127.0.0.1"), 0, 10); });
  }
  auto page = cat->search_torrents({}, "seeders", true, 0, 1);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 2u);
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0].name, "small");
  page = cat->search_torrents({}, "seeders", false, 0, 5);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(page->rows[0].name, "big");
  (void)big;
}

TEST_F(catalog_fixture, passkeys_are_on_record_only_with_a_vault) {
  auto before = cat->create_user("old", 1);
  ASSERT_TRUE(before);
  EXPECT_FALSE(*cat->passkey_of(before->user.id));
  std::array<unsigned char, 32> key{};
  cat->keep_passkeys(passkey_vault::with_key(key));
  EXPECT_FALSE(*cat->passkey_of(before->user.id));
  auto rotated = cat->rotate_passkey("old");
  ASSERT_TRUE(rotated);
  EXPECT_EQ(*cat->passkey_of(before->user.id), rotated->passkey);
  auto made = cat->create_user("new", 2);
  ASSERT_TRUE(made);
  EXPECT_TRUE(made->user.passkey_on_record);
  EXPECT_EQ(*cat->passkey_of(made->user.id), made->passkey);
  ASSERT_TRUE(cat->provision_user("configured", "configured-passkey-0123", 3));
  auto configured = cat->find_user("configured");
  ASSERT_TRUE(configured);
  EXPECT_EQ(*cat->passkey_of(configured->id), "configured-passkey-0123");
  // Passwords.
  auto creds = cat->find_credentials("new");
  ASSERT_TRUE(creds);
  EXPECT_FALSE(creds->password_hash);
  ASSERT_TRUE(cat->set_password_hash("new", passwords::hash("pw-12345678", 1000)));
  creds = cat->find_credentials("new");
  ASSERT_TRUE(creds && creds->password_hash);
  EXPECT_TRUE(passwords::verify("pw-12345678", *creds->password_hash));
  EXPECT_FALSE(cat->set_password_hash("nobody", std::nullopt));
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

}  // namespace
}  // namespace blobswarm::tracker
