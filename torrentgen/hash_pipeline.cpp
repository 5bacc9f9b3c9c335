#include "torrentgen/hash_pipeline.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "common/file.hpp"
#include "torrentgen/digest_engine.hpp"
#include "torrentgen/merkle.hpp"
#include "torrentgen/torrent_path.hpp"

namespace blobswarm::torrentgen {
namespace {

// Runs of pieces are about this long, so small pieces do not make the
// shared counter and the read-ahead hints a per-16-KiB cost.
constexpr std::uint64_t run_bytes = 1 << 20;
// Read ahead this many runs per thread beyond the current one.
constexpr std::uint32_t readahead_runs_per_thread = 4;

constexpr std::array<std::byte, 64 * 1024> zeros{};

std::int64_t mtime_ns(const struct stat& st) {
  return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Reads up to `size` bytes at `offset`, retrying short reads; returns the
// bytes read (fewer only at end of file) or -errno.
std::int64_t pread_full(int fd, std::byte* buf, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    auto n = ::pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<std::int64_t>(done);
}

struct aligned_free {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};

// State the workers share.
struct shared_state {
  const torrent_layout& layout;
  std::span<const hash_source> sources;
  const hash_pipeline::options& opts;
  piece_hashes& out;
  std::uint32_t run_pieces = 1;
  std::uint32_t runs = 0;
  std::uint32_t readahead_runs = 0;

  std::atomic<std::uint32_t> next_run{0};
  std::atomic<std::uint64_t> done_bytes{0};
  std::atomic<bool> stop{false};
  // Tolerant mode: one entry per layout file, written by whichever worker
  // notices (they all notice the same thing).
  std::unique_ptr<std::atomic<std::uint8_t>[]> issues;
  std::unique_ptr<std::atomic<std::uint64_t>[]> sizes;

  std::mutex mutex;
  std::condition_variable finished;
  unsigned running = 0;
  std::optional<error> first_error;

  void fail_with(error e) {
    std::lock_guard lock(mutex);
    if (!first_error) first_error = std::move(e);
    stop = true;
  }
  void note(std::size_t file, file_issue issue, std::uint64_t size = 0) {
    issues[file].store(static_cast<std::uint8_t>(issue), std::memory_order_relaxed);
    if (issue == file_issue::wrong_size) sizes[file].store(size, std::memory_order_relaxed);
  }
};

class worker {
 public:
  explicit worker(shared_state& s)
      : s_(s),
        layout_(s.layout),
        chunk_(std::max<std::size_t>(v2_block_size,
                                     s.opts.chunk_size / v2_block_size * v2_block_size)),
        sha1_(hash_algorithm::sha1),
        sha256_(hash_algorithm::sha256) {
    chunk_ = std::min<std::size_t>(chunk_, layout_.piece_length);
    buf_.reset(static_cast<std::byte*>(std::aligned_alloc(4096, chunk_)));
    if (!buf_) throw std::bad_alloc();
    if (layout_.v2) leaves_.resize(layout_.piece_length / v2_block_size);
  }

  void run() {
    while (!s_.stop.load(std::memory_order_relaxed)) {
      auto r = s_.next_run.fetch_add(1, std::memory_order_relaxed);
      if (r >= s_.runs) break;
      read_ahead(r + s_.readahead_runs);
      auto first = r * s_.run_pieces;
      auto last = std::min(first + s_.run_pieces, layout_.num_pieces);
      std::uint64_t bytes = 0;
      for (auto p = first; p < last; ++p) {
        if (!hash_piece(p)) return;
        bytes += layout_.piece_size(p);
      }
      s_.done_bytes.fetch_add(bytes, std::memory_order_relaxed);
      if (s_.opts.after_run) s_.opts.after_run(first);
    }
  }

 private:
  // Returns false when the run must stop (strict mode error).
  bool hash_piece(std::uint32_t piece) {
    auto start = layout_.piece_offset(piece);
    auto end = start + layout_.piece_size(piece);
    if (layout_.v1) sha1_.init();
    bool readable = true;
    std::size_t v2_file = layout_.files.size();
    std::size_t leaves = 0;
    std::uint64_t pos = start;
    for (std::size_t fi = layout_.file_at(start); pos < end; ++fi) {
      const auto& f = layout_.files[fi];
      auto segment_end = std::min(end, f.offset + f.size);
      auto length = segment_end - pos;
      if (length == 0) continue;
      if (f.pad) {
        if (layout_.v1) feed_zeros(length);
      } else {
        if (layout_.v2) v2_file = fi;
        auto r = read_segment(fi, pos - f.offset, length, leaves);
        if (!r) return false;
        readable = readable && *r;
      }
      pos = segment_end;
    }
    if (layout_.v1) sha1_.final(s_.out.v1[piece].data());
    if (layout_.v2 && v2_file < layout_.files.size()) {
      auto width = piece_leaf_width(layout_.files[v2_file].size, layout_.piece_length);
      auto root = merkle_root_in_place(std::span(leaves_).first(leaves), width, sha256_);
      s_.out.v2[v2_file][piece - layout_.first_piece(v2_file)] = root;
    }
    if (!readable) s_.out.unreadable[piece] = 1;
    return true;
  }

  void feed_zeros(std::uint64_t length) {
    while (length > 0) {
      auto n = std::min<std::uint64_t>(length, zeros.size());
      sha1_.update(zeros.data(), n);
      length -= n;
    }
  }

  // Hashes `length` bytes of file `fi` from `offset`. Returns whether they
  // could all be read, or an error (strict mode) that stops the run.
  std::optional<bool> read_segment(std::size_t fi, std::uint64_t offset, std::uint64_t length,
                                   std::size_t& leaves) {
    int fd = file(fi);
    if (fd < 0) {
      if (s_.opts.strict) return std::nullopt;
      return false;
    }
    while (length > 0) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, chunk_));
      auto got = pread_full(fd, buf_.get(), want, offset);
      if (got < 0) {
        if (s_.opts.strict) {
          s_.fail_with(system_error(static_cast<int>(-got), "cannot read", path(fi)));
          return std::nullopt;
        }
        s_.note(fi, file_issue::unreadable);
        return false;
      }
      if (static_cast<std::size_t>(got) < want) {
        if (s_.opts.strict) {
          s_.fail_with(changed(
              fi, fmt::format("it ended at {} bytes while being read, expected {}",
                              offset + static_cast<std::uint64_t>(got), layout_.files[fi].size)));
          return std::nullopt;
        }
        return false;  // open() already noted the wrong size
      }
      if (layout_.v1) sha1_.update(buf_.get(), want);
      if (layout_.v2) {
        for (std::size_t k = 0; k < want; k += v2_block_size) {
          sha256_.digest(buf_.get() + k, std::min(v2_block_size, want - k),
                         leaves_[leaves++].data());
        }
      }
      offset += want;
      length -= want;
    }
    return true;
  }

