// Real container clients pulling through a mirror: containerd (its own
// daemon in a temporary directory, driven with ctr and hosts.toml, which
// adds ?ns=<registry-host>), podman (registries.conf mirror) and skopeo.
#pragma once

#include <memory>
#include <string>

#include "tests/support/support.hpp"

namespace blobswarm::test {

class containerd_daemon {
 public:
  containerd_daemon();
  ~containerd_daemon();
  // Configures `registry_host` (e.g. "127.0.0.1:5000", served over plain
  // HTTP) to go through the mirror at `mirror_url`, then pulls `ref`.
  command_result pull(const std::string& registry_host, const std::string& mirror_url,
                      const std::string& ref, const std::string& user = {});
  // The image's target digest, as containerd recorded it ("" if absent).
  std::string image_digest(const std::string& ref);
  // Pulls `src` (a plain-HTTP registry's image), converts it to eStargz
  // with ctr-remote (Debian's stargz-snapshotter) and pushes it as `dst`.
  command_result convert_to_estargz(const std::string& src, const std::string& dst);
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

 private:
  temp_dir dir_;
  std::unique_ptr<process> daemon_;
  std::string socket_;
};

// podman pull of `ref` (registry_host/name:tag) with the mirror configured
// for that registry; storage in a temporary directory.
command_result podman_pull(const std::filesystem::path& work, const std::string& registry_host,
                           const std::string& mirror_host_port, const std::string& ref);

// skopeo copy docker://SRC to an OCI layout directory (all platforms when `all`).
command_result skopeo_copy_to_dir(const std::string& src, const std::filesystem::path& dir,
                                  bool all = false, const std::string& creds = {});

}  // namespace blobswarm::test
