// http::server with TLS: a self-signed certificate made at test time with
// the openssl command, real TLS clients (libcurl through http::client, and
// `openssl s_client`), and raw sockets for what must not work.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "common/file.hpp"
#include "common/http/client.hpp"
#include "common/http/range.hpp"
#include "common/logging.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::http {
namespace {

using namespace std::chrono_literals;

using test::certificate;
using test::make_certificate;

router tls_routes(const std::filesystem::path& file) {
  router r;
  r.get("/hello", sync_handler([](request&) { return response::text(200, "hello\n"); }));
  r.post("/echo", sync_handler([](request& req) {
           return response::bytes(200, std::string(req.body()), "application/octet-stream");
         }));
  // A file body: over TLS it cannot go out with sendfile.
  r.get("/file", sync_handler([file](request& req) {
          auto fd = open_file(file, O_RDONLY | O_CLOEXEC);
          auto size = static_cast<std::uint64_t>(std::filesystem::file_size(file));
          auto range = parse_range(req.header("range"), size);
          if (range.what == range_request::kind::partial) {
            auto res = response::file(206, std::move(*fd), range.range.first, range.range.length(),
                                      "application/octet-stream");
            res.set("Content-Range", content_range(range.range, size));
            return res;
          }
          return response::file(200, std::move(*fd), 0, size, "application/octet-stream");
        }));
  return r;
}

server_options tls_options(const certificate& c) {
  server_options o;
  o.tls_cert_file = c.cert.string();
  o.tls_key_file = c.key.string();
  o.body_limit = 4 << 20;
  return o;
}

std::string https_url(std::uint16_t port, std::string_view path) {
  return "https://127.0.0.1:" + std::to_string(port) + std::string(path);
}

TEST(http_tls, serves_small_file_and_posted_bodies_over_https) {
  test::temp_dir dir;
  auto cert = make_certificate(dir, "server");
  auto bytes = test::random_bytes(3 * 256 * 1024 + 12345, 7);
  test::write_text(dir / "blob", bytes);
  test::http_fixture f(tls_routes(dir / "blob"), tls_options(cert));
  client c({.ca_file = cert.cert.string()});

  auto hello = c.send({.url = https_url(f.port(), "/hello")});
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello\n");

  auto whole = c.send({.url = https_url(f.port(), "/file")});
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == bytes) << "file body differs over TLS";

  auto part =
      c.send({.url = https_url(f.port(), "/file"), .headers = {{"Range", "bytes=300000-599999"}}});
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->status, 206);
  EXPECT_TRUE(part->body == bytes.substr(300000, 300000));

  auto body = test::random_bytes(2 << 20, 9);
  auto echo = c.send({.method = "POST", .url = https_url(f.port(), "/echo"), .body = body});
  ASSERT_TRUE(echo) << echo.error().message;
  EXPECT_EQ(echo->status, 200);
  EXPECT_TRUE(echo->body == body);

  // The body limit holds over TLS too.
  auto big = c.send(
      {.method = "POST", .url = https_url(f.port(), "/echo"), .body = std::string(5 << 20, 'x')});
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->status, 413);
}

TEST(http_tls, clients_that_do_not_trust_the_certificate_or_speak_plain_http_get_nothing) {
  test::temp_dir dir;
  auto cert = make_certificate(dir, "server");
  auto other = make_certificate(dir, "other");
  test::write_text(dir / "blob", "x");
  test::http_fixture f(tls_routes(dir / "blob"), tls_options(cert));

  // Certificate verification is on by default: a self-signed certificate
  // that is not in the client's CA file is refused.
  client system_store;
  EXPECT_FALSE(system_store.send({.url = https_url(f.port(), "/hello")}));
  client wrong_ca({.ca_file = other.cert.string()});
  EXPECT_FALSE(wrong_ca.send({.url = https_url(f.port(), "/hello")}));

  // Plain HTTP on the TLS port gets no HTTP answer, and serving goes on.
  auto plain = test::raw_request(f.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(plain.find("hello"), std::string::npos) << plain;
  EXPECT_NE(plain.rfind("HTTP/1.1 200", 0), 0U) << plain;
  // A client that connects and says nothing is dropped after read_timeout
  // without holding up others.
  int idle = test::connect_loopback(f.port());
  ASSERT_GE(idle, 0);
  client c({.ca_file = cert.cert.string()});
  auto ok = c.send({.url = https_url(f.port(), "/hello")});
  ::close(idle);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->body, "hello\n");
}

TEST(http_tls, openssl_s_client_negotiates_tls_1_2_or_newer_only) {
  auto openssl = test::find_program("openssl");
  ASSERT_TRUE(openssl);
  test::temp_dir dir;
  auto cert = make_certificate(dir, "server");
  test::write_text(dir / "blob", "x");
  test::http_fixture f(tls_routes(dir / "blob"), tls_options(cert));
  auto connect = "127.0.0.1:" + std::to_string(f.port());
  auto modern = test::run_command(
      {"/bin/sh", "-c",
       "printf 'GET /hello HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | " +
           openssl->string() + " s_client -quiet -CAfile " + cert.cert.string() +
           " -verify_return_error -connect " + connect + " 2>&1"},
      20s);
  EXPECT_NE(modern.output.find("HTTP/1.1 200"), std::string::npos) << modern.output;
  EXPECT_NE(modern.output.find("hello"), std::string::npos) << modern.output;
  auto old = test::run_command(
      {"/bin/sh", "-c",
       "printf '' | " + openssl->string() + " s_client -tls1_1 -connect " + connect + " 2>&1"},
      20s);
  EXPECT_NE(old.status, 0) << old.output;
  EXPECT_EQ(old.output.find("HTTP/1.1"), std::string::npos) << old.output;
}

TEST(http_tls, listen_fails_without_a_usable_certificate_and_key) {
  test::temp_dir dir;
  auto cert = make_certificate(dir, "server");
  auto other = make_certificate(dir, "other");
  boost::asio::io_context io;
  auto routes = std::make_shared<const router>(tls_routes(dir / "blob"));
  auto attempt = [&](std::string c, std::string k) {
    server_options o;
    o.tls_cert_file = std::move(c);
    o.tls_key_file = std::move(k);
    server s(io, routes, o, logging::get("test-http"));
    return s.listen({"127.0.0.1", 0});
  };
  EXPECT_TRUE(attempt(cert.cert.string(), cert.key.string()));
  auto only_cert = attempt(cert.cert.string(), "");
  ASSERT_FALSE(only_cert);
  EXPECT_NE(only_cert.error().message.find("both"), std::string::npos);
  auto missing = attempt((dir / "nope.crt").string(), cert.key.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.crt"), std::string::npos);
  auto mismatch = attempt(cert.cert.string(), other.key.string());
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("other.key"), std::string::npos)
      << mismatch.error().message;
  test::write_text(dir / "junk.key", "not a key");
  EXPECT_FALSE(attempt(cert.cert.string(), (dir / "junk.key").string()));
}

}  // namespace
}  // namespace blobswarm::http
