// engines: the real PostgreSQL and Redis servers of the replicated control
// plane, started by tests on loopback ports (Debian's postgresql and
// redis-server packages), in temporary directories, with nothing saved to
// disk that a test does not need.
//
// PostgreSQL refuses to run as root: when the tests run as root (CI), the
// server runs as the `postgres` user (setpriv, so the process the test
// holds is the postmaster itself) in a directory under /tmp that user can
// traverse. One server per test binary is started on first use; each test
// takes a fresh database of its own (about 50 ms instead of 2 s).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/support.hpp"

namespace blobswarm::test {

class postgres_server {
 public:
  postgres_server();
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // postgresql://blobswarm@127.0.0.1:<port>/<database>
  std::string url(const std::string& database) const;
  // A new empty database; returns its URL.
  std::string create_database();

  // Fast shutdown (clients are disconnected) and start again on the same
  // port and data, for restart tests.
  void stop();
  void start();
  bool running() const noexcept { return process_ != nullptr; }
  std::string log() const;

 private:
  // Under /tmp, not $TMPDIR: every parent must be traversable by the
  // postgres user (a TMPDIR under /root, mode 0700, is not).
  std::filesystem::path dir_;
  std::filesystem::path data_;
  std::uint16_t port_ = 0;
  int databases_ = 0;
  std::unique_ptr<process> process_;
};

// The test binary's PostgreSQL, started on first use (and stopped at exit).
postgres_server& shared_postgres();

class redis_server {
 public:
  redis_server();
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>
  // Runs one command through redis-cli; returns its output.
  std::string cli(const std::vector<std::string>& args) const;
  // Stops (its data is gone: nothing is persisted) and starts again on the same port.
  void stop();
  void start();
  bool running() const noexcept { return process_ != nullptr; }

 private:
  temp_dir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<process> process_;
};

}  // namespace blobswarm::test
