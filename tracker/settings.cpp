#include "tracker/settings.hpp"

#include "common/net.hpp"

namespace blobswarm::tracker {

result<void> settings::validate() const {
  if (auto l = host_port::parse(listen); !l) return fail(l.error().with_context("listen"));
  if (min_interval > announce_interval) {
    return fail(errc::invalid_argument, "min_interval must not exceed announce_interval");
  }
  return log.validate();
}

}  // namespace blobswarm::tracker
