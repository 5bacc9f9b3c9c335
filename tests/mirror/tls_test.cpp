// blobswarm-mirror serving its registry API over HTTPS (tls_cert_file,
// tls_key_file) with a self-signed certificate made at test time by the
// openssl command. The real binary; nothing upstream is contacted.
#include <gtest/gtest.h>

#include "common/http/client.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm {
namespace {

using namespace std::chrono_literals;

TEST(mirror_tls, serves_the_registry_api_over_https_only) {
  test::temp_dir dir;
  auto [cert, key] = test::make_certificate(dir, "mirror");
  test::write_text(dir / "passkey", "0123456789abcdef0123456789abcdef");
  auto port = test::free_port();
  std::vector<std::string> argv = {test::binary("blobswarm-mirror").string(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--peer-listen",
                                   "127.0.0.1:" + std::to_string(test::free_port()),
                                   "--data",
                                   (dir / "data").string(),
                                   "--passkey-file",
                                   (dir / "passkey").string(),
                                   "--tracker",
                                   "http://127.0.0.1:9",
                                   "--seeder",
                                   "http://127.0.0.1:9",
                                   "--upstream",
                                   "http://127.0.0.1:9"};
  auto half = argv;
  half.insert(half.end(), {std::string("--tls-cert-file"), cert.string()});
  test::process only_cert(half, {.name = "blobswarm-mirror"});
  EXPECT_EQ(only_cert.wait(20s), 2) << only_cert.output();
  EXPECT_NE(only_cert.output().find("tls_cert_file and tls_key_file"), std::string::npos)
      << only_cert.output();

  argv.insert(argv.end(),
              {std::string("--tls-cert-file"), cert.string(), "--tls-key-file", key.string()});
  test::process mirror(argv, {.name = "blobswarm-mirror"});
  auto base = "https://127.0.0.1:" + std::to_string(port);
  http::client c({.timeout = 5s, .ca_file = cert.string()});
  ASSERT_TRUE(test::wait_healthy(mirror, c, base + "/healthz")) << mirror.output();
  // The registry API answers as over HTTP: the version check, and a
  // registry error for a bad name.
  auto v2 = c.send({.url = base + "/v2/"});
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v2->status, 200) << v2->body;
  auto bad = c.send({.url = base + "/v2/UPPER/blobs/sha256:nothex"});
  ASSERT_TRUE(bad) << bad.error().message;
  EXPECT_GE(bad->status, 400);
  // Plain HTTP on the same port gets no answer.
  auto plain = test::raw_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;
}

}  // namespace
}  // namespace blobswarm
