// The seeder's parts that need no network: the piece and segment rule, the
// deterministic torrents, API paths, request and notification bodies, and
// the store (quota, LRU eviction, leases, restart consistency).
#include <gtest/gtest.h>

#include <filesystem>
#include <libtorrent/torrent_info.hpp>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "seeder/blob_route.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/blob_torrents.hpp"
#include "seeder/piece_layout.hpp"
#include "seeder/preheat_request.hpp"
#include "seeder/push_events.hpp"
#include "seeder/settings.hpp"
#include "seeder/swarm_fetch.hpp"
#include "tests/support/support.hpp"
#include "torrentgen/piece_hasher.hpp"

namespace blobswarm::seeder {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

digest digest_of(std::string_view bytes) {
  return *digest::from_raw(hash_algorithm::sha256, sha256(bytes));
}

std::vector<std::string> piece_hashes(std::string_view bytes, std::uint32_t piece_length) {
  torrentgen::piece_hasher h(piece_length);
  h.update(std::as_bytes(std::span(bytes.data(), bytes.size())));
  h.finish();
  return h.hashes();
}

TEST(piece_layout, piece_length_keeps_blobs_up_to_16GiB_between_513_and_1024_pieces) {
  struct row {
    std::uint64_t size;
    std::uint32_t piece;
  };
  const row table[] = {
      {1, 16 * KiB},
      {16 * MiB, 16 * KiB},
      {16 * MiB + 1, 32 * KiB},
      {100'000'000, 128 * KiB},
      {1 * GiB, 1 * MiB},
      {1 * GiB + 1, 2 * MiB},
      {16 * GiB, 16 * MiB},
      {64 * GiB, 16 * MiB},
  };
  for (const auto& r : table) {
    EXPECT_EQ(piece_layout::piece_length_for(r.size), r.piece) << r.size;
  }
  for (std::uint64_t size = 16 * MiB + 1; size <= 16 * GiB; size = size * 3 / 2 + 7) {
    auto l = piece_layout::make(size, 0);
    EXPECT_GT(l.piece_count, 512u) << size;
    EXPECT_LE(l.piece_count, 1024u) << size;
  }
}

TEST(piece_layout, segments_are_whole_pieces_and_cover_the_blob) {
  auto l = piece_layout::make(100'000'000, 32 * MiB);
  EXPECT_EQ(l.piece_length, 128 * KiB);
  EXPECT_EQ(l.pieces_per_segment, 256u);
  EXPECT_EQ(l.segment_length(), 32 * MiB);
  EXPECT_EQ(l.segment_count, 3u);
  std::uint64_t total = 0;
  std::uint32_t pieces = 0;
  for (std::uint32_t n = 0; n < l.segment_count; ++n) {
    EXPECT_EQ(l.segment_offset(n), total);
    total += l.segment_bytes(n);
    pieces += l.segment_pieces(n);
  }
  EXPECT_EQ(total, l.size);
  EXPECT_EQ(pieces, l.piece_count);
  EXPECT_EQ(l.segments_complete(255), 0u);
  EXPECT_EQ(l.segments_complete(256), 1u);
  EXPECT_EQ(l.segments_complete(l.piece_count), 3u);
  // One segment's worth or less: not segmented. No segment size: never.
  EXPECT_FALSE(piece_layout::make(32 * MiB, 32 * MiB).segmented());
  EXPECT_TRUE(piece_layout::make(32 * MiB + 1, 32 * MiB).segmented());
  EXPECT_FALSE(piece_layout::make(10 * GiB, 0).segmented());
  // Pieces larger than the segment size: one piece per segment.
  auto huge = piece_layout::make(20 * GiB, 8 * MiB);
  EXPECT_EQ(huge.piece_length, 16 * MiB);
  EXPECT_EQ(huge.pieces_per_segment, 1u);
  EXPECT_EQ(huge.segment_count, huge.piece_count);
}

TEST(blob_torrents, are_a_function_of_the_bytes_only) {
  auto bytes = test::random_bytes(3 * MiB + 12345, 42);
  auto d = digest_of(bytes);
  auto layout = piece_layout::make(bytes.size(), 1 * MiB);
  auto hashes = piece_hashes(bytes, layout.piece_length);
  auto a = make_whole_torrent(d, layout, hashes);
  auto b = make_whole_torrent(d, layout, piece_hashes(bytes, layout.piece_length));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->bytes, b->bytes) << "byte-identical, not only the same info-hash";
  EXPECT_EQ(a->v1, b->v1);

