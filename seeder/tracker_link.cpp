#include "seeder/tracker_link.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/http/url.hpp"
#include "common/logging.hpp"

namespace blobswarm::seeder {

namespace {

bool valid_passkey(std::string_view p) {
  if (p.empty() || p.size() > 128) return false;
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string error_message(const http::client_response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    auto e = j["error"];
    return fmt::format("{} {}", e.value("code", ""), e.value("message", ""));
  }
  return r.body.substr(0, 200);
}

}  // namespace

tracker_link::tracker_link(asio::io_context& io, blocking_pool& pool, tracker_options options,
                           std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      options_(std::move(options)),
      log_(std::move(log)),
      http_(http::client_options{.connect_timeout = std::chrono::seconds(5),
                                 .timeout = std::chrono::seconds(30)}),
      alive_(std::make_shared<bool>(true)) {
  while (options_.url.ends_with('/')) options_.url.pop_back();
}

tracker_link::~tracker_link() {
  stop();
}

void tracker_link::stop() {
  stopping_ = true;
  queue_.clear();
  wake_.notify_all();
}

void tracker_link::start(std::function<void(std::string)> on_announce_url) {
  on_announce_url_ = std::move(on_announce_url);
  if (!enabled()) return;
  // A passkey kept from an earlier run: use it without asking the tracker
  // (asking would rotate it and break announces of other replicas' peers).
  if (auto kept = read_file(options_.passkey_file, 4096); kept) {
    auto p = *kept;
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
    if (valid_passkey(p)) {
      passkey_ = p;
      announce_url_ = options_.url + "/announce/" + passkey_;
      if (on_announce_url_) on_announce_url_(*announce_url_);
    }
  }
  if (!announce_url_) queue_.push_front(task{.what = task::kind::passkey});
  running_ = true;
  auto alive = alive_;
  asio::co_spawn(io_, work(), [alive, log = log_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("tracker worker failed: {}", ex.what());
    }
  });
}

void tracker_link::enqueue(task t) {
  if (!enabled() || stopping_) {
    if (t.done) t.done(false);
    return;
  }
  queue_.push_back(std::move(t));
  wake_.notify_all();
}

void tracker_link::register_torrent(const digest& d, std::optional<std::uint32_t> segment,
                                    std::string torrent, std::function<void(bool)> done,
                                    std::string repository, std::string source_url) {
  enqueue(task{.what = task::kind::add,
               .digest = d,
               .segment = segment,
               .torrent = std::move(torrent),
               .repository = std::move(repository),
               .source_url = std::move(source_url),
               .done = std::move(done)});
}

void tracker_link::retire(const info_hash& ih) {
  enqueue(task{.what = task::kind::retire, .hash = ih});
}

awaitable<void> tracker_link::work() {
  auto backoff = std::chrono::milliseconds(250);
  while (!stopping_) {
    if (queue_.empty()) {
      co_await wake_.wait(std::chrono::seconds(60));
      continue;
    }
    auto t = queue_.front();
    auto job = [this, t] {
      return run(t);
    };
    auto result = co_await pool_.run(std::move(job));
    if (stopping_) break;
    if (result == outcome::retry) {
      reachable_ = false;
      co_await wake_.wait(backoff);
      backoff = std::min<duration>(backoff * 2, options_.max_backoff);
      continue;
    }
    reachable_ = true;
    backoff = std::chrono::milliseconds(250);
    if (!queue_.empty()) queue_.pop_front();
    if (t.what == task::kind::passkey && result == outcome::done) {
      announce_url_ = options_.url + "/announce/" + passkey_;
      if (on_announce_url_) on_announce_url_(*announce_url_);
    }
    if (t.done) t.done(result == outcome::done);
  }
}

tracker_link::outcome tracker_link::obtain_passkey() {
  auto auth = http::header_list{{"Authorization", "Bearer " + options_.token},
                                {"Content-Type", "application/json"}};
  auto body = nlohmann::json{{"name", options_.user}}.dump();
  auto r = http_.send(
      {.method = "POST", .url = options_.url + "/api/v1/users", .headers = auth, .body = body});
  if (!r) {
    log_->warn("tracker {} unreachable: {}", options_.url, r.error().message);
    return outcome::retry;
  }
  if (r->status == 409) {
    r = http_.send(
        {.method = "POST",
         .url = options_.url + "/api/v1/users/" + http::percent_encode(options_.user) + "/passkey",
         .headers = auth});
    if (!r) return outcome::retry;
  }
  if (r->status >= 500) {
    log_->warn("tracker answered {} to the passkey request: {}", r->status, error_message(*r));
    return outcome::retry;
  }
  if (r->status != 200 && r->status != 201) {
    // A wrong admin token will not fix itself quickly, but it may be
    // corrected on the tracker side: keep trying, slowly, and say why.
    log_->error("tracker refused the seeder's passkey request ({}): {}", r->status,
                error_message(*r));
    return outcome::retry;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  std::string passkey = j.is_object() ? j.value("passkey", "") : "";
  if (!valid_passkey(passkey)) {
    log_->error("tracker sent no usable passkey: {}", r->body.substr(0, 200));
    return outcome::retry;
  }
  passkey_ = passkey;
  if (auto w = write_file_atomic(options_.passkey_file, passkey + "\n", 0600); !w) {
    log_->warn("cannot keep the passkey in {}: {}", options_.passkey_file.string(),
               w.error().message);
  }
  log_->info("tracker user '{}' has passkey {}", options_.user, logging::redact(passkey));
  return outcome::done;
}

tracker_link::outcome tracker_link::run(const task& t) {
  if (t.what == task::kind::passkey) return obtain_passkey();
  auto auth = http::header_list{{"Authorization", "Bearer " + options_.token}};
  if (t.what == task::kind::retire) {
    auto r = http_.send({.method = "DELETE",
                         .url = options_.url + "/api/v1/torrents/" + t.hash->hex(),
                         .headers = auth});
    if (!r || r->status >= 500) return outcome::retry;
    if (r->status != 200 && r->status != 204 && r->status != 404) {
      log_->warn("tracker refused to retire {} ({}): {}", t.hash->hex(), r->status,
                 error_message(*r));
      return outcome::rejected;
    }
    return outcome::done;
  }
  auto url = options_.url + "/api/v1/torrents?digest=" + http::percent_encode(t.digest->str());
  if (t.segment) url += "&segment=" + std::to_string(*t.segment);
  if (!t.repository.empty()) url += "&repository=" + http::percent_encode(t.repository);
  if (!t.source_url.empty()) url += "&url=" + http::percent_encode(t.source_url);
  auth.emplace_back("Content-Type", "application/x-bittorrent");
  auto r = http_.send({.method = "POST", .url = url, .headers = auth, .body = t.torrent});
  if (!r) {
    log_->warn("cannot register {} with the tracker: {}", t.digest->str(), r.error().message);
    return outcome::retry;
  }
  if (r->status >= 500 || r->status == 429) return outcome::retry;
  if (r->status == 200 || r->status == 201) return outcome::done;
  log_->error("tracker refused the {} torrent of {} ({}): {}",
              t.segment ? fmt::format("segment {}", *t.segment) : std::string("whole"),
              t.digest->str(), r->status, error_message(*r));
  return outcome::rejected;
}

result<tracker_blob> tracker_link::blob(const digest& d) const {
  if (!enabled()) return fail(errc::unavailable, "no tracker configured");
  auto r = http_.send({.url = options_.url + "/api/v1/blobs/" + d.str(),
                       .headers = {{"Authorization", "Bearer " + options_.token}}});
  if (!r) return fail(r.error());
  if (r->status == 404) return fail(errc::not_found, "the tracker has no torrent for {}", d);
  if (r->status != 200) {
    return fail(errc::unavailable, "the tracker answered {} for {}: {}", r->status, d,
                error_message(*r));
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object()) return fail(errc::upstream, "the tracker's blob record is not JSON");
  tracker_blob out;
  out.whole = j.contains("torrent") && j["torrent"].is_object();
  if (auto it = j.find("segments"); it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_object() && s.contains("index") && s["index"].is_number_unsigned() &&
          s["index"].get<std::uint64_t>() <= UINT32_MAX) {
        out.segments.push_back(static_cast<std::uint32_t>(s["index"].get<std::uint64_t>()));
      }
    }
  }
  std::sort(out.segments.begin(), out.segments.end());
  return out;
}

result<std::string> tracker_link::torrent(const digest& d,
                                          std::optional<std::uint32_t> segment) const {
  if (!enabled()) return fail(errc::unavailable, "no tracker configured");
  auto url = options_.url + "/api/v1/blobs/" + d.str();
  url += segment ? fmt::format("/segments/{}/torrent", *segment) : std::string("/torrent");
  // With the admin token the tracker hands the torrent out without any
  // announce URL (it would carry a passkey).
  auto r = http_.send({.url = url, .headers = {{"Authorization", "Bearer " + options_.token}}});
  if (!r) return fail(r.error());
  if (r->status == 404) return fail(errc::not_found, "the tracker has no such torrent of {}", d);
  if (r->status != 200) {
    return fail(errc::unavailable, "the tracker answered {} for a torrent of {}", r->status, d);
  }
  return std::move(r->body);
}

}  // namespace blobswarm::seeder
