#include "seeder/file_api.hpp"

#include <nlohmann/json.hpp>

#include "common/hasher.hpp"
#include "common/http/json.hpp"
#include "common/http/url.hpp"

namespace blobswarm::seeder {

file_api::file_api(url_ingest& urls, std::string api_token, duration wait_timeout,
                   std::shared_ptr<spdlog::logger> log)
    : urls_(urls),
      api_token_(std::move(api_token)),
      wait_timeout_(wait_timeout),
      log_(std::move(log)) {}

void file_api::add_routes(http::router& r) {
  r.get("/api/v1/files", http::async_handler([this](http::request& req) { return get(req); }));
}

awaitable<http::response> file_api::get(http::request& req) {
  if (!api_token_.empty() &&
      !secrets_equal(req.header("authorization").value_or(""), "Bearer " + api_token_)) {
    auto r = http::json_error(
        error{errc::unauthorized, "file requests need the configured bearer token"});
    r.set("WWW-Authenticate", "Bearer realm=\"blobswarm-seeder\"");
    co_return r;
  }
  http::query_string q(req.query());
  auto url = q.get_decoded("url");
  if (!url || url->empty()) {
    co_return http::json_error(
        error{errc::invalid_argument, "url=<percent-encoded http(s) URL> is required"});
  }
  std::optional<digest> expected;
  if (auto raw = q.get_decoded("digest")) {
    auto d = digest::parse(*raw);
    if (!d) co_return http::json_error(d.error().with_context("digest"));
    if (d->algorithm() != hash_algorithm::sha256) {
      co_return http::json_error(
          error{errc::invalid_argument, "digest must be a sha256 digest (sha256:<64 hex>)"});
    }
    expected = *d;
  }
  auto a = co_await urls_.get(std::move(*url), expected, wait_timeout_);
  if (!a) co_return http::json_error(a.error());
  const auto& r = a->record;
  nlohmann::json body = {
      {"url", r.url},
      {"digest", r.digest.str()},
      {"size", r.size},
      {"name", a->name},
      {"info_hash_v1", a->torrent ? nlohmann::json(a->torrent->hex()) : nlohmann::json(nullptr)},
      {"etag", r.etag},
      {"last_modified", r.last_modified},
      {"fetched_at", r.fetched_ms / 1000},
      {"checked_at", r.checked_ms / 1000}};
  co_return http::json_response(200, body);
}

}  // namespace blobswarm::seeder
