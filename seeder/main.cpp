// blobswarm-seeder: registry blobs in, deterministic torrents out.
#include "common/config.hpp"
#include "seeder/service.hpp"
#include "seeder/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{
      "blobswarm-seeder",
      "Fetches registry blobs once, makes deterministic torrents, registers and seeds them",
      "API: GET /api/v1/blobs/<name>/<digest>[/torrent|/descriptor|/segments/<n>/torrent]"
      "[?ns=<registry host>], GET /api/v1/files?url=<URL>[&digest=sha256:..] (origins in "
      "file_origins only), POST /api/v1/blobs/<name>/<digest>/replicate (replicas), "
      "POST /api/v1/preheat, POST /api/v1/notifications, /metrics, /healthz. Replicas: "
      "--seeders (every seeder's URL) and --lease-store redis://... See docs/seeder.md."};
  return config::run<seeder::settings>(info, argc, argv, [](seeder::settings& s) {
    auto svc = seeder::service::make(s);
    if (!svc) {
      logging::get("seeder")->error("{}", svc.error().message);
      return 1;
    }
    return (*svc)->run();
  });
}
