// JSON helpers for HTTP handlers.
#pragma once

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/http/response.hpp"

namespace blobswarm::http {

response json_response(int status, const nlohmann::json& body);

// {"error": {"code": "<errc>", "message": "..."}} with the status that fits
// the error's code (not_found -> 404, unauthorized -> 401, ...).
response json_error(const error& e);
int status_for(errc code) noexcept;

// Parses a request body that must be a JSON object.
result<nlohmann::json> parse_json_object(std::string_view body);

}  // namespace blobswarm::http
