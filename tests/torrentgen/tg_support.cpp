#include "tests/torrentgen/tg_support.hpp"

#include <fstream>
#include <libtorrent/torrent_info.hpp>

#include "common/hex.hpp"

namespace blobswarm::torrentgen::testing {

namespace fs = std::filesystem;

void make_files(const fs::path& root, const std::vector<file_spec>& files, std::uint64_t seed) {
  fs::create_directories(root);
  for (const auto& f : files) {
    auto p = root / f.path;
    fs::create_directories(p.parent_path());
    test::write_text(p, test::random_bytes(f.size, seed++));
  }
}

std::vector<file_spec> tricky_tree(std::size_t piece) {
  const std::size_t block = 16384;
  return {
      {"a.txt", 3 * block + 7},
      {"a/b", piece + 1},
      {"a/c/deep.bin", 2 * piece},
      {"empty", 0},
      {"one", 1},
      {"block", block},
      {"block+1", block + 1},
      {"piece-1", piece - 1},
      {"piece", piece},
      {"z/many", 5 * piece + 3 * block + 11},
      {"\xc3\xbcnic\xc3\xb6"
       "de.txt",
       1000},
  };
}

tg_result torrentgen(const std::vector<std::string>& args, const fs::path& cwd,
                     std::chrono::milliseconds timeout) {
  test::temp_dir io;
  std::string cmd;
  if (!cwd.empty()) cmd += "cd '" + cwd.string() + "' && ";
  cmd += "exec '" + test::binary("torrentgen").string() + "'";
  for (const auto& a : args) {
    std::string quoted;
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " '" + quoted + "'";
  }
  cmd += " >'" + (io / "out").string() + "' 2>'" + (io / "err").string() + "' </dev/null";
  auto r = test::run_command({"/bin/sh", "-c", cmd}, timeout);
  return {r.status, test::read_text(io / "out"), test::read_text(io / "err")};
}

std::pair<std::string, std::string> lt_info_hashes(const fs::path& torrent) {
  lt::error_code ec;
  lt::torrent_info ti(torrent.string(), ec);
  if (ec) return {"error: " + ec.message(), ""};
  auto h = ti.info_hashes();
  auto hex = [](auto const& d) {
    return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  };
  return {h.has_v1() ? hex(h.v1) : "", h.has_v2() ? hex(h.v2) : ""};
}

}  // namespace blobswarm::torrentgen::testing
