// blobswarm-tracker: private BitTorrent tracker and index of record.
#include "common/config.hpp"
#include "tracker/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{"blobswarm-tracker",
                        "Private BitTorrent tracker, admin API and blob index for blobswarm", ""};
  return config::run<tracker::settings>(info, argc, argv, [](tracker::settings&) {
    logging::get("tracker")->error("the tracker service is not implemented yet");
    return 1;
  });
}
