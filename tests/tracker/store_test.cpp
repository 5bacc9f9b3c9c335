// The index of record, the same suite on both engines: sqlite (a file) and
// PostgreSQL (a real server on loopback, started by the test as the
// postgres user when running as root; tests/support/engines.hpp). Users
// and passkeys, torrent registration rules (idempotency, blob digests,
// segments, conflicts), search, counter flushes that survive a failing
// write, sealed passkeys, web UI sessions; then what only a shared store
// does: migrations applied once by replicas starting together, concurrent
// registrations, and the change feed replicas follow.
#include <gtest/gtest.h>

#include <thread>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "db/database.hpp"
#include "db/postgres.hpp"
#include "tests/support/engines.hpp"
#include "tests/support/support.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tracker/announcer.hpp"
#include "tracker/catalog.hpp"
#include "tracker/memory_session_store.hpp"
#include "tracker/passkey_vault.hpp"
#include "tracker/passwords.hpp"
#include "tracker/pg_store.hpp"
#include "tracker/shared_session_store.hpp"
#include "tracker/torrent_file.hpp"

namespace blobswarm::tracker {
namespace {

using test_support::make_torrent;
using test_support::torrent_kind;

enum class engine { sqlite, postgresql };

std::string engine_name(const ::testing::TestParamInfo<engine>& i) {
  return i.param == engine::sqlite ? "sqlite" : "postgresql";
}

std::filesystem::path write_blob(const test::temp_dir& dir, const std::string& name,
                                 std::size_t size, std::uint64_t seed) {
  auto path = dir / name;
  test::write_text(path, test::random_bytes(size, seed));
  return path;
}

digest digest_of(const std::string& bytes) {
  return *digest::from_raw(hash_algorithm::sha256, sha256(bytes));
}

std::string torrent_bytes_for(const test::temp_dir& dir) {
  return make_torrent(write_blob(dir, "late", 30000, 99), torrent_kind::v1).bytes;
}

// A fresh database of the engine under test, and a catalog on it.
class store_suite : public ::testing::TestWithParam<engine> {
 protected:
  void SetUp() override {
    where_ = GetParam() == engine::sqlite ? (dir / "tracker.db").string()
                                          : test::shared_postgres().create_database();
    cat = std::make_unique<catalog>(open(), users, swarms);
    ASSERT_TRUE(cat->load());
  }

  // Another store on the same database (a restart, or another replica).
  std::unique_ptr<store> open() {
    auto s = open_store(where_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  // Everything the database holds, as bytes (to check a secret is not there).
  std::string dump() {
    if (GetParam() == engine::sqlite) return test::read_text(dir / "tracker.db");
    auto c = db::pg_connection::open(where_);
    EXPECT_TRUE(c);
    std::string all;
    for (auto table : {"users", "torrents", "sessions"}) {
      auto r = c->exec(fmt::format("SELECT row_to_json(t)::text FROM {} t", table));
      EXPECT_TRUE(r) << r.error().message;
      for (int i = 0; r && i < r->size(); ++i) all += r->bytes(i, 0);
    }
    return all;
  }

  // Through a second connection, as an operator (or a full disk) would:
  // every UPDATE of torrents fails with `message` until mended.
  void break_torrent_updates(const std::string& message) {
    if (GetParam() == engine::sqlite) {
      auto other = db::database::open(dir / "tracker.db");
      ASSERT_TRUE(other);
      ASSERT_TRUE(
          other->exec(fmt::format("CREATE TRIGGER no_updates BEFORE UPDATE ON torrents "
                                  "BEGIN SELECT RAISE(ABORT, '{}'); END",
                                  message)));
      return;
    }
    auto c = db::pg_connection::open(where_);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->exec_script(fmt::format(
        "CREATE FUNCTION no_updates() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '{}'; END $$ "
        "LANGUAGE plpgsql; CREATE TRIGGER no_updates BEFORE UPDATE ON torrents "
        "FOR EACH ROW EXECUTE FUNCTION no_updates()",
        message)));
  }
  void mend_torrent_updates() {
    if (GetParam() == engine::sqlite) {
      auto other = db::database::open(dir / "tracker.db");
      ASSERT_TRUE(other);
      ASSERT_TRUE(other->exec("DROP TRIGGER no_updates"));
      return;
    }
    auto c = db::pg_connection::open(where_);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->exec_script("DROP TRIGGER no_updates ON torrents"));
  }

