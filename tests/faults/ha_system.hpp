// The high-availability fault tests' world (issue 20): the replicated
// control plane as real processes — PostgreSQL and redis-server
// (tests/support/engines), tracker replicas on them behind one address
// (tcp_balancer.py, the announce URL every torrent carries, as a Kubernetes
// Service), seeder replicas sharing ingest leases in Redis, and mirrors
// configured with every seeder — in front of a real registry behind
// fault_proxy.py, which counts the bytes the registry sends (its egress,
// which every scenario bounds) and can slow it down.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/faults/fault_system.hpp"
#include "tests/support/engines.hpp"

namespace blobswarm::test {

// tests/faults/tcp_balancer.py in front of loopback `backends` (host:port).
class tcp_balancer {
 public:
  explicit tcp_balancer(const std::vector<std::string>& backends);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string output() const { return proc_->output(); }

 private:
  std::unique_ptr<process> proc_;
  std::uint16_t port_ = 0;
};

struct ha_options {
  std::size_t trackers = 3;
  std::size_t seeders = 2;
  // How many of each start with the system (the others: start_tracker(i),
  // start_seeder(i) later; their addresses are known from the start).
  std::size_t trackers_started = 3;
  std::size_t seeders_started = 2;
  nlohmann::json seeder_extra = nlohmann::json::object();  // merged into every seeder's config
};

class ha_system {
 public:
  explicit ha_system(ha_options options = {});
  ~ha_system();

  registry_fixture reg;
  std::unique_ptr<fault_proxy> registry_proxy;  // the registry as everything reaches it
  temp_dir dir;
  redis_server redis;
  std::string db_url;
  std::string admin_token;
  std::string passkey;  // the mirrors' tracker user
  std::string seeder_token;
  std::vector<std::unique_ptr<service_process>> trackers;
  std::unique_ptr<tcp_balancer> balancer;
  std::vector<std::unique_ptr<service_process>> seeders;
  std::vector<std::unique_ptr<service_process>> mirrors;

  // The one tracker address (the balancer), and every seeder's URL.
  std::string tracker_url() const { return balancer->url(); }
  const std::vector<std::string>& seeder_urls() const noexcept { return seeder_urls_; }
  void start_tracker(std::size_t i);
  void start_seeder(std::size_t i);
  // A mirror on 127.0.0.(2 + n) with every seeder; `extra` merged into its config.
  service_process& add_mirror(nlohmann::json extra = nlohmann::json::object());
  // Indices of `seeders` in the blob's rendezvous order: [0] owns it.
  std::vector<std::size_t> owners(const blobswarm::digest& d) const;
  // Every blob transfer out of the registry at this rate.
  void throttle_registry(std::uint64_t bytes_per_second);
  // Response body bytes the registry has sent so far (through the proxy).
  std::uint64_t registry_egress() const;
  // Every service's output, for failure messages.
  std::string logs() const;

 private:
  ha_options options_;
  std::vector<std::string> tracker_listen_;
  std::vector<std::string> seeder_urls_;
  std::vector<nlohmann::json> seeder_configs_;
};

// Pulls every blob through every mirror at once; true when each arrived
// whole with the right digest (else `problems` says which did not).
struct pulled {
  std::vector<blob_pull> results;
  std::string problems;
};
pulled pull_everywhere(const std::vector<service_process*>& mirrors, const std::string& name,
                       const std::vector<pushed_blob>& blobs);

}  // namespace blobswarm::test
