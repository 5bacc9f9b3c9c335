#include "tracker/torrent_json.hpp"

#include "common/http/url.hpp"

namespace blobswarm::tracker {

using json = nlohmann::json;

json hex_or_null(const std::optional<info_hash>& h) {
  return h ? json(h->hex()) : json(nullptr);
}

json torrent_json(const torrent_row& t, peer_store& peers) {
  auto live = peers.counts(t.primary);
  return torrent_json(t, live ? *live : std::optional<swarm_counts>());
}

std::vector<std::optional<swarm_counts>> live_counts(peer_store& peers,
                                                     const std::vector<torrent_row>& rows) {
  std::vector<swarm_key> keys;
  keys.reserve(rows.size());
  for (const auto& r : rows) keys.push_back(r.primary);
  auto c = peers.counts(keys);
  if (!c) return std::vector<std::optional<swarm_counts>>(rows.size());
  return std::move(*c);
}

json torrent_json(const torrent_row& t, const std::optional<swarm_counts>& live) {
  json j = {{"info_hash_v1", hex_or_null(t.v1)},
            {"info_hash_v2", hex_or_null(t.v2)},
            {"name", t.name},
            {"size", t.size},
            {"piece_length", t.piece_length},
            {"private", t.is_private},
            {"digest", t.blob ? json(t.blob->str()) : json(nullptr)},
            {"segment", t.segment ? json(*t.segment) : json(nullptr)},
            {"repository", t.repository ? json(*t.repository) : json(nullptr)},
            {"source_url", t.source_url ? json(*t.source_url) : json(nullptr)},
            {"created_at", t.created_at}};
  std::uint64_t seeders = 0, leechers = 0, completed = t.completed;
  std::uint64_t uploaded = t.uploaded, downloaded = t.downloaded;
  if (live) {
    seeders = live->seeders;
    leechers = live->leechers;
    completed = live->completed;
    uploaded += live->pending.uploaded;
    downloaded += live->pending.downloaded;
  }
  j["seeders"] = seeders;
  j["leechers"] = leechers;
  j["completed"] = completed;
  j["uploaded"] = uploaded;
  j["downloaded"] = downloaded;
  return j;
}

void add_registration_fields(json& j, const registration_outcome& out) {
  j["created"] = out.created;
  j["made_private"] = out.made_private_from.has_value();
  if (out.made_private_from) j["original_info_hash"] = out.made_private_from->hex();
}

std::string_view kind_of(const torrent_row& t) {
  if (!t.blob || t.source_url) return "file";
  return t.segment ? "segment" : "blob";
}

json fetch_urls(const torrent_row& t, std::string_view mirror_url) {
  json j = {{"fetch_url", nullptr}, {"fetch_by_url", nullptr}};
  if (kind_of(t) != "file" || !t.v1) return j;
  j["fetch_url"] = fmt::format("{}/files/{}", mirror_url, t.v1->hex());
  if (t.source_url && t.blob) {
    j["fetch_by_url"] =
        fmt::format("{}/files?url={}&digest={}", mirror_url, http::percent_encode(*t.source_url),
                    http::percent_encode(t.blob->str()));
  }
  return j;
}

json user_json(const user_row& u, const user_pending& live) {
  std::optional<std::int64_t> last = u.last_announce;
  if (live.last_announce != 0 && (!last || live.last_announce > *last)) last = live.last_announce;
  return {{"name", u.name},
          {"created_at", u.created_at},
          {"uploaded", u.uploaded + live.uploaded},
          {"downloaded", u.downloaded + live.downloaded},
          {"completed", u.completed + live.completed},
          {"announces", u.announces + live.announces},
          {"last_announce", last ? json(*last) : json(nullptr)}};
}

}  // namespace blobswarm::tracker
