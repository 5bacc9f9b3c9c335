// blobswarm-mirror: the node daemon; a registry mirror backed by the swarm.
#include "common/config.hpp"
#include "mirror/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{"blobswarm-mirror",
                        "Registry mirror for dockerd, containerd and podman, backed by BitTorrent",
                        ""};
  return config::run<mirror::settings>(info, argc, argv, [](mirror::settings&) {
    logging::get("mirror")->error("the mirror service is not implemented yet");
    return 1;
  });
}
