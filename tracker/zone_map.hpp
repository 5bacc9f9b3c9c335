// zone_map: which zone (rack, data centre, site) an address is in, from
// configured CIDR -> zone rules, longest prefix first. Zones steer the peer
// handout: same-zone peers are preferred. A zone is identified by a hash of
// its name, so a name sent by a client (`zone=`) and the same name in the
// configuration agree without any shared, mutable name table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/net.hpp"

namespace blobswarm::tracker {

using zone_id = std::uint32_t;  // 0: no zone known
zone_id zone_of_name(std::string_view name) noexcept;

// One configuration entry: {"cidr": "10.1.0.0/16", "zone": "dc1"}.
struct zone_rule {
  std::string cidr;
  std::string zone;

  template <class V>
  void visit(V& v) {
    v("cidr", cidr, "address block, e.g. 10.1.0.0/16 or fd00:1::/48");
    v("zone", zone, "zone name ([A-Za-z0-9._-], up to 64 characters)");
  }
};

class zone_map {
 public:
  zone_map() = default;
  static result<zone_map> build(const std::vector<zone_rule>& rules);

  // The zone of the most specific rule containing `a`; 0 when none does.
  zone_id lookup(const ip_address& a) const noexcept;
  std::size_t size() const noexcept { return rules_.size(); }

 private:
  struct entry {
    cidr block;
    zone_id zone;
  };
  std::vector<entry> rules_;  // longest prefix first
};

}  // namespace blobswarm::tracker
