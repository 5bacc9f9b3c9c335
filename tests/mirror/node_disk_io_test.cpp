// The mirror's inline libtorrent disk back-end, called the way libtorrent
// calls it: blocks written, read back and piece-hashed through real files;
// descriptors kept open until libtorrent releases them; every failure a
// storage_error naming errno, the file and the operation.
#include "mirror/node_disk_io.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <libtorrent/aux_/vector.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/session_handle.hpp>
#include <libtorrent/storage_defs.hpp>
#include <optional>
#include <string>

#include "tests/support/support.hpp"

namespace blobswarm::mirror {
namespace {

constexpr int piece_length = 64 * 1024;
constexpr int block = 16 * 1024;
constexpr std::int64_t blob_size = 2 * piece_length + 18928;  // a short last piece

// One single-file torrent's storage in `dir`, as libtorrent would set it up.
struct storage_fixture {
  explicit storage_fixture(const std::filesystem::path& dir, std::string name = "blob")
      : save_path(dir.string()), disk(make_node_disk_io(ioc)) {
    files.set_piece_length(piece_length);
    files.add_file(name, blob_size);
    files.set_num_pieces(static_cast<int>((blob_size + piece_length - 1) / piece_length));
    lt::storage_params params(files, nullptr, save_path, lt::storage_mode_sparse, priorities,
                              lt::sha1_hash());
    holder.emplace(disk->new_torrent(params, nullptr));
    idx = static_cast<lt::storage_index_t>(*holder);
  }
  ~storage_fixture() { holder.reset(); }

  // Completions are posted to the io_context; run them.
  void settle() {
    ioc.run();
    ioc.restart();
  }

  lt::storage_error write(int piece, int start, const std::string& data) {
    lt::storage_error result;
    bool called = false;
    disk->async_write(
        idx, lt::peer_request{lt::piece_index_t(piece), start, static_cast<int>(data.size())},
        data.data(), nullptr,
        [&](lt::storage_error const& e) {
          result = e;
          called = true;
        },
        {});
    settle();
    EXPECT_TRUE(called);
    return result;
  }

  std::pair<std::string, lt::storage_error> read(int piece, int start, int length) {
    std::pair<std::string, lt::storage_error> out;
    disk->async_read(
        idx, lt::peer_request{lt::piece_index_t(piece), start, length},
        [&](lt::disk_buffer_holder b, lt::storage_error const& e) {
          out = {std::string(b.data() ? b.data() : "", static_cast<std::size_t>(b.size())), e};
        },
        {});
    settle();
    return out;
  }

  std::pair<lt::sha1_hash, lt::storage_error> hash(int piece, bool v2 = false) {
    std::pair<lt::sha1_hash, lt::storage_error> out;
    std::vector<lt::sha256_hash> blocks(v2 ? 4 : 0);
    disk->async_hash(idx, lt::piece_index_t(piece), blocks, lt::disk_interface::v1_hash,
                     [&](lt::piece_index_t, lt::sha1_hash const& h, lt::storage_error const& e) {
                       out = {h, e};
                     });
    settle();
    return out;
  }

  boost::asio::io_context ioc;
  lt::file_storage files;
  std::string save_path;
  lt::aux::vector<lt::download_priority_t, lt::file_index_t> priorities;
  std::unique_ptr<lt::disk_interface> disk;
  std::optional<lt::storage_holder> holder;
  lt::storage_index_t idx{0};
};

TEST(node_disk_io, writes_reads_and_hashes_pieces_through_the_file) {
  test::temp_dir dir;
  storage_fixture s(dir.path() / "blobs");  // the directory is created on first write
  auto data = test::random_bytes(static_cast<std::size_t>(blob_size), 7);
  // Blocks arrive in any order, the short last piece first.
  for (int piece : {2, 0, 1}) {
    auto start = static_cast<std::size_t>(piece) * piece_length;
    auto size = std::min<std::size_t>(piece_length, data.size() - start);
    for (std::size_t off = 0; off < size; off += block) {
      auto n = std::min<std::size_t>(block, size - off);
      auto e = s.write(piece, static_cast<int>(off), data.substr(start + off, n));
      ASSERT_FALSE(e) << e.ec.message();
    }
  }
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "blobs" / "blob"),
            static_cast<std::uintmax_t>(blob_size));
  for (int piece : {0, 1, 2}) {
    auto start = static_cast<std::size_t>(piece) * piece_length;
    auto size = std::min<std::size_t>(piece_length, data.size() - start);
    auto [h, e] = s.hash(piece);
    ASSERT_FALSE(e) << e.ec.message();
    EXPECT_EQ(h, lt::hasher(data.data() + start, static_cast<int>(size)).final()) << piece;
  }
  auto [bytes, e] = s.read(1, block, block);
  ASSERT_FALSE(e) << e.ec.message();
  EXPECT_EQ(bytes, data.substr(piece_length + block, block));
}

