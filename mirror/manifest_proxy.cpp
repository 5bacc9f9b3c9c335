#include "mirror/manifest_proxy.hpp"

#include "common/hasher.hpp"

namespace blobswarm::mirror {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool transient(errc c) {
  return c == errc::unavailable || c == errc::timeout || c == errc::upstream;
}

unexpected<manifest_refusal> refuse(error e, int status, std::string challenge = {}) {
  return unexpected<manifest_refusal>(manifest_refusal{std::move(e), status, std::move(challenge)});
}

int status_of(errc c) {
  switch (c) {
    case errc::not_found:
      return 404;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::invalid_argument:
      return 400;
    case errc::digest_mismatch:
      return 502;
    case errc::timeout:
      return 504;
    case errc::too_large:
      return 413;
    default:
      return 503;
  }
}

}  // namespace

bool accepts(const std::vector<std::string>& accept_lines, std::string_view media_type) {
  if (accept_lines.empty()) return true;
  for (std::string_view line : accept_lines) {
    while (!line.empty()) {
      auto comma = line.find(',');
      auto item = trim(line.substr(0, comma));
      item = trim(item.substr(0, item.find(';')));
      if (item == media_type || item == "*/*" || item == "application/*") return true;
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
  }
  return false;
}

awaitable<std::optional<manifest_refusal>> manifest_proxy::authorize(const manifest_request& req,
                                                                     const digest& id,
                                                                     const cached_manifest* known) {
  if (!authorize_clients_) co_return std::nullopt;
  // Named: GCC 12 destroys a braced temporary inside co_await twice.
  const authorizer::probe manifest{false, id};
  auto v = co_await access_.check(req.host, req.name, req.authorization, manifest);
  if (!v) co_return manifest_refusal{v.error(), 503, {}};
  if (!v->allowed) {
    auto code = v->status == 404   ? errc::not_found
                : v->status == 403 ? errc::forbidden
                                   : errc::unauthorized;
    co_return manifest_refusal{error{code, v->message}, v->status, v->challenge};
  }
  // The manifest is in this repository, so is everything it references.
  if (known) {
    access_.grant_referenced(req.host, req.name, req.authorization, known->bytes, known->media_type,
                             v->as_of);
  }
  co_return std::nullopt;
}

awaitable<expected<manifest_answer, manifest_refusal>> manifest_proxy::get(
    const manifest_request& req) {
  auto host = registries_.host_key(req.host);
  auto by_digest = digest::parse(req.reference);

  // Cached by digest: immutable, so only access needs checking.
  std::optional<digest> known;
  std::optional<cached_tag> tag;
  bool fresh = false;
  if (by_digest) {
    known = *by_digest;
  } else if (auto t = store_.find_tag(host, req.name.str(), req.reference); t && *t) {
    tag = **t;
    known = tag->id;
    fresh = std::chrono::system_clock::now() - tag->fetched_at < tag_ttl_;
  }
  if (known && (by_digest || fresh)) {
    auto m = store_.find_manifest(*known);
    if (m && *m && accepts(req.accept, (*m)->media_type)) {
      if (auto no = co_await authorize(req, *known, &**m)) {
        co_return unexpected<manifest_refusal>(*no);
      }
      co_return manifest_answer{(*m)->media_type, (*m)->id, (*m)->bytes.size(),
                                req.head ? std::string() : std::move((*m)->bytes), false};
    }
    if (req.head && tag && fresh && accepts(req.accept, tag->media_type)) {
      if (auto no = co_await authorize(req, *known, nullptr)) {
        co_return unexpected<manifest_refusal>(*no);
      }
      co_return manifest_answer{tag->media_type, tag->id, tag->size, {}, false};
    }
  }

  auto answer = co_await from_upstream(req);
  if (answer || by_digest) co_return answer;
  // Upstream is unreachable: a stale tag beats a failed pull.
  if (tag && transient(answer.error().reason.code)) {
    auto m = store_.find_manifest(tag->id);
    if (m && *m) {
      if (auto no = co_await authorize(req, tag->id, &**m)) co_return answer;
      log_->warn("serving STALE manifest {}:{} ({}) — upstream unreachable: {}", req.name.str(),
                 req.reference, tag->id.str(), answer.error().reason.message);
      co_return manifest_answer{(*m)->media_type, (*m)->id, (*m)->bytes.size(),
                                req.head ? std::string() : std::move((*m)->bytes), true};
    }
  }
  co_return answer;
}

awaitable<expected<manifest_answer, manifest_refusal>> manifest_proxy::from_upstream(
    const manifest_request& req) {
  auto client = registries_.client_for(req.host);
  if (!client) co_return refuse(client.error(), 400);
  auto challenge = std::make_shared<std::string>();
  registry::request_options opts;
  opts.accept = req.accept;
  opts.challenge = challenge.get();
  if (req.authorization) {
    opts.authorization = *req.authorization;
  } else if (authorize_clients_) {
    opts.authorization = std::string();  // anonymous: exactly what the client may see
  }
  auto fetch = [c = *client, req, opts] {
    return req.head ? c->head_manifest(req.name, req.reference, opts)
                    : c->get_manifest(req.name, req.reference, opts);
  };
  auto asked = std::chrono::steady_clock::now();
  auto r = co_await pool_.run(std::move(fetch));
  auto by_digest = digest::parse(req.reference);
  if (!r) {
    auto code = r.error().code;
    if (authorize_clients_ && by_digest &&
        (code == errc::unauthorized || code == errc::forbidden)) {
      authorization_verdict no{false, code == errc::forbidden ? 403 : 401, *challenge,
                               r.error().message, asked};
      access_.remember(req.host, req.name, req.authorization, {false, *by_digest}, no);
    }
    co_return refuse(r.error(), status_of(code), *challenge);
  }
  if (!r->digest) co_return refuse(error{errc::upstream, "upstream sent no manifest digest"}, 502);
  if (authorize_clients_) {
    // Upstream just served this manifest from this repository to this
    // client: an answer for it and for everything it references.
    access_.remember(req.host, req.name, req.authorization, {false, *r->digest},
                     authorization_verdict{true, 0, {}, {}, asked});
    if (!req.head) {
      access_.grant_referenced(req.host, req.name, req.authorization, r->body, r->content_type,
                               asked);
    }
  }
  auto host = registries_.host_key(req.host);
  auto now = std::chrono::system_clock::now();
  if (!req.head) {
    if (auto s = store_.put_manifest({*r->digest, r->content_type, r->body}); !s) {
      log_->warn("cannot cache manifest {}: {}", r->digest->str(), s.error().message);
    }
  }
  if (!by_digest) {
    (void)store_.put_tag(host, req.name.str(), req.reference,
                         cached_tag{*r->digest, r->content_type, r->size, now});
  }
  co_return manifest_answer{r->content_type, *r->digest, r->size, std::move(r->body), false};
}

}  // namespace blobswarm::mirror
