// blobswarm-seeder serving its API over HTTPS (tls_cert_file, tls_key_file)
// with a self-signed certificate made at test time by the openssl command.
// The real binary; no upstream or tracker is contacted.
#include <gtest/gtest.h>

#include "common/http/client.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> seeder_argv(const test::temp_dir& dir, std::uint16_t port) {
  return {test::binary("blobswarm-seeder").string(),
          "--listen",
          "127.0.0.1:" + std::to_string(port),
          "--peer-listen",
          "127.0.0.1:" + std::to_string(test::free_port()),
          "--data",
          (dir / "data").string(),
          "--upstream",
          "http://127.0.0.1:9"};
}

TEST(seeder_tls, serves_its_api_over_https_only) {
  test::temp_dir dir;
  auto cert = test::make_certificate(dir, "seeder");
  auto port = test::free_port();
  auto argv = seeder_argv(dir, port);
  argv.insert(argv.end(),
              {"--tls-cert-file", cert.cert.string(), "--tls-key-file", cert.key.string()});
  test::process seeder(argv, {.name = "blobswarm-seeder"});
  auto base = "https://127.0.0.1:" + std::to_string(port);
  http::client c({.timeout = 5s, .ca_file = cert.cert.string()});
  ASSERT_TRUE(test::wait_healthy(seeder, c, base + "/healthz")) << seeder.output();
  // Requests are answered as over HTTP: a bad digest is a registry-style 400.
  auto bad = c.send({.url = base + "/api/v1/blobs/library/x/sha256:nothex"});
  ASSERT_TRUE(bad) << bad.error().message;
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("DIGEST_INVALID"), std::string::npos) << bad->body;
  // Plain HTTP on the same port gets no answer.
  auto plain = test::raw_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;
}

TEST(seeder_tls, a_certificate_without_a_key_or_an_unreadable_one_stops_start_up) {
  test::temp_dir dir;
  auto cert = test::make_certificate(dir, "seeder");
  auto argv = seeder_argv(dir, test::free_port());
  auto half = argv;
  half.insert(half.end(), {std::string("--tls-cert-file"), cert.cert.string()});
  test::process only_cert(half, {.name = "blobswarm-seeder"});
  EXPECT_EQ(only_cert.wait(20s), 2) << only_cert.output();
  EXPECT_NE(only_cert.output().find("tls_cert_file and tls_key_file"), std::string::npos)
      << only_cert.output();

  auto missing = argv;
  missing.insert(missing.end(), {std::string("--tls-cert-file"), (dir / "none.crt").string(),
                                 "--tls-key-file", cert.key.string()});
  test::process no_file(missing, {.name = "blobswarm-seeder"});
  auto status = no_file.wait(20s);
  ASSERT_TRUE(status) << no_file.output();
  EXPECT_NE(*status, 0);
  EXPECT_NE(no_file.output().find("none.crt"), std::string::npos) << no_file.output();
}

}  // namespace
}  // namespace blobswarm
