#include "mirror/file_api.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/hasher.hpp"
#include "common/http/json.hpp"
#include "common/http/range.hpp"
#include "common/http/url.hpp"

namespace blobswarm::mirror {

namespace {

using json = nlohmann::json;

constexpr std::string_view octet_stream = "application/octet-stream";
// Longer than any stall: the download's own stall watch ends a download
// nobody feeds, and its readers with it.
constexpr auto piece_wait = std::chrono::hours(24);

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// RFC 6266: an ASCII fallback and the exact name in UTF-8.
std::string content_disposition(std::string_view name) {
  std::string ascii;
  for (char c : name) {
    bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    ascii += plain ? c : '_';
  }
  return fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii,
                     http::percent_encode(name));
}

// A JSON error; a torrent this node cannot serve (v2-only) is 422, not the
// 405 errc::unsupported means elsewhere.
http::response refusal(const error& e) {
  auto r = http::json_error(e);
  if (e.code == errc::unsupported) r.status(422);
  return r;
}

http::response range_refused(std::uint64_t size) {
  auto r = http::json_response(
      416, json{{"error",
                 {{"code", "range_not_satisfiable"},
                  {"message", fmt::format("the range is outside the file's {} bytes", size)}}}});
  r.set("Content-Range", fmt::format("bytes */{}", size));
  return r;
}

// The part of a file of `size` bytes a request asks for.
struct wanted {
  http::range_request range;
  std::uint64_t first = 0;
  std::uint64_t length = 0;
  int status = 200;
};
wanted wanted_of(const http::request& req, std::uint64_t size) {
  wanted w{http::parse_range(req.header("range"), size)};
  bool partial = w.range.what == http::range_request::kind::partial;
  w.first = partial ? w.range.range.first : 0;
  w.length = partial ? w.range.range.length() : size;
  w.status = partial ? 206 : 200;
  return w;
}

// `fd`'s bytes [offset + w.first, + w.length) as the answer, sent with sendfile.
http::response file_response(const wanted& w, unique_fd fd, std::uint64_t offset,
                             std::uint64_t size) {
  auto r = http::response::file(w.status, std::move(fd), offset + w.first, w.length, octet_stream);
  if (w.status == 206) r.set("Content-Range", http::content_range(w.range.range, size));
  r.set("Accept-Ranges", "bytes");
  return r;
}

}  // namespace

file_api::file_api(file_downloads& downloads, file_sources& sources, options o,
                   std::shared_ptr<spdlog::logger> log)
    : downloads_(downloads),
      sources_(sources),
      store_(downloads.context().store),
      options_(std::move(o)),
      log_(std::move(log)) {}

void file_api::add_routes(http::router& r) {
  r.get("/files", http::async_handler([this](http::request& req) { return by_url(req); }));
  r.get("/files/{rest*}", http::async_handler([this](http::request& req) { return by_hash(req); }));
  r.get("/api/v1/files", http::sync_handler([this](http::request& req) {
          if (auto no = refuse(req)) return std::move(*no);
          return status();
        }));
}

std::optional<http::response> file_api::refuse(const http::request& req) const {
  if (options_.token.empty() ||
      secrets_equal(req.header("authorization").value_or(""), "Bearer " + options_.token)) {
    return std::nullopt;
  }
  auto r = http::json_error(
      error{errc::unauthorized, "/files needs this mirror's files token as a bearer token"});
  r.set("WWW-Authenticate", "Bearer realm=\"blobswarm-mirror files\"");
  return r;
}

http::response file_api::status() {
  return http::json_response(200, downloads_.status());
}

awaitable<result<std::shared_ptr<const file_torrent>>> file_api::torrent_for(const info_hash& ih) {
  if (ih.is_v1()) {
    if (auto d = downloads_.in_flight(ih)) co_return d->torrent_ptr();
    auto cached = store_.find_file(ih);
    if (cached && *cached) {
      auto t = file_torrent::parse((*cached)->torrent, ih);
      if (t) co_return std::make_shared<const file_torrent>(std::move(*t));
    }
  }
  auto bytes = co_await sources_.torrent(ih);
  if (!bytes) {
    if (bytes.error().code == errc::not_found) {
      co_return fail(errc::not_found, "the tracker has no torrent {}", ih.hex());
    }
    co_return fail(bytes.error());
  }
  auto t = file_torrent::parse(*bytes, ih);
  if (!t) co_return fail(t.error());
  co_return std::make_shared<const file_torrent>(std::move(*t));
}