  std::string torrent(const std::string& name, std::size_t size, std::uint64_t seed,
                      torrent_kind kind = torrent_kind::v1) {
    return make_torrent(write_blob(dir, name, size, seed), kind).bytes;
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
  std::string where_;
  user_table users;
  swarm_table swarms{16};
  std::unique_ptr<catalog> cat;
  int counter = 0;
};

INSTANTIATE_TEST_SUITE_P(engines, store_suite,
                         ::testing::Values(engine::sqlite, engine::postgresql), engine_name);

TEST_P(store_suite, creates_users_with_passkeys_stored_only_as_hashes) {
  auto u = cat->create_user("node-1", 100);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->passkey.size(), 32u);
  EXPECT_TRUE(is_lower_hex(u->passkey));
  EXPECT_EQ(users.find_id(passkey_hasher()(u->passkey)), std::optional<std::uint32_t>(1));
  EXPECT_EQ(cat->create_user("node-1", 101).error().code, errc::conflict);
  EXPECT_EQ(cat->create_user("bad name", 101).error().code, errc::invalid_argument);
  EXPECT_EQ(cat->create_user("", 101).error().code, errc::invalid_argument);
  EXPECT_EQ(cat->create_user(std::string(65, 'a'), 101).error().code, errc::invalid_argument);
  // The database holds no passkey.
  EXPECT_EQ(dump().find(u->passkey), std::string::npos);
  // And survives a restart.
  user_table users;
  swarm_table swarms(4);
  catalog again(open(), users, swarms);
  ASSERT_TRUE(again.load());
  EXPECT_TRUE(users.find_id(passkey_hasher()(u->passkey)));
}

TEST_P(store_suite, rotates_and_deletes_users) {
  auto u = *cat->create_user("node-1", 100);
  auto r = cat->rotate_passkey("node-1");
  ASSERT_TRUE(r);
  EXPECT_NE(r->passkey, u.passkey);
  EXPECT_FALSE(users.find_id(passkey_hasher()(u.passkey)));
  EXPECT_TRUE(users.find_id(passkey_hasher()(r->passkey)));
  EXPECT_EQ(cat->rotate_passkey("nobody").error().code, errc::not_found);

  auto t = torrent("x.bin", 40000, 9);
  auto reg = cat->register_torrent(t, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(reg);
  swarms.with(reg->row.primary, [&](swarm& s) {
    announce_request req;
    req.port = 1;
    s.announce({peer_id::from("-TT0001-000000000001"), static_cast<std::uint32_t>(u.user.id), 1},
               req, *ip_address::parse("10.0.0.1"), 0, 1);
  });
  EXPECT_EQ(swarms.totals().peers, 1u);
  ASSERT_TRUE(cat->delete_user("node-1"));
  EXPECT_FALSE(users.find_id(passkey_hasher()(r->passkey)));
  EXPECT_EQ(swarms.totals().peers, 0u);
  EXPECT_EQ(cat->delete_user("node-1").error().code, errc::not_found);
  EXPECT_TRUE(cat->create_user("node-1", 5));  // the name is free again
}

TEST_P(store_suite, registers_torrents_idempotently_and_whitelists_them) {
  auto bytes = torrent("blob", 100000, 1);
  auto d = digest_of("blob-1");
  auto a = cat->register_torrent(bytes, d, std::nullopt, 10);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->created);
  EXPECT_EQ(a->row.blob, d);
  EXPECT_TRUE(swarms.contains(a->row.primary));
  auto again = cat->register_torrent(bytes, d, std::nullopt, 11);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->row.id, a->row.id);
  // Without a digest, the same torrent is still "already registered".
  EXPECT_FALSE(cat->register_torrent(bytes, std::nullopt, std::nullopt, 12)->created);
  EXPECT_EQ(swarms.totals().swarms, 1u);
}

TEST_P(store_suite, registers_a_public_torrent_with_the_private_flag_added) {
  auto pub =
      test_support::make_public_torrent(write_blob(dir, "p.bin", 60000, 6), torrent_kind::v2);
  auto r = cat->register_torrent(pub.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->created);
  EXPECT_TRUE(r->row.is_private);
  ASSERT_TRUE(r->made_private_from);
  EXPECT_EQ(r->made_private_from->hex(), pub.v2_hex);
  ASSERT_TRUE(r->row.v2);
  EXPECT_NE(r->row.v2->hex(), pub.v2_hex);
  EXPECT_FALSE(swarms.contains(swarm_key::from(info_hash::from_hex(pub.v2_hex)->raw())));
  auto stored = cat->torrent_bytes(r->row.id);
  ASSERT_TRUE(stored);
  auto meta = inspect_torrent(*stored);
  ASSERT_TRUE(meta);
  EXPECT_TRUE(meta->is_private);
  EXPECT_EQ(meta->v2->hex(), r->row.v2->hex());
  // Already private: registered as it is.
  auto priv = make_torrent(write_blob(dir, "q.bin", 60000, 7), torrent_kind::v1);
  auto same = cat->register_torrent(priv.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->made_private_from);
  EXPECT_EQ(same->row.v1->hex(), priv.v1_hex);
}

TEST_P(store_suite, refuses_conflicting_registrations_and_stores_nothing) {
  auto d = digest_of("blob-2");
  auto whole = torrent("w", 100000, 1);
  auto other = torrent("w2", 100000, 2);
  ASSERT_TRUE(cat->register_torrent(whole, d, std::nullopt, 1));
  auto c = cat->register_torrent(other, d, std::nullopt, 2);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::conflict);
  EXPECT_NE(c.error().message.find("already has a different whole torrent"), std::string::npos);
  // The same torrent filed under another digest.
  EXPECT_EQ(cat->register_torrent(whole, digest_of("other"), std::nullopt, 3).error().code,
            errc::conflict);
  // A segment needs a digest; garbage is not a torrent.
  EXPECT_EQ(cat->register_torrent(other, std::nullopt, 0, 3).error().code, errc::invalid_argument);
  EXPECT_EQ(cat->register_torrent("garbage", d, std::nullopt, 3).error().code,
            errc::invalid_argument);
  EXPECT_EQ(cat->list_torrents(0, 100)->size(), 1u);
  EXPECT_EQ(swarms.totals().swarms, 1u);
}

