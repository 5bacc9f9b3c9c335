// /files end to end: the tracker, the seeder and mirrors as processes on
// loopback, curl as the download client, a real BitTorrent client
// (libtorrent's Python binding, tests/e2e/lt_seed.py) as the first seed of
// a torrentgen torrent, and nginx as the origin of files pulled from URLs.
// What it proves: any torrent the tracker has reaches curl through a node's
// mirror, byte-identical, a second node getting it from the first; files
// from an allowed URL leave their origin once however many nodes fetch
// them; Range reads answer from the pieces that cover them; a wrong digest
// or an origin that is not allowed is refused and nothing is kept.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <future>
#include <random>
#include <regex>
#include <thread>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/client.hpp"
#include "common/http/url.hpp"
#include "common/rendezvous.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct fetched {
  int status = 0;
  std::string body;
  std::string headers;  // as received, lowercase names not guaranteed
  std::string header(const std::string& name) const {
    std::regex re("(^|\\n)" + name + ":[ ]*([^\\r\\n]*)", std::regex::icase);
    std::smatch m;
    return std::regex_search(headers, m, re) ? m[2].str() : std::string();
  }
};

// GET with curl, as a user on a node would; `extra` before the URL.
fetched curl(const std::string& url, const std::vector<std::string>& extra = {}) {
  temp_dir t;
  std::vector<std::string> argv = {
      "curl", "-sS", "-o", (t / "body").string(), "-D", (t / "h").string(), "-w", "%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto r = run_command(argv, std::chrono::seconds(120));
  fetched f;
  f.status = std::atoi(r.output.c_str());
  if (fs::exists(t / "body")) f.body = read_text(t / "body");
  if (fs::exists(t / "h")) f.headers = read_text(t / "h");
  return f;
}

std::string sha256_digest(std::string_view bytes) {
  return "sha256:" + to_hex(sha256(bytes));
}

// The tracker, the seeder and `n` mirrors on 127.0.0.2...
struct files_system {
  temp_dir dir;
  std::string admin_token;
  std::string passkey;
  std::unique_ptr<service_process> tracker, seeder;
  std::vector<std::unique_ptr<service_process>> mirrors;

  // `seeder_list(url)`: the mirrors' seeder setting given the live seeder's
  // URL (default: that one alone).
  explicit files_system(int n, json seeder_extra = json::object(),
                        std::function<json(const std::string&)> seeder_list = {}) {
    admin_token = to_hex(random_bytes(16, std::random_device{}()));
    tracker = start_tracker(dir.path(), admin_token);
    passkey = create_tracker_user(*tracker, admin_token, "nodes");
    auto seeder_listen = "127.0.0.1:" + std::to_string(free_port());
    json sc = {{"listen", seeder_listen},
               {"data", (dir / "seeder").string()},
               {"upstream", "http://127.0.0.1:9"},
               {"tracker", tracker->url()},
               {"tracker_token_file", (dir / "admin-token").string()},
               {"peer_listen", "127.0.0.1:" + std::to_string(free_port())}};
    sc.merge_patch(seeder_extra);
    seeder = std::make_unique<service_process>("blobswarm-seeder", sc, seeder_listen);
    seeder->start();
    for (int i = 0; i < n; ++i) {
      mirror_config c;
      c.host = "127.0.0." + std::to_string(2 + i);
      c.upstream = "http://127.0.0.1:9";
      c.tracker = tracker->url();
      c.seeder = seeder->url();
      if (seeder_list) c.extra["seeder"] = seeder_list(seeder->url());
      c.passkey = passkey;
      mirrors.push_back(start_mirror(c));
    }
  }

  // Registers a .torrent as an upload (no digest); its v1 info-hash, or its
  // v2 one for a v2-only torrent.
  std::string register_torrent(const fs::path& torrent) {
    http::client c;
    auto r = c.send({.method = "POST",
                     .url = tracker->url("/api/v1/torrents"),
                     .headers = {{"Authorization", "Bearer " + admin_token},
                                 {"Content-Type", "application/x-bittorrent"}},
                     .body = read_text(torrent)});
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : r.error().message);
    if (!r) return "";
    auto j = json::parse(r->body);
    return j["info_hash_v1"].is_string() ? j["info_hash_v1"].get<std::string>()
                                         : j["info_hash_v2"].get<std::string>();
  }

  json tracker_get(const std::string& path) const {
    http::client c;
    auto r = c.send(
        {.url = tracker->url(path), .headers = {{"Authorization", "Bearer " + admin_token}}});
    if (!r) return json();
    auto j = json::parse(r->body, nullptr, false);
    j["_status"] = r->status;
    return j;
  }
};

