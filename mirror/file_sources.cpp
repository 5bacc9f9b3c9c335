#include "mirror/file_sources.hpp"

#include <nlohmann/json.hpp>

#include "common/http/url.hpp"
#include "common/rendezvous.hpp"

namespace blobswarm::mirror {
namespace {

// The seeder may fetch a large file before it answers.
constexpr auto url_wait = std::chrono::minutes(60);

// An error that says what the other service said. Both answer
// {"error": {"code": "<errc name>", "message"}} (common/http/json.hpp), so
// the code carries over as it was; other bodies give a code by status.
error refusal(const http::client_response& r, std::string_view who) {
  errc code = r.status == 401   ? errc::unauthorized
              : r.status == 403 ? errc::forbidden
              : r.status == 404 ? errc::not_found
              : r.status >= 500 ? errc::unavailable
                                : errc::upstream;
  std::string message;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", "");
    auto name = j["error"].value("code", "");
    for (auto c = static_cast<int>(errc::invalid_argument); c <= static_cast<int>(errc::internal);
         ++c) {
      if (to_string(static_cast<errc>(c)) == name) code = static_cast<errc>(c);
    }
  }
  return error{code, message.empty() ? fmt::format("{} answered HTTP {}", who, r.status)
                                     : fmt::format("{}: {}", who, message)};
}

}  // namespace

file_sources::file_sources(blocking_pool& pool, std::string tracker_url, std::string passkey,
                           std::vector<std::string> seeder_urls, std::string seeder_token)
    : pool_(pool),
      tracker_(std::move(tracker_url)),
      passkey_(std::move(passkey)),
      seeder_token_(std::move(seeder_token)),
      http_(http::client_options{.connect_timeout = std::chrono::seconds(5),
                                 .stall_timeout = url_wait}) {
  while (tracker_.ends_with('/')) tracker_.pop_back();
  for (const auto& u : seeder_urls) seeders_.push_back(rendezvous_member(u));
}

awaitable<result<std::string>> file_sources::torrent(const info_hash& ih) {
  http::client_request req{.url = fmt::format("{}/api/v1/torrents/{}/file", tracker_, ih.hex())};
  req.headers.emplace_back("Authorization", "Bearer " + passkey_);
  req.headers.emplace_back("Accept", "application/x-bittorrent");
  req.timeout = std::chrono::seconds(15);
  auto send = [this, req] {
    return http_.send(req);
  };
  auto r = co_await pool_.run(std::move(send));
  if (!r) co_return fail(r.error().with_context("tracker"));
  if (r->status != 200) co_return fail(refusal(*r, "tracker"));
  co_return std::move(r->body);
}

awaitable<result<url_file>> file_sources::resolve_url(std::string url,
                                                      std::optional<digest> expected) {
  auto order = rendezvous_ranked(seeders_, url);
  error last{errc::unavailable, "no seeder is configured"};
  for (const auto& seeder : order) {
    auto r = co_await ask_seeder(seeder, url, expected);
    if (r) co_return r;
    // Only a seeder that could not answer is passed over: its refusals
    // (403, 404, 502 from the origin, 504 still fetching) are the answer,
    // and another seeder would fetch the URL a second time.
    if (r.error().code != errc::unavailable && r.error().code != errc::no_space) {
      co_return fail(r.error());
    }
    last = r.error();
  }
  co_return fail(last);
}

awaitable<result<url_file>> file_sources::ask_seeder(const std::string& seeder, std::string url,
                                                     std::optional<digest> expected) {
  auto target = fmt::format("{}/api/v1/files?url={}", seeder, http::percent_encode(url));
  if (expected) target += "&digest=" + http::percent_encode(expected->str());
  http::client_request req{.url = std::move(target)};
  if (!seeder_token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + seeder_token_);
  req.timeout = url_wait;
  auto send = [this, req] {
    return http_.send(req);
  };
  auto r = co_await pool_.run(std::move(send));
  if (!r) co_return fail(r.error().with_context("seeder"));
  if (r->status != 200) co_return fail(refusal(*r, "seeder"));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object()) co_return fail(errc::upstream, "the seeder's answer for {} is not JSON", url);
  auto d = digest::parse(j.value("digest", ""));
  auto size = j.find("size");
  std::optional<info_hash> ih;
  if (auto raw = j.find("info_hash_v1"); raw != j.end() && raw->is_string()) {
    auto parsed = info_hash::from_hex(raw->get<std::string>());
    if (parsed) ih = *parsed;
  }
  bool empty = size != j.end() && size->is_number_unsigned() && size->get<std::uint64_t>() == 0;
  if (!d || (!ih && !empty) || size == j.end() || !size->is_number_unsigned()) {
    co_return fail(errc::upstream, "the seeder's answer for {} lacks digest, size or info-hash",
                   url);
  }
  if (expected && *d != *expected) {
    co_return fail(errc::digest_mismatch, "the seeder has {} for {}, not {}", d->str(), url,
                   expected->str());
  }
  co_return url_file{std::move(url), *d, size->get<std::uint64_t>(), ih, j.value("name", "")};
}

}  // namespace blobswarm::mirror
