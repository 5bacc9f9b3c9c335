#include "common/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>

namespace blobswarm {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

error system_error(int err, std::string_view what, const std::filesystem::path& path) {
  errc code = errc::io;
  switch (err) {
    case ENOENT:
      code = errc::not_found;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = errc::forbidden;
      break;
    case ENOSPC:
    case EDQUOT:
      code = errc::no_space;
      break;
    case EEXIST:
      code = errc::conflict;
      break;
    default:
      break;
  }
  return error{code, fmt::format("{} {}: {}", what, path.string(), std::strerror(err))};
}

result<unique_fd> open_file(const std::filesystem::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail(system_error(errno, "cannot open", path));
  return unique_fd(fd);
}

result<std::uint64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(system_error(errno, "cannot stat", "fd"));
  return static_cast<std::uint64_t>(st.st_size);
}

result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return fail(fd.error());
  auto size = file_size(fd->get());
  if (!size) return fail(size.error());
  if (*size > max_bytes) {
    return fail(errc::too_large, "{} is {} bytes, more than the {} allowed", path.string(), *size,
                max_bytes);
  }
  std::string out(*size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = ::read(fd->get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(system_error(errno, "cannot read", path));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

result<std::string> read_secret(const std::filesystem::path& path, std::string_view what,
                                std::size_t min_size) {
  auto data = read_file(path, 64 * 1024);
  if (!data) return fail(data.error().with_context(what));
  std::string_view t = *data;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  if (t.empty()) return fail(errc::invalid_argument, "{} {} is empty", what, path.string());
  if (t.size() < min_size || t.size() > 128) {
    return fail(errc::invalid_argument, "{} {}: the secret must be {}-128 characters", what,
                path.string(), min_size);
  }
  for (char c : t) {
    if (c <= 0x20 || c >= 0x7f) {
      return fail(errc::invalid_argument,
                  "{} {}: the secret must be one word of printable ASCII characters", what,
                  path.string());
    }
  }
  return std::string(t);
}

result<void> write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(system_error(errno, "cannot write", path));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  return write_all(fd, std::as_bytes(std::span(data.data(), data.size())), path);
}

result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data, int mode) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto tmp = path;
  tmp += fmt::format(".tmp-{:016x}", rng());
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (!fd) return fail(fd.error());
  auto cleanup = [&] {
    ::unlink(tmp.c_str());
  };
  if (auto w = write_all(fd->get(), data, tmp); !w) {
    cleanup();
    return w;
  }
  if (::fsync(fd->get()) != 0) {
    auto e = system_error(errno, "cannot fsync", tmp);
    cleanup();
    return fail(e);
  }
  fd->reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = system_error(errno, "cannot rename into", path);
    cleanup();
    return fail(e);
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  if (auto d = open_file(dir, O_RDONLY | O_DIRECTORY); d) ::fsync(d->get());
  return {};
}

result<void> create_directories(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(system_error(ec.value(), "cannot create directory", path));
  return {};
}

result<std::uint64_t> available_space(const std::filesystem::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return fail(system_error(errno, "cannot statvfs", path));
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace blobswarm