// A directory of files to share, made with torrentgen.
struct shared_dir {
  fs::path root;  // <dir>/data
  fs::path torrent;
  std::map<std::string, std::string> files;  // path inside the torrent -> bytes
};

shared_dir make_shared_dir(const temp_dir& dir, const std::string& format) {
  shared_dir s;
  s.root = dir / "data";
  s.files = {{"a.bin", random_bytes(3 << 20, 31)},
             {"sub/b.bin", random_bytes(6 << 20, 32)},
             {"sub/deeper/c t.txt", std::string(20000, 'c')}};
  for (const auto& [path, bytes] : s.files) {
    fs::create_directories((s.root / path).parent_path());
    write_text(s.root / path, bytes);
  }
  s.torrent = dir / "data.torrent";
  auto made =
      run_command({binary("torrentgen").string(), "create", "--private", "--quiet", "--piece-size",
                   "256KiB", "--format", format, s.root.string(), "-o", s.torrent.string()});
  EXPECT_EQ(made.status, 0) << made.output;
  return s;
}

// The first seed of a torrent: a real BitTorrent client, uploading at
// most `rate` bytes/s (0: no limit).
std::unique_ptr<process> start_seed(const files_system& sys, const shared_dir& s,
                                    std::uint64_t rate = 0) {
  auto p = std::make_unique<process>(std::vector<std::string>{
      "/usr/bin/python3", std::string(BLOBSWARM_SOURCE_DIR) + "/tests/e2e/lt_seed.py", "--torrent",
      s.torrent.string(), "--save", s.root.parent_path().string(), "--tracker",
      sys.tracker->url("/announce/" + sys.passkey), "--rate", std::to_string(rate)});
  EXPECT_TRUE(p->wait_for_output("announced", std::chrono::seconds(30))) << p->output();
  return p;
}

// nginx on loopback serving `www`, logging each request's method, path,
// status, Authorization and If-None-Match, one log per port.
struct nginx_server {
  temp_dir dir;
  fs::path www = dir / "www";
  std::uint16_t port = free_port();
  std::uint16_t other_port = free_port();  // a second origin (another port)
  std::unique_ptr<process> proc;

