#include "tests/support/support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace blobswarm::test {

namespace fs = std::filesystem;

temp_dir::temp_dir() {
  auto base = fs::temp_directory_path();
  std::string tmpl = (base / "blobswarm-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  if (const char* keep = std::getenv("BLOBSWARM_KEEP_TEST_DIRS");
      keep && std::string(keep) == "1") {
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::uint16_t free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    auto v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(rng());
  return out;
}

fs::path binary(const std::string& name) {
  return fs::path(BLOBSWARM_BIN_DIR) / name;
}

std::optional<fs::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    auto candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin"}) {
    auto candidate = fs::path(d) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

namespace {
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const fs::path& cwd, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    // O_TRUNC: the name repeats when a test process's pid does (pids are
    // recycled), and a stale log's "listening on <old port>" would be read
    // as this process's.
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return std::nullopt;
}
}  // namespace

process::process(std::vector<std::string> argv, options opts) {
  name_ = opts.name.empty() ? fs::path(argv.at(0)).filename().string() : opts.name;
  static std::atomic<int> counter{0};
  auto dir = fs::temp_directory_path() / "blobswarm-test-logs";
  fs::create_directories(dir);
  log_ =
      dir / (name_ + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log");
  // Before the fork: until the child has opened it, output() must not read
  // a stale log of an earlier test process that had the same pid.
  std::error_code ignored;
  fs::remove(log_, ignored);
  pid_ = spawn(argv, opts.env, opts.cwd, log_);
}

process::~process() {
  if (pid_ > 0 && !status_) stop(SIGTERM, 5s);
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "---- output of %s (pid %d) ----\n%s\n---- end of %s ----\n",
                 name_.c_str(), pid_, output().c_str(), name_.c_str());
  } else if (const char* keep = std::getenv("BLOBSWARM_KEEP_TEST_DIRS");
             !keep || std::string(keep) != "1") {
    std::error_code ignored;
    fs::remove(log_, ignored);
  }
}

bool process::running() {
  if (status_) return false;
  int st = 0;
  int r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode(st);
    return false;
  }
  return true;
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  wait_for([&] { return !running(); }, timeout);
  return status_;
}

std::optional<int> process::stop(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  ::kill(pid_, sig);
  return wait(timeout);
}

std::string process::output() const {
  return read_text(log_);
}

bool process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for([&] { return output().find(text) != std::string::npos; }, timeout);
}

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                           const std::vector<std::string>& env) {
  temp_dir dir;
  auto log = dir / "out.log";
  int pid = spawn(argv, env, {}, log);
  command_result r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int st = 0;
  while (true) {
    int w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      r.status = decode(st).value_or(-1);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      r.status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.output = read_text(log);
  return r;
}

certificate make_certificate(const temp_dir& dir, const std::string& name) {
  auto openssl = find_program("openssl");
  if (!openssl) throw std::runtime_error("openssl is not installed");
  certificate c{dir / (name + ".crt"), dir / (name + ".key")};
  auto r = run_command({openssl->string(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                        c.key.string(), "-out", c.cert.string()});
  if (r.status != 0) throw std::runtime_error("openssl req failed: " + r.output);
  return c;
}

}  // namespace blobswarm::test
