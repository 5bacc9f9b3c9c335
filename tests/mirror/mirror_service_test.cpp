// blobswarm-mirror as a process in front of a real Distribution registry,
// pulled through by real clients (skopeo, containerd's ctr, podman). No
// tracker or seeder here: blobs come over HTTP from upstream (the swarm
// paths are covered by blob_download_test and the end-to-end tests).
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/hasher.hpp"
#include "common/http/client.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/pull_clients.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::unique_ptr<service_process> mirror_for(registry_fixture& reg, json extra = json::object(),
                                            std::string host = "127.0.0.1") {
  mirror_config c;
  c.host = std::move(host);
  c.upstream = reg.url();
  c.upstreams = {{reg.host(), {{"url", reg.url()}}}};
  c.extra = std::move(extra);
  return start_mirror(c);
}

http::client_response get(const std::string& url, http::header_list headers = {},
                          std::string method = "GET") {
  http::client c;
  auto r = c.send({.method = std::move(method), .url = url, .headers = std::move(headers)});
  EXPECT_TRUE(r) << url << ": " << (r ? "" : r.error().message);
  return r ? *r : http::client_response{};
}

// Blob requests the mirror answered (misses, and hits on blobs the
// manifest's prefetch had already fetched).
std::uint64_t blob_requests(const service_process& m) {
  return m.stats_total("cache_misses") + m.stats_total("cache_hits");
}

