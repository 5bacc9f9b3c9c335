#include "common/registry/www_authenticate.hpp"

namespace blobswarm::registry {
namespace {

// RFC 9110 tchar.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// token68 also allows '/' (base64) and trailing '='.
bool is_token68_char(char c) noexcept {
  return is_tchar(c) || c == '/';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

class scanner {
 public:
  explicit scanner(std::string_view in) : in_(in) {}

  bool done() const noexcept { return pos_ >= in_.size(); }
  char peek() const noexcept { return done() ? '\0' : in_[pos_]; }
  std::size_t pos() const noexcept { return pos_; }
  void seek(std::size_t p) noexcept { pos_ = p; }
  void skip_spaces() noexcept {
    while (!done() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
  }
  void skip_spaces_and_commas() noexcept {
    while (!done() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == ',')) ++pos_;
  }
  std::string_view token() noexcept {
    auto start = pos_;
    while (!done() && is_tchar(in_[pos_])) ++pos_;
    return in_.substr(start, pos_ - start);
  }
  std::string_view token68() noexcept {
    auto start = pos_;
    while (!done() && is_token68_char(in_[pos_])) ++pos_;
    while (!done() && in_[pos_] == '=') ++pos_;
    return in_.substr(start, pos_ - start);
  }
  // After the opening quote; handles backslash escapes.
  result<std::string> quoted() {
    std::string out;
    ++pos_;  // the opening quote
    while (!done()) {
      char c = in_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) break;
        c = in_[pos_++];
      }
      out.push_back(c);
    }
    return fail(errc::invalid_argument, "WWW-Authenticate: unterminated quoted string");
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::string_view> challenge::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

result<std::vector<challenge>> parse_www_authenticate(std::string_view header) {
  std::vector<challenge> out;
  scanner s(header);
  s.skip_spaces_and_commas();
  while (!s.done()) {
    auto scheme = s.token();
    if (scheme.empty()) {
      return fail(errc::invalid_argument, "WWW-Authenticate: expected an auth scheme at offset {}",
                  s.pos());
    }
    challenge c;
    c.scheme = lower(scheme);
    s.skip_spaces();
    // Parameters until the next scheme: a token NOT followed by '='.
    while (!s.done()) {
      s.skip_spaces_and_commas();
      if (s.done()) break;
      auto mark = s.pos();
      auto name = s.token();
      if (name.empty()) {
        // token68 credentials-like blob ("abc/def=="): keep it unnamed.
        auto t = s.token68();
        if (t.empty()) {
          return fail(errc::invalid_argument, "WWW-Authenticate: unexpected '{}' at offset {}",
                      s.peek(), s.pos());
        }
        c.params.emplace_back("", std::string(t));
        continue;
      }
      s.skip_spaces();
      if (s.peek() != '=') {
        // A new challenge starts here.
        s.seek(mark);
        break;
      }
      auto after_eq = s.pos() + 1;
      s.seek(after_eq);
      if (s.peek() == '=' || s.peek() == ',' || s.done()) {
        // "token68=" (base64 padding): not a parameter.
        s.seek(mark);
        c.params.emplace_back("", std::string(s.token68()));
        continue;
      }
      s.skip_spaces();
      std::string value;
      if (s.peek() == '"') {
        auto q = s.quoted();
        if (!q) return fail(q.error());
        value = std::move(*q);
      } else {
        auto t = s.token();
        if (t.empty()) {
          return fail(errc::invalid_argument,
                      "WWW-Authenticate: parameter '{}' has no value at offset {}", name, s.pos());
        }
        value = std::string(t);
      }
      c.params.emplace_back(lower(name), std::move(value));
      s.skip_spaces();
      if (!s.done() && s.peek() != ',') {
        return fail(errc::invalid_argument, "WWW-Authenticate: expected ',' at offset {}", s.pos());
      }
    }
    out.push_back(std::move(c));
    s.skip_spaces_and_commas();
  }
  if (out.empty()) return fail(errc::invalid_argument, "WWW-Authenticate header is empty");
  return out;
}

std::string format_challenge(const challenge& c) {
  std::string out = c.scheme == "bearer" ? "Bearer" : c.scheme == "basic" ? "Basic" : c.scheme;
  bool first = true;
  for (const auto& [k, v] : c.params) {
    out += first ? " " : ",";
    first = false;
    if (k.empty()) {
      out += v;
      continue;
    }
    out += k;
    out += "=\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
    out += '"';
  }
  return out;
}

}  // namespace blobswarm::registry
