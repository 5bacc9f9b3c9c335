// The index of record: .torrent inspection and announce-URL substitution,
// users and passkeys, torrent registration rules (idempotency, blob
// digests, segments, conflicts), counter flushes, peer snapshots and the
// access log's redaction. sqlite in a temporary directory; no sockets.
#include <gtest/gtest.h>

#include <fstream>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "db/database.hpp"
#include "tests/support/support.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tracker/announcer.hpp"
#include "tracker/catalog.hpp"
#include "tracker/log_target.hpp"
#include "tracker/peer_snapshot.hpp"
#include "tracker/torrent_file.hpp"

namespace blobswarm::tracker {
namespace {

using test_support::make_torrent;
using test_support::torrent_kind;

std::filesystem::path write_blob(const test::temp_dir& dir, const std::string& name,
                                 std::size_t size, std::uint64_t seed) {
  auto path = dir / name;
  test::write_text(path, test::random_bytes(size, seed));
  return path;
}

digest digest_of(const std::string& bytes) {
  return *digest::from_raw(hash_algorithm::sha256, sha256(bytes));
}

TEST(torrent_file, inspects_v1_and_hybrid_torrents) {
  test::temp_dir dir;
  auto v1 = make_torrent(write_blob(dir, "a.bin", 100000, 1), torrent_kind::v1);
  auto m = inspect_torrent(v1.bytes);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->v1->hex(), v1.v1_hex);
  EXPECT_FALSE(m->v2);
  EXPECT_EQ(m->name, "a.bin");
  EXPECT_EQ(m->size, 100000u);
  EXPECT_EQ(m->piece_length, 16384u);
  EXPECT_TRUE(m->is_private);
  auto hy = make_torrent(write_blob(dir, "b.bin", 50000, 2), torrent_kind::hybrid);
  auto h = inspect_torrent(hy.bytes);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->v1->hex(), hy.v1_hex);
  EXPECT_EQ(h->v2->hex(), hy.v2_hex);
}

TEST(torrent_file, rejects_what_is_not_a_torrent) {
  for (std::string bad : {std::string(), std::string("hello"), std::string("d4:infoi1ee"),
                          std::string("d8:announce3:abce"), std::string(1000, 'x')}) {
    auto m = inspect_torrent(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code, errc::invalid_argument);
  }
}

// Found by fuzz/tracker_torrent: with two "info" keys, libtorrent (and so
// the registration) used the first and the handed-out copy kept the last,
// so callers were sent to a swarm nobody had registered.
TEST(torrent_file, refuses_a_key_twice_so_the_copy_handed_out_is_the_registered_torrent) {
  test::temp_dir dir;
  auto a = make_torrent(write_blob(dir, "a.bin", 40000, 1), torrent_kind::v1);
  auto b = make_torrent(write_blob(dir, "b.bin", 40000, 2), torrent_kind::v1);
  auto info_of = [](const std::string& t) {
    lt::error_code ec;
    auto n = lt::bdecode(lt::span<const char>(t.data(), static_cast<std::ptrdiff_t>(t.size())), ec);
    auto s = n.dict_find_dict("info").data_section();
    return std::string(s.data(), static_cast<std::size_t>(s.size()));
  };
  auto twice = "d4:info" + info_of(a.bytes) + "4:info" + info_of(b.bytes) + "e";
  auto m = inspect_torrent(twice);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, errc::invalid_argument);
  EXPECT_NE(m.error().message.find("'info' appears twice"), std::string::npos) << m.error().message;
  // Stored torrents from before the check: the copy keeps the first, which
  // is the one libtorrent hashes.
  auto out = with_announce(twice, "http://127.0.0.1:1/announce/pk");
  ASSERT_TRUE(out) << out.error().message;
  auto again = inspect_torrent(*out);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->v1->hex(), a.v1_hex);
  // Each alone is fine.
  EXPECT_TRUE(inspect_torrent("d4:info" + info_of(a.bytes) + "e"));
}

