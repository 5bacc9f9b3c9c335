// registry::client against the real Distribution registry (anonymous,
// htpasswd Basic auth, token auth with a token server), with images built
// by umoci and pushed by skopeo; and against small in-test servers for what
// a real registry cannot be made to do (redirects to blob storage, 5xx,
// 429, stalls, dropped connections).
#include "common/registry/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/range.hpp"
#include "common/registry/manifest.hpp"
#include "common/registry/media_types.hpp"
#include "common/registry/registry_error.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::registry {
namespace {

using namespace std::chrono_literals;
using test::http_fixture;
using test::registry_fixture;
using test::registry_options;

std::shared_ptr<client> make_client(const std::string& url, upstream_settings s = {},
                                    client_options o = {}) {
  auto host = host_of_url(url);
  EXPECT_TRUE(host);
  o.initial_backoff = 20ms;
  o.max_backoff = 200ms;
  auto c = client::make(upstream{*host, url, std::move(s)}, o);
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

repository_name name(std::string_view n) {
  return *repository_name::parse(n);
}

struct fetched {
  std::string bytes;
  blob_response info;
};

result<fetched> fetch_blob(const client& c, std::string_view repo, const digest& d,
                           std::optional<http::byte_range> range = std::nullopt,
                           const request_options& opts = {}) {
  fetched out;
  auto r = c.get_blob(
      name(repo), d, range, [&](const blob_response&) -> result<void> { return {}; },
      [&](std::span<const std::byte> data) -> result<void> {
        out.bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
        return {};
      },
      opts);
  if (!r) return fail(r.error());
  out.info = *r;
  return out;
}

std::string sha256_of(std::string_view bytes) {
  return "sha256:" + to_hex(sha256(bytes));
}

// One anonymous registry with an OCI image, a Docker schema 2 image and a
// multi-platform index, shared by the tests of this suite.
class anonymous_registry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new registry_fixture();
    oci_ = new test::pushed_image(registry_->push_image("team/app", "v1", {{4096, 300000}, 7}));
    docker_ = new test::pushed_image(
        registry_->push_image("team/legacy", "v1", {{2048}, 8}, /*docker_format=*/true));
    index_ = new test::pushed_index(registry_->push_index(
        "team/multi", "v1",
        {{{1000}, 9, "linux", "amd64"}, {{1200, 1300}, 10, "linux", "arm64", "v8"}}));
  }
  static void TearDownTestSuite() {
    delete index_;
    delete docker_;
    delete oci_;
    delete registry_;
  }
  static registry_fixture* registry_;
  static test::pushed_image* oci_;
  static test::pushed_image* docker_;
  static test::pushed_index* index_;
};
registry_fixture* anonymous_registry::registry_ = nullptr;
test::pushed_image* anonymous_registry::oci_ = nullptr;
test::pushed_image* anonymous_registry::docker_ = nullptr;
test::pushed_index* anonymous_registry::index_ = nullptr;

TEST_F(anonymous_registry, fetches_oci_manifest_by_tag_and_digest) {
  auto c = make_client(registry_->url());
  auto m = c->get_manifest(name("team/app"), "v1");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media_type::oci_manifest);
  EXPECT_EQ(m->body, oci_->manifest);
  EXPECT_EQ(m->digest, oci_->manifest_digest);
  auto parsed = parse_manifest(m->body, m->content_type);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->blobs().size(), 3u);
  EXPECT_EQ(parsed->blobs()[0].digest, oci_->config.digest);
  EXPECT_EQ(parsed->blobs()[2].digest, oci_->layers[1].digest);

  auto by_digest = c->get_manifest(name("team/app"), oci_->manifest_digest.str());
  ASSERT_TRUE(by_digest) << by_digest.error().message;
  EXPECT_EQ(by_digest->body, oci_->manifest);
  auto head = c->head_manifest(name("team/app"), "v1");
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->size, oci_->manifest.size());
  EXPECT_EQ(head->digest, oci_->manifest_digest);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(anonymous_registry, fetches_docker_schema2_and_multi_platform_index) {
  auto c = make_client(registry_->url());
  auto legacy = c->get_manifest(name("team/legacy"), "v1");
  ASSERT_TRUE(legacy) << legacy.error().message;
  EXPECT_EQ(legacy->media_type, media_type::docker_manifest_v2);
  EXPECT_EQ(legacy->digest, docker_->manifest_digest);

  auto idx = c->get_manifest(name("team/multi"), "v1");
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->media_type, media_type::oci_index);
  auto parsed = parse_manifest(idx->body, idx->content_type);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(parsed->is_index());
  ASSERT_EQ(parsed->manifests.size(), 2u);
  auto arm = parsed->select({*platform::parse("linux/arm64")});
  ASSERT_EQ(arm.size(), 1u);
  EXPECT_EQ(arm[0].digest, index_->images[1].manifest_digest);
  auto child = c->get_manifest(name("team/multi"), arm[0].digest.str());
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(parse_manifest(child->body, child->content_type)->layers.size(), 2u);
}

