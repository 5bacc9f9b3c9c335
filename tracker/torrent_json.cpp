#include "tracker/torrent_json.hpp"

namespace blobswarm::tracker {

using json = nlohmann::json;

json hex_or_null(const std::optional<info_hash>& h) {
  return h ? json(h->hex()) : json(nullptr);
}

json torrent_json(const torrent_row& t, swarm_table& swarms) {
  json j = {{"info_hash_v1", hex_or_null(t.v1)},
            {"info_hash_v2", hex_or_null(t.v2)},
            {"name", t.name},
            {"size", t.size},
            {"piece_length", t.piece_length},
            {"private", t.is_private},
            {"digest", t.blob ? json(t.blob->str()) : json(nullptr)},
            {"segment", t.segment ? json(*t.segment) : json(nullptr)},
            {"repository", t.repository ? json(*t.repository) : json(nullptr)},
            {"created_at", t.created_at}};
  std::uint64_t seeders = 0, leechers = 0, completed = t.completed;
  std::uint64_t uploaded = t.uploaded, downloaded = t.downloaded;
  swarms.with(t.primary, [&](swarm& s) {
    seeders = s.seeders();
    leechers = s.leechers();
    completed = s.completed();
    uploaded += s.pending().uploaded;
    downloaded += s.pending().downloaded;
  });
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
