// The mirror's settings checks.
#include "mirror/settings.hpp"

#include <gtest/gtest.h>

#include "common/config.hpp"

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

TEST(mirror_settings, seeder_is_one_url_as_before_or_every_seeder_replicas) {
  settings s;
  s.passkey_file = "/run/secrets/passkey";
  for (auto text : {R"({"seeder": "http://seeder:8001"})",
                    R"({"seeder": ["http://seeder-a:8001", "http://seeder-b:8001/"]})"}) {
    auto j = nlohmann::json::parse(text);
    ASSERT_TRUE(config::read_json(j, s)) << text;
    EXPECT_TRUE(s.validate()) << text << ": " << s.validate().error().message;
  }
  EXPECT_EQ(s.seeder.size(), 2u);
  struct row {
    std::vector<std::string> urls;
    const char* message;
  };
  for (const auto& [urls, message] : std::initializer_list<row>{
           {{}, "seeder: at least one URL is required"},
           {{"seeder-a:8001"}, "seeder: 'seeder-a:8001' is not an http(s) URL"},
           {{"http://a:8001", "http://a:8001/"}, "seeder: 'http://a:8001/' is listed twice"}}) {
    s.seeder = config::string_list(urls);
    auto r = s.validate();
    ASSERT_FALSE(r) << message;
    EXPECT_EQ(r.error().message, message);
  }
}

TEST(mirror_settings, libtorrent_entries_are_read_from_the_config_file_and_checked) {
  settings s;
  s.passkey_file = "/run/secrets/passkey";
  auto j =
      nlohmann::json::parse(R"({"libtorrent": {"request_queue_time": 1, "tick_interval": 50}})");
  ASSERT_TRUE(config::read_json(j, s));
  EXPECT_EQ(s.libtorrent.at("request_queue_time"), 1);
  EXPECT_TRUE(s.validate());

  s.libtorrent = {{"enable_dht", true}};
  auto r = s.validate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "libtorrent setting 'enable_dht' is decided by blobswarm and cannot be set");

  settings t;
  auto bad =
      config::read_json(nlohmann::json::parse(R"({"libtorrent": {"tick_interval": 0.5}})"), t);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "config key 'libtorrent.tick_interval' must be a string, true or false, or an integer, "
            "not number");
}

}  // namespace
}  // namespace blobswarm::mirror