  // The open descriptor for file `fi` (one cached per worker), or -1.
  int file(std::size_t fi) {
    if (fi == open_index_) return fd_.get();
    open_index_ = fi;
    fd_.reset(::open(path(fi).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) {
      int err = errno;
      if (s_.opts.strict) {
        s_.fail_with(system_error(err, "cannot open", path(fi)));
      } else {
        s_.note(fi, err == ENOENT || err == ENOTDIR ? file_issue::missing : file_issue::unreadable);
      }
      return -1;
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
      int err = errno;
      fd_.reset();
      if (s_.opts.strict)
        s_.fail_with(system_error(err, "cannot stat", path(fi)));
      else
        s_.note(fi, file_issue::unreadable);
      return -1;
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    const auto& expected = s_.sources[fi].expected;
    if (s_.opts.strict && expected &&
        (size != expected->size || mtime_ns(st) != expected->mtime_ns)) {
      fd_.reset();
      s_.fail_with(changed(fi, size != expected->size
                                   ? fmt::format("size was {}, now {}", expected->size, size)
                                   : std::string("modification time changed")));
      return -1;
    }
    if (!s_.opts.strict && size != layout_.files[fi].size)
      s_.note(fi, file_issue::wrong_size, size);
    // Cold data: let the kernel read big files sequentially and in big
    // steps (small files are read in one go; spare them the syscall).
    if (size >= run_bytes) ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return fd_.get();
  }

  void read_ahead(std::uint32_t run) {
    if (run >= s_.runs || !fd_) return;
    auto start = layout_.piece_offset(run * s_.run_pieces);
    auto end =
        std::min(layout_.total_size,
                 layout_.piece_offset(std::min(layout_.num_pieces, (run + 1) * s_.run_pieces)));
    const auto& f = layout_.files[open_index_];
    // Only within the file already open: hints must stay cheap.
    if (start < f.offset || end > f.offset + f.size) return;
    ::posix_fadvise(fd_.get(), static_cast<off_t>(start - f.offset),
                    static_cast<off_t>(end - start), POSIX_FADV_WILLNEED);
  }

  const std::filesystem::path& path(std::size_t fi) const { return s_.sources[fi].disk_path; }

  error changed(std::size_t fi, const std::string& how) const {
    return error{errc::conflict,
                 fmt::format("{}: changed while hashing ({})", printable(path(fi).string()), how)};
  }

  shared_state& s_;
  const torrent_layout& layout_;
  std::size_t chunk_;
  std::unique_ptr<std::byte, aligned_free> buf_;
  digest_engine sha1_;
  digest_engine sha256_;
  std::vector<lt::sha256_hash> leaves_;
  std::size_t open_index_ = static_cast<std::size_t>(-1);
  unique_fd fd_;
};

}  // namespace

unsigned available_cores() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

result<piece_hashes> hash_pipeline::run(const torrent_layout& layout,
                                        std::span<const hash_source> sources, const options& opts) {
  if (sources.size() != layout.files.size()) {
    return fail(errc::internal, "{} sources for {} files", sources.size(), layout.files.size());
  }
  piece_hashes out;
  if (layout.v1) out.v1.resize(layout.num_pieces);
  if (layout.v2) {
    out.v2.resize(layout.files.size());
    for (std::size_t i = 0; i < layout.files.size(); ++i) {
      if (!layout.files[i].pad) out.v2[i].resize(layout.file_pieces(i));
    }
  }
  out.unreadable.assign(layout.num_pieces, 0);

  shared_state s{.layout = layout, .sources = sources, .opts = opts, .out = out};
  s.run_pieces =
      static_cast<std::uint32_t>(std::max<std::uint64_t>(1, run_bytes / layout.piece_length));
  s.runs = (layout.num_pieces + s.run_pieces - 1) / s.run_pieces;
  unsigned threads = opts.threads == 0 ? available_cores() : opts.threads;
  threads = std::max(1u, std::min<unsigned>(threads, s.runs));
  s.readahead_runs = readahead_runs_per_thread * threads;
  s.issues = std::make_unique<std::atomic<std::uint8_t>[]>(layout.files.size());
  s.sizes = std::make_unique<std::atomic<std::uint64_t>[]>(layout.files.size());

  {
    std::vector<std::jthread> pool;
    s.running = threads;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&s] {
        try {
          worker(s).run();
        } catch (const std::exception& e) {
          s.fail_with(error{errc::internal, fmt::format("hashing failed: {}", e.what())});
        }
        std::lock_guard lock(s.mutex);
        if (--s.running == 0) s.finished.notify_all();
      });
    }
    std::unique_lock lock(s.mutex);
    while (s.running > 0) {
      s.finished.wait_for(lock, opts.progress_interval);
      if (opts.progress && s.running > 0) {
        lock.unlock();
        opts.progress(s.done_bytes.load(), layout.total_size);
        lock.lock();
      }
    }
  }
  if (s.first_error) return fail(std::move(*s.first_error));

  if (opts.strict) {
    // A file that grew, or was rewritten in place, after we read it.
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (!sources[i].expected) continue;
      auto now = snapshot_of(sources[i].disk_path);
      if (!now) return fail(now.error());
      if (*now != *sources[i].expected) {
        return fail(errc::conflict, "{}: changed while hashing ({})",
                    printable(sources[i].disk_path.string()),
                    now->size != sources[i].expected->size
                        ? fmt::format("size was {}, now {}", sources[i].expected->size, now->size)
                        : std::string("modification time changed"));
      }
    }
  } else {
    out.issues.resize(layout.files.size());
    out.sizes_on_disk.resize(layout.files.size());
    for (std::size_t i = 0; i < layout.files.size(); ++i) {
      out.issues[i] = static_cast<file_issue>(s.issues[i].load());
      out.sizes_on_disk[i] = s.sizes[i].load();
    }
  }
  if (opts.progress) opts.progress(s.done_bytes.load(), layout.total_size);
  return out;
}

}  // namespace blobswarm::torrentgen