TEST_P(store_suite, files_segments_of_a_blob_and_finds_them) {
  auto d = digest_of("big-blob");
  auto s0 = torrent("s0", 30000, 10), s1 = torrent("s1", 30000, 11);
  auto s1b = torrent("s1b", 30000, 12), whole = torrent("whole", 60000, 13);
  ASSERT_TRUE(cat->register_torrent(s1, d, 1, 1)->created);
  ASSERT_TRUE(cat->register_torrent(s0, d, 0, 1)->created);
  EXPECT_FALSE(cat->register_torrent(s0, d, 0, 2)->created);
  EXPECT_EQ(cat->register_torrent(s1b, d, 1, 2).error().code, errc::conflict);
  EXPECT_EQ(cat->register_torrent(s0, d, 2, 2).error().code, errc::conflict);
  auto b = cat->find_blob(d);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->whole);
  ASSERT_EQ(b->segments.size(), 2u);
  EXPECT_EQ(b->segments[0].segment, 0);
  EXPECT_EQ(b->segments[1].segment, 1);
  ASSERT_TRUE(cat->register_torrent(whole, d, std::nullopt, 3)->created);
  b = cat->find_blob(d);
  ASSERT_TRUE(b->whole);
  EXPECT_EQ(b->segments.size(), 2u);
  auto seg = cat->find_segment(d, 1);
  ASSERT_TRUE(seg && *seg);
  EXPECT_EQ((*seg)->name, "s1");
  EXPECT_FALSE(*cat->find_segment(d, 7));
  // Retiring a segment torrent.
  ASSERT_TRUE(cat->delete_torrent(*(*seg)->v1));
  EXPECT_EQ(cat->find_blob(d)->segments.size(), 1u);
  EXPECT_EQ(swarms.totals().swarms, 2u);
}

TEST_P(store_suite, files_hybrid_torrents_under_both_hashes_and_reloads) {
  auto t = make_torrent(write_blob(dir, "h.bin", 80000, 4), torrent_kind::hybrid);
  auto r = cat->register_torrent(t.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r);
  auto v1 = *info_hash::from_hex(t.v1_hex), v2 = *info_hash::from_hex(t.v2_hex);
  EXPECT_TRUE(swarms.contains(swarm_key::from(v1.raw())));
  EXPECT_TRUE(swarms.contains(swarm_key::from(v2.raw())));
  EXPECT_EQ(cat->find_torrent(v2)->id, r->row.id);
  EXPECT_EQ(cat->find_torrent(*info_hash::from_hex(t.v2_trunc_hex))->id, r->row.id);
  // A v2-only torrent is filed under its truncated v2 hash.
  auto v2only = make_torrent(write_blob(dir, "v2.bin", 50000, 5), torrent_kind::v2);
  auto r2 = cat->register_torrent(v2only.bytes, std::nullopt, std::nullopt, 1);
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_TRUE(swarms.contains(swarm_key::from(info_hash::from_hex(v2only.v2_hex)->raw())));

  swarm_table fresh(16);
  user_table users;
  catalog again(open(), users, fresh);
  ASSERT_TRUE(again.load());
  EXPECT_EQ(fresh.totals().swarms, 2u);
  EXPECT_TRUE(fresh.contains(swarm_key::from(v2.raw())));
  EXPECT_EQ(cat->torrent_bytes(r->row.id).value(), t.bytes);
}

