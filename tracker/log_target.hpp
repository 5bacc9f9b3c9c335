// loggable_target: a request target as the access log may show it. Announce
// and scrape paths carry the user's passkey (/announce/<passkey>) and the
// query carries the client's `key`: both are shortened with
// logging::redact(); long targets are cut.
#pragma once

#include <string>
#include <string_view>

namespace blobswarm::tracker {

std::string loggable_target(std::string_view target);

}  // namespace blobswarm::tracker
