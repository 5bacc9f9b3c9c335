// service: runs io_contexts, one thread each, until SIGINT or SIGTERM; then
// runs the component's graceful shutdown and returns. A second signal
// stops at once.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <span>

#include "common/http/asio.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm {

// The first context also watches the signals. Returns the process exit code.
int run_until_signal(std::span<asio::io_context* const> contexts,
                     std::function<awaitable<void>()> shutdown, spdlog::logger& log);

}  // namespace blobswarm
