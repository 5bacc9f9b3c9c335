// URL pieces: percent-decoding and -encoding, and raw query-string access
// without allocating (the tracker parses every announce with these).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace blobswarm::http {

// Decodes %XX escapes and, when `plus_is_space`, '+' as ' ' (form
// encoding, as query strings use). A malformed escape gives nullopt.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = true);
// Same, into a caller-provided buffer of at least in.size() bytes; returns
// the decoded length. For hot paths that must not allocate.
std::optional<std::size_t> percent_decode_into(std::string_view in, char* out,
                                               bool plus_is_space = true) noexcept;
// Escapes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view in);
// Escapes each segment of a '/'-separated path (the slashes stay).
std::string percent_encode_path(std::string_view path);

// Walks "a=1&b=2&b=3" without decoding or allocating.
class query_string {
 public:
  explicit query_string(std::string_view raw) noexcept : raw_(raw) {}

  // The raw (still encoded) value of the first `key`; nullopt if absent.
  std::optional<std::string_view> get(std::string_view key) const noexcept;
  // The decoded value of the first `key`; nullopt if absent or malformed.
  std::optional<std::string> get_decoded(std::string_view key) const;

  // Calls f(key, raw_value) for every pair, in order. A pair without '='
  // has an empty value.
  template <class F>
  void for_each(F&& f) const {
    std::string_view rest = raw_;
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        f(pair, std::string_view{});
      } else {
        f(pair.substr(0, eq), pair.substr(eq + 1));
      }
    }
  }

 private:
  std::string_view raw_;
};

}  // namespace blobswarm::http