  lt::error_code ec;
  lt::torrent_info ti(lt::span<const char>(a->bytes.data(), static_cast<long>(a->bytes.size())), ec,
                      lt::from_span);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(ti.name(), std::string(d.hex()));
  EXPECT_TRUE(ti.priv());
  EXPECT_EQ(ti.creation_date(), 0);
  EXPECT_TRUE(ti.trackers().empty());
  EXPECT_EQ(ti.piece_length(), static_cast<int>(layout.piece_length));
  EXPECT_EQ(ti.total_size(), static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(to_hex(std::string_view(ti.info_hashes().v1.data(), 20)), a->v1.hex());

  // A web seed changes the file, not the info-hash.
  auto seeded = with_web_seed(a->bytes, "http://127.0.0.1:1/api/v1/blobs/x/" + d.str());
  ASSERT_TRUE(seeded);
  EXPECT_NE(*seeded, a->bytes);
  EXPECT_EQ(torrent_info_hash(*seeded)->hex(), a->v1.hex());
}

TEST(blob_torrents, segment_pieces_are_the_whole_torrents_pieces) {
  auto bytes = test::random_bytes(3 * MiB + 12345, 43);
  auto d = digest_of(bytes);
  auto layout = piece_layout::make(bytes.size(), 1 * MiB);
  ASSERT_EQ(layout.segment_count, 4u);
  auto hashes = piece_hashes(bytes, layout.piece_length);
  for (std::uint32_t n = 0; n < layout.segment_count; ++n) {
    auto seg = make_segment_torrent(d, layout, n, hashes);
    ASSERT_TRUE(seg) << seg.error().message;
    lt::error_code ec;
    lt::torrent_info ti(
        lt::span<const char>(seg->bytes.data(), static_cast<long>(seg->bytes.size())), ec,
        lt::from_span);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ti.name(), segment_file_name(d, n));
    EXPECT_TRUE(ti.priv());
    EXPECT_EQ(ti.total_size(), static_cast<std::int64_t>(layout.segment_bytes(n)));
    // The segment made from its own bytes is the same torrent.
    auto own = bytes.substr(layout.segment_offset(n), layout.segment_bytes(n));
    auto own_hashes = piece_hashes(own, layout.piece_length);
    for (int p = 0; p < ti.num_pieces(); ++p) {
      EXPECT_EQ(std::string(ti.hash_for_piece(lt::piece_index_t(p)).data(), 20),
                own_hashes[static_cast<std::size_t>(p)]);
    }
  }
  EXPECT_FALSE(make_segment_torrent(d, layout, 4, hashes));
}

TEST(blob_route, splits_every_resource_shape) {
  auto d = "sha256:" + std::string(64, 'a');
  auto bytes = blob_route::split("library/alpine/" + d);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->what, blob_route::kind::bytes);
  EXPECT_EQ(bytes->name, "library/alpine");
  EXPECT_EQ(bytes->digest, d);
  auto t = blob_route::split("a/b/c/" + d + "/torrent");
  EXPECT_EQ(t->what, blob_route::kind::torrent);
  EXPECT_EQ(t->name, "a/b/c");
  EXPECT_EQ(blob_route::split("x/" + d + "/descriptor")->what, blob_route::kind::descriptor);
  EXPECT_EQ(blob_route::split("x/" + d + "/replicate")->what, blob_route::kind::replicate);
  auto s = blob_route::split("x/" + d + "/segments/12/torrent");
  EXPECT_EQ(s->what, blob_route::kind::segment_torrent);
  EXPECT_EQ(s->segment, 12u);
  EXPECT_EQ(s->name, "x");
  auto encoded = blob_route::split("x/sha256%3A" + std::string(64, 'a') + "/torrent");
  EXPECT_EQ(encoded->digest, d);
  // A repository may be called "torrent": it is a name, not a resource.
  EXPECT_EQ(blob_route::split("torrent/" + d)->what, blob_route::kind::bytes);
  EXPECT_EQ(blob_route::split("only").error().code, errc::not_found);
  EXPECT_EQ(blob_route::split("x/" + d + "/segments/-1/torrent").error().code,
            errc::invalid_argument);
  EXPECT_EQ(blob_route::split("x/" + d + "/segments/99999999999/torrent").error().code,
            errc::invalid_argument);
  EXPECT_EQ(blob_route::split("x/%zz").error().code, errc::invalid_argument);
}

