// Bad input and failing upstreams: every case gets a registry-style error
// with the right HTTP status, and nothing corrupt or partial is stored.
// Real registries (anonymous, htpasswd, token auth) where they can produce
// the fault; small in-test servers for 5xx and stalls, which a real
// registry cannot be made to produce on demand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/registry/credentials.hpp"
#include "common/registry/registry_error.hpp"
#include "tests/seeder/harness.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/registry_fixture.hpp"

namespace blobswarm::seeder {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::registry_fixture;
using test::registry_options;
using test::seeder_process;

namespace fs = std::filesystem;

constexpr std::uint64_t MiB = 1 << 20;

std::string error_code(const http::client_response& r) {
  auto j = test::json_of(r);
  if (!j.is_object() || !j.contains("errors") || j["errors"].empty()) return "<no registry error>";
  return j["errors"][0].value("code", "");
}

bool dir_empty(const fs::path& p) {
  std::error_code ec;
  return !fs::exists(p, ec) || fs::is_empty(p, ec);
}

std::size_t stored_files(const fs::path& data) {
  std::size_t n = 0;
  std::error_code ec;
  if (!fs::exists(data / "blobs", ec)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(data / "blobs", ec)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

class seeder_errors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new registry_fixture();
    image_ = new test::pushed_image(registry_->push_image("err/app", "v1", {{40000}, 31}));
    seeder_ = new seeder_process(test::seeder_config{.upstream = registry_->url()});
  }
  static void TearDownTestSuite() {
    delete seeder_;
    delete image_;
    delete registry_;
  }
  static registry_fixture* registry_;
  static test::pushed_image* image_;
  static seeder_process* seeder_;
};
registry_fixture* seeder_errors::registry_ = nullptr;
test::pushed_image* seeder_errors::image_ = nullptr;
seeder_process* seeder_errors::seeder_ = nullptr;

TEST_F(seeder_errors, invalid_names_and_digests_are_400) {
  auto d = image_->layers[0].digest.str();
  struct row {
    std::string path;
    int status;
    std::string code;
  };
  const row table[] = {
      {"/api/v1/blobs/Err/App/" + d + "/torrent", 400, "NAME_INVALID"},
      {"/api/v1/blobs/err//app/" + d + "/descriptor", 400, "NAME_INVALID"},
      {"/api/v1/blobs/err/app/sha256:1234/torrent", 400, "DIGEST_INVALID"},
      {"/api/v1/blobs/err/app/md5:" + std::string(32, 'a'), 400, "DIGEST_INVALID"},
      {"/api/v1/blobs/err/app/SHA256:" + std::string(64, 'A'), 400, "DIGEST_INVALID"},
      {"/api/v1/blobs/err/app/" + d + "/segments/x/torrent", 400, "UNSUPPORTED"},
      {"/api/v1/blobs/" + d, 404, "NAME_UNKNOWN"},
      {"/api/v1/nothing", 404, "UNSUPPORTED"},
  };
  for (const auto& r : table) {
    auto res = seeder_->get(r.path);
    EXPECT_EQ(res.status, r.status) << r.path << ": " << res.body;
    EXPECT_EQ(error_code(res), r.code) << r.path << ": " << res.body;
    EXPECT_EQ(res.header("content-type"), "application/json") << r.path;
  }
  // Dot segments, sent as they are (HTTP clients would normalize them away).
  auto dots =
      test::raw_request(seeder_->port(), "GET /api/v1/blobs/err/../app/" + d +
                                             " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(dots.starts_with("HTTP/1.1 400")) << dots;
  EXPECT_NE(dots.find("NAME_INVALID"), std::string::npos) << dots;
  auto del =
      http::client().send({.method = "DELETE", .url = seeder_->url("/api/v1/blobs/err/app/" + d)});
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(error_code(*del), "UNSUPPORTED");
  EXPECT_EQ(stored_files(seeder_->data()), 0u);
}

TEST_F(seeder_errors, unknown_blobs_and_repositories_are_404_and_fetched_once) {
  auto unknown = test::sha256_hex_digest("no such blob");
  auto path = "/api/v1/blobs/err/app/" + unknown + "/torrent";
  auto r = seeder_->get(path);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_code(r), "BLOB_UNKNOWN");
  EXPECT_NE(r.body.find("blob unknown"), std::string::npos) << "quotes upstream: " << r.body;
  // Asked again at once: the recent failure answers, upstream is not asked again.
  EXPECT_EQ(seeder_->get(path).status, 404);
  EXPECT_EQ(seeder_->get("/api/v1/blobs/err/app/" + unknown).status, 404);
  EXPECT_EQ(registry_->count_requests("GET", "/v2/err/app/blobs/" + unknown), 1u);
  auto d = seeder_->descriptor("err/app", *digest::parse(unknown));
  EXPECT_EQ(d["state"], "failed");
  EXPECT_TRUE(d["error"].is_string());

  auto repo =
      seeder_->get("/api/v1/blobs/err/nothing/" + image_->layers[0].digest.str() + "/torrent");
  EXPECT_EQ(repo.status, 404) << repo.body;
  auto denied = seeder_->get("/api/v1/blobs/err/app/" + image_->layers[0].digest.str() +
                             "/torrent?ns=ghcr.io");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(error_code(denied), "DENIED");
  EXPECT_EQ(stored_files(seeder_->data()), 0u);
}

TEST_F(seeder_errors, bytes_that_do_not_match_the_digest_are_rejected_and_deleted) {
  auto img = registry_->push_image("err/corrupt", "v1", {{3 * MiB}, 32});
  const auto& layer = img.layers[0];
  {
    // Same size, different bytes: the registry serves them under the old digest.
    std::fstream f(registry_->blob_data_path(layer.digest),
                   std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekp(static_cast<std::streamoff>(layer.size / 2));
    f.write("CORRUPTION", 10);
  }
  seeder_process s(
      test::seeder_config{.upstream = registry_->url(), .args = {"--segment-size", "1MiB"}});
  auto r = s.get(s.blob_path("err/corrupt", layer.digest, "/torrent"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(error_code(r), "DIGEST_INVALID") << r.body;
  EXPECT_NE(r.body.find("hash to"), std::string::npos) << r.body;
  EXPECT_EQ(s.descriptor("err/corrupt", layer.digest)["state"], "failed");
  auto again = s.get(s.blob_path("err/corrupt", layer.digest));
  EXPECT_EQ(again.status, 502) << again.body;
  EXPECT_EQ(stored_files(s.data()), 0u) << "nothing stored";
  EXPECT_TRUE(dir_empty(s.data() / "ingest")) << "the partial file is deleted";
  EXPECT_EQ(s.metric("blobswarm_seeder_ingest_failures_total"), 1) << s.get("/metrics").body;
  EXPECT_EQ(s.metric("blobswarm_seeder_active_torrents"), 0) << "segment torrents were withdrawn";
}

TEST_F(seeder_errors, a_stream_of_a_corrupt_blob_is_cut_short) {
  auto content = test::random_bytes(4 * MiB, 33);
  auto blob = registry_->push_blob("err/cut", content);
  {
    std::fstream f(registry_->blob_data_path(blob.digest),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("X", 1);
  }
  auto corrupt = content;
  corrupt[100] = 'X';
  seeder_process s(
      test::seeder_config{.upstream = registry_->url(), .args = {"--upstream-rate-limit", "8MiB"}});
  // The response starts while the ingest runs (a 200 with the blob's
  // length, bytes as they arrive) and must not end cleanly: the last byte
  // waits for the digest, which does not match, so the connection is cut.
  // Read on a raw socket to see exactly what was sent.
  auto raw = test::raw_request(s.port(),
                               "GET " + s.blob_path("err/cut", blob.digest) +
                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                               30s);
  auto head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << raw.substr(0, 500);
  auto head = raw.substr(0, head_end);
  auto body = raw.substr(head_end + 4);
  ASSERT_TRUE(head.starts_with("HTTP/1.1 200")) << "no stream began:\n" << raw.substr(0, 500);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(content.size())), std::string::npos)
      << head;
  EXPECT_LT(body.size(), content.size()) << "a corrupt blob was served whole";
  EXPECT_GE(body.size(), content.size() / 2) << "the stream did not get going";
  EXPECT_EQ(body, corrupt.substr(0, body.size())) << "bytes other than upstream's were sent";
  EXPECT_EQ(stored_files(s.data()), 0u);
}

TEST(seeder_auth, basic_auth_upstreams_need_the_right_credentials) {
  registry_fixture reg(registry_options{.auth = registry_options::auth_mode::htpasswd});
  auto img = reg.push_image("private/app", "v1", {{30000}, 34});
  auto layer = img.layers[0].digest;
  auto config = [&](const std::string& entry) {
    return R"({"upstreams":{")" + reg.host() + R"(":{"url":")" + reg.url() + R"(",)" + entry +
           "}}}";
  };
  seeder_process good(
      test::seeder_config{.upstream = reg.url(),
                          .config_json = config(R"("username":"alice","password":"wonderland")")});
  auto ok = good.get(good.blob_path("private/app", layer, "/torrent"));
  EXPECT_EQ(ok.status, 200) << ok.body;

  seeder_process via_docker_auth(test::seeder_config{
      .upstream = reg.url(),
      .config_json = config(R"("auth":")" + registry::base64_encode("alice:wonderland") + "\"")});
  EXPECT_EQ(via_docker_auth.get(via_docker_auth.blob_path("private/app", layer, "/torrent")).status,
            200);

  seeder_process bad(test::seeder_config{
      .upstream = reg.url(), .config_json = config(R"("username":"alice","password":"nope")")});
  auto denied = bad.get(bad.blob_path("private/app", layer, "/torrent"));
  EXPECT_EQ(denied.status, 401) << denied.body;
  EXPECT_EQ(error_code(denied), "UNAUTHORIZED");
  EXPECT_NE(denied.body.find("alice"), std::string::npos) << denied.body;
  EXPECT_EQ(denied.body.find("nope"), std::string::npos) << "never echo a password";

  seeder_process anonymous(test::seeder_config{.upstream = reg.url()});
  EXPECT_EQ(anonymous.get(anonymous.blob_path("private/app", layer, "/torrent")).status, 401);
  EXPECT_EQ(stored_files(bad.data()) + stored_files(anonymous.data()), 0u);
}

TEST(seeder_auth, bearer_token_upstreams_work_like_docker_hub) {
  registry_fixture reg(registry_options{.auth = registry_options::auth_mode::token});
  auto img = reg.push_image("private/tok", "v1", {{30000, 20000}, 35});
  auto issued_by_push = reg.tokens_issued();
  seeder_process s(test::seeder_config{
      .upstream = reg.url(),
      .config_json = R"({"upstreams":{")" + reg.host() + R"(":{"url":")" + reg.url() +
                     R"(","username":"alice","password":"wonderland"}}})"});
  for (const auto& b : img.blobs()) {
    auto r = s.get(s.blob_path("private/tok", b.digest, "/torrent"));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto pre = test::http_post(s.url("/api/v1/preheat"), R"({"image":"private/tok:v1"})");
  EXPECT_EQ(pre.status, 200) << pre.body;
  // The /v2/ ping, then one token for the repository scope, reused for
  // every manifest and blob.
  EXPECT_EQ(reg.tokens_issued() - issued_by_push, 2u);

  seeder_process anonymous(test::seeder_config{.upstream = reg.url()});
  auto denied = anonymous.get(anonymous.blob_path("private/tok", img.layers[0].digest, "/torrent"));
  EXPECT_EQ(denied.status, 401) << denied.body;
  EXPECT_EQ(error_code(denied), "UNAUTHORIZED");
}

