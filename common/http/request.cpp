#include "common/http/request.hpp"

namespace blobswarm::http {

std::string_view to_string(verb v) noexcept {
  switch (v) {
    case verb::get:
      return "GET";
    case verb::head:
      return "HEAD";
    case verb::post:
      return "POST";
    case verb::put:
      return "PUT";
    case verb::patch:
      return "PATCH";
    case verb::delete_:
      return "DELETE";
    case verb::options:
      return "OPTIONS";
    case verb::other:
      return "OTHER";
  }
  return "OTHER";
}

verb verb_from_string(std::string_view s) noexcept {
  if (s == "GET") return verb::get;
  if (s == "HEAD") return verb::head;
  if (s == "POST") return verb::post;
  if (s == "PUT") return verb::put;
  if (s == "PATCH") return verb::patch;
  if (s == "DELETE") return verb::delete_;
  if (s == "OPTIONS") return verb::options;
  return verb::other;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

request request::make(verb method, std::string target,
                      std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  request r;
  r.owned_ = std::make_unique<owned>(owned{std::string(to_string(method)), std::move(target),
                                           std::move(body), std::move(headers)});
  auto remote = ip_endpoint{*ip_address::parse("127.0.0.1"), 40000};
  r.reset(method, r.owned_->method, r.owned_->target, r.owned_->body, remote, true);
  for (const auto& [k, v] : r.owned_->headers) r.add_header(k, v);
  return r;
}

void request::reset(verb method, std::string_view method_string, std::string_view target,
                    std::string_view body, ip_endpoint remote, bool keep_alive) {
  method_ = method;
  method_string_ = method_string;
  target_ = target;
  body_ = body;
  remote_ = remote;
  keep_alive_ = keep_alive;
  headers_.clear();
  params_.clear();
}

std::string_view request::path() const noexcept {
  return target_.substr(0, target_.find('?'));
}

std::string_view request::query() const noexcept {
  auto q = target_.find('?');
  return q == std::string_view::npos ? std::string_view{} : target_.substr(q + 1);
}

std::optional<std::string_view> request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string_view> request::header_values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : headers_) {
    if (iequals(k, name)) out.push_back(v);
  }
  return out;
}

std::string_view request::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params_) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace blobswarm::http
