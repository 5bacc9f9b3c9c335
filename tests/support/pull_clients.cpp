#include "tests/support/pull_clients.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace blobswarm::test {

containerd_daemon::containerd_daemon() {
  socket_ = (dir_ / "containerd.sock").string();
  write_text(dir_ / "config.toml", fmt::format(R"(version = 2
root = "{0}/root"
state = "{0}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{1}"
[ttrpc]
  address = "{1}.ttrpc"
[debug]
  address = "{1}.debug"
  level = "info"
[metrics]
  address = ""
)",
                                               dir_.path().string(), socket_));
  daemon_ = std::make_unique<process>(
      std::vector<std::string>{"containerd", "--config", (dir_ / "config.toml").string()},
      process::options{.name = "containerd"});
  bool up = wait_for([&] { return std::filesystem::exists(socket_) || !daemon_->running(); },
                     std::chrono::seconds(20));
  if (!up || !daemon_->running())
    ADD_FAILURE() << "containerd did not start:\n" << daemon_->output();
}

containerd_daemon::~containerd_daemon() = default;

command_result containerd_daemon::pull(const std::string& registry_host,
                                       const std::string& mirror_url, const std::string& ref,
                                       const std::string& user) {
  auto hosts = dir_ / "hosts" / registry_host;
  std::filesystem::create_directories(hosts);
  write_text(hosts / "hosts.toml", fmt::format(R"(server = "http://{}"

[host."{}"]
  capabilities = ["pull", "resolve"]
)",
                                               registry_host, mirror_url));
  std::vector<std::string> argv{"ctr",  "-a",           socket_,       "images",
                                "pull", "--plain-http", "--hosts-dir", (dir_ / "hosts").string()};
  if (!user.empty()) {
    argv.push_back("--user");
    argv.push_back(user);
  }
  argv.push_back(ref);
  return run_command(argv, std::chrono::seconds(120));
}

std::string containerd_daemon::image_digest(const std::string& ref) {
  auto r = run_command({"ctr", "-a", socket_, "images", "ls", "name==" + ref});
  auto pos = r.output.find("sha256:");
  return pos == std::string::npos ? std::string() : r.output.substr(pos, 71);
}

command_result containerd_daemon::convert_to_estargz(const std::string& src,
                                                     const std::string& dst) {
  for (auto argv : std::vector<std::vector<std::string>>{
           {"ctr-remote", "-a", socket_, "images", "pull", "--plain-http", src},
           {"ctr-remote", "-a", socket_, "images", "convert", "--estargz", "--oci", src, dst},
           {"ctr-remote", "-a", socket_, "images", "push", "--plain-http", dst}}) {
    auto r = run_command(argv, std::chrono::seconds(120));
    if (r.status != 0) return r;
  }
  return command_result{0, ""};
}

command_result podman_pull(const std::filesystem::path& work, const std::string& registry_host,
                           const std::string& mirror_host_port, const std::string& ref) {
  std::filesystem::create_directories(work);
  write_text(work / "registries.conf", fmt::format(R"(unqualified-search-registries = []

[[registry]]
prefix = "{0}"
location = "{0}"
insecure = true

[[registry.mirror]]
location = "{1}"
insecure = true
)",
                                                   registry_host, mirror_host_port));
  write_text(work / "storage.conf", fmt::format(R"([storage]
driver = "vfs"
graphroot = "{0}/graph"
runroot = "{0}/run"
)",
                                                work.string()));
  return run_command(
      {"podman", "--root", (work / "graph").string(), "--runroot", (work / "run").string(),
       "--storage-driver", "vfs", "pull", ref},
      std::chrono::seconds(120),
      {"CONTAINERS_REGISTRIES_CONF=" + (work / "registries.conf").string(),
       "CONTAINERS_STORAGE_CONF=" + (work / "storage.conf").string(), "HOME=" + work.string()});
}

command_result skopeo_copy_to_dir(const std::string& src, const std::filesystem::path& dir,
                                  bool all, const std::string& creds) {
  std::vector<std::string> argv{"skopeo", "copy", "--src-tls-verify=false"};
  if (all) argv.push_back("--all");
  if (!creds.empty()) {
    argv.push_back("--src-creds");
    argv.push_back(creds);
  }
  argv.push_back("docker://" + src);
  argv.push_back("oci:" + dir.string() + ":image");
  return run_command(argv, std::chrono::seconds(120));
}

}  // namespace blobswarm::test
