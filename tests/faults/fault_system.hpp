// The fault tests' world: a real Distribution registry, the real tracker,
// seeder and mirrors as processes (tests/support/service_fixtures), a
// fault-injecting proxy in front of the registry (fault_proxy.py), and the
// checks every fault scenario ends with: what a client received hashes to
// the digest (or was cut short), and each mirror's cache holds only
// verified blobs and no partial entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/http/client.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {

inline constexpr std::uint64_t MiB = 1 << 20;

// Starts the helper tests/faults/<script> (python3) with `args`; returns it
// with the loopback port it prints after "<name> listening on 127.0.0.1:".
std::pair<std::unique_ptr<process>, std::uint16_t> start_helper(const std::string& script,
                                                                std::vector<std::string> args,
                                                                const std::string& name);

// tests/faults/fault_proxy.py in front of `upstream` on a loopback port.
class fault_proxy {
 public:
  explicit fault_proxy(const std::string& upstream_url);
  std::string url() const { return "http://" + host(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // Replaces the rules (see fault_proxy.py); an empty array passes everything.
  void set_rules(const nlohmann::json& rules);
  // "GET /v2/... 200 drop" lines, one per request relayed or answered.
  std::vector<std::string> requests() const;
  // Requests whose line contains every one of `parts`.
  std::size_t count(std::initializer_list<std::string_view> parts) const;
  std::string output() const { return proc_->output(); }

 private:
  std::unique_ptr<process> proc_;
  std::uint16_t port_ = 0;
};

// Registry, tracker (optional), seeder and mirrors. Mirrors listen on
// 127.0.0.2, .3, ... so that BitTorrent sees them as different hosts.
class fault_system {
 public:
  // `tracker_extra` is merged into the tracker's JSON config.
  // `registry` configures the registry (auth, users, grants).
  explicit fault_system(bool with_tracker = true,
                        nlohmann::json tracker_extra = nlohmann::json::object(),
                        registry_options registry = {});
  ~fault_system();

  registry_fixture reg;
  temp_dir dir;
  std::string admin_token;
  std::string passkey;       // the mirrors' tracker user
  std::string seeder_token;  // the seeder's api token; mirrors send it
  std::unique_ptr<service_process> tracker;
  std::unique_ptr<service_process> seeder;
  std::vector<std::unique_ptr<service_process>> mirrors;

  std::string tracker_url() const { return tracker_url_; }
  // Creates a tracker user; returns its passkey.
  std::string create_user(const std::string& name);
  // The seeder, fetching from `upstream` (default: the registry). `extra`
  // is merged into its JSON config.
  service_process& start_seeder(nlohmann::json extra = nlohmann::json::object(),
                                std::string upstream = {});
  // One more mirror; `extra` merged into its config. Without a seeder it
  // points at a port where nothing listens.
  service_process& add_mirror(nlohmann::json extra = nlohmann::json::object(),
                              std::string upstream = {});
  // Asks the seeder for a blob's torrent, as a mirror's first miss would:
  // it ingests the blob and registers the torrent with the tracker.
  // Fails the test (ASSERT) unless it answers 200.
  void ingest(const std::string& name, const pushed_blob& b);

 private:
  std::string tracker_url_;
  std::string upstream_for(const std::string& upstream) const;
};

// One blob request as a runtime makes it, hashed as it streams.
struct blob_pull {
  int status = 0;
  std::uint64_t bytes = 0;
  std::string digest;  // "sha256:<hex>" of what arrived
  std::string error;   // transport error (a connection cut short), if any
  std::string body;    // the first 4 KiB (error bodies)
  // The whole blob arrived and hashes to `expected`.
  bool intact(const blobswarm::digest& expected, std::uint64_t size) const;
};
blob_pull pull_blob(const std::string& url, std::atomic<std::uint64_t>* progress = nullptr,
                    http::header_list headers = {}, std::uint64_t max_speed = 0);

std::string blob_url(const service_process& mirror, const std::string& name,
                     const blobswarm::digest& d);
std::string sha256_of(std::string_view bytes);  // "sha256:<hex>"
// The first error code of a registry-style error body ("<none>" if none).
std::string registry_error_code(const std::string& body);

// A sample from a Prometheus text page: `series` is the name with its
// labels exactly as rendered (`blobswarm_mirror_downloads_total{outcome="ok"}`);
// 0 when absent.
double metric(const std::string& page, std::string_view series);
double metric_of(const service_process& s, std::string_view series);

// The mirror's cache index (index.db) and blob files.
struct cache_entry {
  std::string digest;
  std::string state;
  std::uint64_t size = 0;
};
std::vector<cache_entry> cache_index(const std::filesystem::path& data);
std::vector<std::string> cache_files(const std::filesystem::path& data);  // names under blobs/
// Consistency of an idle mirror's cache: no entry in state 'downloading',
// every file has a 'complete' entry and every 'complete' entry a file of
// its size whose sha256 is its digest. Returns what is wrong ("" if none)
// once it holds or after 5 s: a client has its last byte a moment before
// the mirror marks the blob complete.
std::string cache_problems(const std::filesystem::path& data);

// Bytes of a blob a mirror has on disk so far (allocated blocks of its
// blob file and segment files): the mirror's own progress, which runs
// ahead of what its clients have been sent.
std::uint64_t stored_bytes(const std::filesystem::path& data, const blobswarm::digest& d);

// Anonymous resident memory of a process (RssAnon, KiB); 0 when unknown.
std::uint64_t rss_anon_kib(int pid);
std::uint64_t peak_rss_kib(int pid);  // VmHWM
// The pid of the service whose command line names its config file.
int pid_of(const service_process& s);

}  // namespace blobswarm::test
