// The mirror's cache: quota and LRU eviction around leases, crash recovery,
// file identity checks, manifests and tags.
#include "mirror/cache.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/hasher.hpp"
#include "common/logging.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::mirror {
namespace {

digest digest_of(std::string_view data) {
  return *digest::from_raw(hash_algorithm::sha256, sha256(data));
}

// Stores a verified blob as the download path would.
digest put(cache& c, std::string_view data) {
  auto d = digest_of(data);
  EXPECT_TRUE(c.begin_blob(d, data.size()));
  test::write_text(c.blob_path(d), data);
  EXPECT_TRUE(c.commit_blob(d, "torrent"));
  return d;
}

std::unique_ptr<cache> open_cache(const std::filesystem::path& dir, std::uint64_t quota = 1 << 20) {
  auto c = cache::open({.dir = dir, .quota = quota, .high_watermark = 0.9, .low_watermark = 0.5},
                       logging::get("cache-test"));
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? std::move(*c) : nullptr;
}

TEST(cache, commits_finds_and_opens_verified_blobs) {
  test::temp_dir dir;
  auto c = open_cache(dir.path());
  auto data = test::random_bytes(1000, 1);
  auto d = put(*c, data);
  auto found = c->find_blob(d);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->size, 1000u);
  EXPECT_EQ((*found)->torrent, "torrent");
  EXPECT_TRUE(c->open_blob(**found));
  EXPECT_EQ(c->bytes_used(), 1000u);
}

TEST(cache, a_download_in_progress_is_not_servable) {
  test::temp_dir dir;
  auto c = open_cache(dir.path());
  auto d = digest_of("x");
  ASSERT_TRUE(c->begin_blob(d, 1));
  EXPECT_FALSE(c->find_blob(d)->has_value());
  c->abort_blob(d);
  EXPECT_EQ(c->bytes_used(), 0u);
}

TEST(cache, evicts_least_recently_used_blobs_but_never_leased_ones) {
  test::temp_dir dir;
  auto c = open_cache(dir.path(), 10000);  // high 9000, low 5000
  auto a = put(*c, test::random_bytes(3500, 1));
  auto b = put(*c, test::random_bytes(3500, 2));
  auto lease_a = c->lease(a);                                    // a is being served
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // last_access has 1 s resolution
  c->touch_blob(b);
  auto third = put(*c, test::random_bytes(3500, 3));  // 10500 > high: evict toward low
  EXPECT_TRUE(c->find_blob(a)->has_value()) << "a leased blob was evicted";
  EXPECT_TRUE(c->find_blob(third)->has_value());
  EXPECT_FALSE(c->find_blob(b)->has_value()) << "the unleased LRU blob should go";
  EXPECT_FALSE(std::filesystem::exists(c->blob_path(b)));
  EXPECT_EQ(c->bytes_used(), 7000u);
}

// A torrent fetched through /files, stored as the file download would.
info_hash put_torrent(cache& c, std::string_view data, char tag) {
  auto ih = *info_hash::from_hex(std::string(40, tag));
  EXPECT_TRUE(c.begin_file(ih, data.size()));
  std::filesystem::create_directories(c.file_dir(ih) / "dir");
  test::write_text(c.file_dir(ih) / "dir" / "f", data);
  EXPECT_TRUE(c.commit_file(ih, "torrent"));
  return ih;
}

TEST(cache, torrents_and_blobs_share_the_quota_and_leave_least_recently_used_first) {
  test::temp_dir dir;
  std::vector<std::string> removed;
  auto opened = cache::open({.dir = dir.path(),
                             .quota = 10000,
                             .high_watermark = 0.9,  // 9000
                             .low_watermark = 0.8,   // 8000
                             .on_remove_file =
                                 [&](const info_hash& ih) {
                                   removed.push_back(ih.hex());
                                 }},
                            logging::get("cache-test"));
  ASSERT_TRUE(opened);
  auto& c = **opened;
  auto old_torrent = put_torrent(c, test::random_bytes(3000, 1), 'a');
  auto leased_torrent = put_torrent(c, test::random_bytes(2000, 2), 'b');
  auto lease = c.lease_file(leased_torrent);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // last_access has 1 s resolution
  auto blob = put(c, test::random_bytes(3000, 3));
  EXPECT_EQ(c.bytes_used(), 8000u);
  auto found = c.find_file(old_torrent);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->size, 3000u);
  EXPECT_EQ((*found)->torrent, "torrent");
  // 10000 > high: the oldest unleased entry goes, a torrent here.
  auto incoming = put(c, test::random_bytes(2000, 4));
  EXPECT_FALSE(c.find_file(old_torrent)->has_value());
  EXPECT_FALSE(std::filesystem::exists(c.file_dir(old_torrent)));
  EXPECT_EQ(removed, std::vector<std::string>{old_torrent.hex()});
  EXPECT_TRUE(c.find_file(leased_torrent)->has_value()) << "a leased torrent was evicted";
  EXPECT_TRUE(c.find_blob(blob)->has_value());
  EXPECT_TRUE(c.find_blob(incoming)->has_value());
  EXPECT_EQ(c.bytes_used(), 7000u);
}

