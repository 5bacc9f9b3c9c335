// async_event moved to common/ (the mirror's file downloads use it too);
// the seeder keeps its name for it.
#pragma once

#include "common/async_event.hpp"

namespace blobswarm::seeder {
using blobswarm::async_event;
}  // namespace blobswarm::seeder