TEST_P(store_suite, flushes_counters_in_batches_and_keeps_them_when_writing_fails) {
  auto u = *cat->create_user("node-1", 1);
  auto reg = *cat->register_torrent(torrent("t", 40000, 3), std::nullopt, std::nullopt, 1);
  zone_map zones;
  announcer a({}, users, swarms, zones);
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
  break_torrent_updates("disk says no");
  auto failed = cat->flush_stats();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("disk says no"), std::string::npos);
  EXPECT_EQ(cat->find_torrent(*reg.row.v1)->uploaded, 0u);
  ASSERT_EQ(a.announce(u.passkey, q(150, 1000, "empty"), remote, 12, scratch).result,
            announce_result::ok);
  mend_torrent_updates();
  auto flushed = cat->flush_stats();
  ASSERT_TRUE(flushed) << flushed.error().message;
  EXPECT_EQ(flushed->torrents, 1u);
  EXPECT_EQ(flushed->users, 1u);
  auto t = *cat->find_torrent(*reg.row.v1);
  EXPECT_EQ(t.uploaded, 150u);
  EXPECT_EQ(t.downloaded, 1000u);
  EXPECT_EQ(t.completed, 1u);
  auto user = *cat->find_user("node-1");
  EXPECT_EQ(user.uploaded, 150u);
  EXPECT_EQ(user.downloaded, 1000u);
  EXPECT_EQ(user.completed, 1u);
  EXPECT_EQ(user.announces, 3u);
  EXPECT_EQ(user.last_announce, 12);
  // Nothing pending any more: another flush writes nothing.
  EXPECT_EQ(cat->flush_stats()->torrents, 0u);
  // Deleting a torrent keeps nothing pending behind.
  ASSERT_TRUE(cat->delete_torrent(*reg.row.v1));
  EXPECT_EQ(cat->find_torrent(*reg.row.v1).error().code, errc::not_found);
}

