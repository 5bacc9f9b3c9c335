#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace blobswarm::logging {
namespace {

// %Q: the message, escaped for use inside a JSON string.
class json_escaped_message : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    escape(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }

  static void escape(std::string_view s, spdlog::memory_buf_t& dest) {
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (c < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", c);
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
    }
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (json) {
    f->add_flag<json_escaped_message>('Q').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%Q"})");
  } else {
    f->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  return f;
}

struct state {
  state() { sink->set_formatter(make_formatter(false)); }

  std::mutex mutex;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

state& global() {
  // The one process-wide piece of logging state: the shared sink and its
  // format. Loggers themselves are passed to the objects that use them.
  static state s;
  return s;
}

}  // namespace

result<void> settings::validate() const {
  auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off") {
    return fail(errc::invalid_argument,
                "log_level '{}' is not one of trace, debug, info, warn, error, critical, off",
                level);
  }
  if (format != "text" && format != "json") {
    return fail(errc::invalid_argument, "log_format '{}' must be text or json", format);
  }
  return {};
}

result<void> init(const settings& s) {
  if (auto v = s.validate(); !v) return v;
  auto& g = global();
  std::lock_guard lock(g.mutex);
  g.level = spdlog::level::from_str(s.level);
  g.json = s.format == "json";
  g.sink->set_formatter(make_formatter(g.json));
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g.level); });
  return {};
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  auto& g = global();
  std::lock_guard lock(g.mutex);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, g.sink);
  logger->set_level(g.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

std::string redact(std::string_view secret) {
  if (secret.size() <= 4) return "…";
  return std::string(secret.substr(0, 4)) + "…";
}

std::string redact_passkeys(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    auto a = text.find("/announce/");
    auto s = text.find("/scrape/");
    auto at = std::min(a, s);
    if (at == std::string_view::npos) break;
    auto prefix = at == a ? std::string_view("/announce/") : std::string_view("/scrape/");
    out.append(text.substr(0, at + prefix.size()));
    text.remove_prefix(at + prefix.size());
    auto end = text.find_first_of("/?#&\"' \t\r\n)]>,;");
    if (end == std::string_view::npos) end = text.size();
    if (end > 0) out += redact(text.substr(0, end));
    text.remove_prefix(end);
  }
  out.append(text);
  return out;
}

std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto rest = url.substr(scheme + 3);
  auto at = rest.find('@');
  auto slash = rest.find('/');
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  auto colon = rest.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, scheme + 3)) + std::string(rest.substr(0, colon)) + ":…" +
         std::string(rest.substr(at));
}

}  // namespace blobswarm::logging
