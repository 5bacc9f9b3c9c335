// http::client behaviour: redirects, errors, limits, streaming, TLS.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "common/http/client.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::http {
namespace {

using namespace std::chrono_literals;
using test::http_fixture;

router client_routes() {
  router r;
  r.get("/old", sync_handler([](request&) {
          auto res = response::text(302, "moved");
          res.set("Location", "/new");
          return res;
        }));
  r.get("/new", sync_handler([](request&) { return response::text(200, "arrived"); }));
  r.get("/big",
        sync_handler([](request&) { return response::text(200, std::string(10000, 'x')); }));
  r.get("/slow", async_handler([](request&) -> awaitable<response> {
          asio::steady_timer t(co_await asio::this_coro::executor, 3s);
          co_await t.async_wait(asio::use_awaitable);
          co_return response::text(200, "late");
        }));
  r.get("/auth", sync_handler([](request& req) {
          return response::text(200, std::string(req.header("authorization").value_or("-")));
        }));
  return r;
}

TEST(http_client, follows_redirects_and_reports_the_final_url) {
  http_fixture f(client_routes());
  client c;
  auto r = c.send({.url = f.url("/old")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "arrived");
  EXPECT_TRUE(r->effective_url.ends_with("/new")) << r->effective_url;
  auto no = c.send({.url = f.url("/old"), .follow_redirects = false});
  EXPECT_EQ(no->status, 302);
  EXPECT_EQ(no->header("location"), "/new");
}

TEST(http_client, connection_refused_is_unavailable) {
  auto port = test::free_port();
  client c;
  auto r = c.send({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_NE(r.error().message.find(std::to_string(port)), std::string::npos);
}

TEST(http_client, request_timeout_is_reported_as_timeout) {
  http_fixture f(client_routes());
  client c;
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send({.url = f.url("/slow"), .timeout = 300ms});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(http_client, buffered_bodies_are_capped) {
  http_fixture f(client_routes());
  client c(client_options{.max_body = 1024});
  auto r = c.send({.url = f.url("/big")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::too_large);
}

TEST(http_client, stream_callbacks_can_abort_with_their_own_error) {
  http_fixture f(client_routes());
  client c;
  auto r = c.stream(
      {.url = f.url("/big")},
      [](const client_response& res) -> result<void> {
        if (res.status == 200) return fail(errc::conflict, "not wanted");
        return {};
      },
      [](std::span<const std::byte>) -> result<void> { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::conflict);
  std::size_t seen = 0;
  r = c.stream({.url = f.url("/big")}, nullptr, [&](std::span<const std::byte> d) -> result<void> {
    seen += d.size();
    return fail(errc::digest_mismatch, "stop");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::digest_mismatch);
  EXPECT_GT(seen, 0u);
}

TEST(http_client, headers_reach_the_server_and_cancel_stops_a_transfer) {
  http_fixture f(client_routes());
  client c;
  EXPECT_EQ(c.send({.url = f.url("/auth"), .headers = {{"Authorization", "Bearer t"}}})->body,
            "Bearer t");
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send({.url = f.url("/slow"), .cancel = &cancel});
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

TEST(http_client, is_safe_to_share_between_threads) {
  http_fixture f(client_routes());
  client c;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = c.send({.url = f.url("/new")});
        if (r && r->body == "arrived") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST(http_client, verifies_tls_certificates_unless_told_not_to) {
  auto openssl = test::find_program("openssl");
  ASSERT_TRUE(openssl);
  test::temp_dir dir;
  auto gen =
      test::run_command({openssl->string(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(),
                         "-days", "1", "-subj", "/CN=localhost"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  auto port = test::free_port();
  test::process server({openssl->string(), "s_server", "-accept",
                        "127.0.0.1:" + std::to_string(port), "-cert", (dir / "cert.pem").string(),
                        "-key", (dir / "key.pem").string(), "-www", "-quiet"});
  client c;
  std::string url = "https://127.0.0.1:" + std::to_string(port) + "/";
  // s_server serves one connection at a time: probe readiness and hang up.
  ASSERT_TRUE(test::wait_for(
      [&] {
        int fd = test::connect_loopback(port);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
      },
      10s));
  auto strict = c.send({.url = url});
  ASSERT_FALSE(strict) << "a self-signed certificate was accepted";
  EXPECT_EQ(strict.error().code, errc::upstream) << strict.error().message;
  auto relaxed = c.send({.url = url, .insecure = true});
  ASSERT_TRUE(relaxed) << relaxed.error().message;
  EXPECT_EQ(relaxed->status, 200);
}

}  // namespace
}  // namespace blobswarm::http
