#include "tracker/zone_map.hpp"

#include <algorithm>

#include "tracker/announce_request.hpp"

namespace blobswarm::tracker {

zone_id zone_of_name(std::string_view name) noexcept {
  if (name.empty()) return 0;
  auto h = fnv1a64(name);
  return static_cast<zone_id>(h ^ (h >> 32)) | 1u;
}

result<zone_map> zone_map::build(const std::vector<zone_rule>& rules) {
  zone_map m;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    auto block = cidr::parse(r.cidr);
    if (!block) return fail(block.error().with_context(fmt::format("zones[{}].cidr", i)));
    // Same rule as the zone= parameter, so every zone can also be named by clients.
    bool ok = !r.zone.empty() && r.zone.size() <= 64;
    for (char c : r.zone) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-');
    }
    if (!ok) {
      return fail(errc::invalid_argument,
                  "zones[{}].zone: '{}' is not 1-64 characters of [A-Za-z0-9._-]", i, r.zone);
    }
    m.rules_.push_back({*block, zone_of_name(r.zone)});
  }
  std::stable_sort(m.rules_.begin(), m.rules_.end(),
                   [](const entry& a, const entry& b) { return a.block.prefix > b.block.prefix; });
  return m;
}

zone_id zone_map::lookup(const ip_address& a) const noexcept {
  for (const auto& r : rules_) {
    if (r.block.contains(a)) return r.zone;
  }
  return 0;
}

}  // namespace blobswarm::tracker