  nginx_server() {
    fs::create_directories(www);
    fs::create_directories(dir / "logs");
    auto conf = fmt::format(R"(
user root;
worker_processes 1;
error_log {0}/logs/error.log;
pid {0}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  log_format probe '$request_method $uri $status auth=[$http_authorization] inm=[$http_if_none_match]';
  sendfile on;
  server {{
    listen 127.0.0.1:{1};
    access_log {0}/logs/main.log probe;
    root {2};
    # Like Hugging Face's resolve/ URLs: a redirect to another host.
    location /to-other/ {{ rewrite ^/to-other/(.*)$ http://127.0.0.1:{3}/$1 redirect; }}
  }}
  server {{
    listen 127.0.0.1:{3};
    access_log {0}/logs/other.log probe;
    root {2};
  }}
}}
)",
                            dir.path().string(), port, www.string(), other_port);
    write_text(dir / "nginx.conf", conf);
    auto nginx = find_program("nginx");
    std::string bin = nginx ? nginx->string() : "/usr/sbin/nginx";
    proc = std::make_unique<process>(std::vector<std::string>{
        bin, "-c", (dir / "nginx.conf").string(), "-p", dir.path().string(), "-g", "daemon off;"});
    EXPECT_TRUE(
        wait_for([&] { return curl(origin() + "/").status != 0; }, std::chrono::seconds(10)));
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string other_origin() const { return "http://127.0.0.1:" + std::to_string(other_port); }
  std::vector<std::string> log(const std::string& which = "main") const {
    std::vector<std::string> lines;
    std::ifstream in(dir / "logs" / (which + ".log"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::size_t count(const std::string& prefix, const std::string& which = "main") const {
    std::size_t n = 0;
    for (const auto& l : log(which)) n += l.starts_with(prefix);
    return n;
  }
};

json files_status(const service_process& m) {
  return m.get_json("/api/v1/files");
}

bool seeding(const service_process& m, const std::string& ih) {
  auto s = files_status(m);
  if (!s.contains("seeding")) return false;
  for (const auto& t : s["seeding"]) {
    if (t.value("info_hash", "") == ih) return true;
  }
  return false;
}

std::uint64_t uploaded_by(const service_process& m, const std::string& ih) {
  auto s = files_status(m);  // named: a range-for over a temporary's member dangles
  for (const auto& t : s["seeding"]) {
    if (t.value("info_hash", "") == ih) return t.value("uploaded", std::uint64_t{0});
  }
  return 0;
}

std::string url_param(const std::string& url) {
  return http::percent_encode(url);
}

TEST(files, directory_torrent_reaches_curl_through_two_mirrors_the_second_from_the_first) {
  files_system sys(2);
  auto s = make_shared_dir(sys.dir, "v1");
  auto ih = sys.register_torrent(s.torrent);
  ASSERT_EQ(ih.size(), 40u);
  auto seed = start_seed(sys, s);
  auto& first = *sys.mirrors[0];
  auto& second = *sys.mirrors[1];

  // The listing: every file, with the URL to fetch it.
  auto listing = curl(first.url("/files/" + ih));
  ASSERT_EQ(listing.status, 200) << listing.body;
  auto j = json::parse(listing.body);
  ASSERT_EQ(j["files"].size(), s.files.size()) << listing.body;
  std::map<std::string, std::string> urls;
  for (const auto& f : j["files"]) {
    auto path = f["path"].get<std::string>();
    ASSERT_TRUE(s.files.contains(path)) << path;
    EXPECT_EQ(f["size"].get<std::uint64_t>(), s.files[path].size());
    urls[path] = f["url"].get<std::string>();
  }
  EXPECT_EQ(urls["sub/deeper/c t.txt"], first.url("/files/" + ih + "/sub/deeper/c%20t.txt"));

  // A Range read before anything is cached: its pieces first, 206.
  auto part = curl(first.url("/files/" + ih + "/sub/b.bin"), {"-r", "4000000-4099999"});
  ASSERT_EQ(part.status, 206) << part.body;
  EXPECT_EQ(part.header("content-range"), "bytes 4000000-4099999/6291456");
  EXPECT_EQ(part.body, s.files["sub/b.bin"].substr(4000000, 100000));

  // A HEAD answers from the torrent (and starts no download).
  auto head = curl(first.url("/files/" + ih + "/a.bin"), {"-I"});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "3145728");
  EXPECT_NE(head.header("content-disposition").find("a.bin"), std::string::npos);

  // Every file through the first node.
  for (const auto& [path, url] : urls) {
    auto got = curl(url);
    ASSERT_EQ(got.status, 200) << path << ": " << got.body;
    EXPECT_EQ(got.body, s.files[path]) << path;
  }
  ASSERT_TRUE(wait_for([&] { return seeding(first, ih); }, std::chrono::seconds(30)))
      << files_status(first).dump();

  // The original seed leaves: the second node can only get the bytes from
  // the first, which restarts too (its cache keeps the torrent and it seeds
  // it again).
  seed->stop(SIGTERM);
  first.restart();
  for (const auto& [path, bytes] : s.files) {
    auto got = curl(second.url("/files/" + ih + "/" + http::percent_encode_path(path)));
    ASSERT_EQ(got.status, 200) << path << ": " << got.body;
    EXPECT_EQ(got.body, bytes) << path;
  }
  std::uint64_t total = 0;
  for (const auto& [path, bytes] : s.files) total += bytes.size();
  ASSERT_TRUE(wait_for([&] { return seeding(second, ih); }, std::chrono::seconds(30)));
  auto totals = files_status(second)["totals"];
  EXPECT_GE(totals.value("from_peers", std::uint64_t{0}), total) << totals.dump();
  // libtorrent updates its transfer counters about once a second.
  EXPECT_TRUE(wait_for([&] { return uploaded_by(first, ih) >= total; }, std::chrono::seconds(10)))
      << files_status(first).dump();

  // From the cache now: whole and ranged, and a range past the end.
  auto cached = curl(second.url("/files/" + ih + "/a.bin"), {"-r", "-1000"});
  EXPECT_EQ(cached.status, 206);
  EXPECT_EQ(cached.body, s.files["a.bin"].substr(s.files["a.bin"].size() - 1000));
  EXPECT_GT(files_status(second)["totals"].value("served_from_cache", std::uint64_t{0}), 0u);
  auto beyond = curl(second.url("/files/" + ih + "/a.bin"), {"-r", "99999999-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.header("content-range"), "bytes */3145728");
  auto missing = curl(second.url("/files/" + ih + "/no/such.file"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("no file 'no/such.file'"), std::string::npos) << missing.body;
}

TEST(files, range_read_is_answered_before_the_rest_of_the_file) {
  files_system sys(1);
  auto s = make_shared_dir(sys.dir, "v1");
  auto ih = sys.register_torrent(s.torrent);
  // 9 MiB in 256 KiB pieces at 1 MiB/s: the whole torrent takes 9 s.
  auto seed = start_seed(sys, s, 1 << 20);
  auto& m = *sys.mirrors[0];
  // The last two pieces of sub/b.bin (the torrent's pieces 34 and 35 of 37).
  auto part = curl(m.url("/files/" + ih + "/sub/b.bin"), {"-r", "5767168-6291455"});
  ASSERT_EQ(part.status, 206) << part.body;
  EXPECT_EQ(part.body, s.files["sub/b.bin"].substr(5767168));
  // Its pieces came first: most of the torrent had not arrived yet.
  auto status = files_status(m);
  ASSERT_EQ(status["downloads"].size(), 1u) << status.dump();
  auto done = status["downloads"][0]["pieces_done"].get<int>();
  auto pieces = status["downloads"][0]["pieces"].get<int>();
  EXPECT_EQ(pieces, 37);
  EXPECT_LE(done, 6) << "a Range read waited for " << done << " of " << pieces << " pieces";
}

TEST(files, hybrid_torrent_is_verified_and_its_padding_never_shows) {
  files_system sys(1);
  auto s = make_shared_dir(sys.dir, "hybrid");
  auto ih = sys.register_torrent(s.torrent);
  auto seed = start_seed(sys, s);
  auto& m = *sys.mirrors[0];
  auto listing = curl(m.url("/files/" + ih));
  ASSERT_EQ(listing.status, 200) << listing.body;
  auto j = json::parse(listing.body);
  EXPECT_TRUE(j["hybrid"].get<bool>());
  ASSERT_EQ(j["files"].size(), s.files.size()) << "padding files listed: " << listing.body;
  for (const auto& f : j["files"]) {
    auto path = f["path"].get<std::string>();
    EXPECT_EQ(path.find(".pad"), std::string::npos) << path;
    auto got = curl(f["url"].get<std::string>());
    ASSERT_EQ(got.status, 200) << path << ": " << got.body;
    EXPECT_EQ(got.body, s.files[path]) << path;
  }
  EXPECT_TRUE(wait_for([&] { return seeding(m, ih); }, std::chrono::seconds(30)));
}

TEST(files, v2_only_torrent_is_refused_with_the_reason) {
  files_system sys(1);
  auto s = make_shared_dir(sys.dir, "v2");
  auto ih = sys.register_torrent(s.torrent);
  ASSERT_EQ(ih.size(), 64u);
  auto got = curl(sys.mirrors[0]->url("/files/" + ih));
  EXPECT_EQ(got.status, 422) << got.body;
  EXPECT_NE(got.body.find("v2 only"), std::string::npos) << got.body;
}

// Seeder settings allowing nginx's first port, with a bearer token for it.
json allow(const nginx_server& n, const temp_dir& dir, const std::string& ttl = "10m") {
  write_text(dir / "origin-token", "origin-secret-0123456789");
  return {
      {"file_origins", {{n.origin(), {{"bearer_token_file", (dir / "origin-token").string()}}}}},
      {"file_ttl", ttl}};
}

TEST(files, url_leaves_its_origin_once_for_three_mirrors) {
  nginx_server origin;
  auto model = random_bytes(20 << 20, 41);
  write_text(origin.www / "model.safetensors", model);
  temp_dir secrets;
  files_system sys(3, allow(origin, secrets));
  auto url = origin.origin() + "/model.safetensors";
  auto path = "/files?url=" + url_param(url);
  // Three nodes at once; the third reads a range at the end.
  std::vector<std::future<fetched>> gets;
  for (int i = 0; i < 3; ++i) {
    gets.push_back(std::async(std::launch::async, [&, i] {
      return i < 2 ? curl(sys.mirrors[i]->url(path))
                   : curl(sys.mirrors[i]->url(path), {"-r", "19000000-19999999"});
    }));
  }
  for (int i = 0; i < 3; ++i) {
    auto got = gets[i].get();
    if (i < 2) {
      ASSERT_EQ(got.status, 200) << got.body;
      EXPECT_EQ(got.body, model) << i;
      EXPECT_NE(got.header("content-disposition").find("model.safetensors"), std::string::npos);
    } else {
      ASSERT_EQ(got.status, 206) << got.body;
      EXPECT_EQ(got.body, model.substr(19000000, 1000000));
    }
  }
  // One GET at the origin, with the origin's credentials.
  EXPECT_EQ(origin.count("GET /model.safetensors"), 1u)
      << fmt::format("{}", fmt::join(origin.log(), "\n"));
  EXPECT_EQ(origin.count("GET /model.safetensors 200 auth=[Bearer origin-secret-0123456789]"), 1u);
  // The right digest is accepted (and answered without the origin).
  auto checked = curl(sys.mirrors[0]->url(path + "&digest=" + url_param(sha256_digest(model))));
  EXPECT_EQ(checked.status, 200) << checked.body;
  EXPECT_EQ(checked.body, model);
  EXPECT_EQ(origin.count("GET /model.safetensors"), 1u);
  // The tracker lists it as a file pulled from that URL.
  auto blob = sys.tracker_get("/api/v1/blobs/" + url_param(sha256_digest(model)));
  ASSERT_EQ(blob["_status"], 200) << blob.dump();
  auto row =
      sys.tracker_get("/api/v1/torrents/" + blob["torrent"]["info_hash_v1"].get<std::string>());
  EXPECT_EQ(row["source_url"], url) << row.dump();
}

// Replicated seeders: every mirror asks a URL's first seeder in rendezvous
// order; when it is down the next one fetches the file. The dead seeder's
// address is picked so that it comes first for this URL.
TEST(files, url_goes_to_the_next_seeder_when_its_first_is_down) {
  nginx_server origin;
  auto model = random_bytes(3 << 20, 43);
  write_text(origin.www / "model.bin", model);
  auto url = origin.origin() + "/model.bin";
  temp_dir secrets;
  std::string dead;
  files_system sys(1, allow(origin, secrets), [&](const std::string& live) {
    for (int i = 0; i < 100 && dead.empty(); ++i) {
      auto candidate = "http://127.0.0.1:" + std::to_string(free_port());
      std::vector<std::string> both = {candidate, live};
      if (rendezvous_ranked(both, url)[0] == rendezvous_member(candidate)) dead = candidate;
    }
    return json::array({dead, live});
  });
  ASSERT_FALSE(dead.empty());
  auto got = curl(sys.mirrors[0]->url("/files?url=" + url_param(url)));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, model);
  EXPECT_EQ(origin.count("GET /model.bin"), 1u);
}

TEST(files, wrong_digest_is_refused_and_nothing_is_kept) {
  nginx_server origin;
  auto bytes = random_bytes(3 << 20, 42);
  write_text(origin.www / "data.bin", bytes);
  temp_dir secrets;
  files_system sys(1, allow(origin, secrets));
  auto& m = *sys.mirrors[0];
  auto wrong = sha256_digest("something else");
  auto got = curl(m.url("/files?url=" + url_param(origin.origin() + "/data.bin") +
                        "&digest=" + url_param(wrong)));
  EXPECT_EQ(got.status, 502) << got.body;
  EXPECT_NE(got.body.find("digest_mismatch"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find(wrong), std::string::npos) << got.body;
  EXPECT_EQ(origin.count("GET /data.bin"), 1u);
  // Nothing kept: no torrent at the tracker, no blob (nor ingest file) at
  // the seeder, no download or file at the mirror.
  auto real = sha256_digest(bytes);
  EXPECT_EQ(sys.tracker_get("/api/v1/blobs/" + url_param(real))["_status"], 404);
  auto hex = real.substr(7);
  EXPECT_FALSE(fs::exists(sys.dir / "seeder" / "blobs" / "sha256" / hex.substr(0, 2) / hex));
  EXPECT_TRUE(fs::is_empty(sys.dir / "seeder" / "ingest"));
  auto status = files_status(m);
  EXPECT_TRUE(status["downloads"].empty() && status["seeding"].empty()) << status.dump();
  EXPECT_TRUE(fs::is_empty(m.dir() / "data" / "files"));
}

TEST(files, redirect_to_another_host_gets_no_credentials) {
  nginx_server origin;
  auto bytes = random_bytes(2 << 20, 43);
  write_text(origin.www / "weights.bin", bytes);
  temp_dir secrets;
  files_system sys(1, allow(origin, secrets));
  auto got = curl(
      sys.mirrors[0]->url("/files?url=" + url_param(origin.origin() + "/to-other/weights.bin")));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, bytes);
  EXPECT_EQ(got.header("content-disposition").find("weights.bin") != std::string::npos, true);
  // The allowed origin got its token; the host it redirected to did not.
  EXPECT_EQ(origin.count("GET /to-other/weights.bin 302 auth=[Bearer origin-secret-0123456789]"),
            1u)
      << fmt::format("{}", fmt::join(origin.log(), "\n"));
  EXPECT_EQ(origin.count("GET /weights.bin 200 auth=[-]", "other"), 1u)
      << fmt::format("{}", fmt::join(origin.log("other"), "\n"));
}

TEST(files, url_is_revalidated_after_its_ttl) {
  nginx_server origin;
  auto before = random_bytes(1 << 20, 44);
  write_text(origin.www / "rev.bin", before);
  temp_dir secrets;
  files_system sys(1, allow(origin, secrets, "1s"));
  auto path = sys.mirrors[0]->url("/files?url=" + url_param(origin.origin() + "/rev.bin"));
  auto first = curl(path);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, before);
  auto asked = [&] {
    std::vector<std::string> lines;
    for (const auto& l : origin.log()) {
      if (l.starts_with("GET /rev.bin")) lines.push_back(l);
    }
    return lines;
  };
  ASSERT_EQ(asked().size(), 1u);
  // After the TTL, a conditional request: unchanged (304), the same bytes.
  // (That the origin is not asked within it, url_leaves_its_origin_once shows.)
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the TTL is wall-clock time
  EXPECT_EQ(curl(path).body, before);
  ASSERT_EQ(asked().size(), 2u);
  EXPECT_TRUE(asked()[1].starts_with("GET /rev.bin 304")) << asked()[1];
  EXPECT_EQ(asked()[1].find("inm=[-]"), std::string::npos) << asked()[1];
  // Changed at the origin: the new bytes, a new digest and torrent.
  auto after = random_bytes(1 << 20, 45);
  write_text(origin.www / "rev.bin", after);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto changed = curl(path);
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.body, after);
  EXPECT_EQ(changed.header("etag"), "\"" + sha256_digest(after) + "\"");
}

TEST(files, origin_not_on_the_allow_list_is_refused) {
  nginx_server origin;
  write_text(origin.www / "x.bin", "x");
  temp_dir secrets;
  files_system sys(1, allow(origin, secrets));
  auto got = curl(sys.mirrors[0]->url("/files?url=" + url_param(origin.other_origin() + "/x.bin")));
  EXPECT_EQ(got.status, 403) << got.body;
  EXPECT_NE(got.body.find("not in this seeder's file_origins allow-list"), std::string::npos)
      << got.body;
  EXPECT_TRUE(origin.log("other").empty());
}

}  // namespace
}  // namespace blobswarm::test
