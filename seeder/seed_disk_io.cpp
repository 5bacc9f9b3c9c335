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
  return lt::storage_error(lt::error_code(err, lt::system_category()), lt::file_index_t(0),
                           lt::operation_t::file_read);
}

lt::storage_error unsupported() {
  return lt::storage_error(
      lt::error_code(boost::system::errc::operation_not_supported, lt::system_category()),
      lt::operation_t::file_write);
}

// One torrent's bytes: [offset, offset + size) of a file.
struct seed_storage {
  std::shared_ptr<seed_sources> sources;
  lt::sha1_hash info_hash;
  std::int64_t size = 0;
  int piece_length = 0;
  std::mutex mutex;  // guards fd (first-read open)
  std::shared_ptr<unique_fd> fd;
  std::uint64_t offset = 0;

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

  // Reads exactly `length` bytes at torrent offset `at`.
  int read(char* out, std::int64_t at, int length) {
    int err = 0;
    auto f = file(err);
    if (!f) return err;
    if (at < 0 || length < 0 || at + length > size) return EINVAL;
    std::size_t done = 0;
    while (done < static_cast<std::size_t>(length)) {
      auto n = ::pread(f->get(), out + done, static_cast<std::size_t>(length) - done,
                       static_cast<off_t>(offset + static_cast<std::uint64_t>(at) + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      if (n == 0) return EIO;  // the file is shorter than the torrent says
      done += static_cast<std::size_t>(n);
    }
    return 0;
  }

  int piece_size(lt::piece_index_t piece) const {
    auto start = static_cast<std::int64_t>(static_cast<int>(piece)) * piece_length;
    return static_cast<int>(std::min<std::int64_t>(piece_length, size - start));
  }
};

class seed_disk_io final : public lt::disk_interface, public lt::buffer_allocator_interface {
 public:
  seed_disk_io(lt::io_context& ioc, std::shared_ptr<seed_sources> sources, int threads)
      : ioc_(ioc), sources_(std::move(sources)), pool_(static_cast<std::size_t>(threads)) {}
  ~seed_disk_io() override { pool_.join(); }

  lt::storage_holder new_torrent(lt::storage_params const& p,
                                 std::shared_ptr<void> const&) override {
    auto s = std::make_shared<seed_storage>();
    s->sources = sources_;
    s->info_hash = p.info_hash;
    s->size = p.files.total_size();
    s->piece_length = p.files.piece_length();
    lt::storage_index_t idx;
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
      storages_[idx] = std::move(s);
    } else {
      idx = storages_.end_index();
      storages_.push_back(std::move(s));
    }
    return lt::storage_holder(idx, *this);
  }

  void remove_torrent(lt::storage_index_t idx) override {
    storages_[idx].reset();
    free_.push_back(idx);
  }

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
      boost::asio::post(
          ioc_, [this, buf, len = err ? 0 : r.length, e, handler = std::move(handler)]() mutable {
            handler(lt::disk_buffer_holder(*this, buf, len), e);
          });
    });
  }

  bool async_write(lt::storage_index_t, lt::peer_request const&, char const*,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(lt::storage_error const&)> handler,
                   lt::disk_job_flags_t) override {
    // A seeder never downloads; a torrent that leaves seed mode (a piece
    // failed verification) must not get data from peers either.
    boost::asio::post(ioc_, [handler = std::move(handler)] { handler(unsupported()); });
    return false;
  }

  void async_hash(
      lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash>,
      lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, lt::sha1_hash const&, lt::storage_error const&)>
          handler) override {
    auto s = storages_[idx];
    boost::asio::post(pool_, [this, s, piece, handler = std::move(handler)]() mutable {
      constexpr int chunk = 1 << 20;
      std::vector<char> buf(static_cast<std::size_t>(std::min(chunk, s->piece_length)));
      lt::hasher h;
      auto start = static_cast<std::int64_t>(static_cast<int>(piece)) * s->piece_length;
      int left = s->piece_size(piece);
      int err = 0;
      while (left > 0 && !err) {
        int n = std::min<int>(left, static_cast<int>(buf.size()));
        err = s->read(buf.data(), start, n);
        if (!err) h.update(buf.data(), n);
        start += n;
        left -= n;
      }
      lt::sha1_hash hash = h.final();
      lt::storage_error e;
      if (err) e = read_error(err);
      boost::asio::post(
          ioc_, [piece, hash, e, handler = std::move(handler)] { handler(piece, hash, e); });
    });
  }

  void async_hash2(
      lt::storage_index_t, lt::piece_index_t piece, int, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, lt::sha256_hash const&, lt::storage_error const&)>
          handler) override {
    // Blob torrents are v1 only.
    boost::asio::post(ioc_, [piece, handler = std::move(handler)] {
      handler(piece, lt::sha256_hash(), unsupported());
    });
  }

  void async_move_storage(
      lt::storage_index_t, std::string p, lt::move_flags_t,
      std::function<void(lt::status_t, std::string const&, lt::storage_error const&)> handler)
      override {
    boost::asio::post(ioc_, [p = std::move(p), handler = std::move(handler)] {
      handler(lt::status_t::fatal_disk_error, p, unsupported());
    });
  }

  void async_release_files(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) boost::asio::post(ioc_, std::move(handler));
  }

  void async_check_files(
      lt::storage_index_t, lt::add_torrent_params const*,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, lt::storage_error const&)> handler) override {
    // Torrents are added in seed mode: the store verified every blob.
    boost::asio::post(ioc_, [handler = std::move(handler)] {
      handler(lt::status_t::no_error, lt::storage_error());
    });
  }

  void async_stop_torrent(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) boost::asio::post(ioc_, std::move(handler));
  }

  void async_rename_file(
      lt::storage_index_t, lt::file_index_t index, std::string name,
      std::function<void(std::string const&, lt::file_index_t, lt::storage_error const&)> handler)
      override {
    boost::asio::post(ioc_, [index, name = std::move(name), handler = std::move(handler)] {
      handler(name, index, unsupported());
    });
  }

  void async_delete_files(lt::storage_index_t, lt::remove_flags_t,
                          std::function<void(lt::storage_error const&)> handler) override {
    // The store owns the files; removing a torrent never deletes data.
    boost::asio::post(ioc_, [handler = std::move(handler)] { handler(lt::storage_error()); });
  }

  void async_set_file_priority(
      lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
      std::function<void(lt::storage_error const&,
                         lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
          handler) override {
    boost::asio::post(ioc_, [prio = std::move(prio), handler = std::move(handler)]() mutable {
      handler(lt::storage_error(), std::move(prio));
    });
  }

  void async_clear_piece(lt::storage_index_t, lt::piece_index_t index,
                         std::function<void(lt::piece_index_t)> handler) override {
    boost::asio::post(ioc_, [index, handler = std::move(handler)] { handler(index); });
  }

  void update_stats_counters(lt::counters&) const override {}
  std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
  void abort(bool wait) override {
    if (wait) pool_.join();
  }
  void submit_jobs() override {}
  void settings_updated() override {}

  void free_disk_buffer(char* b) override { delete[] b; }

 private:
  lt::io_context& ioc_;
  std::shared_ptr<seed_sources> sources_;
  boost::asio::thread_pool pool_;
  lt::aux::vector<std::shared_ptr<seed_storage>, lt::storage_index_t> storages_;
  std::vector<lt::storage_index_t> free_;
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
