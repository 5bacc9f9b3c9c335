// error_response: registry-style error answers for blobswarm's own HTTP
// APIs (the seeder's, the mirror's /v2/): the distribution spec's
// {"errors":[{"code","message","detail"}]} body with the HTTP status that
// fits the error (404 unknown, 400 invalid, 401/403, 502 upstream or digest
// mismatch, 503 unavailable, 504 timeout, 507 no space).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/error.hpp"
#include "common/http/response.hpp"
#include "common/registry/registry_error.hpp"

namespace blobswarm::registry {

http::response error_response(const error& e, subject about,
                              const nlohmann::json& detail = nullptr);
http::response error_response(int status, std::string_view code, std::string_view message,
                              const nlohmann::json& detail = nullptr);

}  // namespace blobswarm::registry
