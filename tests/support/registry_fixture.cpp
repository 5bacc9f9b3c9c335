#include "tests/support/registry_fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/client.hpp"
#include "common/http/url.hpp"
#include "tests/support/http_fixture.hpp"

namespace blobswarm::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error("registry_fixture: " + what);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url(std::string_view bytes) {
  auto s = base64(bytes);
  for (auto& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

command_result must_run(const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  auto r = run_command(argv, timeout);
  if (r.status != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    die("command failed (" + std::to_string(r.status) + "): " + cmd + "\n" + r.output);
  }
  return r;
}

std::string program(const std::string& name) {
  auto p = find_program(name);
  if (!p) die(name + " is not installed (scripts/install-deps)");
  return p->string();
}

blobswarm::digest sha256_digest(std::string_view bytes) {
  return *blobswarm::digest::from_raw(hash_algorithm::sha256, blobswarm::sha256(bytes));
}

std::string platform_string(const image_spec& s) {
  auto p = s.os + "/" + s.architecture;
  if (!s.variant.empty()) p += "/" + s.variant;
  return p;
}

}  // namespace

std::vector<pushed_blob> pushed_image::blobs() const {
  std::vector<pushed_blob> out{config};
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

// The token server of `auth: token`: checks Basic credentials against the
// users and signs RS256 JWTs carrying the requested access.
struct registry_fixture::token_server {
  EVP_PKEY* key = nullptr;
  std::string cert_der;
  std::unique_ptr<http_fixture> http;
  std::mutex mutex;

  ~token_server() {
    http.reset();
    if (key) EVP_PKEY_free(key);
  }

  std::string sign(std::string_view input) {
    std::lock_guard lock(mutex);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
      sig.resize(len);
      if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
        sig.clear();
      }
      sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    if (sig.empty()) die("cannot sign a token");
    return sig;
  }
};

registry_fixture::registry_fixture(registry_options options) : options_(std::move(options)) {
  storage_ = dir_ / "storage";
  fs::create_directories(storage_);
  port_ = free_port();
  if (options_.auth == registry_options::auth_mode::htpasswd) {
    std::string file;
    for (const auto& u : options_.users) {
      auto r = must_run({program("htpasswd"), "-Bbn", u.name, u.password});
      auto line = r.output;
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      file += line + "\n";
    }
    write_text(dir_ / "htpasswd", file);
  }
  if (options_.auth == registry_options::auth_mode::token) {
    must_run({program("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
              (dir_ / "token-key.pem").string(), "-out", (dir_ / "token-cert.pem").string(),
              "-days", "2", "-subj", "/CN=blobswarm-test-token-issuer"});
    tokens_ = std::make_unique<token_server>();
    {
      FILE* f = std::fopen((dir_ / "token-key.pem").c_str(), "r");
      if (!f) die("cannot open the token key");
      tokens_->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
      std::fclose(f);
      f = std::fopen((dir_ / "token-cert.pem").c_str(), "r");
      if (!f) die("cannot open the token certificate");
      X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
      std::fclose(f);
      if (!tokens_->key || !cert) die("cannot read the token key pair");
      unsigned char* der = nullptr;
      int n = i2d_X509(cert, &der);
      tokens_->cert_der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
      OPENSSL_free(der);
      X509_free(cert);
    }
    http::router routes;
    routes.get(
        "/token", http::sync_handler([this](http::request& req) {
          std::vector<std::string> scopes;
          std::string account;
          http::query_string(req.query()).for_each([&](std::string_view k, std::string_view v) {
            auto value = http::percent_decode(v).value_or("");
            if (k == "scope") scopes.push_back(value);
            if (k == "account") account = value;
          });
          std::string subject;
          bool authenticated = false;
          if (auto auth = req.header("authorization")) {
            bool ok = false;
            for (const auto& u : options_.users) {
              if (*auth == "Basic " + base64(u.name + ":" + u.password)) {
                ok = true;
                subject = u.name;
              }
            }
            if (!ok) {
              return http::response::bytes(401, R"({"details":"invalid username or password"})",
                                           "application/json");
            }
            authenticated = true;
          }
          auto token = mint_token(subject, scopes, authenticated);
          ++tokens_issued_;
          json body = {{"token", token},
                       {"access_token", token},
                       {"expires_in", options_.token_ttl.count()},
                       {"issued_at", "2024-01-01T00:00:00Z"}};
          return http::response::bytes(200, body.dump(), "application/json");
        }));
    tokens_->http = std::make_unique<http_fixture>(std::move(routes));
  }
  write_config();
  start();
}

registry_fixture::~registry_fixture() {
  stop();
}

std::string registry_fixture::host() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string registry_fixture::url() const {
  return "http://" + host();
}

std::string registry_fixture::token_realm() const {
  return tokens_ ? tokens_->http->url("/token") : std::string();
}

fs::path registry_fixture::blob_data_path(const blobswarm::digest& d) const {
  auto hex = std::string(d.hex());
  return storage_ / "docker/registry/v2/blobs" / std::string(d.algorithm_name()) /
         hex.substr(0, 2) / hex / "data";
}

void registry_fixture::write_config() {
  std::string y;
  y += "version: 0.1\n";
  y += "log:\n  level: info\n  accesslog:\n    disabled: false\n";
  y += "storage:\n  filesystem:\n    rootdirectory: " + storage_.string() + "\n";
  y += "  delete:\n    enabled: true\n";
  y += "  maintenance:\n    uploadpurging:\n      enabled: false\n";
  y += "http:\n  addr: " + host() + "\n  secret: blobswarm-test-secret\n";
  if (options_.auth == registry_options::auth_mode::htpasswd) {
    y +=
        "auth:\n  htpasswd:\n    realm: blobswarm-test\n    path: " + (dir_ / "htpasswd").string() +
        "\n";
  } else if (options_.auth == registry_options::auth_mode::token) {
    y += "auth:\n  token:\n    realm: " + token_realm() +
         "\n    service: blobswarm-test-registry\n    issuer: blobswarm-test-issuer\n"
         "    rootcertbundle: " +
         (dir_ / "token-cert.pem").string() + "\n";
  }
  if (!options_.notify.empty()) {
    y += "notifications:\n  endpoints:\n";
    for (std::size_t i = 0; i < options_.notify.size(); ++i) {
      y += "    - name: endpoint" + std::to_string(i) + "\n      url: " + options_.notify[i] + "\n";
      if (!options_.notify_authorization.empty()) {
        y += "      headers:\n        Authorization: [\"" + options_.notify_authorization + "\"]\n";
      }
      y += "      timeout: 2s\n      threshold: 10\n      backoff: 500ms\n";
    }
  }
  write_text(dir_ / "config.yml", y);
}

void registry_fixture::start() {
  if (process_) return;
  process_ = std::make_unique<process>(
      std::vector<std::string>{program("docker-registry"), "serve", (dir_ / "config.yml").string()},
      process::options{.name = "docker-registry"});
  http::client c;
  bool up = wait_for(
      [&] {
        auto r = c.send({.url = url() + "/v2/", .timeout = std::chrono::seconds(2)});
        return r && (r->status == 200 || r->status == 401);
      },
      std::chrono::seconds(20));
  if (!up) die("docker-registry did not come up:\n" + process_->output());
}

void registry_fixture::stop() {
  if (!process_) return;
  process_->stop(15, std::chrono::seconds(10));
  process_.reset();
}

std::string registry_fixture::log() const {
  return process_ ? process_->output() : std::string();
}

std::size_t registry_fixture::count_requests(std::string_view method,
                                             std::string_view path_prefix) const {
  auto text = log();
  auto needle = "\"" + std::string(method) + " " + std::string(path_prefix);
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string registry_fixture::mint_token(const std::string& subject,
                                         const std::vector<std::string>& scopes,
                                         bool authenticated) {
  json access = json::array();
  for (const auto& scope : scopes) {
    // "repository:<name>:<actions>"; names contain no ':'.
    auto first = scope.find(':');
    auto last = scope.rfind(':');
    if (first == std::string::npos || last == first) continue;
    auto type = scope.substr(0, first);
    auto name = scope.substr(first + 1, last - first - 1);
    std::string actions_text = scope.substr(last + 1);
    json actions = json::array();
    std::size_t start = 0;
    while (start <= actions_text.size()) {
      auto comma = actions_text.find(',', start);
      auto a = actions_text.substr(start, comma == std::string::npos ? comma : comma - start);
      bool allowed = granted(subject, authenticated, name, a);
      if (!a.empty() && allowed) actions.push_back(a);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (!actions.empty()) access.push_back({{"type", type}, {"name", name}, {"actions", actions}});
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  unsigned char jti[12];
  RAND_bytes(jti, sizeof jti);
  json header = {
      {"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array({base64(tokens_->cert_der)})}};
  json claims = {{"iss", "blobswarm-test-issuer"},
                 {"sub", subject},
                 {"aud", "blobswarm-test-registry"},
                 {"exp", now + options_.token_ttl.count()},
                 {"nbf", now - 60},
                 {"iat", now},
                 {"jti", to_hex(std::string_view(reinterpret_cast<char*>(jti), sizeof jti))},
                 {"access", access}};
  auto signing_input = base64url(header.dump()) + "." + base64url(claims.dump());
  return signing_input + "." + base64url(tokens_->sign(signing_input));
}

bool registry_fixture::granted(const std::string& subject, bool authenticated,
                               const std::string& repository, const std::string& action) const {
  if (options_.grants.empty()) {
    return authenticated || (options_.anonymous_pull && action == "pull");
  }
  for (const auto& g : options_.grants) {
    if (g.user != (authenticated ? subject : std::string())) continue;
    bool names = g.repositories == "*" || g.repositories == repository ||
                 (g.repositories.ends_with("/*") &&
                  repository.starts_with(g.repositories.substr(0, g.repositories.size() - 1)));
    if (names && (g.actions == action || g.actions.find(action) != std::string::npos)) return true;
  }
  return false;
}

std::string registry_fixture::token_for(const std::optional<registry_user>& user,
                                        const std::string& scope) {
  http::header_list headers;
  if (user)
    headers.push_back({"Authorization", "Basic " + base64(user->name + ":" + user->password)});
  http::client c;
  auto r = c.send({.url = token_realm() +
                          "?service=blobswarm-test-registry&scope=" + http::percent_encode(scope),
                   .headers = headers});
  if (!r || r->status != 200) die("the token server refused " + scope);
  return "Bearer " + json::parse(r->body).value("token", "");
}

std::string registry_fixture::authorization(const std::string& name, const std::string& actions) {
  switch (options_.auth) {
    case registry_options::auth_mode::none:
      return {};
    case registry_options::auth_mode::htpasswd:
      return "Basic " + base64(options_.users.at(0).name + ":" + options_.users.at(0).password);
    case registry_options::auth_mode::token:
      return "Bearer " +
             mint_token(options_.users.at(0).name, {"repository:" + name + ":" + actions}, true);
  }
  return {};
}

std::string registry_fixture::skopeo_creds() const {
  if (options_.auth == registry_options::auth_mode::none) return {};
  return options_.users.at(0).name + ":" + options_.users.at(0).password;
}

fs::path registry_fixture::build_image(const fs::path& layout, const std::string& tag,
                                       const image_spec& spec) {
  auto umoci = program("umoci");
  auto image = layout.string() + ":" + tag;
  must_run({umoci, "new", "--image", image});
  for (std::size_t i = 0; i < spec.layer_sizes.size(); ++i) {
    auto bundle = dir_ / ("bundle-" + std::to_string(builds_++));
    must_run({umoci, "unpack", "--rootless", "--image", image, bundle.string()});
    if (spec.files_per_layer <= 1) {
      write_text(bundle / "rootfs" / ("layer-" + std::to_string(i) + ".bin"),
                 random_bytes(spec.layer_sizes[i], spec.seed * 1000 + i));
    }
    for (int j = 0; spec.files_per_layer > 1 && j < spec.files_per_layer; ++j) {
      write_text(bundle / "rootfs" / fmt::format("layer-{}-{}.bin", i, j),
                 random_bytes(spec.layer_sizes[i] / static_cast<std::size_t>(spec.files_per_layer),
                              spec.seed * 1000 + i * 100 + static_cast<std::uint64_t>(j)));
    }
    must_run({umoci, "repack", "--image", image, bundle.string()});
    fs::remove_all(bundle);
  }
  must_run(
      {umoci, "config", "--image", image, "--os", spec.os, "--architecture", spec.architecture});
  return layout;
}

pushed_image registry_fixture::describe_image(const std::string& name, const std::string& reference,
                                              const std::string& accept) {
  http::client c;
  http::client_request req{.url = url() + "/v2/" + name + "/manifests/" + reference,
                           .headers = {{"Accept", accept}}};
  if (auto a = authorization(name, "pull"); !a.empty())
    req.headers.emplace_back("Authorization", a);
  auto r = c.send(req);
  if (!r || r->status != 200) {
    die("cannot read back manifest " + name + ":" + reference + ": " +
        (r ? std::to_string(r->status) + " " + r->body : r.error().message));
  }
  auto j = json::parse(r->body);
  pushed_image img{.name = name,
                   .tag = reference,
                   .manifest_digest = sha256_digest(r->body),
                   .manifest_media_type = std::string(r->header("content-type").value_or("")),
                   .manifest = r->body,
                   .config = {*blobswarm::digest::parse(j["config"]["digest"].get<std::string>()),
                              j["config"]["size"].get<std::uint64_t>(),
                              j["config"]["mediaType"].get<std::string>()}};
  for (const auto& l : j["layers"]) {
    img.layers.push_back({*blobswarm::digest::parse(l["digest"].get<std::string>()),
                          l["size"].get<std::uint64_t>(), l["mediaType"].get<std::string>()});
  }
  return img;
}

pushed_image registry_fixture::push_image(const std::string& name, const std::string& tag,
                                          const image_spec& spec, bool docker_format) {
  auto layout = dir_ / ("layout-" + std::to_string(builds_++));
  must_run({program("umoci"), "init", "--layout", layout.string()});
  build_image(layout, "img", spec);
  std::vector<std::string> argv = {program("skopeo"), "--insecure-policy", "copy",
                                   "--dest-tls-verify=false"};
  if (docker_format) {
    argv.push_back("--format");
    argv.push_back("v2s2");
  }
  if (auto creds = skopeo_creds(); !creds.empty()) argv.push_back("--dest-creds=" + creds);
  argv.push_back("oci:" + layout.string() + ":img");
  argv.push_back("docker://" + host() + "/" + name + ":" + tag);
  must_run(argv);
  fs::remove_all(layout);
  auto img = describe_image(name, tag,
                            docker_format ? "application/vnd.docker.distribution.manifest.v2+json"
                                          : "application/vnd.oci.image.manifest.v1+json");
  img.tag = tag;
  img.platform = platform_string(spec);
  return img;
}

pushed_index registry_fixture::push_index(const std::string& name, const std::string& tag,
                                          const std::vector<image_spec>& platforms,
                                          bool docker_format) {
  auto layout = dir_ / ("layout-" + std::to_string(builds_++));
  must_run({program("umoci"), "init", "--layout", layout.string()});
  json manifests = json::array();
  for (std::size_t i = 0; i < platforms.size(); ++i) {
    auto t = "p" + std::to_string(i);
    build_image(layout, t, platforms[i]);
    auto index = json::parse(read_text(layout / "index.json"));
    for (const auto& m : index["manifests"]) {
      if (m["annotations"]["org.opencontainers.image.ref.name"] != t) continue;
      json platform = {{"os", platforms[i].os}, {"architecture", platforms[i].architecture}};
      if (!platforms[i].variant.empty()) platform["variant"] = platforms[i].variant;
      manifests.push_back({{"mediaType", m["mediaType"]},
                           {"digest", m["digest"]},
                           {"size", m["size"]},
                           {"platform", platform}});
    }
  }
  json index_doc = {{"schemaVersion", 2},
                    {"mediaType", "application/vnd.oci.image.index.v1+json"},
                    {"manifests", manifests}};
  auto bytes = index_doc.dump();
  auto d = sha256_digest(bytes);
  write_text(layout / "blobs/sha256" / std::string(d.hex()), bytes);
  auto top = json::parse(read_text(layout / "index.json"));
  top["manifests"].push_back({{"mediaType", "application/vnd.oci.image.index.v1+json"},
                              {"digest", d.str()},
                              {"size", bytes.size()},
                              {"annotations", {{"org.opencontainers.image.ref.name", "multi"}}}});
  write_text(layout / "index.json", top.dump());

  std::vector<std::string> argv = {program("skopeo"), "--insecure-policy", "copy", "--all",
                                   "--dest-tls-verify=false"};
  if (docker_format) {
    argv.push_back("--format");
    argv.push_back("v2s2");
  }
  if (auto creds = skopeo_creds(); !creds.empty()) argv.push_back("--dest-creds=" + creds);
  argv.push_back("oci:" + layout.string() + ":multi");
  argv.push_back("docker://" + host() + "/" + name + ":" + tag);
  must_run(argv);
  fs::remove_all(layout);

  http::client c;
  http::client_request req{
      .url = url() + "/v2/" + name + "/manifests/" + tag,
      .headers = {{"Accept", "application/vnd.oci.image.index.v1+json"},
                  {"Accept", "application/vnd.docker.distribution.manifest.list.v2+json"}}};
  if (auto a = authorization(name, "pull"); !a.empty())
    req.headers.emplace_back("Authorization", a);
  auto r = c.send(req);
  if (!r || r->status != 200) die("cannot read back index " + name + ":" + tag);
  pushed_index out{.name = name,
                   .tag = tag,
                   .digest = sha256_digest(r->body),
                   .media_type = std::string(r->header("content-type").value_or("")),
                   .manifest = r->body};
  auto j = json::parse(r->body);
  std::size_t i = 0;
  for (const auto& m : j["manifests"]) {
    auto img =
        describe_image(name, m["digest"].get<std::string>(), m["mediaType"].get<std::string>());
    img.tag.clear();
    img.platform = platform_string(platforms.at(i++));
    out.images.push_back(std::move(img));
  }
  return out;
}

namespace {

// Chunked upload: POST, PATCH per chunk, PUT with the digest.
template <class NextChunk>
pushed_blob upload(registry_fixture& f, const std::string& name, std::uint64_t size,
                   const blobswarm::digest& d, NextChunk&& next) {
  http::client c(http::client_options{.timeout = std::chrono::minutes(10)});
  auto auth = f.authorization(name);
  auto with_auth = [&](http::client_request req) {
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    return req;
  };
  auto absolute = [&](std::string_view location) {
    return location.starts_with("http") ? std::string(location) : f.url() + std::string(location);
  };
  auto r =
      c.send(with_auth({.method = "POST", .url = f.url() + "/v2/" + name + "/blobs/uploads/"}));
  if (!r || r->status != 202) die("cannot start a blob upload to " + name);
  auto location = absolute(r->header("location").value_or(""));
  std::uint64_t offset = 0;
  while (offset < size) {
    std::string chunk = next();
    auto patch =
        with_auth({.method = "PATCH",
                   .url = location,
                   .headers = {{"Content-Type", "application/octet-stream"},
                               {"Content-Range", std::to_string(offset) + "-" +
                                                     std::to_string(offset + chunk.size() - 1)}},
                   .body = chunk});
    r = c.send(patch);
    if (!r || r->status != 202) {
      die("blob upload chunk failed: " +
          (r ? std::to_string(r->status) + r->body : r.error().message));
    }
    location = absolute(r->header("location").value_or(""));
    offset += chunk.size();
  }
  auto sep = location.find('?') == std::string::npos ? "?" : "&";
  r = c.send(with_auth({.method = "PUT",
                        .url = location + sep + "digest=" + http::percent_encode(d.str()),
                        .headers = {{"Content-Type", "application/octet-stream"}}}));
  if (!r || r->status != 201) {
    die("blob upload did not complete: " +
        (r ? std::to_string(r->status) + r->body : r.error().message));
  }
  return pushed_blob{d, size, "application/octet-stream"};
}

}  // namespace

pushed_blob registry_fixture::push_blob(const std::string& name, std::string_view bytes) {
  auto d = sha256_digest(bytes);
  constexpr std::size_t chunk = 64 << 20;
  std::size_t offset = 0;
  return upload(*this, name, bytes.size(), d, [&] {
    auto part = bytes.substr(offset, chunk);
    offset += part.size();
    return std::string(part);
  });
}

pushed_blob registry_fixture::push_blob_file(const std::string& name, const fs::path& file) {
  hasher h(hash_algorithm::sha256);
  std::ifstream in(file, std::ios::binary);
  std::string buf(1 << 20, '\0');
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
  }
  auto d = *blobswarm::digest::from_raw(hash_algorithm::sha256, h.finish());
  auto size = fs::file_size(file);
  std::ifstream again(file, std::ios::binary);
  return upload(*this, name, size, d, [&] {
    std::string chunk(64 << 20, '\0');
    again.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<std::size_t>(again.gcount()));
    return chunk;
  });
}

}  // namespace blobswarm::test
