#include "common/http/json.hpp"

namespace blobswarm::http {

response json_response(int status, const nlohmann::json& body) {
  return response::bytes(status, body.dump() + "\n", "application/json");
}

int status_for(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return 400;
    case errc::not_found:
      return 404;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::conflict:
      return 409;
    case errc::too_large:
      return 413;
    case errc::unsupported:
      return 405;
    case errc::timeout:
      return 504;
    case errc::unavailable:
      return 503;
    case errc::upstream:
      return 502;
    case errc::digest_mismatch:
      return 502;
    case errc::corrupt:
      return 500;
    case errc::no_space:
      return 507;
    case errc::io:
      return 500;
    case errc::internal:
      return 500;
  }
  return 500;
}

response json_error(const error& e) {
  nlohmann::json body = {{"error", {{"code", std::string(e.category())}, {"message", e.message}}}};
  return json_response(status_for(e.code), body);
}

result<nlohmann::json> parse_json_object(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(errc::invalid_argument, "request body is not valid JSON");
  if (!j.is_object()) return fail(errc::invalid_argument, "request body must be a JSON object");
  return j;
}

}  // namespace blobswarm::http
