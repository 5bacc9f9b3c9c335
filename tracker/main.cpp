// blobswarm-tracker: private BitTorrent tracker, admin API and blob index.
// Loads settings, makes one io_context per thread and runs the service.
#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "common/config.hpp"
#include "common/service.hpp"
#include "tracker/service.hpp"
#include "tracker/settings.hpp"

int main(int argc, char** argv) {
  using namespace blobswarm;
  config::app_info info{
      "blobswarm-tracker", "Private BitTorrent tracker, admin API and blob index for blobswarm",
      "Announce URL: <public-url>/announce/<passkey>. REST API under /api/v1 (docs/tracker.md)."};
  return config::run<tracker::settings>(info, argc, argv, [](tracker::settings& s) {
    auto log = logging::get("tracker");
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::io_context*> pointers;
    for (unsigned n = 0; n < s.effective_threads(); ++n) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      pointers.push_back(contexts.back().get());
    }
    auto svc = tracker::service::create(s);
    if (!svc) {
      log->critical("cannot start: {}", svc.error().message);
      return 1;
    }
    if (auto ep = (*svc)->start(pointers); !ep) {
      log->critical("cannot start: {}", ep.error().message);
      return 1;
    }
    return run_until_signal(
        pointers, [&]() -> asio::awaitable<void> { co_await (*svc)->stop(); }, *log);
  });
}