TEST(torrent_file, substitutes_the_announce_url_without_touching_the_info_dict) {
  test::temp_dir dir;
  for (auto kind : {torrent_kind::v1, torrent_kind::hybrid, torrent_kind::v2}) {
    auto t = make_torrent(write_blob(dir, "c.bin", 70000, 3), kind, 16384,
                          "http://old.example/announce");
    auto out = with_announce(t.bytes, "http://127.0.0.1:1/announce/pk");
    ASSERT_TRUE(out) << out.error().message;
    lt::error_code ec;
    lt::torrent_info ti(out->data(), static_cast<int>(out->size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(ti.trackers().size(), 1u);
    EXPECT_EQ(ti.trackers()[0].url, "http://127.0.0.1:1/announce/pk");
    auto m = inspect_torrent(*out);
    EXPECT_EQ(m->v1 ? m->v1->hex() : "", t.v1_hex);
    EXPECT_EQ(m->v2 ? m->v2->hex() : "", t.v2_hex);
    auto none = with_announce(t.bytes, std::nullopt);
    ASSERT_TRUE(none);
    lt::torrent_info bare(none->data(), static_cast<int>(none->size()), ec);
    EXPECT_TRUE(bare.trackers().empty());
  }
}

struct catalog_fixture {
  test::temp_dir dir;
  user_table users;
  swarm_table swarms{16};
  std::unique_ptr<catalog> cat;

  catalog_fixture() {
    auto s = store::open(dir / "tracker.db");
    EXPECT_TRUE(s) << s.error().message;
    cat = std::make_unique<catalog>(std::move(*s), users, swarms);
    EXPECT_TRUE(cat->load());
  }
  std::string torrent(const std::string& name, std::size_t size, std::uint64_t seed,
                      torrent_kind kind = torrent_kind::v1) {
    return make_torrent(write_blob(dir, name, size, seed), kind).bytes;
  }
};

TEST(catalog, creates_users_with_passkeys_stored_only_as_hashes) {
  catalog_fixture f;
  auto u = f.cat->create_user("node-1", 100);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->passkey.size(), 32u);
  EXPECT_TRUE(is_lower_hex(u->passkey));
  EXPECT_EQ(f.users.find_id(passkey_hasher()(u->passkey)), std::optional<std::uint32_t>(1));
  EXPECT_EQ(f.cat->create_user("node-1", 101).error().code, errc::conflict);
  EXPECT_EQ(f.cat->create_user("bad name", 101).error().code, errc::invalid_argument);
  EXPECT_EQ(f.cat->create_user("", 101).error().code, errc::invalid_argument);
  EXPECT_EQ(f.cat->create_user(std::string(65, 'a'), 101).error().code, errc::invalid_argument);
  // The database holds no passkey.
  std::ifstream in(f.dir / "tracker.db", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(all.find(u->passkey), std::string::npos);
  // And survives a restart.
  user_table users;
  swarm_table swarms(4);
  catalog again(*store::open(f.dir / "tracker.db"), users, swarms);
  ASSERT_TRUE(again.load());
  EXPECT_TRUE(users.find_id(passkey_hasher()(u->passkey)));
}

TEST(catalog, rotates_and_deletes_users) {
  catalog_fixture f;
  auto u = *f.cat->create_user("node-1", 100);
  auto r = f.cat->rotate_passkey("node-1");
  ASSERT_TRUE(r);
  EXPECT_NE(r->passkey, u.passkey);
  EXPECT_FALSE(f.users.find_id(passkey_hasher()(u.passkey)));
  EXPECT_TRUE(f.users.find_id(passkey_hasher()(r->passkey)));
  EXPECT_EQ(f.cat->rotate_passkey("nobody").error().code, errc::not_found);

  auto t = f.torrent("x.bin", 40000, 9);
  auto reg = f.cat->register_torrent(t, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(reg);
  f.swarms.with(reg->row.primary, [&](swarm& s) {
    announce_request req;
    req.port = 1;
    s.announce({peer_id::from("-TT0001-000000000001"), static_cast<std::uint32_t>(u.user.id), 1},
               req, *ip_address::parse("10.0.0.1"), 0, 1);
  });
  EXPECT_EQ(f.swarms.totals().peers, 1u);
  ASSERT_TRUE(f.cat->delete_user("node-1"));
  EXPECT_FALSE(f.users.find_id(passkey_hasher()(r->passkey)));
  EXPECT_EQ(f.swarms.totals().peers, 0u);
  EXPECT_EQ(f.cat->delete_user("node-1").error().code, errc::not_found);
  EXPECT_TRUE(f.cat->create_user("node-1", 5));  // the name is free again
}

TEST(catalog, registers_torrents_idempotently_and_whitelists_them) {
  catalog_fixture f;
  auto bytes = f.torrent("blob", 100000, 1);
  auto d = digest_of("blob-1");
  auto a = f.cat->register_torrent(bytes, d, std::nullopt, 10);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->created);
  EXPECT_EQ(a->row.blob, d);
  EXPECT_TRUE(f.swarms.contains(a->row.primary));
  auto again = f.cat->register_torrent(bytes, d, std::nullopt, 11);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->row.id, a->row.id);
  // Without a digest, the same torrent is still "already registered".
  EXPECT_FALSE(f.cat->register_torrent(bytes, std::nullopt, std::nullopt, 12)->created);
  EXPECT_EQ(f.swarms.totals().swarms, 1u);
}

TEST(catalog, refuses_conflicting_registrations_and_stores_nothing) {
  catalog_fixture f;
  auto d = digest_of("blob-2");
  auto whole = f.torrent("w", 100000, 1);
  auto other = f.torrent("w2", 100000, 2);
  ASSERT_TRUE(f.cat->register_torrent(whole, d, std::nullopt, 1));
  auto c = f.cat->register_torrent(other, d, std::nullopt, 2);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::conflict);
  EXPECT_NE(c.error().message.find("already has a different whole torrent"), std::string::npos);
  // The same torrent filed under another digest.
  EXPECT_EQ(f.cat->register_torrent(whole, digest_of("other"), std::nullopt, 3).error().code,
            errc::conflict);
  // A segment needs a digest; garbage is not a torrent.
  EXPECT_EQ(f.cat->register_torrent(other, std::nullopt, 0, 3).error().code,
            errc::invalid_argument);
  EXPECT_EQ(f.cat->register_torrent("garbage", d, std::nullopt, 3).error().code,
            errc::invalid_argument);
  EXPECT_EQ(f.cat->list_torrents(0, 100)->size(), 1u);
  EXPECT_EQ(f.swarms.totals().swarms, 1u);
}