TEST(preheat_request, parses_and_names_the_bad_part) {
  auto r = preheat_request::parse(
      R"({"image":"team/app:v1","ns":"127.0.0.1:5000","platforms":["linux/arm64/v8"],"wait":false})");
  ASSERT_TRUE(r) << r.error().what.message;
  EXPECT_EQ(r->image.str(), "team/app:v1");
  EXPECT_EQ(r->ns, "127.0.0.1:5000");
  ASSERT_EQ(r->platforms.size(), 1u);
  EXPECT_EQ(r->platforms[0].variant, "v8");
  EXPECT_FALSE(r->wait);
  EXPECT_TRUE(preheat_request::parse(R"({"image":"a@sha256:)" + std::string(64, 'b') + "\"}"));
  struct bad {
    std::string body;
    std::string_view code;
  };
  const bad cases[] = {
      {"nope", "UNSUPPORTED"},
      {R"({})", "UNSUPPORTED"},
      {R"({"image":"Team/app:v1"})", "NAME_INVALID"},
      {R"({"image":"team/app:-x"})", "TAG_INVALID"},
      {R"({"image":"team/app@sha256:12"})", "DIGEST_INVALID"},
      {R"({"image":"a:b","platform":["linux/amd64"]})", "UNSUPPORTED"},
      {R"({"image":"a:b","platforms":["linux"]})", "UNSUPPORTED"},
      {R"({"image":"a:b","wait":"yes"})", "UNSUPPORTED"},
  };
  for (const auto& c : cases) {
    auto p = preheat_request::parse(c.body);
    ASSERT_FALSE(p) << c.body;
    EXPECT_EQ(p.error().code, c.code) << c.body << ": " << p.error().what.message;
  }
}

TEST(push_events, keeps_manifest_pushes_with_their_registry_host) {
  auto d = "sha256:" + std::string(64, 'c');
  auto body = R"({"events":[
    {"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
              d +
              R"(","repository":"team/app","url":"http://127.0.0.1:5000/v2/team/app/manifests/)" +
              d + R"(","tag":"v1"},"request":{"host":"ignored:1"}},
    {"action":"push","target":{"mediaType":"application/octet-stream","digest":")" +
              d +
              R"(","repository":"team/app"}},
    {"action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
              d + R"(","repository":"team/app"}},
    {"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" +
              d + R"(","repository":"team/app"},"request":{"host":"reg.example:443"}},
    {"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"bad","repository":"team/app"}},
    7]})";
  auto e = push_events::parse(body);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->manifests.size(), 2u);
  EXPECT_EQ(e->manifests[0].repository.str(), "team/app");
  EXPECT_EQ(e->manifests[0].host, "127.0.0.1:5000");
  EXPECT_EQ(e->manifests[0].tag, "v1");
  EXPECT_EQ(e->manifests[1].host, "reg.example:443");
  EXPECT_EQ(e->ignored, 4u);
  EXPECT_FALSE(push_events::parse("[]"));
  EXPECT_FALSE(push_events::parse(R"({"events":{}})"));
}

// Puts `bytes` into the store the way an ingest does.
stored_blob put(blob_store& s, std::string_view bytes) {
  auto d = digest_of(bytes);
  auto r = s.reserve(d, bytes.size());
  EXPECT_TRUE(r) << r.error().message;
  test::write_text(s.ingest_path(d), bytes);
  auto layout = piece_layout::make(bytes.size(), 0);
  auto t = make_whole_torrent(d, layout, piece_hashes(bytes, layout.piece_length));
  auto c = s.commit(d, layout.piece_length, t->v1, t->bytes);
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

TEST(blob_store, commits_verified_blobs_and_survives_a_restart) {
  test::temp_dir dir;
  auto a = test::random_bytes(100000, 1);
  auto b = test::random_bytes(50000, 2);
  {
    auto s = blob_store::open(dir.path(), {});
    ASSERT_TRUE(s) << s.error().message;
    auto sa = put(**s, a);
    put(**s, b);
    EXPECT_EQ((*s)->count(), 2u);
    EXPECT_EQ((*s)->used_bytes(), a.size() + b.size());
    EXPECT_EQ(test::read_text((*s)->blob_path(sa.digest)), a);
    EXPECT_FALSE(std::filesystem::exists((*s)->ingest_path(sa.digest)));
    // An ingest that was running when the process stopped.
    auto c = test::random_bytes(1000, 3);
    ASSERT_TRUE((*s)->reserve(digest_of(c), c.size()));
    test::write_text((*s)->ingest_path(digest_of(c)), c.substr(0, 10));
    (*s)->set_registered(sa.digest);
  }
  // A stored file that vanished behind the store's back.
  std::filesystem::remove(dir.path() / "blobs/sha256" /
                          std::string(digest_of(b).hex()).substr(0, 2) /
                          std::string(digest_of(b).hex()));
  auto s = blob_store::open(dir.path(), {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->count(), 1u);
  auto found = (*s)->find(digest_of(a));
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->registered);
  EXPECT_TRUE(found->torrent_hash);
  EXPECT_TRUE((*s)->torrent(digest_of(a)));
  EXPECT_FALSE((*s)->find(digest_of(b)));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "ingest")) << "partial ingests are removed";
  EXPECT_EQ((*s)->reserved_bytes(), 0u);
}

