// piece_gate: the seeder sends each piece out once. The ownership rules on
// their own (no sockets, time passed in), then the seeder's real libtorrent
// session with two real libtorrent leechers on loopback.
#include "seeder/piece_gate.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <thread>

#include "common/hasher.hpp"
#include "common/logging.hpp"
#include "common/peer_fingerprint.hpp"
#include "mirror/keep_origins.hpp"
#include "seeder/blob_torrents.hpp"
#include "seeder/piece_layout.hpp"
#include "seeder/torrent_session.hpp"
#include "tests/support/lt_loopback.hpp"
#include "tests/support/support.hpp"
#include "torrentgen/piece_hasher.hpp"

namespace blobswarm::seeder {
namespace {

using namespace std::chrono_literals;
using verdict = piece_owners::verdict;
using clock = piece_owners::clock;

TEST(piece_owners, the_first_to_ask_owns_a_piece_and_the_others_are_held_back) {
  piece_owners o(5s);
  auto t = clock::time_point{} + 1h;
  EXPECT_EQ(o.request(1, 7, t), verdict::serve);
  EXPECT_EQ(o.request(1, 7, t), verdict::serve);  // the owner's next blocks
  EXPECT_EQ(o.request(2, 7, t), verdict::hold_new);
  EXPECT_EQ(o.request(2, 7, t), verdict::hold_again);  // sent before it heard
  EXPECT_EQ(o.request(2, 8, t), verdict::serve);       // unowned: 2 owns it
  EXPECT_EQ(o.request(1, 8, t), verdict::hold_new);
  EXPECT_TRUE(o.due(2, t + 4s).resend.empty());
}

TEST(piece_owners, a_peer_that_still_lacks_a_piece_after_resend_after_is_served) {
  piece_owners o(5s);
  auto t = clock::time_point{} + 1h;
  o.request(1, 3, t);
  o.request(2, 3, t);
  o.request(3, 3, t + 2s);
  EXPECT_EQ(o.due(2, t + 5s).resend, std::vector<int>{3});
  EXPECT_TRUE(o.due(2, t + 6s).resend.empty());  // announced once
  EXPECT_EQ(o.request(2, 3, t + 6s), verdict::serve);
  EXPECT_TRUE(o.due(3, t + 6s).resend.empty());  // its own clock
  EXPECT_EQ(o.due(3, t + 7s).resend, std::vector<int>{3});
}

TEST(piece_owners, a_peer_that_got_the_piece_elsewhere_is_not_sent_it) {
  piece_owners o(5s);
  auto t = clock::time_point{} + 1h;
  o.request(1, 3, t);
  o.request(2, 3, t);
  o.has(2, 3);
  EXPECT_TRUE(o.due(2, t + 10s).resend.empty());
}

TEST(piece_owners, an_owner_that_leaves_frees_its_pieces_at_once) {
  piece_owners o(5s);
  auto t = clock::time_point{} + 1h;
  o.request(1, 3, t);
  o.request(1, 4, t);
  o.request(2, 3, t);
  o.request(2, 4, t);
  o.has(1, 4);  // 1 got piece 4 and reported it, not piece 3
  o.left(1);
  // Whether or not 1 had them, nobody here is known to: both are served to
  // the peer held back from them, which owns them now.
  EXPECT_EQ(o.due(2, t + 1s).resend, (std::vector<int>{3, 4}));
  EXPECT_EQ(o.request(2, 3, t + 1s), verdict::serve);
  EXPECT_EQ(o.request(2, 4, t + 1s), verdict::serve);
  EXPECT_EQ(o.request(3, 3, t + 1s), verdict::hold_new);
  EXPECT_EQ(o.request(3, 4, t + 1s), verdict::hold_new);
}

// The second wave: every node of the first has gone. A new node asking for
// any piece is served at once, not held for resend_after per piece.
TEST(piece_owners, a_new_wave_is_not_held_back_by_nodes_that_left) {
  piece_owners o(10s);
  auto t = clock::time_point{} + 1h;
  for (int piece = 0; piece < 40; ++piece) {
    piece_owners::peer_key first_wave = 1 + static_cast<piece_owners::peer_key>(piece % 4);
    EXPECT_EQ(o.request(first_wave, piece, t), verdict::serve);
    o.has(first_wave, piece);
  }
  for (piece_owners::peer_key p = 1; p <= 4; ++p) o.left(p);
  auto later = t + 1min;
  for (int piece = 0; piece < 40; ++piece) {
    piece_owners::peer_key second_wave = 11 + static_cast<piece_owners::peer_key>(piece % 4);
    EXPECT_EQ(o.request(second_wave, piece, later), verdict::serve) << piece;
  }
}

TEST(piece_owners, a_peer_that_leaves_forgets_its_holds) {
  piece_owners o(5s);
  auto t = clock::time_point{} + 1h;
  o.request(1, 3, t);
  o.request(2, 3, t);
  o.left(2);
  EXPECT_TRUE(o.due(2, t + 10s).resend.empty());
  EXPECT_EQ(o.request(2, 3, t + 10s), verdict::hold_new);  // a new connection
}

TEST(piece_owners, a_peer_owning_more_than_twice_the_median_is_refused_fresh_pieces) {
  piece_owners o(10s);
  auto t = clock::time_point{} + 1h;
  for (piece_owners::peer_key p : {2, 3, 4}) EXPECT_EQ(o.request(p, 100 + p, t), verdict::serve);
  // Owned: 1, 1, 1 and peer 1's. Median (upper) 1: peer 1 may own 2 + 16.
  auto t1 = t + 200ms;
  for (int piece = 0; piece < 19; ++piece) {
    EXPECT_EQ(o.request(1, piece, t1), verdict::serve) << piece;
  }
  EXPECT_EQ(o.request(1, 19, t1), verdict::hold_new);
  EXPECT_EQ(o.request(1, 19, t1), verdict::hold_again);
  EXPECT_EQ(o.request(1, 20, t1), verdict::hold_new);
  // Peers under their share take fresh pieces as before.
  EXPECT_EQ(o.request(2, 20, t1), verdict::serve);
  // A moment later peer 1 hears of piece 19 again (nobody took it) and is
  // judged afresh; piece 20 is held back from peer 2 now, like any other.
  EXPECT_TRUE(o.due(1, t1 + 100ms).retry.empty());
  auto d = o.due(1, t1 + 600ms);
  EXPECT_EQ(d.retry, std::vector<int>{19});
  EXPECT_TRUE(d.resend.empty());
  EXPECT_EQ(o.request(1, 20, t1 + 700ms), verdict::hold_again);
  EXPECT_EQ(o.due(1, t1 + 600ms + 10s).resend, std::vector<int>{20});
}

TEST(piece_owners, fairness_counts_only_peers_asking_now_and_never_holds_back_one_of_two) {
  piece_owners o(10s);
  auto t = clock::time_point{} + 1h;
  // Two peers: one fast, one that asked once. The fast one is never held back.
  EXPECT_EQ(o.request(2, 1000, t), verdict::serve);
  for (int piece = 0; piece < 200; ++piece) {
    EXPECT_EQ(o.request(1, piece, t + std::chrono::milliseconds(piece)), verdict::serve) << piece;
  }
  // Three more that asked long ago (gone quiet) do not lower the median.
  for (piece_owners::peer_key p : {3, 4, 5}) o.request(p, 2000 + static_cast<int>(p), t - 10s);
  EXPECT_EQ(o.request(1, 200, t + 1s), verdict::serve);
}

// A blob seeded by the seeder's torrent_session, with its .torrent.
struct seeded_blob {
  std::string bytes;
  std::string torrent;
  std::filesystem::path path;
};

seeded_blob make_blob(const test::temp_dir& dir, std::size_t size) {
  seeded_blob b;
  b.bytes = test::random_bytes(size, 42);
  auto d = *digest::from_raw(hash_algorithm::sha256, sha256(b.bytes));
  auto layout = piece_layout::make(size, 0);
  torrentgen::piece_hasher h(layout.piece_length);
  h.update(std::as_bytes(std::span(b.bytes.data(), b.bytes.size())));
  h.finish();
  auto hashes = h.hashes();
  auto t = make_whole_torrent(d, layout, hashes);
  EXPECT_TRUE(t) << t.error().message;
  b.torrent = t->bytes;
  b.path = dir / std::string(d.hex());
  test::write_text(b.path, b.bytes);
  return b;
}

struct leecher_kind {
  bool mirror = true;
  bool encrypted = false;           // RC4-encrypted connections only
  std::chrono::seconds linger{30};  // a mirror's stay after completing (keep_origins)
};

// A libtorrent client on loopback: a mirror's peer id and its
// keep_origins plugin, or (mirror false) any other client.
class leecher {
 public:
  leecher(const seeded_blob& blob, const std::filesystem::path& save, std::uint16_t seeder_port,
          leecher_kind k = {}) {
    auto pack = test::loopback_session_settings();
    pack.set_bool(lt::settings_pack::enable_incoming_utp, false);
    pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    pack.set_int(lt::settings_pack::alert_mask, 0);
    if (k.encrypted) {
      pack.set_int(lt::settings_pack::out_enc_policy, lt::settings_pack::pe_forced);
      pack.set_int(lt::settings_pack::in_enc_policy, lt::settings_pack::pe_forced);
      pack.set_int(lt::settings_pack::allowed_enc_level, lt::settings_pack::pe_rc4);
    }
    if (k.mirror) {
      pack.set_str(lt::settings_pack::peer_fingerprint, std::string(peer_fingerprint::mirror));
    }
    session_ = std::make_unique<lt::session>(lt::session_params(std::move(pack)));
    if (k.mirror) session_->add_extension(mirror::make_keep_origins(k.linger));
    lt::add_torrent_params p;
    p.ti = std::make_shared<lt::torrent_info>(
        lt::span<const char>(blob.torrent.data(), static_cast<std::ptrdiff_t>(blob.torrent.size())),
        lt::from_span);
    p.save_path = save.string();
    p.peers.emplace_back(lt::make_address("127.0.0.1"), seeder_port);
    handle_ = session_->add_torrent(std::move(p));
  }

