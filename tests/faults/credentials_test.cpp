// Bad and missing credentials at every API of the running system: the
// tracker's announce, scrape and REST API (missing, wrong, revoked and
// rotated passkeys, a wrong admin token, a passkey used for a write), the
// seeder's blob, preheat and notification endpoints and its upstream
// credentials, and the mirror's private-repository checks, its passkey and
// its seeder token. Each is refused
// without handing anything out, and no secret appears in any service's log.
#include <gtest/gtest.h>

#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "tests/faults/fault_system.hpp"
#include "tests/support/pull_clients.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;

http::client_response send(const std::string& url, http::header_list headers = {},
                           std::string method = "GET", std::string body = {}) {
  http::client c;
  auto r = c.send(
      {.method = std::move(method), .url = url, .headers = std::move(headers), .body = body});
  EXPECT_TRUE(r) << url << ": " << (r ? "" : r.error().message);
  return r ? *r : http::client_response{};
}

http::header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string encoded_hash(const std::string& info_hash_hex) {
  std::string raw;
  for (std::size_t i = 0; i + 1 < info_hash_hex.size(); i += 2) {
    raw.push_back(static_cast<char>(std::stoi(info_hash_hex.substr(i, 2), nullptr, 16)));
  }
  return http::percent_encode(raw);
}

std::string announce_query(const std::string& info_hash_hex) {
  return "?info_hash=" + encoded_hash(info_hash_hex) +
         "&peer_id=-FT0001-abcdefghijkl&port=6999&uploaded=0&downloaded=0&left=1000&compact=1";
}