TEST(cache, recovery_discards_partial_torrents_and_stray_directories) {
  test::temp_dir dir;
  auto kept = *info_hash::from_hex(std::string(40, 'c'));
  auto partial = *info_hash::from_hex(std::string(40, 'd'));
  {
    auto c = open_cache(dir.path());
    put_torrent(*c, test::random_bytes(400, 5), 'c');
    ASSERT_TRUE(c->begin_file(partial, 100));
    std::filesystem::create_directories(c->file_dir(partial));
    test::write_text(c->file_dir(partial) / "half", "half");
    std::filesystem::create_directories(dir.path() / "files" / "stray");
  }  // "crash"
  auto c = open_cache(dir.path());
  EXPECT_TRUE(c->find_file(kept)->has_value());
  EXPECT_FALSE(std::filesystem::exists(c->file_dir(partial)));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "files" / "stray"));
  EXPECT_EQ(c->bytes_used(), 400u);
  ASSERT_EQ(c->complete_files()->size(), 1u);
  EXPECT_TRUE(c->begin_file(partial, 100)) << "the partial entry was not cleared";
}

TEST(cache, refuses_a_blob_the_quota_cannot_hold) {
  test::temp_dir dir;
  auto c = open_cache(dir.path(), 5000);
  auto r = c->begin_blob(digest_of("big"), 6000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::no_space);
  EXPECT_EQ(c->bytes_used(), 0u);
}

TEST(cache, recovery_discards_partial_downloads_and_stray_files) {
  test::temp_dir dir;
  digest kept = digest_of("");
  digest partial = digest_of("p");
  {
    auto c = open_cache(dir.path());
    kept = put(*c, test::random_bytes(500, 4));
    ASSERT_TRUE(c->begin_blob(partial, 100));
    test::write_text(c->blob_path(partial), "half");
    test::write_text(c->blobs_dir() / std::string(64, 'f'), "stray");
  }  // "crash": nothing cleaned up
  auto c = open_cache(dir.path());
  EXPECT_TRUE(c->find_blob(kept)->has_value());
  EXPECT_FALSE(std::filesystem::exists(c->blob_path(partial)));
  EXPECT_FALSE(std::filesystem::exists(c->blobs_dir() / std::string(64, 'f')));
  EXPECT_EQ(c->bytes_used(), 500u);
  EXPECT_TRUE(c->begin_blob(partial, 100)) << "the partial entry was not cleared";
}

TEST(cache, a_sha512_blob_survives_a_restart) {
  test::temp_dir dir;
  auto data = test::random_bytes(700, 5);
  auto d = *digest::from_raw(hash_algorithm::sha512,
                             hasher(hash_algorithm::sha512).update(data).finish());
  {
    auto c = open_cache(dir.path());
    ASSERT_TRUE(c->begin_blob(d, data.size()));
    test::write_text(c->blob_path(d), data);
    ASSERT_TRUE(c->commit_blob(d, ""));
    // A stray file with a sha512-length name still goes.
    test::write_text(c->blobs_dir() / std::string(128, 'e'), "stray");
  }
  auto c = open_cache(dir.path());
  auto found = c->find_blob(d);
  ASSERT_TRUE(found && *found) << "a sha512 blob was dropped as a stray on restart";
  EXPECT_TRUE(std::filesystem::exists(c->blob_path(d)));
  EXPECT_FALSE(std::filesystem::exists(c->blobs_dir() / std::string(128, 'e')));
  EXPECT_EQ(c->bytes_used(), 700u);
}

TEST(cache, notices_a_file_modified_after_verification) {
  test::temp_dir dir;
  auto c = open_cache(dir.path());
  auto data = test::random_bytes(4096, 5);
  auto d = put(*c, data);
  auto b = **c->find_blob(d);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::fstream f(c->blob_path(d), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('x');
  }
  auto fd = c->open_blob(b);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, errc::corrupt);
  // Content checks out again after a rewrite with the right bytes.
  test::write_text(c->blob_path(d), data);
  auto raw = hash_file(c->blob_path(d), hash_algorithm::sha256);
  ASSERT_TRUE(raw);
  EXPECT_EQ(*digest::from_raw(hash_algorithm::sha256, *raw), d);
}

TEST(cache, keeps_manifests_by_digest_and_tags_and_drops_corrupt_manifests) {
  test::temp_dir dir;
  auto c = open_cache(dir.path());
  std::string body = R"({"schemaVersion":2})";
  auto d = digest_of(body);
  ASSERT_TRUE(c->put_manifest({d, "application/vnd.oci.image.manifest.v1+json", body}));
  auto m = c->find_manifest(d);
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->bytes, body);
  auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(c->put_tag("docker.io", "library/x", "latest", {d, "t", body.size(), now}));
  auto t = c->find_tag("docker.io", "library/x", "latest");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->id, d);
  EXPECT_FALSE(c->find_tag("docker.io", "library/x", "other")->has_value());
  test::write_text(dir / "manifests" / std::string(d.hex()), "tampered");
  EXPECT_FALSE(c->find_manifest(d)->has_value());
}

}  // namespace
}  // namespace blobswarm::mirror
