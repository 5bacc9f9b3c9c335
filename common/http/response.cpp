#include "common/http/response.hpp"

#include <boost/beast/http/status.hpp>

#include "common/http/request.hpp"

namespace blobswarm::http {

response response::text(int status, std::string body, std::string_view content_type) {
  return bytes(status, std::move(body), content_type);
}

response response::bytes(int status, std::string body, std::string_view content_type) {
  response r(status);
  r.body_ = std::move(body);
  r.set("Content-Type", std::string(content_type));
  return r;
}

response response::file(int status, unique_fd fd, std::uint64_t offset, std::uint64_t length,
                        std::string_view content_type) {
  response r(status);
  r.body_ = file_body{std::move(fd), offset, length};
  r.set("Content-Type", std::string(content_type));
  return r;
}

response response::stream(int status, std::optional<std::uint64_t> length, body_producer produce,
                          std::string_view content_type) {
  response r(status);
  r.body_ = stream_body{length, std::move(produce)};
  r.set("Content-Type", std::string(content_type));
  return r;
}

response& response::set(std::string_view name, std::string value) {
  for (auto it = headers_.begin(); it != headers_.end();) {
    if (iequals(it->first, name)) {
      it = headers_.erase(it);
    } else {
      ++it;
    }
  }
  headers_.emplace_back(std::string(name), std::move(value));
  return *this;
}

response& response::add(std::string_view name, std::string value) {
  headers_.emplace_back(std::string(name), std::move(value));
  return *this;
}

std::optional<std::string_view> response::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> response::content_length() const noexcept {
  if (declared_length_) return declared_length_;
  if (auto* s = std::get_if<std::string>(&body_)) return s->size();
  if (auto* f = std::get_if<file_body>(&body_)) return f->length;
  return std::get<stream_body>(body_).length;
}

response& response::declare_length(std::uint64_t n) {
  declared_length_ = n;
  return *this;
}

std::string_view reason(int status) noexcept {
  auto r = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  return {r.data(), r.size()};
}

}  // namespace blobswarm::http