TEST(catalog, files_segments_of_a_blob_and_finds_them) {
  catalog_fixture f;
  auto d = digest_of("big-blob");
  auto s0 = f.torrent("s0", 30000, 10), s1 = f.torrent("s1", 30000, 11);
  auto s1b = f.torrent("s1b", 30000, 12), whole = f.torrent("whole", 60000, 13);
  ASSERT_TRUE(f.cat->register_torrent(s1, d, 1, 1)->created);
  ASSERT_TRUE(f.cat->register_torrent(s0, d, 0, 1)->created);
  EXPECT_FALSE(f.cat->register_torrent(s0, d, 0, 2)->created);
  EXPECT_EQ(f.cat->register_torrent(s1b, d, 1, 2).error().code, errc::conflict);
  EXPECT_EQ(f.cat->register_torrent(s0, d, 2, 2).error().code, errc::conflict);
  auto b = f.cat->find_blob(d);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->whole);
  ASSERT_EQ(b->segments.size(), 2u);
  EXPECT_EQ(b->segments[0].segment, 0);
  EXPECT_EQ(b->segments[1].segment, 1);
  ASSERT_TRUE(f.cat->register_torrent(whole, d, std::nullopt, 3)->created);
  b = f.cat->find_blob(d);
  ASSERT_TRUE(b->whole);
  EXPECT_EQ(b->segments.size(), 2u);
  auto seg = f.cat->find_segment(d, 1);
  ASSERT_TRUE(seg && *seg);
  EXPECT_EQ((*seg)->name, "s1");
  EXPECT_FALSE(*f.cat->find_segment(d, 7));
  // Retiring a segment torrent.
  ASSERT_TRUE(f.cat->delete_torrent(*(*seg)->v1));
  EXPECT_EQ(f.cat->find_blob(d)->segments.size(), 1u);
  EXPECT_EQ(f.swarms.totals().swarms, 2u);
}

// Every way in (REST API, web UI upload) registers through the catalog,
// which keeps the swarm private: a torrent without private=1 gets it.
TEST(catalog, registers_a_public_torrent_with_the_private_flag_added) {
  catalog_fixture f;
  auto pub =
      test_support::make_public_torrent(write_blob(f.dir, "p.bin", 60000, 6), torrent_kind::v2);
  auto r = f.cat->register_torrent(pub.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->created);
  EXPECT_TRUE(r->row.is_private);
  ASSERT_TRUE(r->made_private_from);
  EXPECT_EQ(r->made_private_from->hex(), pub.v2_hex);
  ASSERT_TRUE(r->row.v2);
  EXPECT_NE(r->row.v2->hex(), pub.v2_hex);
  EXPECT_FALSE(f.swarms.contains(swarm_key::from(info_hash::from_hex(pub.v2_hex)->raw())));
  auto stored = f.cat->torrent_bytes(r->row.id);
  ASSERT_TRUE(stored);
  auto meta = inspect_torrent(*stored);
  ASSERT_TRUE(meta);
  EXPECT_TRUE(meta->is_private);
  EXPECT_EQ(meta->v2->hex(), r->row.v2->hex());
  // Already private: registered as it is.
  auto priv = make_torrent(write_blob(f.dir, "q.bin", 60000, 7), torrent_kind::v1);
  auto same = f.cat->register_torrent(priv.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->made_private_from);
  EXPECT_EQ(same->row.v1->hex(), priv.v1_hex);
}

