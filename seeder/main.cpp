// blobswarm-seeder: registry blobs in, deterministic torrents out.
#include "common/config.hpp"
#include "seeder/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{"blobswarm-seeder",
                        "Fetches registry blobs, makes deterministic torrents and seeds them", ""};
  return config::run<seeder::settings>(info, argc, argv, [](seeder::settings&) {
    logging::get("seeder")->error("the seeder service is not implemented yet");
    return 1;
  });
}