TEST(mirror, answers_the_v2_api_and_registry_style_errors) {
  registry_fixture reg;
  auto m = mirror_for(reg);
  auto base = get(m->url("/v2/"));
  EXPECT_EQ(base.status, 200);
  EXPECT_EQ(base.header("docker-distribution-api-version"), "registry/2.0");

  struct row {
    std::string method, path;
    int status;
    std::string code;
  };
  std::string d64(64, 'a');
  for (const auto& [method, path, status, code] : std::vector<row>{
           {"GET", "/v2/Upper/blobs/sha256:" + d64, 400, "NAME_INVALID"},
           {"GET", "/v2/a//b/manifests/latest", 400, "NAME_INVALID"},
           {"GET", "/v2/a/blobs/sha256:xyz", 400, "DIGEST_INVALID"},
           {"GET", "/v2/a/manifests/-bad-tag", 404, "MANIFEST_UNKNOWN"},
           {"GET", "/v2/a/manifests/sha256:xyz", 400, "DIGEST_INVALID"},
           {"GET", "/v2/a/blobs/sha256:" + d64, 404, "BLOB_UNKNOWN"},
           {"GET", "/v2/a/manifests/nope", 404, "MANIFEST_UNKNOWN"},
           {"PUT", "/v2/a/manifests/latest", 405, "UNSUPPORTED"},
           {"DELETE", "/v2/a/blobs/sha256:" + d64, 405, "UNSUPPORTED"},
           {"POST", "/v2/a/blobs/uploads/", 405, "UNSUPPORTED"},
       }) {
    auto r = get(m->url(path), {}, method);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    EXPECT_NE(r.body.find("\"" + code + "\""), std::string::npos)
        << method << " " << path << ": " << r.body;
  }
  // curl would normalize "..": send it as is.
  auto port = static_cast<std::uint16_t>(std::stoi(m->listen().substr(m->listen().rfind(':') + 1)));
  auto dots = raw_request(port, "GET /v2/a/../b/blobs/sha256:" + d64 +
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Connection: close\r\n\r\n");
  EXPECT_TRUE(dots.starts_with("HTTP/1.1 400")) << dots;
  EXPECT_NE(dots.find("NAME_INVALID"), std::string::npos) << dots;
  // Oversized headers are refused, garbage is answered, and serving goes on.
  auto big = get(m->url("/v2/"), {{"X-Big", std::string(40000, 'x')}});
  EXPECT_EQ(big.status, 431);
  EXPECT_EQ(get(m->url("/v2/")).status, 200);
}

// The pull workflow of the OCI distribution-spec conformance suite (v1.1.1)
// as far as a pull-through mirror serves it: existing and unknown
// manifests (by tag and digest) and blobs, with HEAD and GET, a reference
// that is neither a tag nor a digest, and error bodies in the OCI format.
// Each case is asked of the registry itself too: the mirror answers as
// Distribution does.
TEST(mirror, answers_the_oci_pull_workflow_as_the_registry_does) {
  registry_fixture reg;
  auto image = reg.push_image("conformance/pull", "v1", {.layer_sizes = {70 * 1024}, .seed = 15});
  auto m = mirror_for(reg);
  const std::string unknown = "sha256:" + std::string(64, '0');
  const std::string repo = "/v2/conformance/pull";
  struct row {
    std::string method, path;
    int status;
    std::string code;                 // expected error code (GET)
    std::optional<std::string> body;  // expected body of a 200 GET
    std::string digest;               // expected Docker-Content-Digest of a 200
  };
  auto& layer = image.layers[0];
  std::vector<row> rows = {
      {"HEAD", repo + "/manifests/v1", 200, "", {}, image.manifest_digest.str()},
      {"GET", repo + "/manifests/v1", 200, "", image.manifest, image.manifest_digest.str()},
      {"HEAD",
       repo + "/manifests/" + image.manifest_digest.str(),
       200,
       "",
       {},
       image.manifest_digest.str()},
      {"GET", repo + "/manifests/" + image.manifest_digest.str(), 200, "", image.manifest,
       image.manifest_digest.str()},
      {"HEAD", repo + "/manifests/no-such-tag", 404, "", {}, ""},
      {"GET", repo + "/manifests/no-such-tag", 404, "MANIFEST_UNKNOWN", {}, ""},
      {"HEAD", repo + "/manifests/" + unknown, 404, "", {}, ""},
      {"GET", repo + "/manifests/" + unknown, 404, "MANIFEST_UNKNOWN", {}, ""},
      {"HEAD", repo + "/manifests/.INVALID_MANIFEST_NAME", 404, "", {}, ""},
      {"GET", repo + "/manifests/.INVALID_MANIFEST_NAME", 404, "MANIFEST_UNKNOWN", {}, ""},
      {"HEAD", repo + "/blobs/" + layer.digest.str(), 200, "", {}, layer.digest.str()},
      {"GET", repo + "/blobs/" + layer.digest.str(), 200, "", std::nullopt, layer.digest.str()},
      {"HEAD",
       repo + "/blobs/" + image.config.digest.str(),
       200,
       "",
       {},
       image.config.digest.str()},
      {"GET", repo + "/blobs/" + image.config.digest.str(), 200, "", std::nullopt,
       image.config.digest.str()},
      {"HEAD", repo + "/blobs/" + unknown, 404, "", {}, ""},
      {"GET", repo + "/blobs/" + unknown, 404, "BLOB_UNKNOWN", {}, ""},
      {"GET", "/v2/conformance/nothing-here/manifests/v1", 404, "", {}, ""},
  };
  const std::set<std::string> oci_codes = {
      "BLOB_UNKNOWN",          "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
      "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",    "MANIFEST_UNKNOWN",    "NAME_INVALID",
      "NAME_UNKNOWN",          "SIZE_INVALID",        "UNAUTHORIZED",        "DENIED",
      "UNSUPPORTED",           "TOOMANYREQUESTS"};
  auto accept = http::header_list{{"Accept", image.manifest_media_type}};
  for (const auto& r : rows) {
    auto what = r.method + " " + r.path;
    auto upstream = get(reg.url() + r.path, accept, r.method);
    EXPECT_EQ(upstream.status, r.status) << "the registry: " << what;
    auto mirrored = get(m->url(r.path), accept, r.method);
    EXPECT_EQ(mirrored.status, r.status) << what << ": " << mirrored.body;
    if (r.status == 200) {
      EXPECT_EQ(mirrored.header("docker-content-digest").value_or(""), r.digest) << what;
      EXPECT_EQ(mirrored.header("content-length"), upstream.header("content-length")) << what;
      if (r.method == "GET") {
        EXPECT_EQ(mirrored.body, upstream.body) << what;
        if (r.body) {
          EXPECT_EQ(mirrored.body, *r.body) << what;
        }
      }
      continue;
    }
    if (r.method != "GET") continue;
    // {"errors": [{"code": ..., "message": ...}, ...]}
    auto body = nlohmann::json::parse(mirrored.body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body["errors"].is_array() && !body["errors"].empty())
        << what << ": " << mirrored.body;
    for (const auto& e : body["errors"]) {
      ASSERT_TRUE(e["code"].is_string() && e["message"].is_string()) << what << ": " << e;
      EXPECT_TRUE(oci_codes.contains(e["code"].get<std::string>())) << what << ": " << e;
    }
    if (!r.code.empty()) {
      EXPECT_EQ(body["errors"][0]["code"], r.code) << what;
    }
  }
}

TEST(mirror, skopeo_pulls_are_byte_identical_to_direct_pulls) {
  registry_fixture reg;
  auto image =
      reg.push_image("team/app", "v1", {.layer_sizes = {300 * 1024, 1200 * 1024}, .seed = 3});
  auto m = mirror_for(reg);
  temp_dir out;
  auto direct = skopeo_copy_to_dir(reg.host() + "/team/app:v1", out / "direct");
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto via = skopeo_copy_to_dir(m->listen() + "/team/app:v1", out / "mirror");
  ASSERT_EQ(via.status, 0) << via.output;
  EXPECT_EQ(read_tree(out / "direct"), read_tree(out / "mirror"));
  // Every blob went through the mirror: a miss, or a hit on what the
  // manifest's prefetch had fetched.
  EXPECT_GE(blob_requests(*m), image.blobs().size());
  EXPECT_EQ(m->stats_total("from_upstream"),
            image.config.size + image.layers[0].size + image.layers[1].size);
  // Second pull: from the cache, nothing new from upstream.
  auto gets_before = reg.count_requests("GET", "/v2/team/app/blobs/");
  auto hits_before = m->stats_total("cache_hits");
  auto again = skopeo_copy_to_dir(m->listen() + "/team/app:v1", out / "again");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(reg.count_requests("GET", "/v2/team/app/blobs/"), gets_before);
  EXPECT_GE(m->stats_total("cache_hits") - hits_before, image.blobs().size());
}

TEST(mirror, containerd_pulls_through_hosts_toml_with_ns) {
  registry_fixture reg;
  auto image =
      reg.push_image("library/base", "1.0", {.layer_sizes = {128 * 1024, 512 * 1024}, .seed = 4});
  // Only the registry host is configured as upstream; containerd names it with ?ns=.
  mirror_config c;
  c.upstream = "https://registry-1.docker.io";
  c.upstreams = {{reg.host(), {{"url", reg.url()}}}};
  auto m = start_mirror(c);
  containerd_daemon ctrd;
  auto ref = reg.host() + "/library/base:1.0";
  auto r = ctrd.pull(reg.host(), m->url(), ref);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ctrd.image_digest(ref), image.manifest_digest.str());
  // The blobs came through the mirror, not around it.
  EXPECT_GE(blob_requests(*m), image.blobs().size());
  // containerd names the registry with ?ns= (its ':' percent-encoded).
  EXPECT_NE(m->output().find("?ns=127.0.0.1"), std::string::npos);
}