// An upstream that answers `status` to blob requests, or stalls mid-body.
struct faulty_upstream {
  int status = 503;
  bool stall = false;
  std::atomic<int> blob_requests{0};
  std::unique_ptr<test::http_fixture> http;

  faulty_upstream() {
    http::router r;
    r.get("/v2/",
          http::sync_handler([](http::request&) { return http::response::text(200, "{}"); }));
    r.get("/v2/{rest*}", http::async_handler([this](http::request&) -> awaitable<http::response> {
            ++blob_requests;
            if (stall) {
              co_return http::response::stream(
                  200, 1000000,
                  [](http::body_writer& w) -> awaitable<result<void>> {
                    std::string some(1000, 'x');
                    co_await w.write(std::as_bytes(std::span(some.data(), some.size())));
                    asio::steady_timer t(co_await asio::this_coro::executor, 20s);
                    co_await t.async_wait(asio::use_awaitable);
                    co_return result<void>{};
                  },
                  "application/octet-stream");
            }
            co_return http::response::bytes(
                status, registry::format_error("UNKNOWN", "upstream trouble"), "application/json");
          }));
    http = std::make_unique<test::http_fixture>(std::move(r));
  }
};

TEST(seeder_upstream_faults, server_errors_become_5xx_after_retries) {
  auto d = test::sha256_hex_digest("whatever");
  for (auto [status, expected, code] :
       {std::tuple{503, 503, "UNAVAILABLE"}, std::tuple{500, 502, "UPSTREAM_ERROR"},
        std::tuple{429, 503, "UNAVAILABLE"}}) {
    faulty_upstream up;
    up.status = status;
    seeder_process s(
        test::seeder_config{.upstream = up.http->url(), .args = {"--upstream-attempts", "3"}});
    auto r = s.get("/api/v1/blobs/a/b/" + d + "/torrent");
    EXPECT_EQ(r.status, expected) << status << ": " << r.body;
    EXPECT_EQ(error_code(r), code) << r.body;
    EXPECT_EQ(up.blob_requests.load(), 3) << "retried " << status;
    EXPECT_TRUE(dir_empty(s.data() / "ingest"));
  }
}