  std::uint16_t port() const { return session_->listen_port(); }
  void connect_to(const leecher& other) {
    handle_.connect_peer(lt::tcp::endpoint(lt::make_address("127.0.0.1"), other.port()));
  }
  bool done() const { return handle_.status().is_seeding; }

 private:
  std::unique_ptr<lt::session> session_;
  lt::torrent_handle handle_;
};

class piece_gate_swarm : public ::testing::Test {
 protected:
  // Runs `f` on the session's executor (where its members are called).
  template <class F>
  auto on_io(F f) -> decltype(f()) {
    std::promise<decltype(f())> p;
    asio::post(io_, [&] { p.set_value(f()); });
    return p.get_future().get();
  }

  void start(std::chrono::milliseconds resend_after) {
    session_ =
        std::make_unique<torrent_session>(io_,
                                          session_options{.listen = "127.0.0.1:0",
                                                          // Slow enough that both leechers ask for
                                                          // pieces the other is being sent.
                                                          .upload_rate_limit = 2 << 20,
                                                          .resend_after = resend_after},
                                          logging::get("torrent"));
    blob_ = make_blob(dir_, 3 << 20);
    ASSERT_TRUE(
        on_io([this] { return session_->add_seed(blob_.torrent, blob_.path).has_value(); }));
    ASSERT_TRUE(test::wait_for(
        [this] { return on_io([this] { return session_->listen_port().has_value(); }); }));
  }