awaitable<http::response> file_api::by_hash(http::request& req) {
  if (auto no = refuse(req)) co_return std::move(*no);
  std::string_view rest = req.param("rest");
  auto slash = rest.find('/');
  auto hash_text = rest.substr(0, slash);
  auto ih = info_hash::from_hex(hash_text);
  if (!ih) {
    co_return http::json_error(error{
        errc::invalid_argument,
        fmt::format("'{}' is not an info-hash (40 hex characters; a hybrid torrent's v2 hash has "
                    "64)",
                    hash_text.substr(0, 80))});
  }
  std::string path;
  if (slash != std::string_view::npos) {
    auto decoded = http::percent_decode(rest.substr(slash + 1), false);
    if (!decoded) {
      co_return http::json_error(
          error{errc::invalid_argument, "the file path is not valid percent-encoding"});
    }
    path = std::move(*decoded);
  }
  auto t = co_await torrent_for(*ih);
  if (!t) co_return refusal(t.error());
  const auto& torrent = **t;
  if (path.empty() || path.ends_with('/')) {
    if (path.empty() && !torrent.is_directory()) {
      // Named: GCC 12 destroys a braced temporary inside co_await twice.
      target whole{*t, &torrent.files().front(), std::nullopt, torrent.name()};
      co_return co_await serve(req, std::move(whole));
    }
    co_return listing(req, torrent, path);
  }
  const auto* f = torrent.find(path);
  if (!f) {
    if (!torrent.under(path + "/").empty()) co_return listing(req, torrent, path + "/");
    co_return http::json_error(
        error{errc::not_found, fmt::format("torrent {} ('{}') has no file '{}'; GET /files/{} "
                                           "lists its files",
                                           ih->hex(), torrent.name(), path, ih->hex())});
  }
  target one{*t, f, std::nullopt, base_name(f->path)};
  co_return co_await serve(req, std::move(one));
}

http::response file_api::listing(const http::request& req, const file_torrent& t,
                                 std::string_view prefix) const {
  auto files = t.under(prefix);
  if (files.empty()) {
    return http::json_error(error{
        errc::not_found, fmt::format("torrent {} has no directory '{}'", t.id().hex(), prefix)});
  }
  std::string base;
  if (auto host = req.header("host")) {
    base = fmt::format("{}://{}", options_.tls ? "https" : "http", *host);
  }
  json list = json::array();
  for (const auto* f : files) {
    list.push_back({{"path", f->path},
                    {"size", f->size},
                    {"url", fmt::format("{}/files/{}/{}", base, t.id().hex(),
                                        http::percent_encode_path(f->path))}});
  }
  return http::json_response(200, json{{"info_hash", t.id().hex()},
                                       {"name", t.name()},
                                       {"size", t.size()},
                                       {"piece_length", t.piece_length()},
                                       {"hybrid", t.hybrid()},
                                       {"files", std::move(list)}});
}

std::optional<http::response> file_api::serve_cached(http::request& req, const target& t) {
  const auto& id = t.torrent->id();
  auto cached = store_.find_file(id);
  if (!cached || !*cached) return std::nullopt;
  const auto& fs = t.torrent->info()->files();
  std::filesystem::path path =
      fs.file_path(lt::file_index_t(t.file->index), store_.file_dir(id).string());
  auto fd = open_file(path, O_RDONLY | O_CLOEXEC);
  struct stat st {};
  bool usable = fd && ::fstat(fd->get(), &st) == 0 &&
                static_cast<std::uint64_t>(st.st_size) == t.file->size &&
                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec <=
                    (*cached)->verified_at_ns;
  if (!usable) {
    log_->error(
        "cached torrent {}: {} is missing or was modified after it was verified; "
        "discarding the torrent",
        id.hex(), path.string());
    store_.abort_file(id);
    return std::nullopt;
  }
  auto w = wanted_of(req, t.file->size);
  if (w.range.what == http::range_request::kind::unsatisfiable) return range_refused(t.file->size);
  store_.touch_file(id);
  auto r = file_response(w, std::move(*fd), 0, t.file->size);
  r.hold(std::make_shared<cache_lease>(store_.lease_file(id)));
  if (req.method() != http::verb::head) downloads_.count_served(w.length, true);
  return r;
}

std::optional<http::response> file_api::serve_blob(http::request& req, const url_file& f) {
  auto hit = store_.find_blob(f.id);
  if (!hit || !*hit) return std::nullopt;
  auto fd = store_.open_blob(**hit);
  if (!fd) return std::nullopt;  // modified or gone: the swarm has it too
  auto w = wanted_of(req, (*hit)->size);
  if (w.range.what == http::range_request::kind::unsatisfiable) return range_refused((*hit)->size);
  store_.touch_blob(f.id);
  auto r = file_response(w, std::move(*fd), 0, (*hit)->size);
  r.hold(std::make_shared<cache_lease>(store_.lease(f.id)));
  if (req.method() != http::verb::head) downloads_.count_served(w.length, true);
  return r;
}

