// The JSON of an indexed torrent, shared by the REST API and the web UI:
// the index row plus its swarm's live counts and not yet flushed totals.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "common/info_hash.hpp"
#include "tracker/store.hpp"
#include "tracker/swarm_table.hpp"

namespace blobswarm::tracker {

nlohmann::json hex_or_null(const std::optional<info_hash>& h);

nlohmann::json torrent_json(const torrent_row& t, swarm_table& swarms);

}  // namespace blobswarm::tracker
