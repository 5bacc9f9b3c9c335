#include "tests/support/engines.hpp"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "db/postgres.hpp"

namespace blobswarm::test {
namespace fs = std::filesystem;

namespace {

constexpr const char* pg_bin = "/usr/lib/postgresql/15/bin";

// The argv prefix that runs a program as `postgres` when we are root.
std::vector<std::string> as_postgres() {
  if (::geteuid() != 0) return {};
  return {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
}

void give_to_postgres(const fs::path& p) {
  if (::geteuid() != 0) return;
  passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("no postgres user (apt-get install postgresql)");
  if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + p.string());
  }
}

}  // namespace

postgres_server::postgres_server() {
  std::string tmpl = "/tmp/blobswarm-pg-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  data_ = dir_ / "data";
  fs::create_directories(data_);
  fs::permissions(data_, fs::perms::owner_all);
  give_to_postgres(data_);
  auto argv = as_postgres();
  for (std::string a : {std::string(pg_bin) + "/initdb", std::string("-D"), data_.string(),
                        std::string("-U"), std::string("blobswarm"), std::string("--auth=trust"),
                        std::string("-E"), std::string("UTF8"), std::string("--no-sync")}) {
    argv.push_back(a);
  }
  auto r = run_command(argv, std::chrono::seconds(60));
  if (r.status != 0) throw std::runtime_error("initdb failed:\n" + r.output);
  port_ = free_port();
  start();
}

postgres_server::~postgres_server() {
  stop();
  const char* keep = std::getenv("BLOBSWARM_KEEP_TEST_DIRS");
  if (keep && std::string(keep) == "1") return;
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void postgres_server::start() {
  if (process_) return;
  auto argv = as_postgres();
  for (std::string a :
       {std::string(pg_bin) + "/postgres", std::string("-D"), data_.string(), std::string("-k"),
        data_.string(), std::string("-h"), std::string("127.0.0.1"), std::string("-p"),
        std::to_string(port_), std::string("-c"), std::string("fsync=off"), std::string("-c"),
        std::string("synchronous_commit=off"), std::string("-c"),
        std::string("full_page_writes=off"), std::string("-c"),
        std::string("max_connections=200")}) {
    argv.push_back(a);
  }
  process_ = std::make_unique<process>(argv, process::options{.name = "postgres"});
  bool up = wait_for(
      [&] {
        if (!process_->running()) return true;
        auto c = db::pg_connection::open(url("postgres"), std::chrono::seconds(1));
        return c.has_value();
      },
      std::chrono::seconds(30));
  if (!up || !process_->running()) {
    auto out = process_->output();
    process_.reset();
    throw std::runtime_error("postgres did not start:\n" + out);
  }
}

void postgres_server::stop() {
  if (!process_) return;
  // SIGINT: fast shutdown, clients disconnected at once.
  process_->stop(SIGINT, std::chrono::seconds(20));
  process_.reset();
}

std::string postgres_server::log() const {
  return process_ ? process_->output() : std::string();
}

std::string postgres_server::url(const std::string& database) const {
  return "postgresql://blobswarm@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string postgres_server::create_database() {
  auto name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  auto c = db::pg_connection::open(url("postgres"));
  if (!c) throw std::runtime_error(c.error().message);
  if (auto r = c->exec_script("CREATE DATABASE " + name); !r) {
    throw std::runtime_error(r.error().message);
  }
  return url(name);
}

postgres_server& shared_postgres() {
  static postgres_server server;
  return server;
}

// --- redis -------------------------------------------------------------------

redis_server::redis_server() {
  port_ = free_port();
  start();
}

redis_server::~redis_server() {
  stop();
}

std::string redis_server::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

void redis_server::start() {
  if (process_) return;
  process_ = std::make_unique<process>(
      std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                               dir_.path().string()},
      process::options{.name = "redis-server"});
  bool up = wait_for(
      [&] { return !process_->running() || cli({"PING"}).find("PONG") != std::string::npos; },
      std::chrono::seconds(20));
  if (!up || !process_->running()) {
    auto out = process_->output();
    process_.reset();
    throw std::runtime_error("redis-server did not start:\n" + out);
  }
}

void redis_server::stop() {
  if (!process_) return;
  process_->stop(SIGTERM, std::chrono::seconds(10));
  process_.reset();
}

std::string redis_server::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(10)).output;
}

}  // namespace blobswarm::test
