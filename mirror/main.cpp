// blobswarm-mirror: the node daemon; a registry mirror backed by the swarm.
#include <boost/asio/io_context.hpp>

#include "common/config.hpp"
#include "common/service.hpp"
#include "mirror/service.hpp"
#include "mirror/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{
      "blobswarm-mirror",
      "Registry mirror for dockerd, containerd and podman: blob pulls become BitTorrent swarm "
      "downloads, streamed to the runtime and digest-verified",
      "Point runtimes at --listen: dockerd \"registry-mirrors\", containerd hosts.toml, podman\n"
      "registries.conf mirrors. Files through the swarm, with curl or wget:\n"
      "  GET /files/<info-hash>[/<path>]          any torrent the tracker has (Range; a\n"
      "                                           directory torrent without a path: its files)\n"
      "  GET /files?url=<URL>[&digest=sha256:..]  a file the seeder pulls from an allowed origin\n"
      "See docs/mirror.md (\"Files\") and docs/OPERATIONS.md.\n"};
  return config::run<mirror::settings>(info, argc, argv, [](mirror::settings& s) {
    auto log = logging::get("mirror");
    asio::io_context io;
    auto svc = mirror::service::make(io, s, log);
    if (!svc) {
      log->critical("cannot start: {}", svc.error().message);
      return 1;
    }
    auto where = (*svc)->listen();
    if (!where) {
      log->critical("cannot start: {}", where.error().message);
      return 1;
    }
    log->info("registry mirror listening on http://{}; BitTorrent on {}", where->str(),
              s.peer_listen);
    asio::io_context* contexts[] = {&io};
    return run_until_signal(
        contexts, [&]() -> awaitable<void> { co_await (*svc)->stop(); }, *log);
  });
}