TEST_P(store_suite, search_filters_sorts_and_pages) {
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

TEST_P(store_suite, files_pulled_from_urls_are_files_and_keep_their_url) {
  auto blob = *digest::parse("sha256:" + std::string(64, 'c'));
  auto pulled = *digest::parse("sha256:" + std::string(64, 'd'));
  add_torrent("upload.bin", 1000);
  add_torrent("layer", 2000, blob, {"library/app", std::nullopt, std::nullopt});
  auto model = add_torrent("model", 3000, pulled,
                           {std::nullopt, std::nullopt, "https://huggingface.co/o/m/model.bin"});
  auto names = [&](torrent_filter f) {
    std::vector<std::string> out;
    auto found = cat->search_torrents(f, "name", false, 0, 10);
    for (const auto& t : found->rows) out.push_back(t.name);
    return out;
  };
  EXPECT_EQ(names({"", torrent_filter::kind::files}),
            (std::vector<std::string>{"model", "upload.bin"}));
  EXPECT_EQ(names({"", torrent_filter::kind::blobs}), std::vector<std::string>{"layer"});
  EXPECT_EQ(names({"huggingface"}), std::vector<std::string>{"model"});
  auto totals = cat->totals();
  EXPECT_EQ(totals->blobs, 1u);
  EXPECT_EQ(totals->files, 2u);
  EXPECT_EQ(cat->find_torrent(*info_hash::from_hex(model))->source_url,
            "https://huggingface.co/o/m/model.bin");

  // The same bytes pulled from another URL: the torrent records the new one.
  auto file = dir.path() / "model";
  auto again =
      cat->register_torrent(make_torrent(file, torrent_kind::v1).bytes, pulled, std::nullopt, 200,
                            {std::nullopt, std::nullopt, "https://mirror.example/m.bin"});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(cat->find_torrent(*info_hash::from_hex(model))->source_url,
            "https://mirror.example/m.bin");
  // Without a URL, a registration keeps the one it has.
  ASSERT_TRUE(cat->register_torrent(make_torrent(file, torrent_kind::v1).bytes, pulled,
                                    std::nullopt, 201, {}));
  EXPECT_EQ(cat->find_torrent(*info_hash::from_hex(model))->source_url,
            "https://mirror.example/m.bin");
}

TEST_P(store_suite, orders_by_live_swarm_figures) {
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

TEST_P(store_suite, passkeys_are_on_record_only_with_a_vault) {
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

// --- only a shared store ----------------------------------------------------

TEST(shared_store, migrations_run_once_when_replicas_start_together) {
  auto url = test::shared_postgres().create_database();
  constexpr int replicas = 6;
  std::vector<std::thread> threads;
  std::vector<int> applied(replicas, -1);
  std::vector<std::string> errors(replicas);
  std::atomic<int> ready{0};
  for (int i = 0; i < replicas; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < replicas) std::this_thread::yield();  // all open at the same moment
      auto s = pg_store::open(url, {});
      if (s) {
        applied[i] = (*s)->migrations_applied();
      } else {
        errors[i] = s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  int migrated = 0;
  for (int i = 0; i < replicas; ++i) {
    EXPECT_TRUE(errors[i].empty()) << errors[i];
    if (applied[i] > 0) ++migrated;
  }
  EXPECT_EQ(migrated, 1) << "exactly one replica applies the schema";
  auto c = db::pg_connection::open(url);
  ASSERT_TRUE(c);
  auto rows = c->exec("SELECT count(*), count(DISTINCT version) FROM schema_version");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->integer(0, 0), rows->integer(0, 1));
  EXPECT_GE(rows->integer(0, 0), 1);
}

TEST(shared_store, replicas_registering_one_torrent_at_once_agree) {
  auto url = test::shared_postgres().create_database();
  test::temp_dir dir;
  auto t = make_torrent(write_blob(dir, "blob", 60000, 7), torrent_kind::v1);
  auto d = digest_of("one blob");
  std::vector<std::unique_ptr<store>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(std::move(*pg_store::open(url, {})));
  auto described = catalog::describe_registration(t.bytes, d, std::nullopt, 1);
  ASSERT_TRUE(described);
  const new_torrent& nt = *described;
  std::vector<result<registration_outcome>> out(stores.size(), fail(errc::internal, "not run"));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < static_cast<int>(stores.size())) std::this_thread::yield();
      out[i] = stores[i]->register_torrent(nt);
    });
  }
  for (auto& th : threads) th.join();
  int created = 0;
  for (auto& o : out) {
    ASSERT_TRUE(o) << o.error().message;
    created += o->created;
    EXPECT_EQ(o->row.blob, d);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(stores[0]->count_torrents({}).value_or(0), 1u);
}

TEST(shared_store, replicas_follow_each_others_users_and_torrents) {
  auto url = test::shared_postgres().create_database();
  test::temp_dir dir;
  user_table users_a, users_b;
  swarm_table swarms_a(8), swarms_b(8);
  catalog a(std::move(*open_store(url)), users_a, swarms_a);
  catalog b(std::move(*open_store(url)), users_b, swarms_b);
  ASSERT_TRUE(a.load());
  ASSERT_TRUE(b.load());
  auto feed = b.records().listen();
  ASSERT_TRUE(feed) << feed.error().message;
  // What B's change feed brings, applied as replica_sync does.
  auto follow = [&](std::function<bool()> done) {
    return test::wait_for([&] {
      auto changes = (*feed)->take();
      EXPECT_TRUE(changes);
      for (const auto& c : *changes) EXPECT_TRUE(b.apply(c));
      return done();
    });
  };

  auto u = a.create_user("node-1", 1);
  ASSERT_TRUE(u);
  auto key = passkey_hasher()(u->passkey);
  EXPECT_TRUE(follow([&] { return users_b.find_id(key).has_value(); }));
  auto t = make_torrent(write_blob(dir, "t", 40000, 1), torrent_kind::hybrid);
  auto reg = a.register_torrent(t.bytes, std::nullopt, std::nullopt, 2);
  ASSERT_TRUE(reg);
  EXPECT_TRUE(follow([&] { return swarms_b.contains(*reg->row.alias); }));
  auto rotated = a.rotate_passkey("node-1");
  ASSERT_TRUE(rotated);
  EXPECT_TRUE(follow([&] {
    return users_b.find_id(passkey_hasher()(rotated->passkey)) && !users_b.find_id(key);
  }));
  ASSERT_TRUE(a.delete_torrent(*reg->row.v1));
  EXPECT_TRUE(follow([&] { return swarms_b.totals().swarms == 0; }));
  EXPECT_FALSE(swarms_b.contains(*reg->row.alias));
  ASSERT_TRUE(a.delete_user("node-1"));
  EXPECT_TRUE(follow([&] { return users_b.size() == 0; }));

  // Changes made while no one listened: a resync catches up.
  user_table users_c;
  swarm_table swarms_c(8);
  catalog c(std::move(*open_store(url)), users_c, swarms_c);
  ASSERT_TRUE(c.load());
  ASSERT_TRUE(a.create_user("node-2", 3));
  ASSERT_TRUE(a.register_torrent(torrent_bytes_for(dir), std::nullopt, std::nullopt, 4));
  EXPECT_EQ(users_c.size(), 0u);
  auto r = c.resync();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->users_changed, 1u);
  EXPECT_EQ(r->swarms_changed, 1u);
  EXPECT_EQ(users_c.size(), 1u);
  EXPECT_EQ(swarms_c.totals().swarms, 1u);
}

