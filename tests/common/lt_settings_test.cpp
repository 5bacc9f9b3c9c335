// The private-swarm baseline every session shares, and libtorrent settings
// named in a config file (common/lt_settings).
#include "common/lt_settings.hpp"

#include <gtest/gtest.h>

#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>

namespace blobswarm::lt_settings {
namespace {

TEST(lt_settings, applies_entries_of_every_type_by_libtorrents_names) {
  overrides o{{"request_queue_time", 1},
              {"enable_outgoing_utp", true},
              {"user_agent", "tuned/1"},
              {"send_buffer_watermark", 2048}};
  lt::settings_pack pack;
  ASSERT_TRUE(lt_settings::apply(o, pack)) << lt_settings::apply(o, pack).error().message;
  EXPECT_EQ(pack.get_int(lt::settings_pack::request_queue_time), 1);
  EXPECT_TRUE(pack.get_bool(lt::settings_pack::enable_outgoing_utp));
  EXPECT_EQ(pack.get_str(lt::settings_pack::user_agent), "tuned/1");
  EXPECT_EQ(pack.get_int(lt::settings_pack::send_buffer_watermark), 2048);
}

TEST(lt_settings, rejects_unknown_names_and_values_of_the_wrong_type) {
  struct bad {
    overrides o;
    std::string message;
  };
  const bad cases[] = {
      {{{"request_queue_tme", 1}},
       "libtorrent has no setting 'request_queue_tme' (names as in libtorrent's settings_pack)"},
      {{{"request_queue_time", "1"}},
       "libtorrent setting 'request_queue_time' must be a 32-bit integer"},
      {{{"request_queue_time", 1LL << 40}},
       "libtorrent setting 'request_queue_time' must be a 32-bit integer"},
      {{{"enable_outgoing_utp", 1}},
       "libtorrent setting 'enable_outgoing_utp' must be true or false"},
      {{{"user_agent", false}}, "libtorrent setting 'user_agent' must be a string"},
  };
  for (const auto& c : cases) {
    auto r = validate(c.o);
    ASSERT_FALSE(r) << c.message;
    EXPECT_EQ(r.error().message, c.message);
    lt::settings_pack pack;
    EXPECT_FALSE(lt_settings::apply(c.o, pack));
  }
}

TEST(lt_settings, the_entries_that_keep_swarms_private_cannot_be_set) {
  for (const char* name : {"enable_dht", "enable_lsd", "enable_upnp", "enable_natpmp"}) {
    auto r = validate({{name, true}});
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(
        r.error().message,
        fmt::format("libtorrent setting '{}' is decided by blobswarm and cannot be set", name));
  }
  EXPECT_FALSE(validate({{"listen_interfaces", "0.0.0.0:1"}}));
  EXPECT_FALSE(validate({{"peer_fingerprint", "-XX0000-"}}));
  EXPECT_FALSE(validate({{"alert_mask", 0}}));
  lt::settings_pack pack;
  pack.set_bool(lt::settings_pack::enable_dht, false);
  EXPECT_FALSE(lt_settings::apply({{"enable_dht", true}}, pack));
  EXPECT_FALSE(pack.get_bool(lt::settings_pack::enable_dht));
}

// high_performance_seed() (the seeder's start) and a default pack (the
// mirror's) both end up private, TCP-only and identified.
TEST(lt_settings, the_baseline_keeps_every_session_private_and_identified) {
  for (auto start : {lt::settings_pack(), lt::high_performance_seed()}) {
    auto pack = start;
    pack.set_bool(lt::settings_pack::enable_dht, true);
    pack.set_bool(lt::settings_pack::enable_lsd, true);
    private_swarm_baseline(pack, {"127.0.0.1:0", "-XX0100-", "blobswarm-test/1"});
    for (auto off :
         {lt::settings_pack::enable_dht, lt::settings_pack::enable_lsd,
          lt::settings_pack::enable_upnp, lt::settings_pack::enable_natpmp,
          lt::settings_pack::enable_incoming_utp, lt::settings_pack::enable_outgoing_utp}) {
      EXPECT_FALSE(pack.get_bool(off)) << lt::name_for_setting(off);
    }
    EXPECT_TRUE(pack.get_bool(lt::settings_pack::allow_multiple_connections_per_ip));
    for (auto unlimited : {lt::settings_pack::active_downloads, lt::settings_pack::active_seeds,
                           lt::settings_pack::active_limit}) {
      EXPECT_EQ(pack.get_int(unlimited), -1) << lt::name_for_setting(unlimited);
    }
    EXPECT_EQ(pack.get_int(lt::settings_pack::tick_interval), 100);
    EXPECT_EQ(pack.get_str(lt::settings_pack::listen_interfaces), "127.0.0.1:0");
    EXPECT_EQ(pack.get_str(lt::settings_pack::peer_fingerprint), "-XX0100-");
    EXPECT_EQ(pack.get_str(lt::settings_pack::user_agent), "blobswarm-test/1");
    // What keeps the swarm private cannot be set back from a config file.
    EXPECT_FALSE(lt_settings::apply({{"enable_dht", true}}, pack));
    EXPECT_FALSE(pack.get_bool(lt::settings_pack::enable_dht));
  }
}

TEST(lt_settings, rate_limits_hold_for_loopback_and_private_addresses) {
  lt::settings_pack pack;
  private_swarm_baseline(pack, {"127.0.0.1:0", "-XX0100-", "blobswarm-test/1"});
  lt::session session(lt::session_params(std::move(pack)));
  auto global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
  // Without the filter libtorrent puts local peers in its local class,
  // which no rate limit applies to.
  EXPECT_NE(session.get_peer_class_filter().access(lt::make_address("127.0.0.1")), global);
  rate_limit_every_address(session);
  auto classes = session.get_peer_class_filter();
  for (auto a : {"127.0.0.1", "10.1.2.3", "192.168.0.1", "203.0.113.5", "::1", "fd00::1"}) {
    EXPECT_EQ(classes.access(lt::make_address(a)), global) << a;
  }
}

}  // namespace
}  // namespace blobswarm::lt_settings
