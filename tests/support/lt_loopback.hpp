// The settings every libtorrent session a test starts begins from: loopback
// only (127.0.0.1, port picked by the kernel), DHT, LSD, UPnP and NAT-PMP
// off, and several sessions per address (all of them are on 127.0.0.1).
// Header-only: the tests that include it already link libtorrent.
#pragma once

#include <libtorrent/settings_pack.hpp>

namespace blobswarm::test {

inline lt::settings_pack loopback_session_settings() {
  lt::settings_pack s;
  s.set_str(lt::settings_pack::listen_interfaces, "127.0.0.1:0");
  s.set_bool(lt::settings_pack::enable_dht, false);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  return s;
}

}  // namespace blobswarm::test
