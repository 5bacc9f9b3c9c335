#include "seeder/seed_disk_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <libtorrent/aux_/vector.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <vector>

#include "common/torrent_disk.hpp"

namespace blobswarm::seeder {

void seed_sources::bind(const lt::sha1_hash& info_hash, source s) {
  std::lock_guard lock(mutex_);
  sources_[info_hash] = std::move(s);
}

void seed_sources::unbind(const lt::sha1_hash& info_hash) {
  std::lock_guard lock(mutex_);
  sources_.erase(info_hash);
}

std::optional<seed_sources::source> seed_sources::find(const lt::sha1_hash& info_hash) const {
  std::lock_guard lock(mutex_);
  auto it = sources_.find(info_hash);
  if (it == sources_.end()) return std::nullopt;
  return it->second;
}

namespace {

lt::storage_error read_error(int err) {
  return disk_error(err, lt::operation_t::file_read);
}

// One torrent's bytes: [offset, offset + size) of a file.
struct seed_storage {
  std::shared_ptr<seed_sources> sources;
  lt::sha1_hash info_hash;
  std::int64_t size = 0;
  int piece_length = 0;
  std::mutex mutex;  // guards fd (first-read open) and writable
  std::shared_ptr<unique_fd> fd;
  std::uint64_t offset = 0;
  bool writable = false;

  // The descriptor, opening the source's path on first use.
  std::shared_ptr<unique_fd> file(int& err) {
    std::lock_guard lock(mutex);
    if (fd && *fd) return fd;
    auto s = sources->find(info_hash);
    if (!s) {
      err = ENOENT;
      return nullptr;
    }
    offset = s->offset;
    writable = s->writable && s->fd;
    if (s->fd) {
      fd = s->fd;
      return fd;
    }
    int raw = ::open(s->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) {
      err = errno;
      return nullptr;
    }
    fd = std::make_shared<unique_fd>(raw);
    return fd;
  }

  // Reads (or, for a download, writes) exactly `length` bytes at torrent
  // offset `at`; 0 or an errno value.
  int transfer(char* buf, std::int64_t at, int length, bool write) {
    int err = 0;
    auto f = file(err);
    if (!f) return err;
    if (write) {
      std::lock_guard lock(mutex);
      if (!writable) return ENOTSUP;
    }
    if (at < 0 || length < 0 || at + length > size) return EINVAL;
    std::size_t done = 0;
    while (done < static_cast<std::size_t>(length)) {
      auto left = static_cast<std::size_t>(length) - done;
      auto where = static_cast<off_t>(offset + static_cast<std::uint64_t>(at) + done);
      auto n = write ? ::pwrite(f->get(), buf + done, left, where)
                     : ::pread(f->get(), buf + done, left, where);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      // Reading: the file is shorter than the torrent says.
      if (n == 0) return write ? ENOSPC : EIO;
      done += static_cast<std::size_t>(n);
    }
    return 0;
  }
  int read(char* out, std::int64_t at, int length) { return transfer(out, at, length, false); }
  int write(const char* in, std::int64_t at, int length) {
    return transfer(const_cast<char*>(in), at, length, true);
  }

  int piece_size(lt::piece_index_t piece) const {
    auto start = static_cast<std::int64_t>(static_cast<int>(piece)) * piece_length;
    return static_cast<int>(std::min<std::int64_t>(piece_length, size - start));
  }
};

class seed_disk_io final : public disk_io_base {
 public:
  seed_disk_io(lt::io_context& ioc, std::shared_ptr<seed_sources> sources, int threads)
      : disk_io_base(ioc), sources_(std::move(sources)), pool_(static_cast<std::size_t>(threads)) {}
  ~seed_disk_io() override { pool_.join(); }

  lt::storage_holder new_torrent(lt::storage_params const& p,
                                 std::shared_ptr<void> const&) override {
    auto s = std::make_shared<seed_storage>();
    s->sources = sources_;
    s->info_hash = p.info_hash;
    s->size = p.files.total_size();
    s->piece_length = p.files.piece_length();
    return lt::storage_holder(storages_.add(std::move(s)), *this);
  }