TEST(catalog, files_hybrid_torrents_under_both_hashes_and_reloads) {
  catalog_fixture f;
  auto t = make_torrent(write_blob(f.dir, "h.bin", 80000, 4), torrent_kind::hybrid);
  auto r = f.cat->register_torrent(t.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r);
  auto v1 = *info_hash::from_hex(t.v1_hex), v2 = *info_hash::from_hex(t.v2_hex);
  EXPECT_TRUE(f.swarms.contains(swarm_key::from(v1.raw())));
  EXPECT_TRUE(f.swarms.contains(swarm_key::from(v2.raw())));
  EXPECT_EQ(f.cat->find_torrent(v2)->id, r->row.id);
  EXPECT_EQ(f.cat->find_torrent(*info_hash::from_hex(t.v2_trunc_hex))->id, r->row.id);
  // A v2-only torrent is filed under its truncated v2 hash.
  auto v2only = make_torrent(write_blob(f.dir, "v2.bin", 50000, 5), torrent_kind::v2);
  auto r2 = f.cat->register_torrent(v2only.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_TRUE(f.swarms.contains(swarm_key::from(info_hash::from_hex(v2only.v2_hex)->raw())));

  swarm_table fresh(16);
  user_table users;
  auto s = store::open(f.dir / "tracker.db");
  catalog again(std::move(*s), users, fresh);
  ASSERT_TRUE(again.load());
  EXPECT_EQ(fresh.totals().swarms, 2u);
  EXPECT_TRUE(fresh.contains(swarm_key::from(v2.raw())));
  EXPECT_EQ(f.cat->torrent_bytes(r->row.id).value(), t.bytes);
}

TEST(catalog, flushes_counters_in_batches_and_keeps_them_when_writing_fails) {
  catalog_fixture f;
  auto u = *f.cat->create_user("node-1", 1);
  auto reg = *f.cat->register_torrent(f.torrent("t", 40000, 3), std::nullopt, std::nullopt, 1);
  zone_map zones;
  announcer a({}, f.users, f.swarms, zones);
  announce_scratch scratch(1);
  auto q = [&](std::uint64_t up, std::uint64_t down, const char* event) {
    return "info_hash=" + http::percent_encode(reg.row.primary.view()) +
           "&peer_id=-TT0001-000000000001&port=1&left=0&key=1" +
           fmt::format("&uploaded={}&downloaded={}&event={}", up, down, event);
  };
  auto remote = *ip_address::parse("10.0.0.1");
  a.announce(u.passkey, q(0, 0, "started"), remote, 10, scratch);
  a.announce(u.passkey, q(100, 1000, "completed"), remote, 11, scratch);

  // A failing write (a second connection adds a trigger that aborts
  // updates) keeps every counter for the next flush.
  auto other = db::database::open(f.dir / "tracker.db");
  ASSERT_TRUE(other);
  ASSERT_TRUE(
      other->exec("CREATE TRIGGER no_updates BEFORE UPDATE ON torrents "
                  "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"));
  auto failed = f.cat->flush_stats();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("disk says no"), std::string::npos);
  EXPECT_EQ(f.cat->find_torrent(*reg.row.v1)->uploaded, 0u);
  ASSERT_EQ(a.announce(u.passkey, q(150, 1000, "empty"), remote, 12, scratch).result,
            announce_result::ok);
  ASSERT_TRUE(other->exec("DROP TRIGGER no_updates"));
  auto flushed = f.cat->flush_stats();
  ASSERT_TRUE(flushed) << flushed.error().message;
  EXPECT_EQ(flushed->torrents, 1u);
  EXPECT_EQ(flushed->users, 1u);
  auto t = *f.cat->find_torrent(*reg.row.v1);
  EXPECT_EQ(t.uploaded, 150u);
  EXPECT_EQ(t.downloaded, 1000u);
  EXPECT_EQ(t.completed, 1u);
  auto user = *f.cat->find_user("node-1");
  EXPECT_EQ(user.uploaded, 150u);
  EXPECT_EQ(user.downloaded, 1000u);
  EXPECT_EQ(user.completed, 1u);
  EXPECT_EQ(user.announces, 3u);
  EXPECT_EQ(user.last_announce, 12);
  // Nothing pending any more: another flush writes nothing.
  EXPECT_EQ(f.cat->flush_stats()->torrents, 0u);
  // Deleting a torrent keeps nothing pending behind.
  ASSERT_TRUE(f.cat->delete_torrent(*reg.row.v1));
  EXPECT_EQ(f.cat->find_torrent(*reg.row.v1).error().code, errc::not_found);
}