TEST(blob_store, evicts_least_recently_used_blobs_but_never_leased_ones) {
  test::temp_dir dir;
  auto s = blob_store::open(dir.path(), store_options{.max_size = 300000});
  ASSERT_TRUE(s);
  auto& store = **s;
  auto a = put(store, test::random_bytes(100000, 1));
  auto b = put(store, test::random_bytes(100000, 2));
  auto c = put(store, test::random_bytes(100000, 3));
  store.touch(a.digest);  // b is now the least recently used
  auto lease = store.lease(b.digest);
  auto d = digest_of("the next blob");
  auto evicted = store.reserve(d, 100000);
  ASSERT_TRUE(evicted) << evicted.error().message;
  ASSERT_EQ(evicted->size(), 1u);
  EXPECT_EQ((*evicted)[0].digest, c.digest) << "b is leased, a was touched";
  EXPECT_FALSE(std::filesystem::exists(store.blob_path(c.digest)));
  EXPECT_TRUE(store.find(b.digest));
  store.abandon(d);
  // Too big for the quota, even after evicting everything: refused at once.
  auto huge = store.reserve(digest_of("huge"), 400000);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, errc::no_space);
  // Needs more than what is evictable while b is leased.
  auto e = store.reserve(digest_of("e"), 250000);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, errc::no_space);
  EXPECT_TRUE(store.find(a.digest)) << "a failed reservation evicts nothing";
  lease.reset();
  EXPECT_TRUE(store.reserve(digest_of("e"), 250000));
  EXPECT_EQ(store.count(), 0u);
}

TEST(seeder_settings, web_seeds_and_an_api_token_do_not_go_together) {
  settings s;
  s.upstream = "http://127.0.0.1:5000";
  ASSERT_TRUE(s.validate()) << s.validate().error().message;
  s.web_seed = true;
  EXPECT_TRUE(s.validate());
  s.api_token_file = "/run/secrets/seeder-token";
  auto r = s.validate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("web_seed cannot be used with api_token_file"),
            std::string::npos)
      << r.error().message;
  s.web_seed = false;
  EXPECT_TRUE(s.validate());
}

TEST(seeder_settings, resend_after_is_zero_to_ten_minutes) {
  settings s;
  s.upstream = "http://127.0.0.1:5000";
  for (auto ok :
       {duration::zero(), duration(std::chrono::seconds(5)), duration(std::chrono::minutes(10))}) {
    s.resend_after = ok;
    EXPECT_TRUE(s.validate()) << format_duration(ok);
  }
  for (auto bad : {duration(-1), duration(std::chrono::minutes(10)) + duration(1)}) {
    s.resend_after = bad;
    auto r = s.validate();
    ASSERT_FALSE(r) << format_duration(bad);
    EXPECT_NE(r.error().message.find("resend_after must be 0..10m"), std::string::npos)
        << r.error().message;
  }
}

TEST(seeder_settings, replicas_need_a_lease_store_a_tracker_and_this_seeder_in_the_list) {
  settings s;
  s.upstream = "http://127.0.0.1:5000";
  s.listen = "127.0.0.1:8001";
  s.seeders = {"http://127.0.0.1:8001"};  // alone: a single seeder
  EXPECT_TRUE(s.validate()) << s.validate().error().message;
  EXPECT_FALSE(s.replicated());
  EXPECT_EQ(s.replica_count(), 1u);
  struct row {
    std::function<void(settings&)> change;
    const char* message;
  };
  auto two = [](settings& x) {
    x.seeders = {"http://127.0.0.1:8001/", "http://127.0.0.1:8002"};
    x.lease_store = "redis://127.0.0.1:6379";
    x.tracker_token_file = "/run/secrets/admin-token";
  };
  settings ok = s;
  two(ok);
  ASSERT_TRUE(ok.validate()) << ok.validate().error().message;
  EXPECT_TRUE(ok.replicated());
  EXPECT_EQ(ok.replica_count(), 2u);
  for (const auto& [change, message] : std::initializer_list<row>{
           {[&](settings& x) { two(x), x.lease_store.clear(); }, "lease_store (a redis:// URL)"},
           {[&](settings& x) { two(x), x.lease_store = "memory"; }, "lease_store"},
           {[&](settings& x) { two(x), x.tracker_token_file.clear(); }, "tracker_token_file"},
           {[&](settings& x) { two(x), x.public_url = "http://seeder-9:8001"; },
            "does not list this seeder's URL http://seeder-9:8001"},
           {[&](settings& x) { two(x), x.seeders.push_back("http://127.0.0.1:8002/"); },
            "listed twice"},
           {[&](settings& x) { two(x), x.seeders.push_back("ftp://x"); }, "not an http(s) URL"},
           {[&](settings& x) { two(x), x.replicas = 3; }, "replicas must be 0..2"},
           {[&](settings& x) { two(x), x.lease_ttl = std::chrono::milliseconds(200); },
            "lease_ttl must be 1s..10m"}}) {
    settings x = s;
    change(x);
    auto r = x.validate();
    ASSERT_FALSE(r) << message;
    EXPECT_NE(r.error().message.find(message), std::string::npos) << r.error().message;
  }
}

