// blobswarm-tracker's transport security, on the real binary: the REST API
// and the BitTorrent endpoints over HTTPS (tls_cert_file/tls_key_file, a
// self-signed certificate made at test time by the openssl command), and
// request bodies refused before they are read unless the caller may upload.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http/client.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm {
namespace {

using namespace std::chrono_literals;

TEST(tracker_tls, serves_the_api_and_announces_over_https_only) {
  test::temp_dir dir;
  auto [cert, key] = test::make_certificate(dir, "tracker");
  const std::string token = "tls-admin-token-0123456789abcdef";
  test::write_text(dir / "token", token);
  auto port = test::free_port();
  test::process tracker(
      {test::binary("blobswarm-tracker").string(), "--listen", "127.0.0.1:" + std::to_string(port),
       "--db", (dir / "t.db").string(), "--admin-token-file", (dir / "token").string(),
       "--tls-cert-file", cert.string(), "--tls-key-file", key.string(), "--threads", "1"},
      {.name = "blobswarm-tracker"});
  auto base = "https://127.0.0.1:" + std::to_string(port);
  http::client c({.timeout = 5s, .ca_file = cert.string()});
  http::header_list admin = {{"Authorization", "Bearer " + token}};
  ASSERT_TRUE(test::wait_healthy(tracker, c, base + "/healthz")) << tracker.output();

  auto created = c.send(
      {.method = "POST",
       .url = base + "/api/v1/users",
       .headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
       .body = R"({"name": "node1"})"});
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  auto passkey = nlohmann::json::parse(created->body)["passkey"].get<std::string>();
  auto wrong = c.send({.url = base + "/api/v1/users", .headers = {{"Authorization", "Bearer x"}}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);

  // The BitTorrent endpoint answers over TLS (a bencoded refusal: the
  // torrent is not registered).
  std::string info_hash;
  for (int i = 0; i < 20; ++i) info_hash += "%41";
  auto announce = c.send({.url = base + "/announce/" + passkey + "?info_hash=" + info_hash +
                                 "&peer_id=-XX0001-000000000000&port=6881&uploaded=0"
                                 "&downloaded=0&left=0&compact=1"});
  ASSERT_TRUE(announce) << announce.error().message;
  EXPECT_EQ(announce->status, 200);
  EXPECT_NE(announce->body.find("failure reason"), std::string::npos) << announce->body;
  // The passkey appears in the access log only redacted.
  EXPECT_EQ(tracker.output().find(passkey), std::string::npos) << tracker.output();

  // Plain HTTP on the same port gets no answer.
  auto plain = test::raw_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;
}

TEST(tracker_limits, only_the_admin_may_send_large_bodies_and_only_for_uploads) {
  test::temp_dir dir;
  const std::string token = "limits-admin-token-0123456789abcdef";
  test::write_text(dir / "token", token);
  auto port = test::free_port();
  test::process tracker({test::binary("blobswarm-tracker").string(), "--listen",
                         "127.0.0.1:" + std::to_string(port), "--db", (dir / "t.db").string(),
                         "--admin-token-file", (dir / "token").string(), "--threads", "1"},
                        {.name = "blobswarm-tracker"});
  auto base = "http://127.0.0.1:" + std::to_string(port);
  http::client c({.timeout = 5s});
  ASSERT_TRUE(test::wait_healthy(tracker, c, base + "/healthz")) << tracker.output();
  auto upload_head = [&](std::string_view auth) {
    return "POST /api/v1/torrents HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n" +
           std::string(auth) + "Expect: 100-continue\r\n\r\n";
  };
  // Without the admin token a 1 MB upload is refused on its headers: no
  // 100 Continue, nothing read.
  auto anonymous = test::raw_request(port, upload_head(""), 3s);
  EXPECT_TRUE(anonymous.starts_with("HTTP/1.1 413")) << anonymous;
  auto wrong = test::raw_request(port, upload_head("Authorization: Bearer not-the-token\r\n"), 3s);
  EXPECT_TRUE(wrong.starts_with("HTTP/1.1 413")) << wrong;
  // The admin may send it (the API then judges the .torrent).
  auto admin = test::raw_request(port, upload_head("Authorization: Bearer " + token + "\r\n"), 3s,
                                 "\r\n\r\n");
  EXPECT_TRUE(admin.starts_with("HTTP/1.1 100 Continue")) << admin;
  // Other endpoints take small bodies only, whoever asks.
  auto user_body =
      test::raw_request(port,
                        "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                            "\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, '{'),
                        3s);
  EXPECT_TRUE(user_body.starts_with("HTTP/1.1 413")) << user_body.substr(0, 200);
  // Small requests are served as before.
  auto users = c.send({.method = "POST",
                       .url = base + "/api/v1/users",
                       .headers = {{"Authorization", "Bearer " + token}},
                       .body = R"({"name": "node1"})"});
  ASSERT_TRUE(users) << users.error().message;
  EXPECT_EQ(users->status, 201) << users->body;
}

}  // namespace
}  // namespace blobswarm