TEST_F(anonymous_registry, forwards_the_callers_accept_lines) {
  auto c = make_client(registry_->url());
  // An OCI manifest asked for with only the Docker type acceptable: the
  // registry refuses instead of serving what the client cannot read.
  request_options docker_only{.accept = {std::string(media_type::docker_manifest_v2)}};
  auto r = c->get_manifest(name("team/app"), "v1", docker_only);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found) << r.error().message;
  request_options oci_only{.accept = {std::string(media_type::oci_manifest)}};
  EXPECT_TRUE(c->get_manifest(name("team/app"), "v1", oci_only));
}

TEST_F(anonymous_registry, streams_blobs_whole_and_by_range) {
  auto c = make_client(registry_->url());
  const auto& layer = oci_->layers[1];
  auto head = c->head_blob(name("team/app"), layer.digest);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->size, layer.size);
  EXPECT_TRUE(head->size_known);

  auto whole = fetch_blob(*c, "team/app", layer.digest);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->bytes.size(), layer.size);
  EXPECT_EQ(sha256_of(whole->bytes), layer.digest.str());
  EXPECT_EQ(whole->info.status, 200);
  EXPECT_EQ(whole->info.size, layer.size);

  auto part = fetch_blob(*c, "team/app", layer.digest, http::byte_range{100, 1099});
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->info.status, 206);
  EXPECT_EQ(part->bytes, whole->bytes.substr(100, 1000));
  EXPECT_EQ(part->info.size, layer.size);

  auto past_end =
      fetch_blob(*c, "team/app", layer.digest, http::byte_range{layer.size, layer.size});
  EXPECT_FALSE(past_end);
}

TEST_F(anonymous_registry, unknown_names_manifests_and_blobs_are_not_found) {
  auto c = make_client(registry_->url());
  auto missing_repo = c->get_manifest(name("no/such"), "v1");
  ASSERT_FALSE(missing_repo);
  EXPECT_EQ(missing_repo.error().code, errc::not_found);
  EXPECT_NE(missing_repo.error().message.find("UNKNOWN"), std::string::npos)
      << missing_repo.error().message;
  auto missing_tag = c->get_manifest(name("team/app"), "nope");
  EXPECT_EQ(missing_tag.error().code, errc::not_found);
  auto d = *digest::parse(sha256_of("not a blob"));
  auto missing_blob = fetch_blob(*c, "team/app", d);
  ASSERT_FALSE(missing_blob);
  EXPECT_EQ(missing_blob.error().code, errc::not_found);
  EXPECT_NE(missing_blob.error().message.find("BLOB_UNKNOWN"), std::string::npos)
      << missing_blob.error().message;
  EXPECT_EQ(c->head_blob(name("team/app"), d).error().code, errc::not_found);
  EXPECT_EQ(c->get_manifest(name("team/app"), "bad tag!").error().code, errc::invalid_argument);
}

