#include "mirror/node_disk_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/file.hpp"
#include "common/torrent_disk.hpp"

namespace blobswarm::mirror {

namespace {

// One torrent's files, opened on first use and kept open until libtorrent
// stops the torrent or releases its files.
class node_storage {
 public:
  explicit node_storage(const lt::storage_params& p) : files_(p.files) {
    const auto& named = p.mapped_files ? *p.mapped_files : p.files;
    for (auto f : named.file_range()) {
      paths_.push_back(named.file_path(f, p.path));
      pad_.push_back(named.pad_file_at(f));
    }
    fds_.resize(paths_.size());
    writable_.assign(paths_.size(), false);
  }

  const lt::file_storage& files() const { return files_; }

  // Reads (write = false) or writes `length` bytes at `start` in `piece`.
  lt::storage_error transfer(lt::piece_index_t piece, int start, char* buf, int length,
                             bool write) {
    for (const auto& slice : files_.map_block(piece, start, length)) {
      auto f = slice.file_index;
      auto n = static_cast<std::size_t>(slice.size);
      if (pad_[static_cast<std::size_t>(static_cast<int>(f))]) {
        if (!write) std::memset(buf, 0, n);
      } else if (auto e = transfer_file(f, slice.offset, buf, n, write)) {
        return *e;
      }
      buf += n;
    }
    return {};
  }

  void close() {
    for (auto& fd : fds_) fd.reset();
    writable_.assign(writable_.size(), false);
  }

  // Unlinks every file (remove_torrent with delete_files).
  lt::storage_error remove_files() {
    close();
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (pad_[i] || ::unlink(paths_[i].c_str()) == 0 || errno == ENOENT) continue;
      return disk_error(errno, lt::operation_t::file_remove, lt::file_index_t(static_cast<int>(i)));
    }
    return {};
  }

 private:
  std::optional<lt::storage_error> transfer_file(lt::file_index_t f, std::int64_t offset, char* buf,
                                                 std::size_t n, bool write) {
    auto op = write ? lt::operation_t::file_write : lt::operation_t::file_read;
    int fd = open(f, write);
    if (fd < 0) return disk_error(errno, lt::operation_t::file_open, f);
    std::size_t done = 0;
    while (done < n) {
      auto at = static_cast<off_t>(offset + static_cast<std::int64_t>(done));
      auto r =
          write ? ::pwrite(fd, buf + done, n - done, at) : ::pread(fd, buf + done, n - done, at);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return disk_error(errno, op, f);
      // A read past the end: the file is shorter than the torrent says.
      if (r == 0) return disk_error(EIO, op, f);
      done += static_cast<std::size_t>(r);
    }
    return std::nullopt;
  }

  // The descriptor of file f, opened read-only for reads and read-write
  // (created, with its directory) for writes; -1 with errno set on failure.
  int open(lt::file_index_t f, bool write) {
    auto i = static_cast<std::size_t>(static_cast<int>(f));
    auto& fd = fds_[i];
    if (fd && (writable_[i] || !write)) return fd.get();
    const auto& path = paths_[i];
    int flags = write ? (O_RDWR | O_CREAT | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
    int raw = ::open(path.c_str(), flags, 0644);
    if (raw < 0 && write && errno == ENOENT) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      raw = ::open(path.c_str(), flags, 0644);
    }
    if (raw < 0) return -1;
    fd = unique_fd(raw);
    writable_[i] = write;
    return raw;
  }

  lt::file_storage files_;  // piece geometry
  std::vector<std::string> paths_;
  std::vector<bool> pad_;
  std::vector<unique_fd> fds_;
  std::vector<bool> writable_;
};

class node_disk_io final : public disk_io_base {
 public:
  explicit node_disk_io(lt::io_context& ioc) : disk_io_base(ioc) {}

  lt::storage_holder new_torrent(lt::storage_params const& p,
                                 std::shared_ptr<void> const&) override {
    return lt::storage_holder(storages_.add(std::make_shared<node_storage>(p)), *this);
  }

  void remove_torrent(lt::storage_index_t idx) override { storages_.remove(idx); }

  void async_read(lt::storage_index_t idx, lt::peer_request const& r,
                  std::function<void(lt::disk_buffer_holder, lt::storage_error const&)> handler,
                  lt::disk_job_flags_t) override {
    char* buf = new char[static_cast<std::size_t>(r.length)];
    auto e = storages_[idx]->transfer(r.piece, r.start, buf, r.length, false);
    int length = r.length;
    if (e) {
      delete[] buf;
      buf = nullptr;
      length = 0;
    }
    complete([this, buf, length, e, handler = std::move(handler)]() mutable {
      handler(hand_over(buf, length), e);
    });
  }

  bool async_write(lt::storage_index_t idx, lt::peer_request const& r, char const* buf,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(lt::storage_error const&)> handler,
                   lt::disk_job_flags_t) override {
    // libtorrent's buffer is only valid during this call: written here.
    auto e = storages_[idx]->transfer(r.piece, r.start, const_cast<char*>(buf), r.length, true);
    complete([e, handler = std::move(handler)] { handler(e); });
    return false;  // never a queue to back off from
  }