TEST(node_disk_io, failures_carry_errno_file_and_operation) {
  test::temp_dir dir;
  // The save path is a regular file: nothing can be created under it.
  test::write_text(dir.path() / "not-a-dir", "x");
  storage_fixture blocked(dir.path() / "not-a-dir");
  auto e = blocked.write(0, 0, std::string(block, 'a'));
  EXPECT_EQ(e.ec.value(), ENOTDIR);
  EXPECT_EQ(e.operation, lt::operation_t::file_open);
  EXPECT_EQ(e.file(), lt::file_index_t(0));

  // A block never written is past the end of the file: not zeroes, an error.
  storage_fixture s(dir.path());
  ASSERT_FALSE(s.write(0, 0, std::string(block, 'a')));
  auto [bytes, read_error] = s.read(1, 0, block);
  EXPECT_EQ(read_error.ec.value(), EIO);
  EXPECT_EQ(read_error.operation, lt::operation_t::file_read);
  EXPECT_TRUE(bytes.empty());
  auto [h, hash_error] = s.hash(2);
  EXPECT_EQ(hash_error.ec.value(), EIO);
  auto [h2, v2_error] = s.hash(2, true);
  EXPECT_EQ(v2_error.ec.value(), EIO);
}

// Hybrid torrents (fetched through /files): libtorrent asks for the v2
// block hashes with the v1 piece hash, or for one block alone.
TEST(node_disk_io, makes_v2_block_hashes_with_the_v1_piece_hash) {
  test::temp_dir dir;
  storage_fixture s(dir.path());
  auto data = test::random_bytes(static_cast<std::size_t>(blob_size), 8);
  for (std::size_t off = 0; off < data.size(); off += block) {
    auto piece = static_cast<int>(off / piece_length);
    auto n = std::min<std::size_t>(block, data.size() - off);
    ASSERT_FALSE(s.write(piece, static_cast<int>(off % piece_length), data.substr(off, n)));
  }
  for (int piece : {0, 2}) {
    auto start = static_cast<std::size_t>(piece) * piece_length;
    auto size = std::min<std::size_t>(piece_length, data.size() - start);
    std::vector<lt::sha256_hash> blocks(4);
    lt::sha1_hash v1;
    lt::storage_error e;
    s.disk->async_hash(
        s.idx, lt::piece_index_t(piece), blocks, lt::disk_interface::v1_hash,
        [&](lt::piece_index_t, lt::sha1_hash const& h, lt::storage_error const& err) {
          v1 = h;
          e = err;
        });
    s.settle();
    ASSERT_FALSE(e) << e.ec.message();
    EXPECT_EQ(v1, lt::hasher(data.data() + start, static_cast<int>(size)).final());
    for (std::size_t b = 0; b * block < size; ++b) {
      auto n = std::min<std::size_t>(block, size - b * block);
      EXPECT_EQ(blocks[b],
                lt::hasher256(data.data() + start + b * block, static_cast<int>(n)).final())
          << piece << "/" << b;
    }
    // One block alone: the last one of the piece (short in the last piece).
    auto last = static_cast<int>((size - 1) / block);
    lt::sha256_hash one;
    s.disk->async_hash2(
        s.idx, lt::piece_index_t(piece), last * block, {},
        [&](lt::piece_index_t, lt::sha256_hash const& h, lt::storage_error const& err) {
          one = h;
          e = err;
        });
    s.settle();
    ASSERT_FALSE(e) << e.ec.message();
    EXPECT_EQ(one, blocks[static_cast<std::size_t>(last)]);
  }
}

TEST(node_disk_io, keeps_the_file_open_until_libtorrent_releases_it) {
  test::temp_dir dir;
  storage_fixture s(dir.path());
  ASSERT_FALSE(s.write(0, 0, std::string(block, 'b')));
  // Unlinked while open (the cache evicting a blob still seeding): the
  // torrent keeps reading the bytes it has.
  std::filesystem::remove(dir.path() / "blob");
  EXPECT_EQ(s.read(0, 0, block).first, std::string(block, 'b'));
  bool released = false;
  s.disk->async_release_files(s.idx, [&] { released = true; });
  s.settle();
  EXPECT_TRUE(released);
  auto [bytes, e] = s.read(0, 0, block);
  EXPECT_EQ(e.ec.value(), ENOENT);
  EXPECT_EQ(e.operation, lt::operation_t::file_open);
}

TEST(node_disk_io, delete_files_removes_the_torrents_files) {
  test::temp_dir dir;
  storage_fixture s(dir.path());
  ASSERT_FALSE(s.write(0, 0, std::string(block, 'c')));
  lt::storage_error result{lt::error_code(1, lt::system_category())};
  s.disk->async_delete_files(s.idx, lt::session_handle::delete_files,
                             [&](lt::storage_error const& e) { result = e; });
  s.settle();
  EXPECT_FALSE(result) << result.ec.message();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "blob"));
}

}  // namespace
}  // namespace blobswarm::mirror
