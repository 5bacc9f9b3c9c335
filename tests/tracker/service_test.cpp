// blobswarm-tracker as a running binary over real loopback sockets: the REST
// API (users, torrents, blobs, auth, errors), announces and scrapes, bad
// input, metrics, counter flushes, peer expiry, and the peer snapshot across
// a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/digest.hpp"
#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "common/info_hash.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tests/tracker/tracker_fixture.hpp"

namespace blobswarm::tracker {
namespace {

using nlohmann::json;
using test_support::announce_query;
using test_support::make_torrent;
using test_support::torrent_kind;
using test_support::tracker_instance;

struct decoded {
  std::string buffer;
  lt::bdecode_node node;
  std::string str(std::string_view key) const {
    auto v = node.dict_find_string_value(lt::string_view(key.data(), key.size()));
    return std::string(v.data(), v.size());
  }
  std::int64_t integer(std::string_view key) const {
    return node.dict_find_int_value(lt::string_view(key.data(), key.size()), -1);
  }
};

std::string hex_of(const lt::sha1_hash& h) {
  return to_hex(std::string_view(h.data(), h.size()));
}

decoded bdecode(std::string body) {
  decoded d{std::move(body), {}};
  lt::error_code ec;
  d.node = lt::bdecode(d.buffer, ec);
  EXPECT_FALSE(ec) << "not bencoded: " << d.buffer;
  return d;
}

std::string digest_text(std::string_view bytes) {
  return digest::from_raw(hash_algorithm::sha256, sha256(bytes))->str();
}

struct torrent_files {
  test::temp_dir dir;
  std::string blob = test::random_bytes(200000, 11);
  std::filesystem::path path = dir / "blob.bin";
  torrent_files() { test::write_text(path, blob); }
};

TEST(tracker_api, manages_users_and_checks_credentials) {
  tracker_instance t;
  auto admin = t.admin_token();
  auto r = t.request("POST", "/api/v1/users", admin, R"({"name":"node-1"})", "application/json");
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = t.json_of(r);
  EXPECT_EQ(j["name"], "node-1");
  std::string passkey = j["passkey"];
  EXPECT_EQ(passkey.size(), 32u);

  // Conflicts and bad bodies, each a JSON error with a status.
  auto expect_error = [&](const http::client_response& res, int status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body;
    auto e = t.json_of(res);
    EXPECT_EQ(e["error"]["code"], code) << res.body;
    EXPECT_FALSE(e["error"]["message"].get<std::string>().empty());
  };
  expect_error(t.request("POST", "/api/v1/users", admin, R"({"name":"node-1"})"), 409, "conflict");
  expect_error(t.request("POST", "/api/v1/users", admin, "{not json"), 400, "invalid_argument");
  expect_error(t.request("POST", "/api/v1/users", admin, "[1]"), 400, "invalid_argument");
  expect_error(t.request("POST", "/api/v1/users", admin, R"({"nam":"x"})"), 400,
               "invalid_argument");
  expect_error(t.request("POST", "/api/v1/users", admin, R"({"name":"x","admin":true})"), 400,
               "invalid_argument");
  expect_error(t.request("POST", "/api/v1/users", admin, R"({"name":"a b"})"), 400,
               "invalid_argument");
  // Credentials: none, wrong, a passkey where the admin token is needed.
  auto none = t.request("POST", "/api/v1/users", std::nullopt, R"({"name":"n2"})");
  expect_error(none, 401, "unauthorized");
  EXPECT_TRUE(none.header("www-authenticate"));
  expect_error(t.request("GET", "/api/v1/users", std::string("wrong-token")), 401, "unauthorized");
  expect_error(t.request("POST", "/api/v1/users", passkey, R"({"name":"n2"})"), 403, "forbidden");
  expect_error(t.request("DELETE", "/api/v1/users/node-1", passkey), 403, "forbidden");

  // Reads work with the admin token or a passkey.
  for (const auto& token : {admin, passkey}) {
    auto list = t.request("GET", "/api/v1/users", token);
    ASSERT_EQ(list.status, 200);
    auto users = t.json_of(list)["users"];
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(users[0]["name"], "node-1");
    EXPECT_FALSE(users[0].contains("passkey"));
  }
  auto one = t.json_of(t.request("GET", "/api/v1/users/node-1", passkey));
  EXPECT_EQ(one["announces"], 0);
  EXPECT_TRUE(one["last_announce"].is_null());
  expect_error(t.request("GET", "/api/v1/users/nobody", admin), 404, "not_found");

  // Rotating: the old passkey stops working, the new one works.
  auto rot = t.request("POST", "/api/v1/users/node-1/passkey", admin);
  ASSERT_EQ(rot.status, 200) << rot.body;
  std::string fresh = t.json_of(rot)["passkey"];
  EXPECT_NE(fresh, passkey);
  expect_error(t.request("GET", "/api/v1/users", passkey), 401, "unauthorized");
  EXPECT_EQ(t.request("GET", "/api/v1/users", fresh).status, 200);
  expect_error(t.request("POST", "/api/v1/users/nobody/passkey", admin), 404, "not_found");

  // Deleting revokes.
  EXPECT_EQ(t.request("DELETE", "/api/v1/users/node-1", admin).status, 204);
  expect_error(t.request("GET", "/api/v1/users", fresh), 401, "unauthorized");
  expect_error(t.request("DELETE", "/api/v1/users/node-1", admin), 404, "not_found");

  // The access log never shows a passkey or the admin token in full.
  auto log = t.process().output();
  EXPECT_EQ(log.find(passkey), std::string::npos);
  EXPECT_EQ(log.find(fresh), std::string::npos);
  EXPECT_EQ(log.find(admin), std::string::npos);
}

TEST(tracker_api, registers_torrents_for_blobs_and_serves_them_with_the_callers_url) {
  tracker_instance t;
  torrent_files files;
  auto admin = t.admin_token();
  auto passkey = t.create_user("mirror-1");
  auto made = make_torrent(files.path, torrent_kind::v1);
  auto digest = digest_text(files.blob);

  auto r = t.register_torrent(made.bytes, "?digest=" + digest);
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = t.json_of(r);
  EXPECT_EQ(j["info_hash_v1"], made.v1_hex);
  EXPECT_TRUE(j["info_hash_v2"].is_null());
  EXPECT_EQ(j["name"], "blob.bin");
  EXPECT_EQ(j["size"], files.blob.size());
  EXPECT_EQ(j["piece_length"], 16384);
  EXPECT_EQ(j["digest"], digest);
  EXPECT_TRUE(j["segment"].is_null());
  // Idempotent.
  EXPECT_EQ(t.register_torrent(made.bytes, "?digest=" + digest).status, 200);
  // A different whole torrent for the same blob.
  auto other = make_torrent(files.path, torrent_kind::v1, 32768);
  EXPECT_EQ(t.register_torrent(other.bytes, "?digest=" + digest).status, 409);

  // The blob's torrent, with this user's announce URL and the same info-hash.
  auto got = t.request("GET", "/api/v1/blobs/" + digest + "/torrent", passkey);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.header("content-type").value_or(""), "application/x-bittorrent");
  lt::error_code ec;
  lt::torrent_info ti(got.body.data(), static_cast<int>(got.body.size()), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(ti.trackers().size(), 1u);
  EXPECT_EQ(ti.trackers()[0].url, t.url("/announce/" + passkey));
  EXPECT_EQ(hex_of(ti.info_hashes().v1), made.v1_hex);
  // The same by info-hash; the admin (no passkey) gets it without a tracker.
  auto by_hash = t.request("GET", "/api/v1/torrents/" + made.v1_hex + "/file", passkey);
  EXPECT_EQ(by_hash.body, got.body);
  auto as_admin = t.request("GET", "/api/v1/torrents/" + made.v1_hex + "/file", admin);
  lt::torrent_info bare(as_admin.body.data(), static_cast<int>(as_admin.body.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(bare.trackers().empty());

  // Blob summary; unknown blobs and torrents are JSON 404s.
  auto blob = t.json_of(t.request("GET", "/api/v1/blobs/" + digest, passkey));
  EXPECT_EQ(blob["digest"], digest);
  EXPECT_EQ(blob["torrent"]["info_hash_v1"], made.v1_hex);
  EXPECT_EQ(blob["torrent"]["size"], files.blob.size());
  EXPECT_EQ(blob["torrent"]["piece_length"], 16384);
  EXPECT_TRUE(blob["segments"].empty());
  auto unknown = digest_text("nothing");
  for (auto path : {"/api/v1/blobs/" + unknown, "/api/v1/blobs/" + unknown + "/torrent",
                    "/api/v1/blobs/" + digest + "/segments/0/torrent",
                    "/api/v1/torrents/" + std::string(40, 'a'),
                    "/api/v1/torrents/" + std::string(40, 'a') + "/file"}) {
    auto nf = t.request("GET", path, passkey);
    EXPECT_EQ(nf.status, 404) << path;
    EXPECT_EQ(t.json_of(nf)["error"]["code"], "not_found") << path;
  }
  EXPECT_EQ(t.request("GET", "/api/v1/blobs/sha256:xyz", passkey).status, 400);
  EXPECT_EQ(t.request("GET", "/api/v1/torrents/nothex", passkey).status, 400);
}

// A public torrent would let its clients find peers by DHT and PEX, outside
// the tracker: the API registers it with private=1 added, as the web UI's
// upload does, and names the new info-hash.
TEST(tracker_api, registers_a_public_torrent_as_private_under_its_new_info_hash) {
  tracker_instance t;
  torrent_files files;
  auto admin = t.admin_token();
  auto passkey = t.create_user("mirror-1");
  for (auto kind : {torrent_kind::v1, torrent_kind::hybrid}) {
    auto pub = test_support::make_public_torrent(files.path, kind);
    auto r = t.register_torrent(pub.bytes);
    ASSERT_EQ(r.status, 201) << r.body;
    auto j = t.json_of(r);
    EXPECT_TRUE(j["private"]);
    EXPECT_TRUE(j["created"]);
    EXPECT_TRUE(j["made_private"]);
    EXPECT_EQ(j["original_info_hash"], pub.v1_hex);
    auto now_hex = j["info_hash_v1"].get<std::string>();
    EXPECT_NE(now_hex, pub.v1_hex);
    if (kind == torrent_kind::hybrid) {
      EXPECT_NE(j["info_hash_v2"], pub.v2_hex);
    }
    EXPECT_EQ(j["name"], "blob.bin");
    EXPECT_EQ(j["size"], files.blob.size());

    // Only the private torrent is known: its file says private=1 and has
    // the new hash; the public one's swarm is not whitelisted.
    auto file = t.request("GET", "/api/v1/torrents/" + now_hex + "/file", passkey);
    ASSERT_EQ(file.status, 200) << file.body;
    lt::error_code ec;
    lt::torrent_info ti(file.body.data(), static_cast<int>(file.body.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(ti.priv());
    EXPECT_EQ(hex_of(ti.info_hashes().v1), now_hex);
    EXPECT_EQ(t.request("GET", "/api/v1/torrents/" + pub.v1_hex, admin).status, 404);
    auto a =
        bdecode(t.announce(passkey, announce_query(pub.v1_hex, "-TT0001-000000000001", 7000, 0)));
    EXPECT_NE(a.str("failure reason").find("not registered"), std::string::npos);

    // Sending it again answers the same registration.
    auto again = t.register_torrent(pub.bytes);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(t.json_of(again)["info_hash_v1"], now_hex);
    EXPECT_TRUE(t.json_of(again)["made_private"]);
    // The private .torrent itself is registered as it is.
    auto as_is =
        t.register_torrent(t.request("GET", "/api/v1/torrents/" + now_hex + "/file", admin).body);
    EXPECT_EQ(as_is.status, 200) << as_is.body;
    EXPECT_FALSE(t.json_of(as_is)["made_private"]);
    EXPECT_FALSE(t.json_of(as_is).contains("original_info_hash"));
  }
}

TEST(tracker_api, files_segment_torrents_and_retires_them) {
  tracker_instance t;
  torrent_files files;
  auto passkey = t.create_user("mirror-1");
  auto digest = digest_text(files.blob);
  std::vector<test_support::made_torrent> segments;
  for (int i = 0; i < 3; ++i) {
    auto p = files.dir / ("seg" + std::to_string(i));
    test::write_text(p, files.blob.substr(static_cast<std::size_t>(i) * 70000, 70000));
    segments.push_back(make_torrent(p, torrent_kind::v1));
    auto r = t.register_torrent(segments.back().bytes,
                                "?digest=" + digest + "&segment=" + std::to_string(i));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(t.json_of(r)["segment"], i);
  }
  EXPECT_EQ(t.register_torrent(segments[0].bytes, "?digest=" + digest + "&segment=0").status, 200);
  EXPECT_EQ(t.register_torrent(segments[1].bytes, "?digest=" + digest + "&segment=0").status, 409);
  EXPECT_EQ(t.register_torrent(segments[1].bytes, "?segment=4").status, 400);
  EXPECT_EQ(t.register_torrent(segments[1].bytes, "?digest=" + digest + "&segment=-1").status, 400);

  auto blob = t.json_of(t.request("GET", "/api/v1/blobs/" + digest, passkey));
  EXPECT_TRUE(blob["torrent"].is_null());
  ASSERT_EQ(blob["segments"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(blob["segments"][i]["index"], i);
    EXPECT_EQ(blob["segments"][i]["info_hash_v1"], segments[i].v1_hex);
    EXPECT_EQ(blob["segments"][i]["size"], 70000 - (i == 2 ? 10000 : 0));
  }
  auto seg = t.request("GET", "/api/v1/blobs/" + digest + "/segments/1/torrent", passkey);
  ASSERT_EQ(seg.status, 200);
  lt::error_code ec;
  lt::torrent_info ti(seg.body.data(), static_cast<int>(seg.body.size()), ec);
  EXPECT_EQ(hex_of(ti.info_hashes().v1), segments[1].v1_hex);
  EXPECT_EQ(ti.trackers().at(0).url, t.url("/announce/" + passkey));
  // While only segments exist, the whole torrent is a 404 that says why.
  auto whole = t.request("GET", "/api/v1/blobs/" + digest + "/torrent", passkey);
  EXPECT_EQ(whole.status, 404);
  EXPECT_NE(whole.body.find("segment torrents exist"), std::string::npos);

  // Retire segment 0: gone from the blob and from the tracker's whitelist.
  EXPECT_EQ(t.request("DELETE", "/api/v1/torrents/" + segments[0].v1_hex, passkey).status, 403);
  EXPECT_EQ(t.request("DELETE", "/api/v1/torrents/" + segments[0].v1_hex, t.admin_token()).status,
            204);
  EXPECT_EQ(t.json_of(t.request("GET", "/api/v1/blobs/" + digest, passkey))["segments"].size(), 2u);
  auto a = bdecode(
      t.announce(passkey, announce_query(segments[0].v1_hex, "-TT0001-000000000001", 7000, 0)));
  EXPECT_NE(a.str("failure reason").find("not registered"), std::string::npos);
  EXPECT_EQ(t.request("DELETE", "/api/v1/torrents/" + segments[0].v1_hex, t.admin_token()).status,
            404);
}

TEST(tracker_api, refuses_bad_torrents_and_oversized_bodies_storing_nothing) {
  tracker_instance t({"--max-torrent-size", "64KiB"});
  auto admin = t.admin_token();
  for (std::string bad : {std::string("not a torrent"), std::string(), std::string("d4:infoe")}) {
    auto r = t.register_torrent(bad);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(t.json_of(r)["error"]["code"], "invalid_argument");
  }
  EXPECT_EQ(t.register_torrent("x", "?digest=md5:abc").status, 400);
  auto big = t.register_torrent(std::string(100 * 1024, 'd'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(t.json_of(big)["error"]["code"], "too_large") << big.body;
  // Far over the limit: refused before the body is read.
  EXPECT_EQ(t.register_torrent(std::string(300 * 1024, 'd')).status, 413);
  auto list = t.json_of(t.request("GET", "/api/v1/torrents", admin));
  EXPECT_TRUE(list["torrents"].empty());
  EXPECT_TRUE(list["next_after"].is_null());
}

TEST(tracker_api, lists_torrents_in_pages_with_live_counts) {
  tracker_instance t;
  test::temp_dir dir;
  auto passkey = t.create_user("node");
  std::vector<std::string> hashes;
  for (int i = 0; i < 5; ++i) {
    auto p = dir / ("f" + std::to_string(i));
    test::write_text(p, test::random_bytes(20000, 100 + i));
    auto m = make_torrent(p, i == 4 ? torrent_kind::hybrid : torrent_kind::v1);
    ASSERT_EQ(t.register_torrent(m.bytes).status, 201);
    hashes.push_back(m.v1_hex);
    if (i == 4) {
      // A v2 hash finds the hybrid torrent too.
      auto by_v2 = t.json_of(t.request("GET", "/api/v1/torrents/" + m.v2_hex, passkey));
      EXPECT_EQ(by_v2["info_hash_v1"], m.v1_hex);
      EXPECT_EQ(by_v2["info_hash_v2"], m.v2_hex);
    }
  }
  auto page = t.json_of(t.request("GET", "/api/v1/torrents?limit=2", passkey));
  ASSERT_EQ(page["torrents"].size(), 2u);
  EXPECT_EQ(page["torrents"][0]["info_hash_v1"], hashes[0]);
  auto next = page["next_after"].get<std::int64_t>();
  page = t.json_of(
      t.request("GET", "/api/v1/torrents?limit=2&after=" + std::to_string(next), passkey));
  EXPECT_EQ(page["torrents"][0]["info_hash_v1"], hashes[2]);
  EXPECT_EQ(t.request("GET", "/api/v1/torrents?limit=0", passkey).status, 400);
  EXPECT_EQ(t.request("GET", "/api/v1/torrents?limit=5000", passkey).status, 400);

  t.announce(passkey, announce_query(hashes[1], "-TT0001-000000000001", 7001, 0));
  t.announce(passkey, announce_query(hashes[1], "-TT0001-000000000002", 7002, 10));
  auto one = t.json_of(t.request("GET", "/api/v1/torrents/" + hashes[1], passkey));
  EXPECT_EQ(one["seeders"], 1);
  EXPECT_EQ(one["leechers"], 1);
}

TEST(tracker_bittorrent, announces_scrapes_and_explains_bad_requests) {
  tracker_instance t;
  torrent_files files;
  auto passkey = t.create_user("peer");
  auto made = make_torrent(files.path, torrent_kind::v1);
  ASSERT_EQ(t.register_torrent(made.bytes).status, 201);

  auto seed = bdecode(
      t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000001", 7001, 0,
                                         "&event=started&key=AB12&compact=1&supportcrypto=1")));
  EXPECT_EQ(seed.integer("complete"), 1);
  EXPECT_EQ(seed.str("external ip"), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_TRUE(seed.node.dict_find("peers"));
  EXPECT_EQ(seed.str("peers"), "");
  auto leech =
      bdecode(t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000002", 7002, 1000)));
  EXPECT_EQ(leech.str("peers"), std::string("\x7f\x00\x00\x01\x1b\x59", 6));
  EXPECT_EQ(leech.integer("incomplete"), 1);
  EXPECT_EQ(leech.integer("interval"), 120);
  EXPECT_EQ(leech.integer("min interval"), 30);

  auto raw = *info_hash::from_hex(made.v1_hex);
  auto scrape =
      t.request("GET", "/scrape/" + passkey + "?info_hash=" + http::percent_encode(raw.raw()));
  ASSERT_EQ(scrape.status, 200);
  auto s = bdecode(scrape.body);
  auto f = s.node.dict_find_dict("files").dict_find_dict(lt::string_view(raw.raw().data(), 20));
  ASSERT_TRUE(f);
  EXPECT_EQ(f.dict_find_int_value("complete"), 1);
  EXPECT_EQ(f.dict_find_int_value("incomplete"), 1);

  // Bad input: HTTP 200 with a failure reason, nothing stored.
  struct bad {
    std::string target;
    std::string reason;
  };
  auto q = [&](const std::string& extra) {
    return "?info_hash=" + http::percent_encode(raw.raw()) + "&peer_id=-TT0001-000000000009" +
           extra;
  };
  std::vector<bad> cases{
      {"/announce/" + passkey, "missing info_hash"},
      {"/announce/" + passkey + "?info_hash=%41", "info_hash must be 20 bytes (got 1)"},
      {"/announce/" + passkey + "?info_hash=%4", "percent-encoding"},
      {"/announce/" + passkey + q("&port=0&uploaded=0&downloaded=0&left=0"), "port must be"},
      {"/announce/" + passkey + q("&port=1&uploaded=x&downloaded=0&left=0"), "uploaded must be"},
      {"/announce/" + passkey + q("&port=1&uploaded=0&downloaded=0"), "missing left"},
      {"/announce/" + passkey + q("&port=1&uploaded=0&downloaded=0&left=0&numwant=-3"),
       "numwant must be"},
      {"/announce/" + passkey + "?info_hash=" + std::string(60, 'A') + "&peer_id=x",
       "info_hash must be 20 bytes"},
      {"/announce/wrongpasskey" + q("&port=1&uploaded=0&downloaded=0&left=0"), "unknown passkey"},
      {"/announce/" + passkey + "?info_hash=" + std::string(20, 'Z') +
           "&peer_id=-TT0001-000000000009&port=1&uploaded=0&downloaded=0&left=0",
       "not registered"},
      {"/announce", "missing passkey"},
      {"/announce/", "missing passkey"},
      {"/scrape", "missing passkey"},
      {"/scrape/" + passkey, "at least one info_hash"},
      {"/scrape/nope?info_hash=" + http::percent_encode(raw.raw()), "unknown passkey"},
  };
  for (const auto& c : cases) {
    auto r = t.request("GET", c.target);
    EXPECT_EQ(r.status, 200) << c.target;
    auto d = bdecode(r.body);
    EXPECT_NE(d.str("failure reason").find(c.reason), std::string::npos)
        << c.target << " -> " << r.body;
  }
  // Huge numwant is capped, not refused.
  auto capped = bdecode(t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000003",
                                                           7003, 5, "&numwant=999999999999")));
  EXPECT_FALSE(capped.node.dict_find("failure reason"));
  auto one = t.json_of(t.request("GET", "/api/v1/torrents/" + made.v1_hex, passkey));
  EXPECT_EQ(one["seeders"].get<int>() + one["leechers"].get<int>(), 3);

  // HTTP-level errors: oversized target, unknown routes, wrong methods.
  auto huge =
      test::raw_request(t.port(), "GET /announce/" + passkey + "?x=" + std::string(20000, 'a') +
                                      " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(huge.starts_with("HTTP/1.1 431")) << huge.substr(0, 100);
  auto nf = t.request("GET", "/api/v1/nothing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(t.json_of(nf)["error"]["code"], "not_found");
  auto bad_method = t.request("PUT", "/api/v1/users", t.admin_token(), "{}");
  EXPECT_EQ(bad_method.status, 405);
  EXPECT_TRUE(bad_method.header("allow"));
  // "/" is the web UI: without a session, its sign-in page (after a redirect).
  auto ui = t.request("GET", "/");
  EXPECT_EQ(ui.status, 200);
  EXPECT_NE(ui.body.find("login-form"), std::string::npos);
}

TEST(tracker_bittorrent, keeps_connections_alive_and_serves_metrics) {
  tracker_instance t;
  torrent_files files;
  auto passkey = t.create_user("peer");
  auto made = make_torrent(files.path, torrent_kind::v1);
  ASSERT_EQ(t.register_torrent(made.bytes).status, 201);
  // Three announces on one connection (keep-alive, pipelined).
  int fd = test::connect_loopback(t.port());
  ASSERT_GE(fd, 0);
  std::string batch;
  for (int i = 1; i <= 3; ++i) {
    batch += "GET /announce/" + passkey + "?" +
             announce_query(made.v1_hex, fmt::format("-TT0001-00000000000{}", i), 7000 + i, i) +
             " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  auto replies = test::exchange(fd, batch, std::chrono::seconds(5), "incompletei3e");
  ::close(fd);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), 'H') >= 3, true);
  EXPECT_NE(replies.find("incompletei3e"), std::string::npos) << replies;

  t.request("GET", "/announce/nope?x=1");
  auto metrics = t.request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("blobswarm_tracker_announces_total{result=\"ok\"} 3"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("blobswarm_tracker_announces_total{result=\"unknown_passkey\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("blobswarm_tracker_swarms 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("blobswarm_tracker_peers 3"), std::string::npos);
  EXPECT_NE(metrics.body.find("blobswarm_tracker_leechers 3"), std::string::npos);
  auto health = t.request("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(t.json_of(health)["status"], "ok");
}

TEST(tracker_state, flushes_counters_expires_peers_and_restores_them_after_a_restart) {
  test::temp_dir dir;
  torrent_files files;
  auto made = make_torrent(files.path, torrent_kind::v1);
  std::string passkey;
  std::vector<std::string> args{"--stats-flush-interval", "200ms", "--peer-ttl",     "3s",
                                "--announce-interval",    "1s",    "--min-interval", "1s"};
  {
    tracker_instance t(args, dir.path());
    passkey = t.create_user("peer");
    ASSERT_EQ(t.register_torrent(made.bytes).status, 201);
    t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000001", 7001, 0,
                                       "&event=started&key=1"));
    t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000002", 7002, 100,
                                       "&event=started&key=2"));
    // Transfer reported by the leecher, then its completion.
    auto q = announce_query(made.v1_hex, "-TT0001-000000000002", 7002, 0, "&key=2&event=completed");
    q.replace(q.find("&uploaded=0&downloaded=0"), 24, "&uploaded=5&downloaded=200000");
    t.announce(passkey, q);
    // Live figures straight away; in the database after a flush.
    auto live = t.json_of(t.request("GET", "/api/v1/torrents/" + made.v1_hex, passkey));
    EXPECT_EQ(live["downloaded"], 200000);
    EXPECT_EQ(live["completed"], 1);
    EXPECT_EQ(live["seeders"], 2);
    EXPECT_TRUE(test::wait_for([&] {
      auto m = t.request("GET", "/metrics").body;
      return m.find("blobswarm_tracker_stats_flushes_total{result=\"ok\"} 0") == std::string::npos;
    }));
    ASSERT_EQ(t.stop(SIGTERM), 0);
    EXPECT_NE(t.process().output().find("saved 2 peers"), std::string::npos);
  }
  {
    tracker_instance t(args, dir.path());
    EXPECT_NE(t.process().output().find("restored 2 peers"), std::string::npos)
        << t.process().output();
    auto after = t.json_of(t.request("GET", "/api/v1/torrents/" + made.v1_hex, passkey));
    EXPECT_EQ(after["seeders"], 2);
    EXPECT_EQ(after["downloaded"], 200000);
    EXPECT_EQ(after["uploaded"], 5);
    EXPECT_EQ(after["completed"], 1);
    auto user = t.json_of(t.request("GET", "/api/v1/users/peer", passkey));
    EXPECT_EQ(user["downloaded"], 200000);
    EXPECT_EQ(user["announces"], 3);
    // A restored peer is handed out like a live one.
    auto a = bdecode(
        t.announce(passkey, announce_query(made.v1_hex, "-TT0001-000000000003", 7003, 100)));
    EXPECT_EQ(a.str("peers").size(), 12u);
    // Silent peers go after peer_ttl.
    EXPECT_TRUE(test::wait_for(
        [&] {
          auto j = t.json_of(t.request("GET", "/api/v1/torrents/" + made.v1_hex, passkey));
          return j["seeders"] == 0 && j["leechers"] == 0;
        },
        std::chrono::seconds(15)));
  }
}

TEST(tracker_config, reads_zones_from_the_config_file_and_rejects_bad_settings) {
  test::temp_dir dir;
  test::write_text(dir / "ok.json", R"({"zones": [{"cidr": "127.0.0.0/8", "zone": "lo"}],
                                        "numwant": 20, "trusted_addresses": ["10.0.0.0/8"]})");
  tracker_instance t({"--config", (dir / "ok.json").string()});
  EXPECT_EQ(t.request("GET", "/healthz").status, 200);

  auto bin = test::binary("blobswarm-tracker").string();
  test::write_text(dir / "token", "0123456789abcdef0123");
  struct bad {
    std::vector<std::string> args;
    std::string message;
  };
  test::write_text(dir / "typo.json", R"({"peer_tll": "5m"})");
  test::write_text(dir / "zone.json", R"({"zones": [{"cidr": "10.0.0.0/33", "zone": "x"}]})");
  test::write_text(dir / "short", "short");
  std::vector<bad> cases{
      {{"--config", (dir / "typo.json").string()}, "unknown config key 'peer_tll'"},
      {{"--config", (dir / "zone.json").string()}, "zones[0].cidr"},
      {{"--min-interval", "10m"}, "min_interval must not exceed announce_interval"},
      {{"--trusted-addresses", "nonsense"}, "trusted_addresses"},
      {{"--admin-token-file", (dir / "short").string()}, "must be 16-128 characters"},
      {{"--admin-token-file", (dir / "missing").string()}, "admin_token_file"},
      {{"--peer-store", "memcached://x"}, "peer_store must be memory or a redis:// URL"},
      {{"--peer-store", "redis://127.0.0.1:99999"}, "peer_store: redis URL: bad port"},
      {{"--db", "postgresql://127.0.0.1:1/x"}, "public_url is required with a PostgreSQL db"},
      {{"--db", "postgresql://127.0.0.1:1/x", "--public-url", "http://t:1"},
       "passkey_key_file is required with a PostgreSQL db"},
      {{"--db", "postgresql://u:secret-pw@127.0.0.1:1/x", "--public-url", "http://t:1",
        "--passkey-key-file", (dir / "k").string()},
       "postgresql://u:…@127.0.0.1:1/x"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{bin, "--listen", "127.0.0.1:0"};
    if (std::find(c.args.begin(), c.args.end(), "--db") == c.args.end()) {
      argv.insert(argv.end(), {"--db", (dir / "x.db").string()});
    }
    if (c.args.front() != "--admin-token-file") {
      argv.insert(argv.end(), {"--admin-token-file", (dir / "token").string()});
    }
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = test::run_command(argv, std::chrono::seconds(20));
    EXPECT_NE(r.status, 0) << c.message;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("secret-pw"), std::string::npos) << "a URL's password in a message";
  }
  auto help = test::run_command({bin, "--help"});
  EXPECT_EQ(help.status, 0);
  for (auto flag :
       {"--listen", "--db", "--admin-token-file", "--public-url", "--peer-ttl",
        "--announce-interval", "--min-interval", "--trusted-addresses", "--threads", "zones",
        "--peer-store", "--db-connections", "--resync-interval", "postgresql://", "redis://"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag;
  }
  // A second tracker on the same port fails instead of sharing it.
  auto busy =
      test::run_command({bin, "--listen", "127.0.0.1:" + std::to_string(t.port()), "--db",
                         (dir / "y.db").string(), "--admin-token-file", (dir / "token").string()},
                        std::chrono::seconds(20));
  EXPECT_NE(busy.status, 0);
  EXPECT_NE(busy.output.find("already in use"), std::string::npos) << busy.output;
}

TEST(tracker_config, provisions_users_with_passkeys_from_files) {
  // As deploy/compose does: every mirror shares the user "nodes" whose
  // passkey comes from a secret file.
  test::temp_dir dir;
  test::write_text(dir / "nodes-passkey", "0123456789abcdef0123456789abcdef\n");
  test::write_text(dir / "tracker.json", fmt::format(R"({{"users": [{{"name": "nodes",
      "passkey_file": "{}"}}]}})",
                                                     (dir / "nodes-passkey").string()));
  std::vector<std::string> args{"--config", (dir / "tracker.json").string()};
  {
    tracker_instance t(args, dir.path());
    auto r =
        t.request("GET", "/api/v1/users/nodes", std::string("0123456789abcdef0123456789abcdef"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(t.process().output().find("user 'nodes' set up"), std::string::npos);
    // The passkey does not appear in the log.
    EXPECT_EQ(t.process().output().find("0123456789abcdef0123456789abcdef"), std::string::npos);
    ASSERT_EQ(t.stop(), 0);
  }
  // A new passkey in the file replaces the old one at the next start.
  test::write_text(dir / "nodes-passkey", "fedcba9876543210fedcba9876543210");
  {
    tracker_instance t(args, dir.path());
    EXPECT_EQ(
        t.request("GET", "/api/v1/users", std::string("0123456789abcdef0123456789abcdef")).status,
        401);
    auto users = t.json_of(
        t.request("GET", "/api/v1/users", std::string("fedcba9876543210fedcba9876543210")));
    ASSERT_EQ(users["users"].size(), 1u);  // the same user, not a second one
    ASSERT_EQ(t.stop(), 0);
  }
  // A short passkey file stops the start with a message.
  test::write_text(dir / "nodes-passkey", "short");
  test::write_text(dir / "token", "0123456789abcdef0123");
  auto r =
      test::run_command({test::binary("blobswarm-tracker").string(), "--listen", "127.0.0.1:0",
                         "--db", (dir / "tracker.db").string(), "--admin-token-file",
                         (dir / "token").string(), "--config", (dir / "tracker.json").string()},
                        std::chrono::seconds(20));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("user 'nodes'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace blobswarm::tracker