TEST(mirror, podman_pulls_through_a_registries_conf_mirror) {
  registry_fixture reg;
  auto image = reg.push_image("team/tool", "2", {.layer_sizes = {200 * 1024}, .seed = 5});
  auto m = mirror_for(reg);
  temp_dir work;
  auto r = podman_pull(work.path(), reg.host(), m->listen(), reg.host() + "/team/tool:2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GE(blob_requests(*m), image.blobs().size());
}

TEST(mirror, serves_manifests_and_blobs_with_head_and_range) {
  registry_fixture reg;
  auto image = reg.push_image("team/app", "v1", {.layer_sizes = {500 * 1024}, .seed = 6});
  auto m = mirror_for(reg);
  auto accept = http::header_list{{"Accept", image.manifest_media_type}};
  auto head = get(m->url("/v2/team/app/manifests/v1"), accept, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("docker-content-digest"), image.manifest_digest.str());
  EXPECT_EQ(head.header("content-type"), image.manifest_media_type);
  EXPECT_EQ(head.header("content-length"), std::to_string(image.manifest.size()));
  auto by_digest = get(m->url("/v2/team/app/manifests/" + image.manifest_digest.str()), accept);
  EXPECT_EQ(by_digest.body, image.manifest);

  auto& layer = image.layers[0];
  auto blob_url = m->url("/v2/team/app/blobs/" + layer.digest.str());
  auto bhead = get(blob_url, {}, "HEAD");
  EXPECT_EQ(bhead.status, 200);
  EXPECT_EQ(bhead.header("content-length"), std::to_string(layer.size));
  auto whole = get(blob_url);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(*digest::from_raw(hash_algorithm::sha256, sha256(whole.body)), layer.digest);
  auto part = get(blob_url, {{"Range", "bytes=1000-1999"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, whole.body.substr(1000, 1000));
  EXPECT_EQ(part.header("content-range"), fmt::format("bytes 1000-1999/{}", layer.size));
  EXPECT_EQ(get(blob_url, {}, "HEAD").header("content-length"), std::to_string(layer.size));
}

TEST(mirror, pulls_a_multi_platform_index) {
  registry_fixture reg;
  auto index = reg.push_index("team/multi", "latest",
                              {{.layer_sizes = {100 * 1024}, .seed = 7, .architecture = "amd64"},
                               {.layer_sizes = {110 * 1024}, .seed = 8, .architecture = "arm64"}});
  auto m = mirror_for(reg);
  temp_dir out;
  auto direct = skopeo_copy_to_dir(reg.host() + "/team/multi:latest", out / "direct", true);
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto via = skopeo_copy_to_dir(m->listen() + "/team/multi:latest", out / "mirror", true);
  ASSERT_EQ(via.status, 0) << via.output;
  EXPECT_EQ(read_tree(out / "direct"), read_tree(out / "mirror"));
}

TEST(mirror, tags_expire_after_the_ttl_and_go_stale_when_upstream_is_down) {
  registry_fixture reg;
  auto v1 = reg.push_image("team/app", "moving", {.layer_sizes = {50 * 1024}, .seed = 9});
  constexpr auto ttl = 2s;
  auto m = mirror_for(reg, {{"tag_ttl", "2s"}});
  auto accept = http::header_list{{"Accept", v1.manifest_media_type}};
  auto url = m->url("/v2/team/app/manifests/moving");
  auto fetched = std::chrono::steady_clock::now();
  EXPECT_EQ(get(url, accept).header("docker-content-digest"), v1.manifest_digest.str());
  auto v2 = reg.push_image("team/app", "moving", {.layer_sizes = {60 * 1024}, .seed = 10});
  // A copy: header() is a view into the response, which is a temporary here.
  auto answer = std::string(get(url, accept).header("docker-content-digest").value_or(""));
  auto within_ttl = std::chrono::steady_clock::now() - fetched < ttl;
  // Within the TTL the mirror answers from its cache (a loaded machine may
  // take longer than the TTL to push v2; then there is nothing to check).
  if (within_ttl) {
    EXPECT_EQ(answer, v1.manifest_digest.str());
  }
  ASSERT_TRUE(wait_for(
      [&] { return get(url, accept).header("docker-content-digest") == v2.manifest_digest.str(); },
      10s));
  // Fetch v2's layer so the cache holds it, then lose the registry.
  auto layer_url = m->url("/v2/team/app/blobs/" + v2.layers[0].digest.str());
  ASSERT_EQ(get(layer_url).status, 200);
  reg.stop();
  std::this_thread::sleep_for(ttl + 200ms);  // let the tag's TTL run out (time is the subject)
  auto stale = get(url, accept);
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.header("docker-content-digest"), v2.manifest_digest.str());
  EXPECT_NE(m->output().find("STALE manifest"), std::string::npos);
  auto cached = get(layer_url);
  EXPECT_EQ(cached.status, 200);
  EXPECT_EQ(cached.body.size(), v2.layers[0].size);
}

TEST(mirror, private_repositories_are_served_only_to_clients_upstream_authorizes) {
  registry_fixture reg({.auth = registry_options::auth_mode::htpasswd,
                        .users = {{"alice", "wonderland"}, {"bob", "builder"}}});
  auto image = reg.push_image("secret/app", "v1", {.layer_sizes = {80 * 1024}, .seed = 11});
  // The node itself holds credentials for the registry; clients must still prove theirs.
  mirror_config c;
  c.upstream = reg.url();
  c.upstreams = {
      {reg.host(), {{"url", reg.url()}, {"username", "alice"}, {"password", "wonderland"}}}};
  auto m = start_mirror(c);
  auto blob_url = m->url("/v2/secret/app/blobs/" + image.layers[0].digest.str());
  auto alice = reg.authorization("secret/app", "pull");
  auto ok = get(blob_url, {{"Authorization", alice}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body.size(), image.layers[0].size);

  auto anonymous = get(blob_url);
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_TRUE(anonymous.header("www-authenticate").has_value());
  EXPECT_TRUE(anonymous.body.find("wonderland") == std::string::npos);
  auto wrong = get(blob_url, {{"Authorization", "Basic Ym9iOndyb25n"}});  // bob:wrong
  EXPECT_EQ(wrong.status, 401);
  auto manifest = get(m->url("/v2/secret/app/manifests/v1"));
  EXPECT_EQ(manifest.status, 401);
  // Nothing is prefetched for a client the manifest was refused to.
  EXPECT_EQ(m->get_json("/api/v1/stats")["prefetch"].value("started", 1), 0);
  auto bob = get(blob_url, {{"Authorization", "Basic Ym9iOmJ1aWxkZXI="}});  // bob:builder
  EXPECT_EQ(bob.status, 200);
  EXPECT_GE(m->stats_total("denied"), 3u);
}

// Serving an image manifest starts its blobs before the client asks
// (clients that fetch one layer at a time find them flowing); a prefetched
// blob nobody asked for is an ordinary cached blob, first to be evicted.
TEST(mirror, an_image_manifest_starts_its_blobs_and_unasked_ones_are_evicted_first) {
  registry_fixture reg;
  auto a = reg.push_image("team/a", "v1", {.layer_sizes = {300 * 1024, 400 * 1024}, .seed = 16});
  auto b = reg.push_image("team/b", "v1", {.layer_sizes = {600 * 1024, 700 * 1024}, .seed = 17});
  // 2 MiB: evicts above 1.8 MiB down to 1.6 MiB.
  auto m = mirror_for(reg, {{"cache_size", "2MiB"}});
  auto blob_gets = [&](const pushed_image& img) {
    std::size_t n = 0;
    for (const auto& blob : img.blobs()) {
      n += reg.count_requests("GET", "/v2/" + img.name + "/blobs/" + blob.digest.str());
    }
    return n;
  };
  auto cached = [&](const pushed_blob& blob) {
    return std::filesystem::exists(m->dir() / "data" / "blobs" / std::string(blob.digest.hex()));
  };
  auto accept = http::header_list{{"Accept", a.manifest_media_type}};
  ASSERT_EQ(get(m->url("/v2/team/a/manifests/v1"), accept).status, 200);
  // Every blob arrives without a blob request from any client.
  ASSERT_TRUE(wait_for(
      [&] {
        auto all = a.blobs();
        return std::all_of(all.begin(), all.end(), cached) &&
               m->get_json("/api/v1/stats")["prefetch"].value("running", 1) == 0;
      },
      20s))
      << m->output();
  EXPECT_EQ(m->get_json("/api/v1/stats")["prefetch"].value("started", 0), a.blobs().size());
  EXPECT_EQ(blob_gets(a), a.blobs().size());
  EXPECT_EQ(m->stats_total("cache_hits"), 0u);
  // HEAD asks nothing of the blobs.
  ASSERT_EQ(get(m->url("/v2/team/b/manifests/v1"), accept, "HEAD").status, 200);
  std::this_thread::sleep_for(1100ms);  // LRU times are in seconds
  // The client asks for one layer: served from the cache, not fetched again.
  auto first = get(m->url("/v2/team/a/blobs/" + a.layers[0].digest.str()));
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body.size(), a.layers[0].size);
  EXPECT_EQ(m->stats_total("cache_hits"), 1u);
  EXPECT_EQ(blob_gets(a), a.blobs().size());
  std::this_thread::sleep_for(1100ms);
  // Another image's blobs, asked for directly, push the cache over its
  // high watermark: what was prefetched and never asked for goes first.
  for (const auto& layer : b.layers) {
    ASSERT_EQ(get(m->url("/v2/team/b/blobs/" + layer.digest.str())).status, 200);
  }
  EXPECT_FALSE(cached(a.layers[1])) << "the unasked prefetched layer was kept";
  EXPECT_TRUE(cached(a.layers[0])) << "the layer a client asked for was evicted first";
  for (const auto& layer : b.layers) EXPECT_TRUE(cached(layer));
}

TEST(mirror, restart_keeps_the_cache) {
  registry_fixture reg;
  auto image = reg.push_image("team/app", "v1", {.layer_sizes = {256 * 1024}, .seed = 12});
  auto m = mirror_for(reg);
  auto url = m->url("/v2/team/app/blobs/" + image.layers[0].digest.str());
  ASSERT_EQ(get(url).status, 200);
  m->restart();
  auto gets = reg.count_requests("GET", "/v2/team/app/blobs/");
  auto again = get(url);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body.size(), image.layers[0].size);
  EXPECT_EQ(reg.count_requests("GET", "/v2/team/app/blobs/"), gets);
  EXPECT_EQ(m->stats_total("cache_hits"), 1u);
}

TEST(mirror, a_modified_cache_file_is_detected_and_never_served) {
  registry_fixture reg;
  auto image = reg.push_image("team/app", "v1", {.layer_sizes = {256 * 1024}, .seed = 13});
  auto m = mirror_for(reg);
  auto& layer = image.layers[0];
  auto url = m->url("/v2/team/app/blobs/" + layer.digest.str());
  auto first = get(url);
  ASSERT_EQ(first.status, 200);
  auto cached = m->dir() / "data" / "blobs" / std::string(layer.digest.hex());
  ASSERT_TRUE(std::filesystem::exists(cached));
  {
    std::fstream f(cached, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1234);
    f.put('\x42' ^ first.body[1234]);
  }
  auto second = get(url);
  ASSERT_EQ(second.status, 200);
  EXPECT_TRUE(second.body == first.body) << "a corrupted cache file was served";
  EXPECT_NE(m->output().find("CORRUPT CACHE ENTRY"), std::string::npos);
}

TEST(mirror, an_upstream_that_lies_about_a_digest_is_never_served_or_cached) {
  registry_fixture reg;
  auto image = reg.push_image("team/app", "v1", {.layer_sizes = {300 * 1024}, .seed = 14});
  auto& layer = image.layers[0];
  auto data = reg.blob_data_path(layer.digest);
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(layer.size - 10));
    f.put('\x00');
    f.put('\x01');
  }
  auto m = mirror_for(reg);
  http::client c;
  auto r = c.send({.url = m->url("/v2/team/app/blobs/" + layer.digest.str())});
  // Either an error status before the body, or a body cut short: never all of it.
  bool refused = !r || r->status != 200 || r->body.size() != layer.size;
  EXPECT_TRUE(refused);
  EXPECT_FALSE(
      std::filesystem::exists(m->dir() / "data" / "blobs" / std::string(layer.digest.hex())));
  EXPECT_GE(m->stats_total("digest_mismatches"), 1u);
}

}  // namespace
}  // namespace blobswarm::test
