// Logging: spdlog loggers named per component ("tracker", "http", ...),
// all writing to stderr, as text or as JSON lines.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::logging {

struct settings {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text or json

  template <class V>
  void visit(V& v) {
    v("log_level", level, "log level: trace, debug, info, warn, error, critical, off");
    v("log_format", format, "log line format: text or json (one JSON object per line)");
  }
  result<void> validate() const;
};

// Applies level and format to every logger made so far and from now on.
result<void> init(const settings& s);

// The logger for a component; made on first use, shared afterwards.
std::shared_ptr<spdlog::logger> get(std::string_view component);

// "abcdef0123..." -> "abcd…" : secrets such as passkeys never appear in full.
std::string redact(std::string_view secret);

// `text` with the passkey of every announce or scrape URL path in it
// redacted ("http://t/announce/abcdef..." -> "http://t/announce/abcd…"):
// for messages that quote tracker URLs, like libtorrent's tracker alerts.
std::string redact_passkeys(std::string_view text);

// A URL with the password of its user-info hidden, for logs and errors:
// "postgresql://bs:secret@db:5432/x" -> "postgresql://bs:…@db:5432/x",
// "redis://:secret@r:6379" -> "redis://:…@r:6379". Other text is unchanged.
std::string redact_url(std::string_view url);

}  // namespace blobswarm::logging