TEST(blob_torrents, a_torrent_from_the_tracker_is_adopted_only_if_it_is_the_one_this_seeder_makes) {
  auto bytes = test::random_bytes(3 * MiB + 100, 44);
  auto d = digest_of(bytes);
  auto layout = piece_layout::make(bytes.size(), 1 * MiB);
  auto hashes = piece_hashes(bytes, layout.piece_length);
  auto whole = make_whole_torrent(d, layout, hashes);
  auto seg = make_segment_torrent(d, layout, 1, hashes);
  ASSERT_TRUE(whole && seg);
  // Whatever the tracker adds outside the info dictionary goes; the info-hash stays.
  auto announced = with_web_seed(whole->bytes, "http://tracker/announce/secret");
  auto adopted = adopt_blob_torrent(*announced, d, layout, std::nullopt);
  ASSERT_TRUE(adopted) << adopted.error().message;
  EXPECT_EQ(adopted->v1, whole->v1);
  EXPECT_EQ(adopted->bytes.find("secret"), std::string::npos);
  EXPECT_EQ(adopt_blob_torrent(seg->bytes, d, layout, 1)->v1, seg->v1);
  EXPECT_EQ(*torrent_size(whole->bytes), bytes.size());
  // Another segment, another blob, another segment size: refused.
  EXPECT_FALSE(adopt_blob_torrent(seg->bytes, d, layout, 2));
  EXPECT_FALSE(adopt_blob_torrent(seg->bytes, d, layout, std::nullopt));
  EXPECT_FALSE(adopt_blob_torrent(whole->bytes, digest_of("other"), layout, std::nullopt));
  auto other = adopt_blob_torrent(seg->bytes, d, piece_layout::make(bytes.size(), 2 * MiB), 1);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("segment_size"), std::string::npos) << other.error().message;
  EXPECT_FALSE(adopt_blob_torrent("garbage", d, layout, std::nullopt));
}

TEST(swarm_fetch, the_prefix_ends_at_the_first_missing_piece) {
  auto part = [](std::uint64_t offset, std::uint64_t length) {
    return swarm_part{.torrent = {"", *info_hash::from_hex(std::string(40, '0'))},
                      .offset = offset,
                      .length = length,
                      .piece_length = 100};
  };
  std::vector<swarm_part> segs = {part(0, 300), part(300, 300), part(600, 150)};
  using bits = std::vector<bool>;
  EXPECT_EQ(swarm_fetch::prefix_of(segs, {}), 0u);
  EXPECT_EQ(swarm_fetch::prefix_of(segs, {bits{1, 1, 1}, bits{1, 0, 1}, bits{1, 1}}), 400u);
  EXPECT_EQ(swarm_fetch::prefix_of(segs, {bits{0, 1, 1}, bits{1, 1, 1}, bits{1, 1}}), 0u);
  EXPECT_EQ(swarm_fetch::prefix_of(segs, {bits{1, 1, 1}, bits{1, 1, 1}, bits{1, 1}}), 750u);
  // The last piece is short: a whole blob of 250 bytes in 3 pieces.
  EXPECT_EQ(swarm_fetch::prefix_of({part(0, 250)}, {bits{1, 1, 1}}), 250u);
  // Parts that do not follow each other stop the prefix.
  EXPECT_EQ(swarm_fetch::prefix_of({part(0, 300), part(400, 300)}, {bits{1, 1, 1}, bits{1, 1, 1}}),
            300u);
}

}  // namespace
}  // namespace blobswarm::seeder
