#include "common/registry/error_response.hpp"

#include "common/http/json.hpp"
#include "common/registry/media_types.hpp"

namespace blobswarm::registry {

http::response error_response(const error& e, subject about, const nlohmann::json& detail) {
  return error_response(http::status_for(e.code), code_for(e.code, about), e.message, detail);
}

http::response error_response(int status, std::string_view code, std::string_view message,
                              const nlohmann::json& detail) {
  return http::response::bytes(status, format_error(code, message, detail), media_type::json);
}

}  // namespace blobswarm::registry
