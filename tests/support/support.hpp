// Test support: temporary directories, waiting on conditions instead of
// sleeping, child processes whose output is kept for failure reports, and
// free loopback ports for components that cannot bind port 0 themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace blobswarm::test {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR, removed on destruction (kept when the
// environment has BLOBSWARM_KEEP_TEST_DIRS=1, for debugging).
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Polls `condition` every few milliseconds until it holds or `timeout`
// passes. Returns whether it held.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s);

// A loopback TCP port that was free a moment ago.
std::uint16_t free_port(const std::string& host = "127.0.0.1");

void write_text(const std::filesystem::path& path, std::string_view text);
std::string read_text(const std::filesystem::path& path);
// `size` pseudo-random bytes from `seed`, reproducible.
std::string random_bytes(std::size_t size, std::uint64_t seed = 1);

// Path of one of the project's binaries: build/bin/<name>.
std::filesystem::path binary(const std::string& name);
// Finds a program on PATH; nullopt when it is not installed.
std::optional<std::filesystem::path> find_program(const std::string& name);

// A child process. Output (stdout and stderr) goes to a log file that is
// printed when a test fails or on request. Terminated (SIGTERM, then
// SIGKILL) on destruction.
class process {
 public:
  struct options {
    std::vector<std::string> env;  // extra "KEY=value" entries
    std::filesystem::path cwd;
    std::string name;  // for messages; defaults to argv[0]'s file name
  };

  process(std::vector<std::string> argv, options opts);
  explicit process(std::vector<std::string> argv) : process(std::move(argv), options{}) {}
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  int pid() const noexcept { return pid_; }
  bool running();
  // Sends `sig` and waits up to `timeout` for exit; returns the exit status
  // (or 128+signal), or nullopt if it did not exit.
  std::optional<int> stop(int sig = 15, std::chrono::milliseconds timeout = 10s);
  // Waits for exit without signalling.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string output() const;
  const std::filesystem::path& log_path() const noexcept { return log_; }
  // Waits until the output contains `text`.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout = 10s);

 private:
  std::string name_;
  int pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// Runs a command to completion; returns exit status and combined output.
struct command_result {
  int status = -1;
  std::string output;
};
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = 60s,
                           const std::vector<std::string>& env = {});

// A key and a self-signed certificate for 127.0.0.1 (<name>.key and
// <name>.crt in `dir`), made by the openssl command; throws when it fails.
struct certificate {
  std::filesystem::path cert, key;
};
certificate make_certificate(const temp_dir& dir, const std::string& name);

}  // namespace blobswarm::test
