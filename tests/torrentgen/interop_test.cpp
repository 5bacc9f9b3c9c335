// torrentgen's torrents in other BitTorrent software: transmission-show and
// aria2c read them, and real clients download a directory made by
// torrentgen from a libtorrent seed through a real tracker (opentracker),
// all on 127.0.0.1: aria2c for v1, qbittorrent-nox for hybrid (pad files
// and all). The known gaps of Transmission 3.00 and aria2c 1.36 with
// hybrid torrents are asserted too, so docs/torrentgen.md's compatibility
// table is checked rather than remembered.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/hex.hpp"
#include "tests/support/lt_loopback.hpp"
#include "tests/torrentgen/tg_support.hpp"

namespace blobswarm::torrentgen {
namespace {

namespace fs = std::filesystem;
using testing::file_spec;
using testing::make_files;
using testing::torrentgen;

std::vector<file_spec> swarm_tree() {
  auto files = testing::tricky_tree(65536);
  files.push_back({"big/blob.bin", 3 * 1048576 + 4321});
  return files;
}

// Creates a torrent with torrentgen; returns its path.
fs::path make_torrent_file(const fs::path& data, const fs::path& out, const std::string& format,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"create", data.string(),  "-o",    out.string(), "--format",
                                format,   "--piece-size", "64KiB", "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = torrentgen(args);
  EXPECT_EQ(r.status, 0) << r.err;
  return out;
}

std::optional<fs::path> tool(const std::string& name) {
  auto p = test::find_program(name);
  EXPECT_TRUE(p) << name << " is not installed (scripts/install-deps)";
  return p;
}

TEST(torrentgen_interop, transmission_show_reads_v1) {
  auto show = tool("transmission-show");
  ASSERT_TRUE(show);
  test::temp_dir dir;
  make_files(dir / "data", swarm_tree());
  auto t = make_torrent_file(dir / "data", dir / "v1.torrent", "v1", {"--private"});
  auto r = test::run_command({show->string(), t.string()});
  ASSERT_EQ(r.status, 0) << r.output;
  auto [v1, v2] = testing::lt_info_hashes(t);
  EXPECT_NE(r.output.find("Hash: " + v1), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Private torrent"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Name: data"), std::string::npos) << r.output;
  for (const auto& f : swarm_tree()) {
    EXPECT_NE(r.output.find("data/" + f.path), std::string::npos) << f.path << "\n" << r.output;
  }
}

// Transmission 3.00's bencode parser rejects empty dictionary keys, and
// BEP 52's "file tree" needs them ("": {length, pieces root}) — so no v2 or
// hybrid torrent loads in Transmission 3.00, from any creator.
TEST(torrentgen_interop, transmission_show_3_00_cannot_read_hybrid_or_v2) {
  auto show = tool("transmission-show");
  ASSERT_TRUE(show);
  test::temp_dir dir;
  make_files(dir / "data", {{"f", 100000}});
  for (std::string format : {"hybrid", "v2"}) {
    auto t = make_torrent_file(dir / "data", dir / (format + ".torrent"), format);
    auto r = test::run_command({show->string(), t.string()});
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Error parsing"), std::string::npos) << r.output;
  }
}

TEST(torrentgen_interop, aria2c_lists_the_files_of_v1_and_hybrid_but_not_v2) {
  auto aria2c = tool("aria2c");
  ASSERT_TRUE(aria2c);
  test::temp_dir dir;
  make_files(dir / "data", swarm_tree());
  for (std::string format : {"v1", "hybrid"}) {
    auto t = make_torrent_file(dir / "data", dir / (format + ".torrent"), format);
    auto r = test::run_command({aria2c->string(), "--show-files", t.string()});
    ASSERT_EQ(r.status, 0) << r.output;
    for (const auto& f : swarm_tree()) {
      EXPECT_NE(r.output.find("./data/" + f.path + "\n"), std::string::npos)
          << format << " " << f.path << "\n"
          << r.output;
    }
    auto [v1, v2] = testing::lt_info_hashes(t);
    bool same_hash = r.output.find("Info Hash: " + v1) != std::string::npos;
    // aria2c 1.36 re-encodes the info dictionary and loses the empty keys
    // of the v2 file tree, so it computes another info-hash for hybrids
    // (and cannot join their swarm). v1 torrents are fine.
    EXPECT_EQ(same_hash, format == "v1") << r.output;
  }
  // v2-only torrents have no v1 "pieces", which aria2c 1.36 requires.
  auto v2 = make_torrent_file(dir / "data", dir / "v2.torrent", "v2");
  auto r = test::run_command({aria2c->string(), "--show-files", v2.string()});
  EXPECT_NE(r.output.find("Missing pieces"), std::string::npos) << r.output;
}

bool accepts_connections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// opentracker on 127.0.0.1 that accepts the given info-hashes.
class tracker {
 public:
  tracker(const fs::path& dir, const std::vector<std::string>& hashes) : root_(dir / "tracker") {
    auto bin = test::find_program("opentracker");
    if (!bin) throw std::runtime_error("opentracker is not installed");
    fs::create_directories(root_);
    // It chroots here and drops to nobody, who must be able to read.
    ::chmod(dir.c_str(), 0755);
    ::chmod(root_.c_str(), 0755);
    std::string list;
    for (const auto& h : hashes) list += h + "\n";
    test::write_text(root_ / "whitelist", list);
    ::chmod((root_ / "whitelist").c_str(), 0644);
    port_ = test::free_port();
    proc_ = std::make_unique<test::process>(std::vector<std::string>{
        bin->string(), "-i", "127.0.0.1", "-p", std::to_string(port_), "-P", std::to_string(port_),
        "-d", root_.string(), "-u", "nobody", "-w", "/whitelist"});
    bool up = test::wait_for([&] { return accepts_connections(port_); });
    if (!up) throw std::runtime_error("opentracker did not start: " + proc_->output());
  }
  std::string announce_url() const { return fmt::format("http://127.0.0.1:{}/announce", port_); }