// Sessions in memory (sqlite trackers) and in the store (replicas), the
// same behaviour.
enum class session_kind { memory, shared_sqlite, shared_postgresql };

class session_suite : public ::testing::TestWithParam<session_kind> {
 protected:
  std::unique_ptr<session_store> make(session_policy p) {
    switch (GetParam()) {
      case session_kind::memory:
        return std::make_unique<memory_session_store>(p);
      case session_kind::shared_sqlite:
        db_ = std::move(*open_store((dir / "t.db").string()));
        break;
      case session_kind::shared_postgresql:
        db_ = std::move(*open_store(test::shared_postgres().create_database()));
        break;
    }
    return std::make_unique<shared_session_store>(*db_, p);
  }
  test::temp_dir dir;
  std::unique_ptr<store> db_;
};

INSTANTIATE_TEST_SUITE_P(kinds, session_suite,
                         ::testing::Values(session_kind::memory, session_kind::shared_sqlite,
                                           session_kind::shared_postgresql),
                         [](const auto& i) {
                           return i.param == session_kind::memory          ? "memory"
                                  : i.param == session_kind::shared_sqlite ? "shared_sqlite"
                                                                           : "shared_postgresql";
                         });

TEST_P(session_suite, finds_sessions_until_they_expire) {
  auto sessions = make({.ttl = 100, .idle = 30, .max_sessions = 10});
  auto& s = *sessions;
  auto made = *s.create(7, "alice", false, 1000);
  EXPECT_EQ(made.id.size(), 64u);
  EXPECT_EQ(made.s.csrf.size(), 64u);
  EXPECT_NE(made.id, made.s.csrf);
  auto found = *s.find(made.id, 1020);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->csrf, made.s.csrf);
  EXPECT_TRUE(*s.find(made.id, 1049));   // used at 1020: idle until 1050
  EXPECT_FALSE(*s.find(made.id, 1080));  // idle too long
  auto again = *s.create(7, "alice", false, 2000);
  for (std::uint32_t t = 2000; t < 2100; t += 20) EXPECT_TRUE(*s.find(again.id, t));
  EXPECT_FALSE(*s.find(again.id, 2100));  // ttl from sign-in
  EXPECT_FALSE(*s.find("not-a-session", 2000));
  EXPECT_FALSE(*s.find(std::string(64, '0'), 2000));
}

TEST_P(session_suite, ends_a_users_sessions_and_stays_bounded) {
  auto sessions = make({.ttl = 1000, .idle = 1000, .max_sessions = 3});
  auto& s = *sessions;
  auto a = *s.create(1, "a", false, 10);
  auto b = *s.create(2, "b", false, 11);
  auto admin = *s.create(0, "admin", true, 12);
  EXPECT_EQ(*s.remove_user(1), 1u);
  EXPECT_FALSE(*s.find(a.id, 20));
  EXPECT_TRUE(*s.find(b.id, 20));
  EXPECT_TRUE(*s.find(admin.id, 20));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.create(5, "x", false, 30 + i));
  EXPECT_LE(*s.size(), 3u);
  ASSERT_TRUE(s.remove(b.id));
  EXPECT_FALSE(*s.find(b.id, 40));
}

}  // namespace
}  // namespace blobswarm::tracker