  // v1 piece hashes, and for hybrid torrents (fetched through /files) the
  // v2 block hashes too: libtorrent checks both for a hybrid torrent.
  void async_hash(
      lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash> v2,
      lt::disk_job_flags_t flags,
      std::function<void(lt::piece_index_t, lt::sha1_hash const&, lt::storage_error const&)>
          handler) override {
    lt::sha1_hash hash;
    lt::storage_error e;
    auto& s = *storages_[idx];
    bool v1 = bool(flags & lt::disk_interface::v1_hash);
    if (v1 && v2.empty()) {
      // Stops at the first failed read, whose error `e` then holds.
      sha1_piece(
          [&](char* into, int at, int n) {
            e = s.transfer(piece, at, into, n, false);
            return e ? e.ec.value() : 0;
          },
          s.files().piece_size(piece), hash, scratch_);
    } else {
      e = hash_both(s, piece, v1, v2, hash);
    }
    complete([piece, hash, e, handler = std::move(handler)] { handler(piece, hash, e); });
  }

  void async_hash2(
      lt::storage_index_t idx, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, lt::sha256_hash const&, lt::storage_error const&)>
          handler) override {
    auto& s = *storages_[idx];
    int len = std::min(lt::default_block_size, s.files().piece_size2(piece) - offset);
    lt::sha256_hash hash;
    lt::storage_error e;
    if (len <= 0) {
      e = disk_error(EINVAL, lt::operation_t::file_read);
    } else {
      scratch_.resize(static_cast<std::size_t>(len));
      e = s.transfer(piece, offset, scratch_.data(), len, false);
      if (!e) hash = lt::hasher256(scratch_.data(), len).final();
    }
    complete([piece, hash, e, handler = std::move(handler)] { handler(piece, hash, e); });
  }

  void async_release_files(lt::storage_index_t idx, std::function<void()> handler) override {
    storages_[idx]->close();
    if (handler) complete(std::move(handler));
  }

  void async_check_files(
      lt::storage_index_t, lt::add_torrent_params const*,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, lt::storage_error const&)> handler) override {
    // The mirror never resumes a download: a torrent starts with no pieces
    // (or, adopted by the cache, in seed mode), so there is nothing to check.
    complete([handler = std::move(handler)] { handler(lt::status_t::no_error, {}); });
  }

  void async_stop_torrent(lt::storage_index_t idx, std::function<void()> handler) override {
    storages_[idx]->close();
    if (handler) complete(std::move(handler));
  }

  void async_delete_files(lt::storage_index_t idx, lt::remove_flags_t,
                          std::function<void(lt::storage_error const&)> handler) override {
    auto e = storages_[idx]->remove_files();
    complete([e, handler = std::move(handler)] { handler(e); });
  }

  void abort(bool) override {
    storages_.for_each([](node_storage& s) { s.close(); });
  }

 private:
  // One read of the piece for both: the v1 hash over all of it (padding
  // included), a v2 hash per 16 KiB block of its part in its file.
  lt::storage_error hash_both(node_storage& s, lt::piece_index_t piece, bool v1,
                              lt::span<lt::sha256_hash> v2, lt::sha1_hash& out) {
    constexpr int chunk = 1 << 20;  // a multiple of the block size
    const int block = lt::default_block_size;
    int size1 = v1 ? s.files().piece_size(piece) : 0;
    int size2 = v2.empty() ? 0 : s.files().piece_size2(piece);
    int size = std::max(size1, size2);
    scratch_.resize(static_cast<std::size_t>(std::min(chunk, size)));
    lt::hasher h;
    for (int at = 0; at < size; at += chunk) {
      int n = std::min(size - at, chunk);
      if (auto e = s.transfer(piece, at, scratch_.data(), n, false)) return e;
      if (at < size1) h.update(scratch_.data(), std::min(n, size1 - at));
      for (int b = 0; b < n && at + b < size2; b += block) {
        auto i = static_cast<std::ptrdiff_t>((at + b) / block);
        if (i >= v2.size()) break;
        v2[i] = lt::hasher256(scratch_.data() + b, std::min(block, size2 - at - b)).final();
      }
    }
    if (v1) out = h.final();
    return {};
  }

  storage_slots<node_storage> storages_;
  std::vector<char> scratch_;  // piece hashing
};

}  // namespace

std::unique_ptr<lt::disk_interface> make_node_disk_io(lt::io_context& ioc) {
  return std::make_unique<node_disk_io>(ioc);
}

lt::disk_io_constructor_type node_disk_io_constructor() {
  return [](lt::io_context& ioc, lt::settings_interface const&, lt::counters&) {
    return make_node_disk_io(ioc);
  };
}

}  // namespace blobswarm::mirror
