#include "mirror/keep_origins.hpp"

#include <libtorrent/error_code.hpp>
#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/torrent_handle.hpp>

#include "common/peer_fingerprint.hpp"

namespace blobswarm::mirror {

namespace {

class keep_peer final : public lt::peer_plugin {
 public:
  explicit keep_peer(const lt::peer_connection_handle& pc) : pc_(pc) {}

  lt::string_view type() const override { return "blobswarm_keep_origins"; }

  bool can_disconnect(const lt::error_code& ec) override {
    if (ec != lt::errors::uninteresting_upload_peer) return true;
    const auto& id = pc_.pid();
    return !peer_fingerprint::is_seeder(std::string_view(id.data(), id.size()));
  }

 private:
  lt::peer_connection_handle pc_;
};

class keep_torrent final : public lt::torrent_plugin {
 public:
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    if (pc.type() != lt::connection_type::bittorrent) return nullptr;
    return std::make_shared<keep_peer>(pc);
  }
};

class keep_plugin final : public lt::plugin {
 public:
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&,
                                                  lt::client_data_t) override {
    return std::make_shared<keep_torrent>();
  }
};

}  // namespace

std::shared_ptr<lt::plugin> make_keep_origins() {
  return std::make_shared<keep_plugin>();
}

}  // namespace blobswarm::mirror
