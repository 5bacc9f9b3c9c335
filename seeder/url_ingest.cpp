#include "seeder/url_ingest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <charconv>

#include "common/file.hpp"
#include "common/hasher.hpp"
#include "seeder/piece_layout.hpp"
#include "torrentgen/piece_hasher.hpp"

namespace blobswarm::seeder {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::optional<std::uint64_t> content_length(const http::client_response& r) {
  auto v = r.header("content-length");
  if (!v) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

}  // namespace

struct url_ingest::job {
  job(file_url u, std::optional<blobswarm::digest> e, std::optional<url_record> p)
      : url(std::move(u)), expected(std::move(e)), prior(std::move(p)) {}
  const file_url url;
  const std::optional<blobswarm::digest> expected;
  // The stored bytes to revalidate (a conditional request); none: fetch.
  const std::optional<url_record> prior;
  bool done = false;
  result<url_answer> outcome = fail(errc::internal, "not fetched yet");
  std::atomic<bool> cancel{false};
  async_event changed;
};

struct url_ingest::fetched {
  bool not_modified = false;
  std::optional<url_record> record;     // none when not modified
  std::optional<blob_torrent> torrent;  // none for an empty file
  std::vector<stored_blob> evicted;
};

// The body of one fetch on its way into the store: written to an ingest
// file under a placeholder name (the digest is known only at the end),
// hashed as it arrives. Whatever is not handed over is removed.
class url_ingest::transfer {
 public:
  transfer(blob_store& store, blobswarm::digest placeholder)
      : store_(store), placeholder_(std::move(placeholder)) {}
  ~transfer() { release(); }
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;

  std::filesystem::path path() const { return store_.ingest_path(placeholder_); }

  // `length`: the announced size, if any (its room is reserved now, so a
  // full store fails before the first byte).
  result<void> begin(std::optional<std::uint64_t> length) {
    length_ = length;
    if (length) {
      auto evicted = store_.reserve(placeholder_, *length);
      if (!evicted) return fail(evicted.error());
      evicted_ = std::move(*evicted);
      layout_ = piece_layout::make(*length, 0);
      pieces_.emplace(layout_->piece_length);
    }
    auto fd = open_file(path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!fd) return fail(fd.error());
    fd_ = std::move(*fd);
    return {};
  }

  result<void> write(std::span<const std::byte> data, std::uint64_t max_size) {
    if (length_ && written_ + data.size() > *length_) {
      return fail(errc::upstream, "the origin sent more than the {} bytes it announced", *length_);
    }
    if (max_size && written_ + data.size() > max_size) {
      return fail(errc::too_large, "the file is larger than max_file_size ({} bytes)", max_size);
    }
    if (auto w = write_all(fd_.get(), data, path()); !w) return w;
    content_.update(data);
    if (pieces_) pieces_->update(data);
    written_ += data.size();
    return {};
  }

