#include "common/registry/registry_error.hpp"

namespace blobswarm::registry {

result<std::vector<error_entry>> parse_errors(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(errc::invalid_argument, "registry error body is not a JSON object");
  }
  auto list = j.find("errors");
  if (list == j.end() || !list->is_array()) {
    return fail(errc::invalid_argument, "registry error body has no \"errors\" list");
  }
  std::vector<error_entry> out;
  for (const auto& e : *list) {
    if (!e.is_object())
      return fail(errc::invalid_argument, "registry error entry is not an object");
    error_entry entry;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) entry.code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) {
      entry.message = m->get<std::string>();
    }
    if (auto d = e.find("detail"); d != e.end()) entry.detail = *d;
    if (entry.code.empty() && entry.message.empty()) {
      return fail(errc::invalid_argument, "registry error entry has neither code nor message");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string format_errors(const std::vector<error_entry>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) {
    nlohmann::json item = {{"code", e.code}, {"message", e.message}};
    if (!e.detail.is_null()) item["detail"] = e.detail;
    list.push_back(std::move(item));
  }
  // Invalid UTF-8 in a message (it may quote input) must not throw.
  return nlohmann::json{{"errors", std::move(list)}}.dump(
             -1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::string format_error(std::string_view code, std::string_view message,
                         const nlohmann::json& detail) {
  return format_errors({error_entry{std::string(code), std::string(message), detail}});
}

std::string_view code_for(errc e, subject about) noexcept {
  switch (e) {
    case errc::not_found:
      switch (about) {
        case subject::blob:
          return code::blob_unknown;
        case subject::manifest:
          return code::manifest_unknown;
        case subject::repository:
        case subject::other:
          return code::name_unknown;
      }
      return code::name_unknown;
    case errc::invalid_argument:
      switch (about) {
        case subject::blob:
          return code::digest_invalid;
        case subject::manifest:
          return code::manifest_invalid;
        case subject::repository:
          return code::name_invalid;
        case subject::other:
          return code::unsupported;
      }
      return code::unsupported;
    case errc::digest_mismatch:
      return code::digest_invalid;
    case errc::unauthorized:
      return code::unauthorized;
    case errc::forbidden:
      return code::denied;
    case errc::unsupported:
      return code::unsupported;
    case errc::too_large:
      return code::size_invalid;
    case errc::timeout:
      return code::timeout;
    case errc::unavailable:
      return code::unavailable;
    case errc::upstream:
      return code::upstream_error;
    case errc::no_space:
      return code::no_space;
    case errc::conflict:
    case errc::corrupt:
    case errc::io:
    case errc::internal:
      return code::internal;
  }
  return code::internal;
}

errc errc_for(int status, std::string_view registry_code) noexcept {
  if (registry_code == code::blob_unknown || registry_code == code::manifest_unknown ||
      registry_code == code::name_unknown || registry_code == code::manifest_blob_unknown) {
    return errc::not_found;
  }
  if (registry_code == code::unauthorized) return errc::unauthorized;
  if (registry_code == code::denied) return errc::forbidden;
  if (registry_code == code::too_many_requests) return errc::unavailable;
  if (registry_code == code::digest_invalid || registry_code == code::name_invalid ||
      registry_code == code::tag_invalid || registry_code == code::manifest_invalid) {
    return errc::invalid_argument;
  }
  switch (status) {
    case 400:
      return errc::invalid_argument;
    case 401:
      return errc::unauthorized;
    case 403:
      return errc::forbidden;
    case 404:
      return errc::not_found;
    case 405:
      return errc::unsupported;
    case 408:
    case 504:
      return errc::timeout;
    case 413:
      return errc::too_large;
    case 429:
    case 503:
      return errc::unavailable;
    default:
      break;
  }
  return errc::upstream;
}

error upstream_failure(int status, std::string_view body, std::string_view what) {
  std::string first_code;
  std::string detail;
  if (auto parsed = parse_errors(body); parsed && !parsed->empty()) {
    first_code = parsed->front().code;
    for (const auto& e : *parsed) {
      if (!detail.empty()) detail += "; ";
      detail += e.code.empty() ? e.message : e.message.empty() ? e.code : e.code + ": " + e.message;
    }
  } else if (!body.empty() && body.size() < 200 && body.find('\0') == std::string_view::npos) {
    detail = std::string(body);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  }
  auto code = errc_for(status, first_code);
  if (detail.empty()) return error{code, fmt::format("{}: upstream answered {}", what, status)};
  return error{code, fmt::format("{}: upstream answered {} ({})", what, status, detail)};
}

}  // namespace blobswarm::registry
