#include "tests/tracker/tracker_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "common/hex.hpp"
#include "common/http/url.hpp"

namespace blobswarm::tracker::test_support {

tracker_instance::tracker_instance(std::vector<std::string> args,
                                   const std::filesystem::path& dir) {
  if (dir.empty()) {
    owned_dir_ = std::make_unique<test::temp_dir>();
    dir_ = owned_dir_->path();
  } else {
    dir_ = dir;
  }
  test::write_text(dir_ / "admin.token", token_ + "\n");
  std::vector<std::string> argv{test::binary("blobswarm-tracker").string(),
                                "--listen",
                                "127.0.0.1:0",
                                "--admin-token-file",
                                (dir_ / "admin.token").string(),
                                "--threads",
                                "2"};
  // A --db among `args` (a PostgreSQL URL) replaces the sqlite file.
  if (std::find(args.begin(), args.end(), "--db") == args.end()) {
    argv.insert(argv.end(), {"--db", (dir_ / "tracker.db").string()});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<test::process>(argv);
  if (!process_->wait_for_output("listening on", std::chrono::seconds(20))) {
    ADD_FAILURE() << "blobswarm-tracker did not start:\n" << process_->output();
    return;
  }
  // One regex for every thread that starts a tracker: compiling one reads
  // and fills the global locale's ctype cache, which ThreadSanitizer reports
  // as a race when replicas start at the same moment.
  static const std::regex listening("listening on 127\\.0\\.0\\.1:(\\d+)");
  std::smatch m;
  auto out = process_->output();
  if (std::regex_search(out, m, listening)) {
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  }
}

tracker_instance::~tracker_instance() = default;

std::optional<int> tracker_instance::stop(int sig) {
  return process_->stop(sig, std::chrono::seconds(20));
}

std::string tracker_instance::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

http::client_response tracker_instance::request(const std::string& method, const std::string& path,
                                                const std::optional<std::string>& token,
                                                const std::string& body,
                                                const std::string& content_type) const {
  http::client_request req;
  req.method = method;
  req.url = url(path);
  req.body = body;
  if (token) req.headers.emplace_back("Authorization", "Bearer " + *token);
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  auto r = client_.send(req);
  EXPECT_TRUE(r) << method << " " << path << ": " << r.error().message;
  return r ? *r : http::client_response{};
}

nlohmann::json tracker_instance::json_of(const http::client_response& r) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.body;
  return j;
}

std::string tracker_instance::create_user(const std::string& name) const {
  auto r = request("POST", "/api/v1/users", token_, nlohmann::json{{"name", name}}.dump(),
                   "application/json");
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = json_of(r);
  return j.value("passkey", "");
}

http::client_response tracker_instance::register_torrent(const std::string& bytes,
                                                         const std::string& query) const {
  return request("POST", "/api/v1/torrents" + query, token_, bytes, "application/x-bittorrent");
}

std::string tracker_instance::announce(const std::string& passkey, const std::string& query) const {
  auto r = request("GET", "/announce/" + passkey + "?" + query);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

std::string announce_query(const std::string& info_hash_hex, const std::string& peer_id, int port,
                           std::uint64_t left, const std::string& extra) {
  auto raw = from_hex(info_hash_hex).value_or(std::string());
  return "info_hash=" + http::percent_encode(raw.substr(0, 20)) +
         "&peer_id=" + http::percent_encode(peer_id) + "&port=" + std::to_string(port) +
         "&uploaded=0&downloaded=0&left=" + std::to_string(left) + extra;
}

}  // namespace blobswarm::tracker::test_support