TEST(seeder_upstream_faults, stalled_transfers_time_out_with_504) {
  faulty_upstream up;
  up.stall = true;
  seeder_process s(
      test::seeder_config{.upstream = up.http->url(),
                          .args = {"--upstream-stall-timeout", "1s", "--upstream-attempts", "1"}});
  auto d = test::sha256_hex_digest("stalled");
  auto t0 = std::chrono::steady_clock::now();
  auto r = s.get("/api/v1/blobs/a/b/" + d + "/torrent");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(error_code(r), "TIMEOUT") << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  EXPECT_TRUE(dir_empty(s.data() / "ingest")) << "the partial blob is removed";
  EXPECT_EQ(stored_files(s.data()), 0u);
}

TEST_F(seeder_errors, a_blob_larger_than_the_quota_is_507) {
  auto content = test::random_bytes(2 * MiB, 36);
  auto blob = registry_->push_blob("err/quota", content);
  seeder_process s(
      test::seeder_config{.upstream = registry_->url(), .args = {"--max-size", "1MiB"}});
  auto r = s.get(s.blob_path("err/quota", blob.digest, "/torrent"));
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(error_code(r), "NO_SPACE");
  EXPECT_NE(r.body.find("quota"), std::string::npos) << r.body;
  EXPECT_EQ(stored_files(s.data()), 0u);
  EXPECT_TRUE(dir_empty(s.data() / "ingest"));
}

