#include "tracker/log_target.hpp"

#include "common/logging.hpp"

namespace blobswarm::tracker {

std::string loggable_target(std::string_view target) {
  constexpr std::size_t max = 300;
  std::string out;
  auto path = target.substr(0, target.find('?'));
  auto query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
  bool secret_path = false;
  for (std::string_view prefix : {"/announce/", "/scrape/"}) {
    if (path.starts_with(prefix)) {
      auto rest = path.substr(prefix.size());
      auto slash = rest.find('/');
      out.append(prefix);
      out += logging::redact(rest.substr(0, slash));
      if (slash != std::string_view::npos) out.append(rest.substr(slash));
      secret_path = true;
      break;
    }
  }
  if (!secret_path) out.append(path.substr(0, max));
  if (!query.empty()) {
    out += '?';
    bool first = true;
    while (!query.empty() && out.size() < max) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (!first) out += '&';
      first = false;
      auto eq = pair.find('=');
      auto name = pair.substr(0, eq);
      if (eq != std::string_view::npos && (name == "key" || name == "passkey")) {
        out.append(name);
        out += '=';
        out += logging::redact(pair.substr(eq + 1));
      } else {
        out.append(pair);
      }
    }
  }
  if (out.size() > max) {
    out.resize(max);
    out += "...";
  }
  return out;
}

}  // namespace blobswarm::tracker