  void remove_torrent(lt::storage_index_t idx) override { storages_.remove(idx); }

  void async_read(lt::storage_index_t idx, lt::peer_request const& r,
                  std::function<void(lt::disk_buffer_holder, lt::storage_error const&)> handler,
                  lt::disk_job_flags_t) override {
    auto s = storages_[idx];
    boost::asio::post(pool_, [this, s, r, handler = std::move(handler)]() mutable {
      char* buf = new char[static_cast<std::size_t>(r.length)];
      auto at = static_cast<std::int64_t>(static_cast<int>(r.piece)) * s->piece_length + r.start;
      int err = s->read(buf, at, r.length);
      lt::storage_error e;
      if (err) {
        delete[] buf;
        buf = nullptr;
        e = read_error(err);
      }
      complete([this, buf, len = err ? 0 : r.length, e, handler = std::move(handler)]() mutable {
        handler(hand_over(buf, len), e);
      });
    });
  }

  bool async_write(lt::storage_index_t idx, lt::peer_request const& r, char const* buf,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(lt::storage_error const&)> handler,
                   lt::disk_job_flags_t) override {
    // Only a torrent bound to a writable descriptor downloads (swarm_fetch);
    // a seeded torrent that left seed mode (a piece failed verification)
    // must not take data from peers. libtorrent's buffer is only valid
    // during this call: written here.
    auto s = storages_[idx];
    auto at = static_cast<std::int64_t>(static_cast<int>(r.piece)) * s->piece_length + r.start;
    int err = s->write(buf, at, r.length);
    lt::storage_error e;
    if (err == ENOTSUP) {
      e = disk_unsupported(lt::operation_t::file_write);
    } else if (err) {
      e = disk_error(err, lt::operation_t::file_write);
    }
    complete([e, handler = std::move(handler)] { handler(e); });
    return false;  // never a queue to back off from
  }

  void async_hash(
      lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash>,
      lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, lt::sha1_hash const&, lt::storage_error const&)>
          handler) override {
    auto s = storages_[idx];
    boost::asio::post(pool_, [this, s, piece, handler = std::move(handler)]() mutable {
      std::vector<char> scratch;
      auto start = static_cast<std::int64_t>(static_cast<int>(piece)) * s->piece_length;
      lt::sha1_hash hash;
      int err = sha1_piece([&](char* into, int at, int n) { return s->read(into, start + at, n); },
                           s->piece_size(piece), hash, scratch);
      lt::storage_error e;
      if (err) e = read_error(err);
      complete([piece, hash, e, handler = std::move(handler)] { handler(piece, hash, e); });
    });
  }

  void async_release_files(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) complete(std::move(handler));
  }

  void async_check_files(
      lt::storage_index_t, lt::add_torrent_params const*,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, lt::storage_error const&)> handler) override {
    // Seeds are added in seed mode (the store verified every blob); a
    // download (swarm_fetch) starts with no piece, which is what libtorrent
    // takes from a torrent without resume data when the check passes.
    complete(
        [handler = std::move(handler)] { handler(lt::status_t::no_error, lt::storage_error()); });
  }

  void async_stop_torrent(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) complete(std::move(handler));
  }

  void async_delete_files(lt::storage_index_t, lt::remove_flags_t,
                          std::function<void(lt::storage_error const&)> handler) override {
    // The store owns the files; removing a torrent never deletes data.
    complete([handler = std::move(handler)] { handler(lt::storage_error()); });
  }

  void abort(bool wait) override {
    if (wait) pool_.join();
  }

 private:
  std::shared_ptr<seed_sources> sources_;
  boost::asio::thread_pool pool_;
  storage_slots<seed_storage> storages_;
};

}  // namespace

lt::disk_io_constructor_type seed_disk_io_constructor(std::shared_ptr<seed_sources> sources,
                                                      int threads) {
  return [sources = std::move(sources), threads](lt::io_context& ioc, lt::settings_interface const&,
                                                 lt::counters&) {
    return std::unique_ptr<lt::disk_interface>(new seed_disk_io(ioc, sources, threads));
  };
}

}  // namespace blobswarm::seeder