// The data directory on a 6 MiB tmpfs in a private mount namespace
// (root only: unshare + mount), filled up from outside through
// /proc/<pid>/root.
TEST_F(seeder_errors, a_full_disk_is_507_and_leaves_nothing_behind) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private tmpfs mount";
  auto unshare = test::find_program("unshare");
  ASSERT_TRUE(unshare);
  auto big = registry_->push_blob("err/disk", test::random_bytes(8 * MiB, 37));
  auto a = registry_->push_blob("err/disk", test::random_bytes(4 * MiB, 38));
  auto b = registry_->push_blob("err/disk", test::random_bytes(2 * MiB, 39));
  test::temp_dir dir;
  auto data = dir / "data";
  fs::create_directories(data);
  seeder_process s(test::seeder_config{
      .upstream = registry_->url(),
      .args = {"--min-free", "0", "--segment-size", "0"},
      .data = data,
      .wrapper = {unshare->string(), "-m", "--propagation", "private", "sh", "-c",
                  "mount -t tmpfs -o size=6m tmpfs \"$0\" && exec \"$@\"", data.string()}});
  // Inside the seeder's namespace (not the test's) the data directory is the tmpfs.
  auto inside = fs::path("/proc") / std::to_string(s.proc().pid()) / "root" / data.relative_path();
  ASSERT_TRUE(fs::exists(inside / "index.db"));

  // Larger than the whole disk.
  auto r = s.get(s.blob_path("err/disk", big.digest, "/torrent"));
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(error_code(r), "NO_SPACE") << r.body;
  EXPECT_NE(r.body.find("available on disk"), std::string::npos) << r.body;

  // Fits an empty disk, but the disk is mostly full.
  test::write_text(inside / "filler", test::random_bytes(3 * MiB, 40));
  r = s.get(s.blob_path("err/disk", a.digest, "/torrent"));
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(error_code(r), "NO_SPACE") << r.body;
  EXPECT_TRUE(dir_empty(inside / "ingest")) << "no partial blob is left";
  EXPECT_EQ(stored_files(inside), 0u);

  // What still fits is stored whole.
  r = s.get(s.blob_path("err/disk", b.digest, "/torrent"));
  EXPECT_EQ(r.status, 200) << r.body;
  auto bytes = s.get(s.blob_path("err/disk", b.digest));
  EXPECT_EQ(test::sha256_hex_digest(bytes.body), b.digest.str());
  EXPECT_EQ(stored_files(inside), 1u);
}

}  // namespace
}  // namespace blobswarm::seeder
