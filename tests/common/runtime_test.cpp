// blocking_pool hand-offs and the JSON log format.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/blocking_pool.hpp"
#include "common/file.hpp"
#include "common/logging.hpp"
#include "tests/support/support.hpp"

namespace blobswarm {
namespace {

TEST(blocking_pool, runs_work_elsewhere_and_resumes_on_the_callers_executor) {
  asio::io_context io;
  blocking_pool pool(2);
  std::thread::id io_thread, work_thread, resumed_thread;
  auto task = [&]() -> awaitable<result<int>> {
    io_thread = std::this_thread::get_id();
    auto r = co_await pool.run([&]() -> result<int> {
      work_thread = std::this_thread::get_id();
      return 42;
    });
    resumed_thread = std::this_thread::get_id();
    co_return r;
  };
  auto fut = asio::co_spawn(io, task(), asio::use_future);
  io.run();
  auto r = fut.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
  EXPECT_NE(work_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);
}

TEST(blocking_pool, carries_errors_and_move_only_results) {
  asio::io_context io;
  blocking_pool pool(1);
  auto task = [&]() -> awaitable<std::pair<result<void>, std::unique_ptr<int>>> {
    auto e = co_await pool.run([]() -> result<void> { return fail(errc::timeout, "slow"); });
    auto p = co_await pool.run([] { return std::make_unique<int>(7); });
    co_return std::pair{e, std::move(p)};
  };
  auto fut = asio::co_spawn(io, task(), asio::use_future);
  io.run();
  auto [e, p] = fut.get();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, errc::timeout);
  EXPECT_EQ(*p, 7);
}

// A capturing job handed to run() must be destroyed exactly once (GCC 12
// double-destroys capturing lambdas that are temporaries in a co_await
// expression; run() itself must not be such an expression).
TEST(blocking_pool, destroys_a_capturing_job_exactly_once) {
  static std::atomic<int> live{0};
  struct tracer {
    tracer() { ++live; }
    tracer(const tracer&) { ++live; }
    tracer(tracer&&) noexcept { ++live; }
    ~tracer() { --live; }
  };
  {
    asio::io_context io;
    blocking_pool pool(1);
    auto task = [&]() -> awaitable<int> {
      auto job = [t = tracer(), text = std::string(100, 'x')]() -> std::size_t {
        return text.size();
      };
      auto n = co_await pool.run(std::move(job));
      co_return static_cast<int>(n);
    };
    auto fut = asio::co_spawn(io, task(), asio::use_future);
    io.run();
    EXPECT_EQ(fut.get(), 100);
  }
  // Counted once the pool's thread is joined: it may still be destroying
  // its copy of the job when the caller has resumed.
  EXPECT_EQ(live.load(), 0);
}

// Captures what the process writes to stderr while alive.
class stderr_capture {
 public:
  stderr_capture() : path_(dir_ / "stderr") {
    saved_ = ::dup(2);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  std::string finish() {
    ::dup2(saved_, 2);
    ::close(saved_);
    return test::read_text(path_);
  }

 private:
  test::temp_dir dir_;
  std::filesystem::path path_;
  int saved_;
};

TEST(logging, json_format_writes_one_valid_object_per_line) {
  stderr_capture capture;
  ASSERT_TRUE(logging::init({.level = "debug", .format = "json"}));
  auto log = logging::get("json-test");
  log->info("quote \" backslash \\ newline\n tab\t ctl\x01 end");
  log->debug("second");
  log->flush();
  ASSERT_TRUE(logging::init({.level = "info", .format = "text"}));
  auto text = capture.finish();
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    if (line.find("json-test") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["logger"], "json-test");
    if (count == 0) {
      EXPECT_EQ(j["level"], "info");
      EXPECT_EQ(j["msg"], "quote \" backslash \\ newline\n tab\t ctl\x01 end");
    }
    ++count;
  }
  EXPECT_EQ(count, 2) << text;
}

TEST(logging, rejects_unknown_levels_and_formats_and_redacts_secrets) {
  EXPECT_FALSE(logging::init({.level = "loud", .format = "text"}));
  EXPECT_FALSE(logging::init({.level = "info", .format = "xml"}));
  EXPECT_EQ(logging::redact("0123456789abcdef"), "0123…");
  EXPECT_EQ(logging::redact("abc"), "…");
}

TEST(logging, redacts_passkeys_in_quoted_tracker_urls) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(logging::redact_passkeys("x (http://t:6969/announce/" + key + ")[tcp] timed out"),
            "x (http://t:6969/announce/0123…)[tcp] timed out");
  EXPECT_EQ(logging::redact_passkeys("http://t/scrape/" + key + "?info_hash=x"),
            "http://t/scrape/0123…?info_hash=x");
  EXPECT_EQ(logging::redact_passkeys("a /announce/" + key + " b /announce/" + key),
            "a /announce/0123… b /announce/0123…");
  EXPECT_EQ(logging::redact_passkeys("no urls here"), "no urls here");
  EXPECT_EQ(logging::redact_passkeys("/announce/"), "/announce/");
  EXPECT_EQ(logging::redact_passkeys(""), "");
}

TEST(read_secret, trims_one_word_and_refuses_what_cannot_be_a_token) {
  test::temp_dir dir;
  test::write_text(dir / "ok", "  0123456789abcdef-token \n");
  auto ok = read_secret(dir / "ok", "api_token_file", 16);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, "0123456789abcdef-token");
  struct bad {
    std::string content;
    std::string message;
  };
  for (const auto& [content, message] : std::vector<bad>{
           {"\n", "is empty"},
           {"REPLACE-ME", "must be 16-128 characters"},
           {std::string(129, 'a'), "must be 16-128 characters"},
           {"two words of a token", "one word of printable ASCII"},
           {"0123456789abcdef\x01", "one word of printable ASCII"},
       }) {
    test::write_text(dir / "bad", content);
    auto r = read_secret(dir / "bad", "api_token_file", 16);
    ASSERT_FALSE(r) << content;
    EXPECT_NE(r.error().message.find(message), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("api_token_file"), std::string::npos) << r.error().message;
    if (content.size() > 4) {
      EXPECT_EQ(r.error().message.find(content), std::string::npos) << "the secret is in the error";
    }
  }
  auto missing = read_secret(dir / "missing", "api_token_file");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("api_token_file"), std::string::npos);
}

}  // namespace
}  // namespace blobswarm