 private:
  fs::path root_;
  std::uint16_t port_ = 0;
  std::unique_ptr<test::process> proc_;
};

// The seeding side: one libtorrent session on 127.0.0.1 with DHT, LSD,
// UPnP and NAT-PMP off. This class alone owns the session.
class libtorrent_seed {
 public:
  libtorrent_seed(const fs::path& torrent, const fs::path& save_path) {
    auto sp = test::loopback_session_settings();
    sp.set_int(lt::settings_pack::alert_mask, lt::alert_category::error);
    session_ = std::make_unique<lt::session>(sp);
    lt::add_torrent_params atp;
    atp.ti = std::make_shared<lt::torrent_info>(torrent.string());
    atp.save_path = save_path.string();
    handle_ = session_->add_torrent(atp);
  }
  // libtorrent checks the files itself first: our hashes must match them.
  bool wait_seeding() {
    return test::wait_for([&] { return handle_.status().is_seeding; }, std::chrono::seconds(30));
  }
  // Payload bytes sent since the torrent was added (updated once a second).
  bool uploaded_at_least(std::int64_t bytes) {
    return test::wait_for([&] { return handle_.status().total_payload_upload >= bytes; },
                          std::chrono::seconds(5));
  }

 private:
  std::unique_ptr<lt::session> session_;
  lt::torrent_handle handle_;
};

std::string hex(const lt::sha1_hash& h) {
  return to_hex(std::string_view(h.data(), h.size()));
}

// Every file of `tree` under `got` has the bytes it has under `want`.
bool same_files(const fs::path& want, const fs::path& got) {
  for (const auto& f : swarm_tree()) {
    if (!fs::exists(got / f.path)) return false;
    if (test::read_text(want / f.path) != test::read_text(got / f.path)) return false;
  }
  return true;
}

TEST(torrentgen_interop, aria2c_downloads_a_v1_directory_from_a_libtorrent_seed) {
  auto aria2c = tool("aria2c");
  ASSERT_TRUE(aria2c);
  test::temp_dir dir;
  make_files(dir / "seed" / "data", swarm_tree());
  auto probe = make_torrent_file(dir / "seed" / "data", dir / "probe.torrent", "v1", {"--private"});
  lt::torrent_info ti(probe.string());
  tracker tr(dir.path(), {hex(ti.info_hashes().v1)});
  auto t = make_torrent_file(dir / "seed" / "data", dir / "v1.torrent", "v1",
                             {"--private", "-t", tr.announce_url()});
  libtorrent_seed seed(t, dir / "seed");
  ASSERT_TRUE(seed.wait_seeding()) << "libtorrent did not accept the data for our torrent";

  test::process client(
      {aria2c->string(), "--dir=" + (dir / "dl").string(), "--enable-dht=false",
       "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
       "--seed-time=0", "--listen-port=" + std::to_string(test::free_port()),
       "--file-allocation=none", "--summary-interval=0", "--bt-stop-timeout=60", t.string()});
  auto status = client.wait(std::chrono::seconds(90));
  ASSERT_TRUE(status.has_value()) << client.output();
  EXPECT_EQ(*status, 0) << client.output();
  EXPECT_TRUE(same_files(dir / "seed" / "data", dir / "dl" / "data"));
  EXPECT_TRUE(seed.uploaded_at_least(3 << 20));  // the bytes came from our seed
}

TEST(torrentgen_interop, qbittorrent_downloads_a_hybrid_directory_from_a_libtorrent_seed) {
  auto qbt = tool("qbittorrent-nox");
  ASSERT_TRUE(qbt);
  test::temp_dir dir;
  make_files(dir / "seed" / "data", swarm_tree());
  auto probe =
      make_torrent_file(dir / "seed" / "data", dir / "probe.torrent", "hybrid", {"--private"});
  lt::torrent_info ti(probe.string());
  auto h = ti.info_hashes();
  // A hybrid swarm is announced under both hashes (v2 truncated to 20 bytes).
  tracker tr(dir.path(), {hex(h.v1), hex(h.get(lt::protocol_version::V2))});
  auto t = make_torrent_file(dir / "seed" / "data", dir / "hybrid.torrent", "hybrid",
                             {"--private", "-t", tr.announce_url()});
  libtorrent_seed seed(t, dir / "seed");
  ASSERT_TRUE(seed.wait_seeding()) << "libtorrent did not accept the data for our torrent";

  auto profile = dir / "qbt";
  fs::create_directories(profile / "qBittorrent" / "config");
  auto port = test::free_port();
  auto webui = test::free_port();
  test::write_text(
      profile / "qBittorrent" / "config" / "qBittorrent.conf",
      fmt::format("[LegalNotice]\nAccepted=true\n\n"
                  "[BitTorrent]\nSession\\DHTEnabled=false\nSession\\LSDEnabled=false\n"
                  "Session\\PeXEnabled=false\nSession\\Port={}\n"
                  "Session\\Interface=lo\nSession\\InterfaceName=lo\n"
                  "Session\\AddExtensionToIncompleteFiles=false\n\n"
                  "[Preferences]\nConnection\\UPnP=false\nWebUI\\Address=127.0.0.1\n"
                  "WebUI\\Port={}\nWebUI\\LocalHostAuth=false\n"
                  "General\\UseRandomPort=false\n",
                  port, webui));
  test::process client(
      {qbt->string(), "--profile=" + profile.string(), "--webui-port=" + std::to_string(webui),
       "--save-path=" + (dir / "dl").string(), "--skip-dialog=true", t.string()},
      {.env = {"HOME=" + profile.string(), "XDG_CONFIG_HOME=" + profile.string(),
               "XDG_DATA_HOME=" + profile.string(), "XDG_CACHE_HOME=" + profile.string()}});
  bool done = test::wait_for([&] { return same_files(dir / "seed" / "data", dir / "dl" / "data"); },
                             std::chrono::seconds(90));
  EXPECT_TRUE(done) << client.output();
  EXPECT_TRUE(seed.uploaded_at_least(3 << 20));
  // Pad files exist only in the metadata; nothing named .pad on disk.
  EXPECT_FALSE(fs::exists(dir / "dl" / "data" / ".pad"));
  client.stop(SIGINT, std::chrono::seconds(10));
}

}  // namespace
}  // namespace blobswarm::torrentgen