TEST(peer_snapshot, restores_fresh_peers_of_known_users_and_swarms) {
  test::temp_dir dir;
  swarm_table swarms(8);
  user_table users;
  users.add(passkey_hasher()("a"), 1, "a");
  users.add(passkey_hasher()("b"), 2, "b");
  auto k1 = swarm_key::from(std::string(20, '1')), k2 = swarm_key::from(std::string(20, '2'));
  ASSERT_TRUE(swarms.add({1, k1, std::nullopt, 0}));
  ASSERT_TRUE(swarms.add({2, k2, std::nullopt, 0}));
  auto join = [&](const swarm_key& k, int n, std::uint32_t user, std::uint32_t when, const char* ip,
                  std::uint64_t left) {
    announce_request r;
    r.port = static_cast<std::uint16_t>(6000 + n);
    r.left = left;
    r.uploaded = 1000u * n;
    swarms.with(k, [&](swarm& s) {
      s.announce({peer_id::from(fmt::format("-TT0001-{:012d}", n)), user, 9}, r,
                 *ip_address::parse(ip), zone_of_name("z"), when);
    });
  };
  join(k1, 1, 1, 1000, "10.0.0.1", 0);
  join(k1, 1, 1, 1000, "fd00::1", 0);  // the same peer, IPv6 too
  join(k1, 2, 2, 1000, "10.0.0.2", 5);
  join(k2, 3, 2, 100, "10.0.0.3", 5);   // old by the time it is read
  join(k2, 4, 3, 1000, "10.0.0.4", 5);  // user 3 is unknown
  auto saved = save_peer_snapshot(swarms, dir / "peers");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->peers, 4u);

  swarm_table fresh(8);
  ASSERT_TRUE(fresh.add({1, k1, std::nullopt, 0}));
  ASSERT_TRUE(fresh.add({2, k2, std::nullopt, 0}));
  auto loaded = load_peer_snapshot(fresh, users, dir / "peers", 1100, 600);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->peers, 2u);
  EXPECT_EQ(loaded->dropped, 2u);
  EXPECT_FALSE(std::filesystem::exists(dir / "peers"));  // never restored twice
  fresh.with(k1, [&](swarm& s) {
    ASSERT_EQ(s.peers().size(), 2u);
    EXPECT_EQ(s.seeders(), 1u);
    const peer& p = s.peers()[0];
    EXPECT_TRUE(p.has_v4());
    EXPECT_TRUE(p.has_v6());
    EXPECT_EQ(p.uploaded, 1000u);
    EXPECT_EQ(p.zone, zone_of_name("z"));
    EXPECT_EQ(p.key, 9u);
  });
  // No file: nothing restored. A damaged file: an error, nothing restored.
  EXPECT_EQ(load_peer_snapshot(fresh, users, dir / "peers", 1100, 600)->peers, 0u);
  test::write_text(dir / "bad", "BSWPEER1 but then garbage");
  EXPECT_EQ(load_peer_snapshot(fresh, users, dir / "bad", 1100, 600).error().code, errc::corrupt);
}

TEST(loggable_target, redacts_passkeys_and_keys) {
  EXPECT_EQ(loggable_target("/announce/0123456789abcdef0123456789abcdef?info_hash=%AB&key=DEADBEEF"
                            "&port=1"),
            "/announce/0123…?info_hash=%AB&key=DEAD…&port=1");
  EXPECT_EQ(loggable_target("/scrape/0123456789abcdef?info_hash=x"), "/scrape/0123…?info_hash=x");
  EXPECT_EQ(loggable_target("/api/v1/users"), "/api/v1/users");
  auto long_target = loggable_target("/api/v1/torrents?" + std::string(1000, 'a'));
  EXPECT_LE(long_target.size(), 310u);
}

}  // namespace
}  // namespace blobswarm::tracker