awaitable<http::response> file_api::serve(http::request& req, target t) {
  auto finish = [&t](http::response r) {
    r.set("Content-Disposition", content_disposition(t.filename));
    r.set("ETag", t.expected ? fmt::format("\"{}\"", t.expected->str())
                             : fmt::format("\"{}/{}\"", t.torrent->id().hex(), t.file->index));
    return r;
  };
  if (auto cached = serve_cached(req, t)) co_return finish(std::move(*cached));
  const auto size = t.file->size;
  auto w = wanted_of(req, size);
  if (w.range.what == http::range_request::kind::unsatisfiable) co_return range_refused(size);
  http::response r;
  if (req.method() == http::verb::head || w.length == 0) {
    // The torrent says it all: no download for a HEAD.
    r = http::response::bytes(w.status, "", octet_stream);
    r.declare_length(w.length);
  } else {
    const auto& tor = *t.torrent;
    const auto begin = t.file->offset + w.first;
    const auto end = begin + w.length;
    const int first_piece = tor.piece_at(begin);
    const int last_piece = tor.piece_at(end - 1);
    const bool urgent = w.status == 206;
    auto dl = downloads_.get(t.torrent, t.expected, first_piece, last_piece);
    if (!dl) co_return http::json_error(dl.error());
    auto d = *dl;
    // With an expected digest, the file's last bytes wait for it.
    const auto release_at =
        t.expected ? t.file->offset + size - std::min(size, d->holdback()) : end;
    d->want(first_piece, last_piece, urgent);
    auto started = co_await d->wait_piece(first_piece, options_.first_byte_wait);
    if (!started && started.error().code != errc::timeout) {
      co_return http::json_error(started.error());
    }
    auto* counter = &downloads_;
    auto producer = [d, tor_ptr = t.torrent, begin, end, first_piece, last_piece, urgent,
                     release_at, counter](http::body_writer& out) -> awaitable<result<void>> {
      auto pos = begin;
      for (int p = first_piece; p <= last_piece; ++p) {
        d->want(p, last_piece, urgent);
        if (auto ok = co_await d->wait_piece(p, piece_wait); !ok) co_return fail(ok.error());
        auto bytes = co_await d->read_piece(p);
        if (!bytes) co_return fail(bytes.error());
        const auto piece_start = tor_ptr->piece_offset(p);
        const auto to = std::min(end, piece_start + (*bytes)->size());
        // Two passes at most: before the held-back tail, then the tail
        // once the digest has matched.
        while (pos < to) {
          auto stop = to;
          if (pos < release_at) {
            stop = std::min(to, release_at);
          } else if (auto v = co_await d->wait_verified(); !v) {
            co_return fail(v.error());
          }
          const auto* from = (*bytes)->data() + (pos - piece_start);
          auto n = static_cast<std::size_t>(stop - pos);
          if (!co_await out.write(std::as_bytes(std::span(from, n)))) {
            co_return fail(errc::unavailable, "the client stopped reading");
          }
          counter->count_served(n, false);
          pos = stop;
        }
      }
      co_return result<void>{};
    };
    r = http::response::stream(w.status, w.length, producer, octet_stream);
    // The download may complete (and its own lease end) while this is sent.
    r.hold(std::make_shared<cache_lease>(store_.lease_file(tor.id())));
  }
  if (w.status == 206) r.set("Content-Range", http::content_range(w.range.range, size));
  r.set("Accept-Ranges", "bytes");
  co_return finish(std::move(r));
}

awaitable<http::response> file_api::by_url(http::request& req) {
  if (auto no = refuse(req)) co_return std::move(*no);
  http::query_string q(req.query());
  auto url = q.get_decoded("url");
  if (!url || url->empty()) {
    co_return http::json_error(
        error{errc::invalid_argument,
              "/files needs an info-hash (/files/<info-hash>) or a URL (/files?url=<https URL>, "
              "percent-encoded)"});
  }
  std::optional<digest> expected;
  if (auto raw = q.get_decoded("digest")) {
    auto d = digest::parse(*raw);
    if (!d) co_return http::json_error(d.error().with_context("digest"));
    expected = *d;
  }
  auto f = co_await sources_.resolve_url(*url, expected);
  if (!f) co_return http::json_error(f.error());
  auto filename = f->name.empty() ? std::string(f->id.hex()) : f->name;
  if (auto blob = serve_blob(req, *f)) {
    blob->set("Content-Disposition", content_disposition(filename));
    blob->set("ETag", fmt::format("\"{}\"", f->id.str()));
    co_return std::move(*blob);
  }
  if (!f->torrent) {  // an empty file has no torrent
    auto r = http::response::bytes(200, "", octet_stream);
    r.set("Content-Disposition", content_disposition(filename));
    r.set("ETag", fmt::format("\"{}\"", f->id.str()));
    co_return r;
  }
  auto t = co_await torrent_for(*f->torrent);
  if (!t) co_return refusal(t.error());
  if ((*t)->is_directory() || (*t)->size() != f->size) {
    co_return http::json_error(
        error{errc::upstream, fmt::format("torrent {} that the seeder gave for {} is not its one "
                                          "file of {} bytes",
                                          f->torrent->hex(), *url, f->size)});
  }
  target file{*t, &(*t)->files().front(), f->id, std::move(filename)};
  co_return co_await serve(req, std::move(file));
}

}  // namespace blobswarm::mirror
