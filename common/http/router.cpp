#include "common/http/router.hpp"

#include <stdexcept>

namespace blobswarm::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

router& router::add(verb method, std::string_view pattern, handler h) {
  if (!pattern.starts_with('/')) throw std::logic_error("route pattern must start with /");
  route r{method, {}, std::move(h)};
  for (auto part : split_path(pattern)) {
    segment s;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      s.capture = true;
      auto name = part.substr(1, part.size() - 2);
      if (name.ends_with('*')) {
        s.rest = true;
        name.remove_suffix(1);
      }
      s.text = std::string(name);
    } else {
      s.text = std::string(part);
    }
    if (!r.pattern.empty() && r.pattern.back().rest) {
      throw std::logic_error("a {name*} capture must be the last segment");
    }
    r.pattern.push_back(std::move(s));
  }
  routes_.push_back(std::move(r));
  return *this;
}

router& router::any(std::string_view pattern, handler h) {
  add(verb::get, pattern, std::move(h));
  routes_.back().method.reset();
  return *this;
}

router& router::not_found(handler h) {
  not_found_ = std::move(h);
  return *this;
}

router& router::method_not_allowed(handler h) {
  method_not_allowed_ = std::move(h);
  return *this;
}

bool router::match(const std::vector<segment>& pattern, std::string_view path,
                   std::vector<header_view>& captures) {
  captures.clear();
  if (path.starts_with('/')) path.remove_prefix(1);
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const auto& seg = pattern[i];
    if (seg.rest) {
      if (path.empty()) return false;
      captures.emplace_back(seg.text, path);
      return true;
    }
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (seg.capture) {
      if (part.empty()) return false;
      captures.emplace_back(seg.text, part);
    } else if (part != seg.text) {
      return false;
    }
    bool last = i + 1 == pattern.size();
    if (slash == std::string_view::npos) {
      return last;
    }
    if (last) return false;
    path.remove_prefix(slash + 1);
  }
  return false;
}

router::match_result router::find(request& req) const {
  thread_local std::vector<header_view> captures;
  auto path = req.path();
  std::vector<verb> allowed;
  const route* head_fallback = nullptr;
  std::vector<header_view> head_captures;
  for (const auto& r : routes_) {
    if (!match(r.pattern, path, captures)) continue;
    if (!r.method || *r.method == req.method()) {
      req.set_params(captures);
      return {&r.h, {}};
    }
    if (req.method() == verb::head && *r.method == verb::get && !head_fallback) {
      head_fallback = &r;
      head_captures = captures;
    }
    allowed.push_back(*r.method);
  }
  if (head_fallback) {
    req.set_params(head_captures);
    return {&head_fallback->h, {}};
  }
  if (allowed.empty()) {
    req.set_params({});
    return {&not_found_, {}};
  }
  match_result m{&method_not_allowed_, {}};
  bool has_get = false, has_head = false;
  for (auto v : allowed) {
    has_get |= v == verb::get;
    has_head |= v == verb::head;
  }
  if (has_get && !has_head) allowed.push_back(verb::head);
  for (auto v : allowed) {
    if (m.allow.find(to_string(v)) != std::string::npos) continue;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += to_string(v);
  }
  return m;
}

}  // namespace blobswarm::http
