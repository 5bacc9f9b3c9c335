// The JSON of an indexed torrent and of a user, shared by the REST API and
// the web UI: the index row plus its swarm's (or user's) live counts and
// not yet flushed totals.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/info_hash.hpp"
#include "tracker/peer_store.hpp"
#include "tracker/store.hpp"
#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

nlohmann::json hex_or_null(const std::optional<info_hash>& h);

// `live`: the swarm's figures (none: zeros, e.g. while the peer store is down).
nlohmann::json torrent_json(const torrent_row& t, const std::optional<swarm_counts>& live);
nlohmann::json torrent_json(const torrent_row& t, peer_store& peers);
// The live figures of several torrents in one exchange with the peer store
// (all none when it cannot be reached).
std::vector<std::optional<swarm_counts>> live_counts(peer_store& peers,
                                                     const std::vector<torrent_row>& rows);

// What registering a torrent answers besides the torrent (REST API and web
// UI alike): "created", "made_private" and, when the tracker added
// private=1, "original_info_hash" (the info-hash of the .torrent as sent).
void add_registration_fields(nlohmann::json& j, const registration_outcome& out);

nlohmann::json user_json(const user_row& u, const user_pending& live);

// "file" (an upload without a digest, or a file a seeder pulled from a
// URL), "blob" or "segment".
std::string_view kind_of(const torrent_row& t);
// Where a node fetches a file through its own mirror (mirror/file_api.hpp),
// as {"fetch_url", "fetch_by_url"}: /files/<v1 info-hash> for a file with a
// v1 hash, and for a file pulled from a URL also /files?url=..&digest=..,
// which has the mirror check the digest. Nulls for blobs (fetched through
// the registry API) and v2-only torrents (which mirrors refuse).
nlohmann::json fetch_urls(const torrent_row& t, std::string_view mirror_url);

}  // namespace blobswarm::tracker