// 9. Every API, every kind of bad credential.
TEST(faults_credentials, bad_or_missing_credentials_are_refused_and_never_logged) {
  fault_system sys;
  registry_fixture& reg = sys.reg;
  // The system's registry is public; a private one holds the secret image.
  registry_fixture secret_reg(
      {.auth = registry_options::auth_mode::htpasswd, .users = {{"alice", "wonderland-secret-1"}}});
  auto blob = secret_reg.push_blob("secret/app", random_bytes(1 * MiB, 901));
  auto unfetched = secret_reg.push_blob("secret/app", random_bytes(64 * 1024, 905));
  auto public_blob = reg.push_blob("faults/pub", random_bytes(512 * 1024, 902));

  const std::string notify_token = "notify-" + to_hex(random_bytes(12, 903));
  const std::string wrong_password = "not-the-password-4711";
  write_text(sys.dir / "notify-token", notify_token + "\n");
  auto host = secret_reg.host();
  auto localhost = "localhost:" + std::to_string(secret_reg.port());
  // The same registry under two names: one with the right password, one
  // with a wrong one.
  auto& seeder = sys.start_seeder(
      {{"upstreams",
        {{host,
          {{"url", secret_reg.url()}, {"username", "alice"}, {"password", "wonderland-secret-1"}}},
         {localhost,
          {{"url", "http://" + localhost}, {"username", "alice"}, {"password", wrong_password}}},
         {reg.host(), {{"url", reg.url()}}}}},
       {"notification_token_file", (sys.dir / "notify-token").string()}},
      reg.url());
  auto& m = sys.add_mirror(
      {{"upstreams",
        {{host,
          {{"url", secret_reg.url()}, {"username", "alice"}, {"password", "wonderland-secret-1"}}},
         {reg.host(), {{"url", reg.url()}}}}}});
  const std::string alice = secret_reg.authorization("secret/app", "pull");  // Basic …
  const std::string bob_wrong = "Basic Ym9iOndyb25nLXBhc3N3b3Jk";            // bob:wrong-password

  // --- mirror: private repositories ------------------------------------------
  auto url = m.url("/v2/" + host + "/secret/app/blobs/" + blob.digest.str());
  for (int round = 0; round < 2; ++round) {  // cold, then cached
    SCOPED_TRACE(round == 0 ? "not cached" : "cached");
    auto anonymous = pull_blob(url);
    EXPECT_EQ(anonymous.status, 401) << anonymous.body;
    EXPECT_LT(anonymous.bytes, 4096u) << "blob bytes went to an anonymous client";
    auto wrong = pull_blob(url, nullptr, {{"Authorization", bob_wrong}});
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_LT(wrong.bytes, 4096u);
    auto ok = pull_blob(url, nullptr, {{"Authorization", alice}});
    EXPECT_TRUE(ok.intact(blob.digest, blob.size)) << ok.status << " " << ok.body << ok.error;
  }
  auto challenge = send(url);
  EXPECT_TRUE(challenge.header("www-authenticate").has_value()) << "no challenge to answer";
  EXPECT_EQ(send(m.url("/v2/" + host + "/secret/app/manifests/latest")).status, 401);

  // --- seeder: notifications and upstream credentials ----------------------------
  auto event = json{{"events", json::array()}}.dump();
  auto notify = seeder.url("/api/v1/notifications");
  auto json_type = http::header_list{{"Content-Type", "application/json"}};
  EXPECT_EQ(send(notify, json_type, "POST", event).status, 401);
  auto wrong_token = json_type;
  wrong_token.emplace_back("Authorization", "Bearer " + notify_token + "x");
  EXPECT_EQ(send(notify, wrong_token, "POST", event).status, 401);
  auto right_token = json_type;
  right_token.emplace_back("Authorization", "Bearer " + notify_token);
  EXPECT_EQ(send(notify, right_token, "POST", event).status, 200);
  // The blob API and preheat: only with the api token (the mirrors' seeder
  // token). Nothing is handed out or ingested without it.
  auto stored = "/api/v1/blobs/secret/app/" + blob.digest.str();
  auto refused_before = metric_of(seeder, "blobswarm_seeder_unauthorized_total");
  int refusals = 0;
  for (const auto& [what, headers] : std::vector<std::pair<std::string, http::header_list>>{
           {"no token", {}},
           {"wrong token", bearer(sys.seeder_token + "x")},
           {"a node passkey", bearer(sys.passkey)},
           {"the notification token", bearer(notify_token)},
           {"Basic instead of Bearer", {{"Authorization", "Basic " + sys.seeder_token}}},
       }) {
    for (const auto* suffix : {"/torrent", "/descriptor", "", "/segments/0/torrent"}) {
      auto r = send(seeder.url(stored + suffix), headers);
      EXPECT_EQ(r.status, 401) << what << " " << suffix << ": " << r.body;
      EXPECT_TRUE(r.header("www-authenticate").has_value()) << what << " " << suffix;
      EXPECT_LT(r.body.size(), 1024u) << what << " " << suffix << ": bytes were handed out";
      ++refusals;
    }
    auto pre = headers;
    pre.emplace_back("Content-Type", "application/json");
    EXPECT_EQ(send(seeder.url("/api/v1/preheat"), pre, "POST",
                   json{{"image", host + "/secret/app:latest"}}.dump())
                  .status,
              401)
        << what;
    ++refusals;
  }
  EXPECT_EQ(metric_of(seeder, "blobswarm_seeder_unauthorized_total"), refused_before + refusals);
  auto with_token = send(seeder.url(stored + "/descriptor"), bearer(sys.seeder_token));
  EXPECT_EQ(with_token.status, 200) << with_token.body;
  // (A blob not stored yet: stored blobs are content-addressed and served
  // for any configured ns.)
  auto refused = send(seeder.url("/api/v1/blobs/secret/app/" + unfetched.digest.str() +
                                 "/torrent?ns=" + http::percent_encode(localhost)),
                      bearer(sys.seeder_token));
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(refused.body.find(wrong_password), std::string::npos) << refused.body;

  // --- tracker: announce, scrape, REST API -----------------------------------------
  auto& tracker = *sys.tracker;
  // A blob registered by the seeder: its swarm has the seeder in it.
  ASSERT_TRUE(pull_blob(blob_url(m, "faults/pub", public_blob.digest))
                  .intact(public_blob.digest, public_blob.size));
  auto info = json::parse(
      send(tracker.url("/api/v1/blobs/" + public_blob.digest.str()), bearer(sys.admin_token)).body);
  auto ih = info["torrent"].value("info_hash_v1", "");
  ASSERT_EQ(ih.size(), 40u) << info.dump();
  auto q = announce_query(ih);
  auto good = send(tracker.url("/announce/" + sys.passkey + q));
  ASSERT_NE(good.body.find("5:peers"), std::string::npos) << good.body;
  ASSERT_EQ(good.body.find("failure reason"), std::string::npos) << good.body;

  auto doomed = sys.create_user("doomed");
  auto rotated_old = sys.create_user("rotating");
  auto rotation =
      send(tracker.url("/api/v1/users/rotating/passkey"), bearer(sys.admin_token), "POST");
  ASSERT_EQ(rotation.status, 200);
  auto rotated_new = json::parse(rotation.body).value("passkey", "");
  EXPECT_EQ(send(tracker.url("/api/v1/users/doomed"), bearer(sys.admin_token), "DELETE").status,
            204);
  auto bogus = std::string(32, 'f');
  auto unknown_before =
      metric_of(tracker, "blobswarm_tracker_announces_total{result=\"unknown_passkey\"}");
  for (const auto& [what, path] : std::vector<std::pair<std::string, std::string>>{
           {"no passkey", "/announce" + q},
           {"unknown passkey", "/announce/" + bogus + q},
           {"deleted user", "/announce/" + doomed + q},
           {"rotated passkey", "/announce/" + rotated_old + q},
           {"scrape, unknown passkey", "/scrape/" + bogus + "?info_hash=" + encoded_hash(ih)},
           {"scrape, deleted user", "/scrape/" + doomed + "?info_hash=" + encoded_hash(ih)},
       }) {
    auto r = send(tracker.url(path));
    EXPECT_NE(r.body.find("failure reason"), std::string::npos) << what << ": " << r.body;
    EXPECT_EQ(r.body.find("5:peers"), std::string::npos) << what << " got peers: " << r.body;
    EXPECT_EQ(r.body.find("8:complete"), std::string::npos) << what << " got counts: " << r.body;
  }
  EXPECT_GE(metric_of(tracker, "blobswarm_tracker_announces_total{result=\"unknown_passkey\"}"),
            unknown_before + 3);
  EXPECT_NE(send(tracker.url("/announce/" + rotated_new + q)).body.find("5:peers"),
            std::string::npos)
      << "the new passkey does not work";

  auto users = tracker.url("/api/v1/users");
  auto torrent_file = tracker.url("/api/v1/blobs/" + public_blob.digest.str() + "/torrent");
  for (const auto& [what, headers] : std::vector<std::pair<std::string, http::header_list>>{
           {"no credentials", {}},
           {"wrong admin token", bearer(sys.admin_token + "x")},
           {"deleted user's passkey", bearer(doomed)},
           {"rotated passkey", bearer(rotated_old)},
           {"Basic instead of Bearer", {{"Authorization", "Basic " + sys.admin_token}}},
       }) {
    for (const auto& u : {users, torrent_file}) {
      auto r = send(u, headers);
      EXPECT_EQ(r.status, 401) << what << " " << u << ": " << r.body;
      EXPECT_EQ(r.body.find("d8:announce"), std::string::npos) << what << " got a torrent";
    }
    auto create = headers;
    create.emplace_back("Content-Type", "application/json");
    EXPECT_EQ(send(users, create, "POST", R"({"name":"intruder"})").status, 401) << what;
  }
  // A passkey reads; it may not write.
  auto as_node = bearer(sys.passkey);
  as_node.emplace_back("Content-Type", "application/json");
  EXPECT_EQ(send(users, as_node, "POST", R"({"name":"intruder"})").status, 403);
  EXPECT_EQ(send(tracker.url("/api/v1/users/nodes/passkey"), bearer(sys.passkey), "POST").status,
            403);
  EXPECT_EQ(send(tracker.url("/api/v1/torrents/" + ih), bearer(sys.passkey), "DELETE").status, 403);
  EXPECT_EQ(send(tracker.url("/api/v1/users/intruder"), bearer(sys.admin_token)).status, 404);
  // Passkeys are never listed, not even to the admin.
  auto listed = send(users, bearer(sys.admin_token));
  ASSERT_EQ(listed.status, 200);
  for (const auto& key : {sys.passkey, rotated_new}) {
    EXPECT_EQ(listed.body.find(key), std::string::npos) << "a passkey was listed";
  }

  // --- a mirror with a passkey the tracker does not know ----------------------------
  auto bad_node_passkey = "bogus-node-passkey-" + to_hex(random_bytes(8, 904));
  mirror_config c;
  c.host = "127.0.0.9";
  c.upstream = reg.url();
  c.upstreams = {{reg.host(), {{"url", reg.url()}}}};
  c.tracker = sys.tracker_url();
  c.seeder = seeder.url();
  c.passkey = bad_node_passkey;
  c.extra = {{"stall_timeout", "1s"}, {"seeder_token_file", (sys.dir / "seeder-token").string()}};
  auto impostor = start_mirror(c);
  auto before = metric_of(tracker, "blobswarm_tracker_announces_total{result=\"unknown_passkey\"}");
  auto r = pull_blob(blob_url(*impostor, "faults/pub", public_blob.digest));
  // The seeder (it has the seeder token) still serves it, but the tracker
  // gave the impostor nothing.
  EXPECT_TRUE(r.intact(public_blob.digest, public_blob.size)) << r.status << " " << r.error;
  EXPECT_NE(impostor->output().find("torrent request: HTTP 401"), std::string::npos);
  EXPECT_TRUE(wait_for(
      [&] {
        return metric_of(tracker, "blobswarm_tracker_announces_total{result=\"unknown_passkey\"}") >
               before;
      },
      10s))
      << "the impostor's announces never reached the tracker";

  // --- a mirror without the seeder token --------------------------------------------
  c.host = "127.0.0.10";
  c.extra = {{"stall_timeout", "1s"}};
  auto stranger = start_mirror(c);
  auto seeder_refusals = metric_of(seeder, "blobswarm_seeder_unauthorized_total");
  auto other = reg.push_blob("faults/pub", random_bytes(256 * 1024, 906));
  r = pull_blob(blob_url(*stranger, "faults/pub", other.digest));
  // Neither the tracker nor the seeder gave it anything: it got the (public)
  // blob from the registry itself, as a plain registry client would.
  EXPECT_TRUE(r.intact(other.digest, other.size)) << r.status << " " << r.error;
  EXPECT_NE(stranger->output().find("seeder descriptor: HTTP 401"), std::string::npos)
      << stranger->output();
  EXPECT_EQ(stranger->stats_total("from_seeder"), 0u);
  EXPECT_EQ(stranger->stats_total("from_upstream"), other.size);
  EXPECT_GT(metric_of(seeder, "blobswarm_seeder_unauthorized_total"), seeder_refusals);

  // --- no secret in any log ---------------------------------------------------------
  auto seeder_passkey = read_text(sys.dir / "seeder" / "tracker-passkey");
  while (!seeder_passkey.empty() && std::isspace(static_cast<unsigned char>(seeder_passkey.back())))
    seeder_passkey.pop_back();
  std::vector<std::pair<std::string, std::string>> secrets = {
      {"admin token", sys.admin_token},
      {"node passkey", sys.passkey},
      {"seeder passkey", seeder_passkey},
      {"deleted user's passkey", doomed},
      {"rotated passkey", rotated_old},
      {"new passkey", rotated_new},
      {"impostor passkey", bad_node_passkey},
      {"bogus passkey", bogus},
      {"registry password", "wonderland-secret-1"},
      {"wrong registry password", wrong_password},
      {"client Basic credentials", alice.substr(6)},
      {"wrong client credentials", bob_wrong.substr(6)},
      {"notification token", notify_token},
      {"seeder api token", sys.seeder_token},
  };
  std::vector<std::pair<std::string, std::string>> logs = {
      {"tracker", tracker.output()},
      {"seeder", seeder.output()},
      {"mirror", m.output()},
      {"impostor mirror", impostor->output()},
      {"mirror without token", stranger->output()}};
  // Logs may show a secret's first 4 characters (logging::redact); 12 is a
  // leak. (The search works: the redacted forms are there.)
  EXPECT_NE(tracker.output().find(sys.passkey.substr(0, 4) + "…"), std::string::npos);
  EXPECT_NE(impostor->output().find("/announce/" + bad_node_passkey.substr(0, 4) + "…"),
            std::string::npos);
  for (const auto& [name, log] : logs) {
    ASSERT_GT(log.size(), 1000u) << name << " logged nothing to search";
    for (const auto& [what, secret] : secrets) {
      ASSERT_GE(secret.size(), 16u) << what;
      EXPECT_EQ(log.find(secret.substr(0, 12)), std::string::npos)
          << "the " << name << " logged the " << what;
    }
  }
}

}  // namespace
}  // namespace blobswarm::test

