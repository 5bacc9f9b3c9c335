// The mirror's settings checks.
#include "mirror/settings.hpp"

#include <gtest/gtest.h>

namespace blobswarm::mirror {
namespace {

TEST(mirror_settings, disk_io_is_inline_or_threads) {
  settings s;
  s.passkey_file = "/run/secrets/passkey";
  ASSERT_TRUE(s.validate()) << s.validate().error().message;
  EXPECT_EQ(s.disk_io, "inline");
  s.disk_io = "threads";
  EXPECT_TRUE(s.validate());
  s.disk_io = "mmap";
  auto r = s.validate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "disk_io must be 'inline' or 'threads', got 'mmap'");
}

}  // namespace
}  // namespace blobswarm::mirror
