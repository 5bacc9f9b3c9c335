// File helpers: an owning file descriptor, whole-file reads with a size
// limit, and atomic writes (temporary file, fsync, rename) so a crash never
// leaves a half-written file under its final name. ENOSPC and EDQUOT map
// to errc::no_space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// An error for a failed system call: errno decides the code.
error system_error(int err, std::string_view what, const std::filesystem::path& path);

result<unique_fd> open_file(const std::filesystem::path& path, int flags, int mode = 0644);
result<std::uint64_t> file_size(int fd);
result<std::string> read_file(const std::filesystem::path& path,
                              std::uint64_t max_bytes = 64ULL << 20);
// A secret (token, passkey) in a file: one word of printable ASCII,
// `min_size` to 128 characters, surrounding whitespace ignored. `what`
// names the setting in errors; the secret itself never appears in them.
result<std::string> read_secret(const std::filesystem::path& path, std::string_view what,
                                std::size_t min_size = 1);
// Writes all of `data` at the current offset, retrying short writes.
result<void> write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path);
result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path);
// Writes `data` to path.tmp-<random>, fsyncs, renames over `path`, fsyncs the directory.
result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                               int mode = 0644);
result<void> create_directories(const std::filesystem::path& path);
// Bytes available to an unprivileged writer on the filesystem holding `path`.
result<std::uint64_t> available_space(const std::filesystem::path& path);

}  // namespace blobswarm
