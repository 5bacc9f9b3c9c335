// origin_allowlist: which origins the seeder may pull files from for
// /api/v1/files, and the credentials it sends each (seeder config
// "file_origins"; docs/seeder.md, "Files from URLs"). Without an entry for
// its origin a URL is refused: a seeder that fetched any URL a caller names
// would be an open proxy into whatever networks it can reach.
//
// Credentials go to their own origin only. Redirects are followed (Hugging
// Face's resolve/ URLs redirect to a CDN on another host), but a request to
// another origin carries that origin's own credentials, if it is listed with
// any, and never the first one's; an https URL never redirects to http.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "seeder/file_url.hpp"

namespace blobswarm::seeder {

// One allowed origin, as in the config file:
//   "file_origins": {"https://huggingface.co": {"bearer_token_file": "/run/secrets/hf"}}
struct origin_settings {
  std::vector<std::string> paths;  // path prefixes allowed ("/org/"); empty: every path
  std::string bearer_token_file;   // sends "Authorization: Bearer <token>"
  std::string username;            // with password_file: Basic auth
  std::string password_file;
  std::string header;             // a header of your own, e.g. "PRIVATE-TOKEN"...
  std::string header_value_file;  // ...whose value is this file's content
  bool insecure = false;          // skip TLS certificate verification
  std::string ca_file;            // extra CA bundle (PEM) for this origin

  template <class V>
  void visit(V& v) {
    v("paths", paths, "path prefixes that may be fetched (default: any path of the origin)");
    v("bearer_token_file", bearer_token_file, "file with a token sent as a Bearer token");
    v("username", username, "user name for Basic auth (with password_file)");
    v("password_file", password_file, "file with the Basic auth password");
    v("header", header, "name of a header carrying a secret (with header_value_file)");
    v("header_value_file", header_value_file, "file with that header's value");
    v("insecure", insecure, "skip TLS certificate verification for this origin");
    v("ca_file", ca_file, "extra CA certificates (PEM) to trust for this origin");
  }
};

class origin_allowlist {
 public:
  // Keys are origins ("https://host[:port]"); secrets are read from their
  // files now. errc::invalid_argument names a bad entry.
  static result<origin_allowlist> make(const std::map<std::string, origin_settings>& entries);

  // errc::forbidden, saying why, unless `u` may be fetched.
  result<void> admit(const file_url& u) const;
  // The headers that authenticate a request to `u`: its origin's
  // credentials, or none for an origin that is not listed.
  http::header_list credentials_for(const file_url& u) const;
  // The TLS options for requests to `u`'s origin (a listed origin's own).
  bool insecure_for(const file_url& u) const;
  const std::string& ca_file_for(const file_url& u) const;

  bool empty() const noexcept { return entries_.empty(); }
  std::vector<std::string> origins() const;

 private:
  struct entry {
    std::vector<std::string> paths;
    http::header_list headers;
    bool insecure = false;
    std::string ca_file;
  };
  const entry* find(const file_url& u) const;
  std::map<std::string, entry> entries_;
};

}  // namespace blobswarm::seeder
