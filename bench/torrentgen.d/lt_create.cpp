// lt_create: libtorrent's own torrent creation (add_files + set_piece_hashes)
// for bench/torrentgen, with hashing_threads set to the cores given so
// libtorrent gets the same cores as torrentgen and mktorrent.
//   lt_create v1|v2|hybrid FILE OUT THREADS
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/settings_pack.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: lt_create v1|v2|hybrid FILE OUT THREADS\n");
    return 2;
  }
  std::string format = argv[1], file = argv[2], out = argv[3];
  lt::create_flags_t flags{};
  if (format == "v1") flags = lt::create_torrent::v1_only;
  if (format == "v2") flags = lt::create_torrent::v2_only;
  lt::file_storage fs;
  lt::add_files(fs, file, lt::create_torrent::no_attributes);
  lt::create_torrent ct(fs, 1 << 20, flags);
  lt::settings_pack sp;
  sp.set_int(lt::settings_pack::hashing_threads, std::atoi(argv[4]));
  lt::error_code ec;
  auto parent = file.substr(0, file.find_last_of('/'));
  lt::set_piece_hashes(
      ct, parent, sp, [](lt::piece_index_t) {}, ec);
  if (ec) {
    std::fprintf(stderr, "lt_create: %s\n", ec.message().c_str());
    return 1;
  }
  ct.set_creation_date(0);
  std::string buf;
  lt::bencode(std::back_inserter(buf), ct.generate());
  std::ofstream(out, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return 0;
}
