#include "seeder/origin_allowlist.hpp"

#include <openssl/evp.h>

#include "common/file.hpp"

namespace blobswarm::seeder {
namespace {

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool valid_header_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

result<origin_allowlist> origin_allowlist::make(
    const std::map<std::string, origin_settings>& entries) {
  origin_allowlist list;
  for (const auto& [key, s] : entries) {
    auto where = fmt::format("file_origins \"{}\"", key);
    auto u = file_url::parse(key);
    if (!u || u->path != "/" || !u->query.empty() || u->origin() != key) {
      return fail(errc::invalid_argument,
                  "{}: a key must be an origin, scheme://host[:port] with no path or trailing "
                  "slash, in lowercase and without the scheme's default port (e.g. "
                  "https://huggingface.co)",
                  where);
    }
    entry e;
    e.insecure = s.insecure;
    e.ca_file = s.ca_file;
    for (const auto& p : s.paths) {
      if (!p.starts_with('/')) {
        return fail(errc::invalid_argument, "{}: path prefix '{}' must start with '/'", where, p);
      }
      e.paths.push_back(p);
    }
    int schemes = 0;
    if (!s.bearer_token_file.empty()) {
      auto token = read_secret(s.bearer_token_file, where + " bearer_token_file");
      if (!token) return fail(token.error());
      e.headers.emplace_back("Authorization", "Bearer " + *token);
      ++schemes;
    }
    if (!s.username.empty() || !s.password_file.empty()) {
      if (s.username.empty() || s.password_file.empty()) {
        return fail(errc::invalid_argument, "{}: username and password_file go together", where);
      }
      auto password = read_secret(s.password_file, where + " password_file");
      if (!password) return fail(password.error());
      e.headers.emplace_back("Authorization", "Basic " + base64(s.username + ":" + *password));
      ++schemes;
    }
    if (schemes > 1) {
      return fail(errc::invalid_argument,
                  "{}: choose bearer_token_file or username/password_file, not both", where);
    }
    if (!s.header.empty() || !s.header_value_file.empty()) {
      if (!valid_header_name(s.header) || s.header_value_file.empty()) {
        return fail(errc::invalid_argument,
                    "{}: header needs a name of letters, digits, '-' and '_', and "
                    "header_value_file",
                    where);
      }
      auto value = read_secret(s.header_value_file, where + " header_value_file");
      if (!value) return fail(value.error());
      e.headers.emplace_back(s.header, *value);
    }
    list.entries_.emplace(key, std::move(e));
  }
  return list;
}

const origin_allowlist::entry* origin_allowlist::find(const file_url& u) const {
  auto it = entries_.find(u.origin());
  return it == entries_.end() ? nullptr : &it->second;
}

result<void> origin_allowlist::admit(const file_url& u) const {
  const auto* e = find(u);
  if (!e) {
    return fail(errc::forbidden,
                "origin {} is not in this seeder's file_origins allow-list; ask its operator to "
                "add it",
                u.origin());
  }
  if (e->paths.empty()) return {};
  for (const auto& p : e->paths) {
    if (u.path.starts_with(p)) return {};
  }
  return fail(errc::forbidden, "{} is allowed on {} only under {}", u.origin(), u.origin(),
              fmt::join(e->paths, ", "));
}

http::header_list origin_allowlist::credentials_for(const file_url& u) const {
  const auto* e = find(u);
  return e ? e->headers : http::header_list{};
}

bool origin_allowlist::insecure_for(const file_url& u) const {
  const auto* e = find(u);
  return e && e->insecure;
}

const std::string& origin_allowlist::ca_file_for(const file_url& u) const {
  static const std::string none;
  const auto* e = find(u);
  return e ? e->ca_file : none;
}

std::vector<std::string> origin_allowlist::origins() const {
  std::vector<std::string> out;
  for (const auto& [origin, e] : entries_) out.push_back(origin);
  return out;
}

}  // namespace blobswarm::seeder
