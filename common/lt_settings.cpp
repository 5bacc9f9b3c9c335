#include "common/lt_settings.hpp"

#include <array>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

namespace blobswarm::lt_settings {

namespace {

// What blobswarm decides itself: private swarms only, and what the service
// needs to see and be recognized by.
constexpr std::array<std::string_view, 9> reserved{
    "enable_dht",    "enable_lsd",          "enable_upnp",
    "enable_natpmp", "listen_interfaces",   "peer_fingerprint",
    "alert_mask",    "dht_bootstrap_nodes", "outgoing_interfaces"};

// The entry's settings_pack index, once its name and value check out.
result<int> check(const std::string& name, const nlohmann::json& value) {
  for (auto r : reserved) {
    if (name == r) {
      return fail(errc::invalid_argument,
                  "libtorrent setting '{}' is decided by blobswarm and cannot be set", name);
    }
  }
  int index = lt::setting_by_name(name);
  if (index < 0) {
    return fail(errc::invalid_argument,
                "libtorrent has no setting '{}' (names as in libtorrent's settings_pack)", name);
  }
  switch (index & lt::settings_pack::type_mask) {
    case lt::settings_pack::string_type_base:
      if (!value.is_string()) {
        return fail(errc::invalid_argument, "libtorrent setting '{}' must be a string", name);
      }
      break;
    case lt::settings_pack::bool_type_base:
      if (!value.is_boolean()) {
        return fail(errc::invalid_argument, "libtorrent setting '{}' must be true or false", name);
      }
      break;
    case lt::settings_pack::int_type_base: {
      bool fits = value.is_number_integer() &&
                  (value.is_number_unsigned()
                       ? value.get<std::uint64_t>() <=
                             static_cast<std::uint64_t>(std::numeric_limits<int>::max())
                       : value.get<std::int64_t>() >= std::numeric_limits<int>::min() &&
                             value.get<std::int64_t>() <= std::numeric_limits<int>::max());
      if (!fits) {
        return fail(errc::invalid_argument, "libtorrent setting '{}' must be a 32-bit integer",
                    name);
      }
      break;
    }
    default:
      return fail(errc::invalid_argument, "libtorrent setting '{}' has an unknown type", name);
  }
  return index;
}

}  // namespace

void private_swarm_baseline(lt::settings_pack& pack, const session_identity& who) {
  pack.set_str(lt::settings_pack::listen_interfaces, who.listen);
  pack.set_bool(lt::settings_pack::enable_dht, false);
  pack.set_bool(lt::settings_pack::enable_lsd, false);
  pack.set_bool(lt::settings_pack::enable_upnp, false);
  pack.set_bool(lt::settings_pack::enable_natpmp, false);
  // TCP only. With uTP on, libtorrent first tries every peer over uTP; a
  // peer that does not accept it (the seeder never did) made each new blob
  // wait for a uTP connect timeout (3 s) before its TCP connection
  // (measured with bench/swarm: every 8 MiB blob took 5 s instead of 1 s).
  pack.set_bool(lt::settings_pack::enable_incoming_utp, false);
  pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
  // Nodes share addresses in tests, replicated seeders and nodes behind
  // NAT: several sessions per IP are normal.
  pack.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  // Torrents are added unmanaged; make sure queuing could never hold one back.
  pack.set_int(lt::settings_pack::active_downloads, -1);
  pack.set_int(lt::settings_pack::active_seeds, -1);
  pack.set_int(lt::settings_pack::active_limit, -1);
  // libtorrent announces and connects new torrents on its tick; the
  // default 500 ms delays each blob (and each segment torrent) that much.
  pack.set_int(lt::settings_pack::tick_interval, 100);
  pack.set_str(lt::settings_pack::peer_fingerprint, who.peer_fingerprint);
  pack.set_str(lt::settings_pack::user_agent, who.user_agent);
}

void rate_limit_every_address(lt::session& session) {
  auto global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
  lt::ip_filter classes;
  classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
  classes.add_rule(lt::make_address("::"),
                   lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
  session.set_peer_class_filter(classes);
}

result<void> validate(const overrides& entries) {
  for (const auto& [name, value] : entries) {
    if (auto r = check(name, value); !r) return fail(r.error());
  }
  return {};
}

result<void> apply(const overrides& entries, lt::settings_pack& pack) {
  // All or nothing: every entry is checked before any is set.
  std::vector<std::pair<int, const nlohmann::json*>> checked;
  for (const auto& [name, value] : entries) {
    auto index = check(name, value);
    if (!index) return fail(index.error());
    checked.emplace_back(*index, &value);
  }
  for (const auto& [index, value] : checked) {
    switch (index & lt::settings_pack::type_mask) {
      case lt::settings_pack::string_type_base:
        pack.set_str(index, value->get<std::string>());
        break;
      case lt::settings_pack::bool_type_base:
        pack.set_bool(index, value->get<bool>());
        break;
      default:
        pack.set_int(index, static_cast<int>(value->get<std::int64_t>()));
        break;
    }
  }
  return {};
}

}  // namespace blobswarm::lt_settings