TEST_F(anonymous_registry, callbacks_can_abort_a_transfer) {
  auto c = make_client(registry_->url());
  auto r = c->get_blob(
      name("team/app"), oci_->layers[1].digest, std::nullopt,
      [](const blob_response& b) -> result<void> {
        return fail(errc::no_space, "{} bytes do not fit", b.size);
      },
      [](std::span<const std::byte>) -> result<void> { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::no_space);
}

TEST(registry_client, unreachable_registry_is_unavailable_after_retries) {
  auto port = test::free_port();
  auto c = make_client("http://127.0.0.1:" + std::to_string(port), {},
                       client_options{.max_attempts = 2});
  auto r = c->get_manifest(name("a/b"), "v1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_NE(r.error().message.find(std::to_string(port)), std::string::npos);
}

TEST(registry_client_basic_auth, authenticates_with_htpasswd_users) {
  registry_fixture reg(registry_options{.auth = registry_options::auth_mode::htpasswd,
                                        .users = {{"alice", "wonderland"}, {"bob", "builder"}}});
  auto img = reg.push_image("private/app", "v1", {{1000}, 3});

  auto good = make_client(reg.url(), {.username = "bob", .password = "builder"});
  auto m = good->get_manifest(name("private/app"), "v1");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->digest, img.manifest_digest);
  auto blob = fetch_blob(*good, "private/app", img.layers[0].digest);
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(sha256_of(blob->bytes), img.layers[0].digest.str());

  auto wrong = make_client(reg.url(), {.username = "bob", .password = "nope"});
  auto denied = wrong->get_manifest(name("private/app"), "v1");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, errc::unauthorized);
  EXPECT_NE(denied.error().message.find("'bob'"), std::string::npos) << denied.error().message;

  auto anonymous = make_client(reg.url());
  auto anon = anonymous->head_blob(name("private/app"), img.layers[0].digest);
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, errc::unauthorized);

  // A docker config.json "auth" entry works like a user and password.
  test::temp_dir dir;
  test::write_text(dir / "config.json", R"({"auths":{")" + reg.host() + R"(":{"auth":")" +
                                            base64_encode("alice:wonderland") + R"("}}})");
  auto from_config = make_client(reg.url(), {.docker_config = (dir / "config.json").string()});
  EXPECT_TRUE(from_config->get_manifest(name("private/app"), "v1"));
  auto from_auth = make_client(reg.url(), {.auth = base64_encode("alice:wonderland")});
  EXPECT_TRUE(from_auth->head_blob(name("private/app"), img.config.digest));
  // A forwarded Authorization header is used as is.
  request_options forwarded{.authorization = "Basic " + base64_encode("bob:builder")};
  EXPECT_TRUE(anonymous->head_manifest(name("private/app"), "v1", forwarded));
}

TEST(registry_client_token_auth, fetches_and_caches_bearer_tokens_per_scope) {
  registry_fixture reg(registry_options{.auth = registry_options::auth_mode::token});
  auto one = reg.push_image("private/one", "v1", {{1500}, 4});
  auto two = reg.push_image("private/two", "v1", {{1600}, 5});

  auto c = make_client(reg.url(), {.username = "alice", .password = "wonderland"});
  auto before = reg.tokens_issued();
  auto m = c->get_manifest(name("private/one"), "v1");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->digest, one.manifest_digest);
  auto blob = fetch_blob(*c, "private/one", one.layers[0].digest);
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(sha256_of(blob->bytes), one.layers[0].digest.str());
  ASSERT_TRUE(c->head_blob(name("private/one"), one.config.digest));
  auto after_one = reg.tokens_issued();
  // The /v2/ ping and one scope: two tokens, however many requests.
  EXPECT_EQ(after_one - before, 2u);
  ASSERT_TRUE(c->get_manifest(name("private/two"), "v1"));
  ASSERT_TRUE(c->head_blob(name("private/two"), two.config.digest));
  EXPECT_EQ(reg.tokens_issued() - after_one, 1u) << "a new scope needs one new token";
  EXPECT_EQ(c->cached_tokens(), 3u);

  auto wrong = make_client(reg.url(), {.username = "alice", .password = "bad"});
  auto denied = wrong->get_manifest(name("private/one"), "v1");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, errc::unauthorized) << denied.error().message;

  // Anonymous callers get tokens without access: the registry says 401.
  auto anonymous = make_client(reg.url());
  auto anon = anonymous->get_manifest(name("private/one"), "v1");
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, errc::unauthorized) << anon.error().message;

  // A forwarded bearer token is used as is; a bad one gets the challenge back.
  request_options forwarded{.authorization = reg.authorization("private/one", "pull")};
  EXPECT_TRUE(anonymous->get_manifest(name("private/one"), "v1", forwarded));
  std::string challenge;
  request_options bogus{.authorization = "Bearer nonsense", .challenge = &challenge};
  auto rejected = anonymous->get_manifest(name("private/one"), "v1", bogus);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, errc::unauthorized);
  EXPECT_NE(challenge.find("Bearer realm=\"" + reg.token_realm()), std::string::npos) << challenge;
}