namespace blobswarm::test {
namespace {

// Issue 19.1: a digest is not a secret. A client that may read some
// repository asks for another repository's private blob (or manifest)
// through the path of the repository it may read — on the mirror that has
// the blob cached, and on one that would fetch it from the swarm. Upstream
// (token auth, per-repository scopes: alice reads a/*, bob reads b/*,
// anybody reads public/base) decides per repository and digest.
TEST(faults_credentials, a_blob_is_served_only_through_a_repository_that_holds_it_for_the_client) {
  const registry_user admin{"admin", "admin-pw-1"}, alice{"alice", "alice-pw-2"},
      bob{"bob", "bob-pw-3"};
  fault_system sys(true, json::object(),
                   {.auth = registry_options::auth_mode::token,
                    .users = {admin, alice, bob},
                    .grants = {{admin.name, "*", "pull,push"},
                               {alice.name, "a/*", "pull"},
                               {bob.name, "b/*", "pull"},
                               {"", "public/base", "pull"}}});
  // The node services hold credentials that read everything; clients must
  // still prove theirs.
  json node_creds = {
      {"upstreams",
       {{sys.reg.host(),
         {{"url", sys.reg.url()}, {"username", admin.name}, {"password", admin.password}}}}}};
  sys.start_seeder(node_creds);
  auto& cached = sys.add_mirror(node_creds);
  auto& swarmed = sys.add_mirror(node_creds);
  auto secret =
      sys.reg.push_image("b/secret", "v1", {.layer_sizes = {2 * MiB, 300 * 1024}, .seed = 41});
  sys.reg.push_image("a/app", "v1", {.layer_sizes = {64 * 1024}, .seed = 42});
  sys.reg.push_image("public/base", "v1", {.layer_sizes = {32 * 1024}, .seed = 43});

  // Bob pulls his private image through the first mirror: it caches every
  // blob, and the seeder has them in the swarm.
  temp_dir out;
  auto bob_creds = bob.name + ":" + bob.password;
  auto pulled = skopeo_copy_to_dir(cached.listen() + "/b/secret:v1", out / "bob", false, bob_creds);
  ASSERT_EQ(pulled.status, 0) << pulled.output;
  for (const auto& b : secret.blobs()) {
    ASSERT_TRUE(
        std::filesystem::exists(cached.dir() / "data" / "blobs" / std::string(b.digest.hex())))
        << b.digest.str() << " is not cached";
  }

  struct asker {
    std::string who, repository;
    http::header_list headers;
  };
  std::vector<asker> askers = {
      {"alice through a/app",
       "a/app",
       {{"Authorization", sys.reg.token_for(alice, "repository:a/app:pull")}}},
      {"anonymous through public/base",
       "public/base",
       {{"Authorization", sys.reg.token_for(std::nullopt, "repository:public/base:pull")}}},
      {"anonymous without a token", "public/base", {}},
      {"alice through b/secret",
       "b/secret",
       {{"Authorization", sys.reg.token_for(alice, "repository:a/app:pull")}}},
  };
  std::vector<std::string> paths;
  for (const auto& b : secret.blobs()) paths.push_back("/blobs/" + b.digest.str());
  paths.push_back("/manifests/" + secret.manifest_digest.str());
  auto accept = http::header_list{{"Accept", secret.manifest_media_type}};
  for (auto* m : {&cached, &swarmed}) {
    for (const auto& a : askers) {
      for (const auto& path : paths) {
        for (std::string method : {"GET", "HEAD"}) {
          auto what = fmt::format("{} {} {} on {}", a.who, method, path, m->listen());
          auto headers = a.headers;
          headers.insert(headers.end(), accept.begin(), accept.end());
          if (method == "GET" && path.starts_with("/blobs/"))
            headers.push_back({"Range", "bytes=0-"});
          auto r = send(m->url("/v2/" + a.repository + path), headers, method);
          EXPECT_TRUE(r.status == 404 || r.status == 401 || r.status == 403)
              << what << ": " << r.status << " " << r.body.substr(0, 200);
          EXPECT_LT(r.body.size(), 4096u) << what << " sent a body of " << r.body.size();
          if (a.repository != "b/secret" && !a.headers.empty()) {
            // A client that may read its own repository learns "not here".
            EXPECT_EQ(r.status, 404) << what;
            if (method == "GET") {
              EXPECT_EQ(registry_error_code(r.body),
                        path.starts_with("/blobs/") ? "BLOB_UNKNOWN" : "MANIFEST_UNKNOWN")
                  << what;
            }
          }
        }
      }
    }
  }
  // Not a byte of b's blobs reached the second mirror, from anywhere.
  auto totals = swarmed.stats_totals();
  EXPECT_EQ(totals.value("from_peers", 0) + totals.value("from_seeder", 0) +
                totals.value("from_upstream", 0) + totals.value("served_from_cache", 0) +
                totals.value("served_from_downloads", 0),
            0)
      << totals.dump();
  EXPECT_TRUE(cache_files(swarmed.dir() / "data").empty());

  // Each still reads what is theirs, through either mirror.
  int n = 0;
  for (auto* m : {&cached, &swarmed}) {
    auto tag = std::to_string(n++);
    auto b2 = skopeo_copy_to_dir(m->listen() + "/b/secret:v1", out / ("b" + tag), false, bob_creds);
    EXPECT_EQ(b2.status, 0) << b2.output;
    EXPECT_EQ(read_tree(out / ("b" + tag)), read_tree(out / "bob"));
    auto a2 = skopeo_copy_to_dir(m->listen() + "/a/app:v1", out / ("a" + tag), false,
                                 alice.name + ":" + alice.password);
    EXPECT_EQ(a2.status, 0) << a2.output;
    auto p2 = skopeo_copy_to_dir(m->listen() + "/public/base:v1", out / ("p" + tag));
    EXPECT_EQ(p2.status, 0) << p2.output;
  }
  // And bob's second pull through the swarm really came through the mirror.
  EXPECT_GT(swarmed.stats_totals().value("served_from_downloads", 0), 0) << swarmed.stats_totals();
}

}  // namespace
}  // namespace blobswarm::test
