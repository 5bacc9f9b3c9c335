// torrent_disk: what blobswarm's two libtorrent disk back-ends share.
//
// libtorrent 2.0 lets a program replace its disk subsystem
// (session_params::disk_io_constructor). The seeder's seed_disk_io reads
// store files on a small pool; the mirror's node_disk_io reads, writes and
// hashes inline on libtorrent's network thread. Both answer the rest of
// lt::disk_interface alike, here: storage slots, completions posted to the
// network thread's io_context, errors carrying errno and the operation, and
// the calls no blob torrent makes (moving storage, renaming files) refused
// with "operation not supported" rather than half done.
#pragma once

#include <algorithm>
#include <boost/asio/post.hpp>
#include <libtorrent/aux_/vector.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/disk_interface.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/io_context.hpp>
#include <memory>
#include <utility>
#include <vector>

namespace blobswarm {

namespace lt = libtorrent;

// A storage_error from an errno value.
lt::storage_error disk_error(int err, lt::operation_t op,
                             lt::file_index_t file = lt::file_index_t(0));
// ENOTSUP for `op`.
lt::storage_error disk_unsupported(lt::operation_t op);

// SHA-1 of one piece of `size` bytes, read in chunks of at most 1 MiB
// through read(char* into, int offset_in_piece, int length), which returns
// 0 or an errno value. Returns 0 or the first read's errno.
template <class Read>
int sha1_piece(Read&& read, int size, lt::sha1_hash& out, std::vector<char>& scratch) {
  constexpr int chunk = 1 << 20;
  scratch.resize(static_cast<std::size_t>(std::min(chunk, size)));
  lt::hasher h;
  for (int at = 0; at < size;) {
    int n = std::min(size - at, static_cast<int>(scratch.size()));
    if (int err = read(scratch.data(), at, n)) return err;
    h.update(scratch.data(), n);
    at += n;
  }
  out = h.final();
  return 0;
}

// The storages of one back-end, indexed the way libtorrent addresses them;
// freed slots are reused.
template <class Storage>
class storage_slots {
 public:
  lt::storage_index_t add(std::shared_ptr<Storage> s) {
    if (free_.empty()) {
      auto idx = slots_.end_index();
      slots_.push_back(std::move(s));
      return idx;
    }
    auto idx = free_.back();
    free_.pop_back();
    slots_[idx] = std::move(s);
    return idx;
  }
  void remove(lt::storage_index_t idx) {
    slots_[idx].reset();
    free_.push_back(idx);
  }
  const std::shared_ptr<Storage>& operator[](lt::storage_index_t idx) const { return slots_[idx]; }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_) {
      if (s) f(*s);
    }
  }

 private:
  lt::aux::vector<std::shared_ptr<Storage>, lt::storage_index_t> slots_;
  std::vector<lt::storage_index_t> free_;
};

class disk_io_base : public lt::disk_interface, public lt::buffer_allocator_interface {
 public:
  explicit disk_io_base(lt::io_context& ioc) : ioc_(ioc) {}

  // Blob torrents never move or rename their files.
  void async_move_storage(
      lt::storage_index_t, std::string p, lt::move_flags_t,
      std::function<void(lt::status_t, std::string const&, lt::storage_error const&)> handler)
      override;
  void async_rename_file(
      lt::storage_index_t, lt::file_index_t index, std::string name,
      std::function<void(std::string const&, lt::file_index_t, lt::storage_error const&)> handler)
      override;
  // Every file of a blob torrent is wanted: priorities change nothing on disk.
  void async_set_file_priority(
      lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
      std::function<void(lt::storage_error const&,
                         lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
          handler) override;
  // Blob torrents are v1: v2 block hashes are refused, not made up.
  void async_hash2(
      lt::storage_index_t, lt::piece_index_t piece, int, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, lt::sha256_hash const&, lt::storage_error const&)>
          handler) override;
  // No cache holds partial pieces.
  void async_clear_piece(lt::storage_index_t, lt::piece_index_t index,
                         std::function<void(lt::piece_index_t)> handler) override;

  void update_stats_counters(lt::counters&) const override {}
  std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
  void submit_jobs() override {}
  void settings_updated() override {}

  // Buffers handed to libtorrent (async_read) come from new char[].
  void free_disk_buffer(char* b) override { delete[] b; }

 protected:
  // Runs f on the network thread's io_context.
  template <class F>
  void complete(F&& f) {
    boost::asio::post(ioc_, std::forward<F>(f));
  }
  // A block read into a new[] buffer, handed over to libtorrent.
  lt::disk_buffer_holder hand_over(char* buf, int length) {
    return lt::disk_buffer_holder(*this, buf, length);
  }

  lt::io_context& ioc_;
};

}  // namespace blobswarm