TEST(registry_client_token_auth, refreshes_expired_tokens_and_allows_anonymous_pulls) {
  registry_fixture reg(registry_options{
      .auth = registry_options::auth_mode::token, .anonymous_pull = true, .token_ttl = 1s});
  auto img = reg.push_image("public/app", "v1", {{1000}, 6});
  auto c = make_client(reg.url());
  ASSERT_TRUE(c->head_blob(name("public/app"), img.config.digest));
  auto issued = reg.tokens_issued();
  // Tokens live one second here: repeated requests keep working, with new tokens.
  EXPECT_TRUE(test::wait_for(
      [&] {
        auto r = c->head_blob(name("public/app"), img.config.digest);
        EXPECT_TRUE(r) << r.error().message;
        return reg.tokens_issued() > issued;
      },
      10s));
}

// A stand-in registry that requires Basic auth and redirects blob GETs to
// a separate "blob storage" server, which records what headers it saw.
TEST(registry_client_redirects, follow_to_blob_storage_without_credentials) {
  auto content = test::random_bytes(200000, 11);
  auto d = *digest::parse(sha256_of(content));
  std::mutex mutex;
  std::vector<std::string> storage_auth;
  http::router storage_routes;
  storage_routes.get("/bucket/{key}", http::sync_handler([&](http::request& req) {
                       std::lock_guard lock(mutex);
                       storage_auth.emplace_back(req.header("authorization").value_or("<none>"));
                       auto range = http::parse_range(req.header("range"), content.size());
                       if (range.what == http::range_request::kind::partial) {
                         auto r = http::response::bytes(
                             206, content.substr(range.range.first, range.range.length()),
                             "application/octet-stream");
                         r.set("Content-Range", http::content_range(range.range, content.size()));
                         return r;
                       }
                       return http::response::bytes(200, content, "application/octet-stream");
                     }));
  http_fixture storage(std::move(storage_routes));
  http::router registry_routes;
  auto basic = "Basic " + base64_encode("u:p");
  http::sync_handler front_handler([&](http::request& req) {
    if (req.header("authorization") != basic) {
      auto r = http::response::bytes(
          401, format_error(code::unauthorized, "authentication required"), "application/json");
      r.set("WWW-Authenticate", "Basic realm=\"stand-in\"");
      return r;
    }
    if (req.path() == "/v2/") return http::response::text(200, "{}");
    auto r = http::response::text(307, "");
    r.set("Location", storage.url("/bucket/blob?X-Signature=secret"));
    return r;
  });
  registry_routes.get("/v2/", front_handler);
  registry_routes.get("/v2/{rest*}", front_handler);
  http_fixture front(std::move(registry_routes));
  auto c = make_client(front.url(), {.username = "u", .password = "p"});
  auto whole = fetch_blob(*c, "a/b", d);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->bytes, content);
  auto part = fetch_blob(*c, "a/b", d, http::byte_range{10, 19});
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->bytes, content.substr(10, 10));
  std::lock_guard lock(mutex);
  ASSERT_EQ(storage_auth.size(), 2u);
  for (const auto& a : storage_auth) EXPECT_EQ(a, "<none>") << "credentials leaked to storage";
}

// A stand-in that fails in scripted ways, then serves a blob.
struct flaky_registry {
  std::string content = test::random_bytes(300000, 12);
  digest d = *digest::parse(sha256_of(content));
  std::atomic<int> requests{0};
  std::atomic<int> failures_left{0};
  int failure_status = 503;
  bool drop_midway = false;  // first GET sends half the body, then drops
  std::atomic<bool> dropped{false};
  std::mutex mutex;
  std::vector<std::string> ranges;
  std::unique_ptr<http_fixture> http;

  flaky_registry() {
    http::router r;
    r.get("/v2/",
          http::sync_handler([](http::request&) { return http::response::text(200, "{}"); }));
    r.get("/v2/{rest*}", http::sync_handler([this](http::request& req) { return serve(req); }));
    http = std::make_unique<http_fixture>(std::move(r));
  }

