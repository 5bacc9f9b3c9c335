// Lazy pulling through the mirror (issue 21, part 1). An eStargz image made
// offline with ctr-remote (Debian's stargz-snapshotter ships only that, not
// the snapshotter daemon) is read the way a lazy-pulling snapshotter reads
// it: the footer, then the table of contents, then one file's chunks, each
// by an HTTP Range request through a mirror that has never pulled the
// layer, from a swarm that has it. The chunks' bytes and their TOC digests
// are checked, and the mirror's figures must show the ranges answered
// before the layer was whole and far fewer bytes fetched than it holds.
#include <gtest/gtest.h>
#include <zlib.h>

#include <future>
#include <nlohmann/json.hpp>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "tests/faults/fault_system.hpp"
#include "tests/support/pull_clients.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The last 51 bytes of an eStargz blob: an empty gzip member whose extra
// field ("SG", 22 bytes) holds the TOC's offset as 16 hex digits, then "STARGZ".
constexpr std::size_t footer_size = 51;

std::uint64_t toc_offset_of(std::string_view footer) {
  EXPECT_EQ(footer.size(), footer_size);
  EXPECT_EQ(static_cast<unsigned char>(footer[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(footer[3]) & 0x04, 0x04) << "no gzip extra field";
  auto extra = footer.substr(12, 26);
  EXPECT_EQ(extra.substr(0, 2), "SG");
  EXPECT_EQ(extra.substr(20, 6), "STARGZ");
  return std::stoull(std::string(extra.substr(4, 16)), nullptr, 16);
}

// One gzip member's contents.
std::string gunzip(std::string_view in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END) << "not one whole gzip member";
  inflateEnd(&z);
  return out;
}

// The contents of the first file in a tar stream (the TOC's own tar).
std::string first_tar_file(std::string_view tar, std::string_view name) {
  EXPECT_GE(tar.size(), 512u);
  if (tar.size() < 512) return {};
  EXPECT_EQ(std::string(tar.substr(0, name.size())), name);
  auto size = std::stoull(std::string(tar.substr(124, 11)), nullptr, 8);
  return std::string(tar.substr(512, size));
}

std::string sha256_hex(std::string_view bytes) {
  return "sha256:" + to_hex(sha256(bytes));
}

struct range_read {
  int status = 0;
  std::string body;
};

range_read get_range(const service_process& m, const std::string& path, std::uint64_t first,
                     std::uint64_t last) {
  http::client c;
  auto r =
      c.send({.url = m.url(path), .headers = {{"Range", fmt::format("bytes={}-{}", first, last)}}});
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return {};
  return {r->status, r->body};
}

// The registry, tracker and seeder, a mirror that pulls an eStargz image
// whole (so the swarm has it), and its layer's description.
struct lazy_world {
  fault_system sys;
  service_process* whole = nullptr;
  std::string name = "lazy/app";
  digest layer = *digest::parse("sha256:" + std::string(64, '0'));
  std::uint64_t layer_size = 0;
  std::string toc_digest;
  image_spec spec{.layer_sizes = {8 << 20}, .seed = 51, .files_per_layer = 8};

  lazy_world() {
    sys.start_seeder();
    whole = &sys.add_mirror();
    sys.reg.push_image(name, "v1", spec);
    containerd_daemon ctrd;
    auto converted = ctrd.convert_to_estargz(sys.reg.host() + "/" + name + ":v1",
                                             sys.reg.host() + "/" + name + ":esgz");
    EXPECT_EQ(converted.status, 0) << converted.output;
    http::client c;
    auto m = c.send({.url = sys.reg.url() + "/v2/" + name + "/manifests/esgz",
                     .headers = {{"Accept", "application/vnd.oci.image.manifest.v1+json"}}});
    EXPECT_TRUE(m && m->status == 200);
    if (!m) return;
    auto manifest = json::parse(m->body);
    const auto& l = manifest["layers"].at(0);
    layer = *digest::parse(l["digest"].get<std::string>());
    layer_size = l["size"].get<std::uint64_t>();
    toc_digest = l["annotations"].value("containerd.io/snapshot/stargz/toc.digest", "");
    EXPECT_FALSE(toc_digest.empty()) << "not an eStargz layer: " << l;
    // The first node pulls it whole: the seeder ingests it, the node seeds it.
    temp_dir out;
    auto pulled = skopeo_copy_to_dir(whole->listen() + "/" + name + ":esgz", out / "whole");
    EXPECT_EQ(pulled.status, 0) << pulled.output;
  }

  std::string blob_path() const { return "/v2/" + name + "/blobs/" + layer.str(); }

  // Plays the snapshotter against `m`: footer, TOC, then every chunk of one
  // file (the second of the layer's eight), each checked. Returns the
  // number of range requests made.
  int read_one_file(const service_process& m, int file = 1) {
    int requests = 0;
    auto footer = get_range(m, blob_path(), layer_size - footer_size, layer_size - 1);
    ++requests;
    EXPECT_EQ(footer.status, 206);
    auto toc_at = toc_offset_of(footer.body);
    auto toc_gz = get_range(m, blob_path(), toc_at, layer_size - footer_size - 1);
    ++requests;
    EXPECT_EQ(toc_gz.status, 206);
    auto toc_json = first_tar_file(gunzip(toc_gz.body), "stargz.index.json");
    EXPECT_EQ(sha256_hex(toc_json), toc_digest) << "the TOC does not match the layer's annotation";
    auto toc = json::parse(toc_json);
    // Entries with an offset, in order: a chunk's compressed bytes end where
    // the next such entry begins (the TOC itself for the last one).
    std::vector<const json*> placed;
    for (const auto& e : toc["entries"]) {
      if (e.value("offset", std::uint64_t{0}) > 0) placed.push_back(&e);
    }
    auto wanted = fmt::format("layer-0-{}.bin", file);
    auto expected = random_bytes(spec.layer_sizes[0] / 8, spec.seed * 1000 + file);
    std::string current;  // the name a "chunk" entry continues
    std::size_t chunks = 0;
    for (std::size_t i = 0; i < placed.size(); ++i) {
      const auto& e = *placed[i];
      if (e.value("type", "") == "reg") current = e.value("name", "");
      if (current != wanted || !e.contains("chunkDigest")) continue;
      auto begin = e["offset"].get<std::uint64_t>();
      auto end = i + 1 < placed.size() ? (*placed[i + 1])["offset"].get<std::uint64_t>() : toc_at;
      auto gz = get_range(m, blob_path(), begin, end - 1);
      ++requests;
      EXPECT_EQ(gz.status, 206);
      // The chunk's gzip member holds its data, then the tar padding and the
      // next entry's headers: the data is its first chunkSize bytes.
      auto member = gunzip(gz.body);
      auto offset = e.value("chunkOffset", std::uint64_t{0});
      auto size = e.value("chunkSize", e.value("size", std::uint64_t{0}));
      EXPECT_GE(member.size(), size) << wanted << " chunk at " << offset;
      auto data = std::string_view(member).substr(0, size);
      EXPECT_EQ(sha256_hex(data), e["chunkDigest"].get<std::string>()) << wanted;
      EXPECT_TRUE(data == std::string_view(expected).substr(offset, size))
          << wanted << " chunk at " << offset;
      ++chunks;
    }
    EXPECT_GE(chunks, 1u) << wanted << " has no chunks in the TOC";
    return requests;
  }
};

TEST(lazy_pull, a_snapshotter_reads_an_estargz_layer_by_ranges_and_only_those_bytes_come) {
  lazy_world w;
  // The pieces' way (reads are relayed from the seeder otherwise: below).
  auto& lazy = w.sys.add_mirror(
      {{"range_downloads", "ranges"}, {"range_idle", "3s"}, {"range_from_seeder", 0}});
  auto requests = w.read_one_file(lazy);
  auto stats = lazy.get_json("/api/v1/stats");
  const auto& ranges = stats["ranges"];
  EXPECT_EQ(ranges.value("served_from_pieces", 0), requests) << stats;
  EXPECT_EQ(ranges.value("before_complete", 0), requests)
      << "ranges waited for the whole layer: " << stats;
  // One download, still partial: a fraction of the layer was fetched.
  std::uint64_t stored = 0;
  for (const auto& a : stats["active"]) {
    if (a.value("digest", "") == w.layer.str()) stored = a.value("stored", std::uint64_t{0});
  }
  EXPECT_GT(stored, 0u) << stats;
  EXPECT_LT(stored, w.layer_size / 3) << "a lazy read fetched most of the layer: " << stats;
  EXPECT_EQ(stats["totals"].value("served_from_downloads", 0), 0) << stats;
  EXPECT_FALSE(lazy.output().find("DIGEST MISMATCH") != std::string::npos);
  // Nobody asks for more: the partial download goes, and nothing of it stays.
  ASSERT_TRUE(wait_for([&] { return lazy.get_json("/api/v1/stats")["active"].empty(); }, 20s));
  EXPECT_EQ(cache_problems(lazy.dir() / "data"), "");
  EXPECT_TRUE(cache_files(lazy.dir() / "data").empty());
  // A client that wants the whole layer after all gets it, verified.
  auto whole = pull_blob(blob_url(lazy, w.name, w.layer));
  EXPECT_TRUE(whole.intact(w.layer, w.layer_size)) << whole.status << " " << whole.error;
}

// The default (range_downloads: whole): the ranges come first and are
// answered before the layer is whole; the rest follows in the background
// and the layer ends up cached, verified. Several readers at once share
// one download.
TEST(lazy_pull, ranges_are_answered_first_while_the_whole_layer_follows) {
  lazy_world w;
  // Slow enough that the whole layer takes seconds.
  auto& node = w.sys.add_mirror({{"download_rate", "2MiB"}, {"range_from_seeder", 0}});
  std::vector<std::future<int>> readers;
  for (int file : {1, 4, 6}) {
    readers.push_back(
        std::async(std::launch::async, [&, file] { return w.read_one_file(node, file); }));
  }
  int requests = 0;
  for (auto& r : readers) requests += r.get();
  auto stats = node.get_json("/api/v1/stats");
  EXPECT_EQ(stats["ranges"].value("served_from_pieces", 0), requests) << stats;
  EXPECT_GE(stats["ranges"].value("before_complete", 0), 1) << stats;
  // One download for the three readers, and it completes: the layer is
  // cached, verified.
  const std::string ok = "blobswarm_mirror_downloads_total{outcome=\"ok\"}";
  ASSERT_TRUE(wait_for([&] { return metric_of(node, ok) >= 1.0; }, 60s)) << node.output();
  EXPECT_EQ(metric_of(node, ok), 1.0);
  EXPECT_EQ(metric_of(node, "blobswarm_mirror_downloads_total{outcome=\"failed\"}"), 0.0);
  EXPECT_EQ(cache_problems(node.dir() / "data"), "");
  auto cached = pull_blob(blob_url(node, w.name, w.layer));
  EXPECT_TRUE(cached.intact(w.layer, w.layer_size));
}

// With range_downloads: whole, the download a range starts fetches that
// range's pieces before anything else: requests for the start of the layer,
// queued at the seeder first, would otherwise come before the footer's
// piece. Then the rest follows.
TEST(lazy_pull, the_first_range_does_not_queue_behind_the_start_of_the_layer) {
  lazy_world w;
  auto& node = w.sys.add_mirror({{"download_rate", "256KiB"}, {"range_from_seeder", 0}});
  auto footer = get_range(node, w.blob_path(), w.layer_size - footer_size, w.layer_size - 1);
  EXPECT_EQ(footer.status, 206);
  auto stored = [&] {
    std::uint64_t n = 0;
    auto stats = node.get_json("/api/v1/stats");
    for (const auto& a : stats["active"]) {
      if (a.value("digest", "") == w.layer.str()) n = a.value("stored", std::uint64_t{0});
    }
    return n;
  };
  // The footer's piece (16 KiB pieces here), perhaps one more of the rest
  // by the time the stats are read; not the layer's first pieces as well.
  auto at_footer = stored();
  EXPECT_GT(at_footer, 0u) << node.get_json("/api/v1/stats");
  EXPECT_LE(at_footer, 48u << 10) << node.get_json("/api/v1/stats");
  EXPECT_TRUE(wait_for([&] { return stored() >= (512u << 10); }, 20s))
      << "the rest of the layer did not follow: " << node.get_json("/api/v1/stats");
}

// By default a small read whose pieces are not on the node yet is answered
// from the seeder as its bytes arrive, while the pieces come through the
// swarm (here throttled to 64 KiB/s: the file's chunks alone would take
// about 20 s that way).
TEST(lazy_pull, small_reads_are_relayed_from_the_seeder_while_their_pieces_come) {
  lazy_world w;
  auto& node = w.sys.add_mirror({{"download_rate", "64KiB"}, {"range_downloads", "ranges"}});
  auto started = std::chrono::steady_clock::now();
  auto requests = w.read_one_file(node);
  auto took = std::chrono::steady_clock::now() - started;
  auto stats = node.get_json("/api/v1/stats");
  // The file's chunk (1 MiB) from the seeder; the footer and the TOC share
  // the layer's last piece (4 KiB), which may have arrived by then.
  auto relayed = stats["ranges"].value("served_from_seeder", 0);
  EXPECT_GE(relayed, 1) << stats;
  EXPECT_EQ(relayed + stats["ranges"].value("served_from_pieces", 0), requests) << stats;
  EXPECT_LT(took, 8s) << "the reads waited for their pieces: " << stats;
  // The same bytes come through the swarm for the next reads.
  auto stored = [&] {
    std::uint64_t n = 0;
    auto now = node.get_json("/api/v1/stats");
    for (const auto& a : now["active"]) {
      if (a.value("digest", "") == w.layer.str()) n = a.value("stored", std::uint64_t{0});
    }
    return n;
  };
  EXPECT_TRUE(wait_for([&] { return stored() > 0; }, 20s)) << node.get_json("/api/v1/stats");
}

// A seeder that cannot be reached leaves the read to the pieces.
TEST(lazy_pull, reads_wait_for_their_pieces_when_the_seeder_is_down) {
  lazy_world w;
  auto& node = w.sys.add_mirror({{"range_downloads", "ranges"},
                                 {"seeder", "http://127.0.0.1:" + std::to_string(free_port())}});
  auto requests = w.read_one_file(node);
  auto stats = node.get_json("/api/v1/stats");
  EXPECT_EQ(stats["ranges"].value("served_from_pieces", 0), requests) << stats;
  EXPECT_EQ(stats["ranges"].value("served_from_seeder", 0), 0) << stats;
}

}  // namespace
}  // namespace blobswarm::test