  session_stats stats() {
    return on_io([this] { return session_->stats(); });
  }

  void TearDown() override {
    if (session_)
      on_io([this] {
        session_->shutdown();
        return 0;
      });
    work_.reset();
  }

  std::uint16_t seeder_port() {
    return *on_io([this] { return session_->listen_port(); });
  }

  test::temp_dir dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<torrent_session> session_;
  seeded_blob blob_;
  // Runs from the start, so a failed assertion never leaves on_io waiting.
  std::jthread thread_{[this] {
    io_.run();
  }};
};

TEST_F(piece_gate_swarm, two_leechers_that_know_each_other_get_each_piece_from_the_seeder_once) {
  start(30s);
  test::temp_dir a_dir, b_dir;
  leecher a(blob_, a_dir.path(), seeder_port());
  leecher b(blob_, b_dir.path(), seeder_port());
  ASSERT_TRUE(test::wait_for([&] { return a.port() && b.port(); }));
  a.connect_to(b);
  ASSERT_TRUE(test::wait_for([&] { return a.done() && b.done(); }, 60s));
  auto name = blob_.path.filename().string();
  EXPECT_EQ(test::read_text(a_dir / name), blob_.bytes);
  EXPECT_EQ(test::read_text(b_dir / name), blob_.bytes);
  // Uploads are counted on the session's once-a-second stats tick.
  ASSERT_TRUE(test::wait_for([&] { return stats().uploaded_payload >= blob_.bytes.size(); }));
  auto s = stats();
  EXPECT_GT(s.pieces_held, 0u);
  // The first to finish stays connected a while (keep_origins), so the
  // pieces it owns stay pointed at it: none announced to the other again.
  EXPECT_EQ(s.pieces_resent, 0u);
  // Each piece left once; what a leecher asked for that the other already
  // had in flight came from the other.
  EXPECT_LE(s.uploaded_payload, blob_.bytes.size() * 11 / 10);
}

// A mirror that completed stays connected to the seeder for its linger
// (its pieces stay owned by it for nodes arriving soon after), then leaves
// by itself, which frees them; the seeder never closes it as redundant.
TEST_F(piece_gate_swarm, a_finished_mirror_stays_for_its_linger_then_leaves) {
  start(30s);
  test::temp_dir a_dir;
  leecher a(blob_, a_dir.path(), seeder_port(), {.linger = std::chrono::seconds(3)});
  ASSERT_TRUE(test::wait_for([&] { return a.done(); }, 60s));
  auto finished = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1500ms);  // the linger is the subject
  EXPECT_EQ(stats().peers, 1u) << "the finished mirror left before its linger was over";
  ASSERT_TRUE(test::wait_for([&] { return stats().peers == 0; }, 10s))
      << "the finished mirror never left";
  EXPECT_GE(std::chrono::steady_clock::now() - finished, 2s);
}

TEST_F(piece_gate_swarm, rc4_encrypted_connections_are_served_as_usual) {
  // The gate's messages go into the send buffer unencrypted; it leaves
  // peers that insist on RC4 alone (libtorrent's default, as the other
  // tests run, is plaintext after an obfuscated handshake).
  start(30s);
  test::temp_dir a_dir, b_dir;
  leecher a(blob_, a_dir.path(), seeder_port(), {.encrypted = true});
  leecher b(blob_, b_dir.path(), seeder_port(), {.encrypted = true});
  ASSERT_TRUE(test::wait_for([&] { return a.port() && b.port(); }));
  a.connect_to(b);
  ASSERT_TRUE(test::wait_for([&] { return a.done() && b.done(); }, 60s));
  auto name = blob_.path.filename().string();
  EXPECT_EQ(test::read_text(a_dir / name), blob_.bytes);
  EXPECT_EQ(test::read_text(b_dir / name), blob_.bytes);
  EXPECT_EQ(stats().pieces_held, 0u);
}

TEST_F(piece_gate_swarm, a_leecher_that_cannot_reach_the_owner_is_sent_the_piece_after_all) {
  start(300ms);
  test::temp_dir a_dir, b_dir;
  leecher a(blob_, a_dir.path(), seeder_port());
  leecher b(blob_, b_dir.path(), seeder_port());  // never told of each other
  ASSERT_TRUE(test::wait_for([&] { return a.done() && b.done(); }, 60s));
  auto name = blob_.path.filename().string();
  EXPECT_EQ(test::read_text(a_dir / name), blob_.bytes);
  EXPECT_EQ(test::read_text(b_dir / name), blob_.bytes);
  auto s = stats();
  EXPECT_GT(s.pieces_held, 0u);
  EXPECT_GT(s.pieces_resent, 0u);
}

TEST_F(piece_gate_swarm, other_clients_are_served_every_piece_they_ask_for) {
  start(30s);
  test::temp_dir a_dir, b_dir;
  leecher a(blob_, a_dir.path(), seeder_port(), {.mirror = false});
  leecher b(blob_, b_dir.path(), seeder_port(), {.mirror = false});
  ASSERT_TRUE(test::wait_for([&] { return a.done() && b.done(); }, 60s));
  auto s = stats();
  EXPECT_EQ(s.pieces_held, 0u);
}

TEST_F(piece_gate_swarm, resend_after_zero_serves_every_request) {
  start(0ms);
  test::temp_dir a_dir, b_dir;
  leecher a(blob_, a_dir.path(), seeder_port());
  leecher b(blob_, b_dir.path(), seeder_port());
  ASSERT_TRUE(test::wait_for([&] { return a.done() && b.done(); }, 60s));
  auto s = stats();
  EXPECT_EQ(s.pieces_held, 0u);
  EXPECT_EQ(s.pieces_resent, 0u) << "uploaded " << s.uploaded_payload << " of "
                                 << blob_.bytes.size();
}

}  // namespace
}  // namespace blobswarm::seeder