  http::response serve(http::request& req) {
    ++requests;
    if (failures_left.load() > 0) {
      --failures_left;
      auto r =
          http::response::bytes(failure_status, format_error("X", "try later"), "application/json");
      r.set("Retry-After", "0");
      return r;
    }
    {
      std::lock_guard lock(mutex);
      ranges.emplace_back(req.header("range").value_or(""));
    }
    auto range = http::parse_range(req.header("range"), content.size());
    if (drop_midway && !dropped.exchange(true)) {
      auto half = content.size() / 2;
      return http::response::stream(
          200, content.size(),
          [this, half](http::body_writer& w) -> awaitable<result<void>> {
            co_await w.write(std::as_bytes(std::span(content.data(), half)));
            co_return fail(errc::unavailable, "connection dropped on purpose");
          },
          "application/octet-stream");
    }
    if (range.what == http::range_request::kind::partial) {
      auto r = http::response::bytes(206, content.substr(range.range.first, range.range.length()),
                                     "application/octet-stream");
      r.set("Content-Range", http::content_range(range.range, content.size()));
      return r;
    }
    return http::response::bytes(200, content, "application/octet-stream");
  }
};

TEST(registry_client_retries, retry_429_and_5xx_with_backoff) {
  for (int status : {429, 500, 502, 503, 504}) {
    flaky_registry reg;
    reg.failure_status = status;
    reg.failures_left = 2;
    auto c = make_client(reg.http->url());
    auto r = fetch_blob(*c, "a/b", reg.d);
    ASSERT_TRUE(r) << status << ": " << r.error().message;
    EXPECT_EQ(r->bytes, reg.content);
    EXPECT_EQ(reg.requests.load(), 3) << status;
  }
}

TEST(registry_client_retries, give_up_after_max_attempts_with_the_upstream_error) {
  flaky_registry reg;
  reg.failure_status = 500;
  reg.failures_left = 100;
  auto c = make_client(reg.http->url(), {}, client_options{.max_attempts = 3});
  auto r = fetch_blob(*c, "a/b", reg.d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::upstream);
  EXPECT_NE(r.error().message.find("500"), std::string::npos) << r.error().message;
  EXPECT_EQ(reg.requests.load(), 3);
  reg.failure_status = 404;
  reg.failures_left = 100;
  reg.requests = 0;
  EXPECT_EQ(fetch_blob(*c, "a/b", reg.d).error().code, errc::not_found);
  EXPECT_EQ(reg.requests.load(), 1) << "404 is final";
}

TEST(registry_client_retries, resume_a_dropped_transfer_with_a_range_request) {
  flaky_registry reg;
  reg.drop_midway = true;
  auto c = make_client(reg.http->url());
  std::size_t starts = 0;
  std::string bytes;
  auto r = c->get_blob(
      name("a/b"), reg.d, std::nullopt,
      [&](const blob_response&) -> result<void> {
        ++starts;
        return {};
      },
      [&](std::span<const std::byte> data) -> result<void> {
        bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
        return {};
      });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(starts, 1u);
  EXPECT_EQ(bytes, reg.content) << "every byte exactly once, in order";
  std::lock_guard lock(reg.mutex);
  ASSERT_EQ(reg.ranges.size(), 2u);
  EXPECT_EQ(reg.ranges[0], "");
  EXPECT_TRUE(reg.ranges[1].starts_with("bytes=")) << reg.ranges[1];
  EXPECT_NE(reg.ranges[1], "bytes=0-" + std::to_string(reg.content.size() - 1));
}

TEST(registry_client_timeouts, slow_answers_time_out_and_cancel_stops_waiting) {
  http::router r;
  http::async_handler slow_handler([](http::request&) -> awaitable<http::response> {
    asio::steady_timer t(co_await asio::this_coro::executor, 5s);
    co_await t.async_wait(asio::use_awaitable);
    co_return http::response::text(200, "{}");
  });
  r.get("/v2/", slow_handler);
  r.get("/v2/{rest*}", slow_handler);
  http_fixture slow(std::move(r));
  auto c = make_client(slow.url(), {}, client_options{.request_timeout = 300ms, .max_attempts = 2});
  auto t0 = std::chrono::steady_clock::now();
  auto m = c->get_manifest(name("a/b"), "v1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, errc::timeout) << m.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  auto blob_client = make_client(slow.url(), {}, client_options{.stall_timeout = 10s});
  auto b = blob_client->get_blob(name("a/b"), *digest::parse(sha256_of("x")), std::nullopt, nullptr,
                                 nullptr, request_options{.cancel = &cancel});
  canceller.join();
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::unavailable);
}

}  // namespace
}  // namespace blobswarm::registry