  // The digest of what arrived, its layout and piece hashes (hashed in a
  // second pass over the file when the origin did not say its size).
  struct outcome {
    blobswarm::digest digest;
    piece_layout layout;
    std::vector<std::string> hashes;
  };
  result<outcome> finish() {
    if (length_ && written_ != *length_) {
      return fail(errc::upstream, "the origin ended after {} of {} bytes", written_, *length_);
    }
    if (::fdatasync(fd_.get()) != 0) return fail(system_error(errno, "cannot sync", path()));
    fd_.reset();
    auto d = blobswarm::digest::from_raw(hash_algorithm::sha256, content_.finish());
    if (!d) return fail(d.error());
    if (!pieces_) {
      layout_ = piece_layout::make(written_, 0);
      pieces_.emplace(layout_->piece_length);
      auto fd = open_file(path(), O_RDONLY | O_CLOEXEC);
      if (!fd) return fail(fd.error());
      std::vector<std::byte> buf(1 << 20);
      while (true) {
        auto n = ::read(fd->get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(system_error(errno, "cannot read", path()));
        if (n == 0) break;
        pieces_->update(std::span(buf.data(), static_cast<std::size_t>(n)));
      }
    }
    pieces_->finish();
    return outcome{*d, *layout_, pieces_->hashes()};
  }

  std::uint64_t written() const noexcept { return written_; }
  std::vector<stored_blob> take_evicted() { return std::move(evicted_); }

  // Gives the placeholder's reservation back (and its file, unless it was
  // moved away).
  void release() {
    if (released_) return;
    released_ = true;
    fd_.reset();
    store_.abandon(placeholder_);
  }

 private:
  blob_store& store_;
  blobswarm::digest placeholder_;
  std::optional<std::uint64_t> length_;
  std::uint64_t written_ = 0;
  unique_fd fd_;
  hasher content_{hash_algorithm::sha256};
  std::optional<piece_layout> layout_;
  std::optional<torrentgen::piece_hasher> pieces_;
  std::vector<stored_blob> evicted_;
  bool released_ = false;
};

url_ingest::url_ingest(asio::io_context& io, blocking_pool& pool, blob_store& store,
                       torrent_session& session, tracker_link& tracker, origin_allowlist allow,
                       std::unique_ptr<url_index> index, url_ingest_options options,
                       metrics::registry& metrics, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      store_(store),
      session_(session),
      tracker_(tracker),
      allow_(std::move(allow)),
      index_(std::move(index)),
      options_(options),
      log_(std::move(log)),
      default_client_(http::client_options{.stall_timeout = options.stall_timeout,
                                           .user_agent = "blobswarm-seeder/" BLOBSWARM_VERSION}),
      fetched_(metrics.add_counter("blobswarm_seeder_url_fetches_total",
                                   "Fetches of files from URLs, by outcome",
                                   {{"outcome", "fetched"}})),
      not_modified_(metrics.add_counter("blobswarm_seeder_url_fetches_total",
                                        "Fetches of files from URLs, by outcome",
                                        {{"outcome", "not_modified"}})),
      failed_(metrics.add_counter("blobswarm_seeder_url_fetches_total",
                                  "Fetches of files from URLs, by outcome",
                                  {{"outcome", "failed"}})),
      bytes_(metrics.add_counter("blobswarm_seeder_url_bytes_total",
                                 "Bytes received from URL origins")) {
  for (const auto& origin : allow_.origins()) {
    auto u = file_url::parse(origin);
    if (!u || allow_.ca_file_for(*u).empty()) continue;
    origin_clients_.emplace(origin, std::make_unique<http::client>(http::client_options{
                                        .stall_timeout = options.stall_timeout,
                                        .ca_file = allow_.ca_file_for(*u),
                                        .user_agent = "blobswarm-seeder/" BLOBSWARM_VERSION}));
  }
}

url_ingest::~url_ingest() {
  shutdown();
  alive_.reset();
}

void url_ingest::shutdown() {
  stopping_ = true;
  for (auto& [url, j] : jobs_) j->cancel = true;
  slot_freed_.notify_all();
}

const http::client& url_ingest::client_for(const file_url& u) const {
  auto it = origin_clients_.find(u.origin());
  return it == origin_clients_.end() ? default_client_ : *it->second;
}

result<url_answer> url_ingest::answer(const url_record& r, const file_url& u) const {
  auto stored = store_.find(r.digest);
  if (!stored) return fail(errc::not_found, "{} left the store", r.digest);
  store_.touch(r.digest);
  return url_answer{r, stored->torrent_hash, u.file_name()};
}

awaitable<result<url_answer>> url_ingest::get(std::string url, std::optional<digest> expected,
                                              duration wait) {
  auto u = file_url::parse(url);
  if (!u) co_return fail(u.error());
  if (auto a = allow_.admit(*u); !a) co_return fail(a.error());
  auto deadline = steady::now() + wait;
  // Bounded: each pass answers, or waits for a fetch to end (until the deadline).
  while (true) {
    if (stopping_) co_return fail(errc::unavailable, "the seeder is shutting down");
    if (auto it = jobs_.find(u->str); it != jobs_.end()) {
      auto j = it->second;
      while (!j->done) {
        auto left = deadline - steady::now();
        if (left <= duration::zero()) {
          co_return fail(errc::timeout, "{} is still being fetched after {}", u->without_query(),
                         format_duration(wait));
        }
        co_await j->changed.wait(std::chrono::duration_cast<duration>(left));
      }
      // A fetch for another expected digest says nothing about this one.
      if (j->expected == expected) co_return j->outcome;
      continue;
    }
    auto rec = index_->find(u->str);
    if (!rec) co_return fail(rec.error());
    bool stored = *rec && store_.find((*rec)->digest).has_value();
    if (stored) {
      const auto& r = **rec;
      auto age = std::chrono::milliseconds(unix_ms() - r.checked_ms);
      bool fresh = age < options_.ttl;
      if (fresh && expected && r.digest != *expected) {
        co_return fail(errc::digest_mismatch,
                       "{} has digest {} (its origin confirmed it {} ago), not {}; it is checked "
                       "again {} after that",
                       u->without_query(), r.digest, format_duration(age), *expected,
                       format_duration(options_.ttl));
      }
      if (fresh) co_return answer(r, *u);
    }
    auto j = std::make_shared<job>(*u, expected, stored ? *rec : std::nullopt);
    jobs_.emplace(u->str, j);
    auto log = log_;
    asio::co_spawn(io_, run(j), [log, j](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->error("fetch of {} ended by an exception: {}", j->url.without_query(), ex.what());
      }
    });
  }
}

awaitable<void> url_ingest::run(std::shared_ptr<job> j) {
  std::weak_ptr<bool> alive = alive_;
  auto finish = [this, alive, j](result<url_answer> outcome) {
    j->outcome = std::move(outcome);
    j->done = true;
    if (!alive.lock()) return;
    if (auto it = jobs_.find(j->url.str); it != jobs_.end() && it->second == j) jobs_.erase(it);
    j->changed.notify_all();
  };
  // Bounded: every wake-up is a freed slot or a minute; stopping ends it.
  while (running_ >= static_cast<std::size_t>(options_.max_fetches) && !stopping_) {
    co_await slot_freed_.wait(std::chrono::minutes(1));
  }
  if (stopping_) {
    finish(fail(errc::unavailable, "the seeder is shutting down"));
    co_return;
  }
  ++running_;
  log_->info("{} {}", j->prior ? "revalidating" : "fetching", j->url.without_query());
  auto work = [this, j] {
    return fetch(*j);
  };
  auto r = co_await pool_.run(std::move(work));
  if (!alive.lock()) co_return;
  --running_;
  slot_freed_.notify_all();
  if (!r) {
    failed_.inc();
    log_->warn("fetch of {} failed: {}", j->url.without_query(), r.error().message);
    finish(fail(r.error()));
    co_return;
  }
  for (const auto& b : r->evicted) {
    log_->info("evicted {} ({} bytes) to make room", b.digest, b.size);
    if (b.torrent_hash) {
      session_.remove(*b.torrent_hash);
      tracker_.retire(*b.torrent_hash);
    }
  }
  if (r->not_modified) {
    not_modified_.inc();
    auto now = unix_ms();
    if (auto c = index_->confirm(j->url.str, now); !c) log_->warn("{}", c.error().message);
    auto rec = *j->prior;
    rec.checked_ms = now;
    log_->info("{} is unchanged ({})", j->url.without_query(), rec.digest);
    finish(answer(rec, j->url));
    co_return;
  }
  fetched_.inc();
  const auto& rec = *r->record;
  if (auto p = index_->put(rec); !p) {
    finish(fail(p.error()));
    co_return;
  }
  if (r->torrent) {
    auto ok = co_await publish(rec.digest, *r->torrent, j->url);
    if (!alive.lock()) co_return;
    if (!ok && tracker_.enabled()) {
      log_->warn("the tracker has not confirmed the torrent of {} yet", j->url.without_query());
    }
  }
  log_->info("{}: {} ({} bytes){}", j->url.without_query(), rec.digest, rec.size,
             r->torrent ? fmt::format(", info-hash {}", r->torrent->v1) : std::string());
  finish(answer(rec, j->url));
}

awaitable<bool> url_ingest::publish(const digest& d, const blob_torrent& t,
                                    const file_url& source) {
  std::weak_ptr<bool> alive = alive_;
  struct state {
    bool answered = false;
    bool ok = false;
    async_event changed;
  };
  auto s = std::make_shared<state>();
  auto deadline = steady::now() + options_.registration_wait;
  auto wait_for = [&s, deadline]() -> awaitable<void> {
    // Bounded by the deadline.
    while (!s->answered && steady::now() < deadline) {
      co_await s->changed.wait(std::chrono::duration_cast<duration>(deadline - steady::now()) +
                               duration(1));
    }
  };
  bool registered = false;
  if (tracker_.enabled()) {
    // Registered first, so that the seeder's first announce is accepted.
    tracker_.register_torrent(
        d, std::nullopt, t.bytes,
        [s](bool ok) {
          s->ok = ok;
          s->answered = true;
          s->changed.notify_all();
        },
        {}, source.without_query());
    co_await wait_for();
    if (!alive.lock()) co_return false;
    registered = s->ok;
    if (registered) store_.set_registered(d);
  }
  if (auto added = session_.add_seed(t.bytes, store_.blob_path(d)); !added) {
    log_->error("{}: cannot seed it: {}", d, added.error().message);
  }
  if (registered) {
    // Answer once the seeder is in the swarm: a node announcing from then
    // on finds it.
    s->answered = false;
    session_.reannounce(t.v1);
    session_.when_announced(t.v1, [s] {
      s->answered = true;
      s->changed.notify_all();
    });
    co_await wait_for();
  }
  co_return registered;
}

result<url_ingest::fetched> url_ingest::fetch(job& j) {
  // The placeholder names the ingest file until the digest is known.
  auto placeholder = digest::from_raw(
      hash_algorithm::sha256,
      sha256(fmt::format("url-ingest {} {}", j.url.str, placeholders_.fetch_add(1))));
  if (!placeholder) return fail(placeholder.error());
  transfer body(store_, *placeholder);
  enum class answer_kind { none, redirect, not_modified, body } kind = answer_kind::none;
  http::client_response final_response;
  file_url at = j.url;
  for (int hop = 0; hop <= options_.max_redirects; ++hop) {
    http::client_request req{.url = at.str, .follow_redirects = false, .cancel = &j.cancel};
    req.headers = allow_.credentials_for(at);
    req.insecure = allow_.insecure_for(at);
    if (j.prior) {
      if (!j.prior->etag.empty()) req.headers.emplace_back("If-None-Match", j.prior->etag);
      if (!j.prior->last_modified.empty()) {
        req.headers.emplace_back("If-Modified-Since", j.prior->last_modified);
      }
    }
    std::optional<file_url> next;
    kind = answer_kind::none;
    auto on_headers = [&](const http::client_response& res) -> result<void> {
      if (is_redirect(res.status)) {
        auto location = res.header("location");
        if (!location) {
          return fail(errc::upstream, "{} answered {} without a Location", at.without_query(),
                      res.status);
        }
        auto target = at.resolve(*location);
        if (!target) return fail(target.error());
        if (at.scheme == "https" && target->scheme != "https") {
          return fail(errc::forbidden, "{} redirects from https to plain http ({}); refused",
                      at.without_query(), target->without_query());
        }
        next = std::move(*target);
        kind = answer_kind::redirect;
        return {};
      }
      if (res.status == 304 && j.prior) {
        kind = answer_kind::not_modified;
        return {};
      }
      if (res.status != 200) {
        return fail(res.status == 404 || res.status == 410 ? errc::not_found : errc::upstream,
                    "the origin answered HTTP {} for {}", res.status, at.without_query());
      }
      auto length = content_length(res);
      if (length && options_.max_size && *length > options_.max_size) {
        return fail(errc::too_large, "{} has {} bytes, more than max_file_size ({})",
                    j.url.without_query(), *length, options_.max_size);
      }
      kind = answer_kind::body;
      return body.begin(length);
    };
    auto on_data = [&](std::span<const std::byte> data) -> result<void> {
      if (kind != answer_kind::body) return {};  // a redirect's or a 304's body
      bytes_.inc(data.size());
      return body.write(data, options_.max_size);
    };
    auto r = client_for(at).stream(req, on_headers, on_data);
    if (!r) return fail(r.error());
    if (kind == answer_kind::redirect) {
      log_->debug("{} redirects to {}", at.without_query(), next->without_query());
      at = std::move(*next);
      continue;
    }
    final_response = std::move(*r);
    break;
  }
  if (kind == answer_kind::redirect) {
    return fail(errc::upstream, "{}: more than {} redirects", j.url.without_query(),
                options_.max_redirects);
  }
  if (kind == answer_kind::not_modified) return fetched{.not_modified = true};
  if (kind != answer_kind::body) {
    return fail(errc::upstream, "{} sent no answer", j.url.without_query());
  }
  auto done = body.finish();
  if (!done) return fail(done.error());
  const auto& d = done->digest;
  if (j.expected && d != *j.expected) {
    return fail(errc::digest_mismatch,
                "the bytes at {} hash to {}, not the digest asked for ({}); discarded",
                j.url.without_query(), d, *j.expected);
  }
  fetched out;
  out.record = url_record{j.url.str,
                          d,
                          body.written(),
                          std::string(final_response.header("etag").value_or("")),
                          std::string(final_response.header("last-modified").value_or("")),
                          unix_ms(),
                          unix_ms()};
  out.evicted = body.take_evicted();
  if (auto known = store_.find(d)) {
    // The same bytes are stored already (another URL, or an image blob).
    if (known->torrent_hash) {
      auto bytes = store_.torrent(d);
      if (!bytes) return fail(bytes.error());
      out.torrent = blob_torrent{std::move(*bytes), *known->torrent_hash};
    }
    return out;
  }
  std::optional<blob_torrent> whole;
  if (done->layout.size > 0) {
    auto t = make_whole_torrent(d, done->layout, done->hashes);
    if (!t) return fail(t.error());
    whole = std::move(*t);
  }
  auto final_ingest = store_.ingest_path(d);
  if (::rename(body.path().c_str(), final_ingest.c_str()) != 0) {
    return fail(system_error(errno, "cannot rename the ingest file", final_ingest));
  }
  body.release();
  auto evicted = store_.reserve(d, done->layout.size);
  if (!evicted) {
    std::error_code ec;
    std::filesystem::remove(final_ingest, ec);
    return fail(evicted.error());
  }
  out.evicted.insert(out.evicted.end(), evicted->begin(), evicted->end());
  auto stored = store_.commit(d, done->layout.piece_length,
                              whole ? std::optional<info_hash>(whole->v1) : std::nullopt,
                              whole ? std::string_view(whole->bytes) : std::string_view());
  if (!stored) {
    store_.abandon(d);
    return fail(stored.error());
  }
  out.torrent = std::move(whole);
  return out;
}

}  // namespace blobswarm::seeder
