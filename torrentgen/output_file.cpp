#include "torrentgen/output_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/file.hpp"

namespace blobswarm::torrentgen {

result<void> write_output_file(const std::filesystem::path& path, std::string_view data,
                               bool overwrite) {
  std::string tmp = path.string() + ".tmp-XXXXXX";
  int raw = ::mkstemp(tmp.data());
  if (raw < 0) return fail(system_error(errno, "cannot create a file next to", path));
  unique_fd fd(raw);
  auto abandon = [&](error e) {
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  };
  // mkstemp makes 0600; a .torrent is meant to be shared.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd.get(), 0666 & ~mask);
  if (auto w = write_all(fd.get(), data, path); !w) return abandon(w.error());
  if (::fsync(fd.get()) != 0) return abandon(system_error(errno, "cannot fsync", path));
  fd.reset();
  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      return abandon(system_error(errno, "cannot rename into", path));
    }
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST) {
      return abandon(
          error{errc::conflict,
                fmt::format("{}: already exists (use --force to overwrite)", path.string())});
    }
    if (err != EINVAL && err != ENOSYS)
      return abandon(system_error(err, "cannot rename into", path));
    // Filesystems without RENAME_NOREPLACE: link() also refuses to replace.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      err = errno;
      if (err == EEXIST) {
        return abandon(
            error{errc::conflict,
                  fmt::format("{}: already exists (use --force to overwrite)", path.string())});
      }
      return abandon(system_error(err, "cannot create", path));
    }
    ::unlink(tmp.c_str());
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  if (auto d = open_file(dir, O_RDONLY | O_DIRECTORY); d) ::fsync(d->get());
  return {};
}

}  // namespace blobswarm::torrentgen
