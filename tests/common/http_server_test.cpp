// http::server against http::client and raw sockets on loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/client.hpp"
#include "common/http/range.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::http {
namespace {

using namespace std::chrono_literals;
using test::http_fixture;

awaitable<void> sleep_for(duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

router basic_routes() {
  router r;
  r.get("/hello", sync_handler([](request&) { return response::text(200, "hello\n"); }));
  r.get("/item/{id}", sync_handler([](request& req) {
          return response::text(200, std::string(req.param("id")));
        }));
  r.get("/files/{path*}", sync_handler([](request& req) {
          return response::text(200, std::string(req.param("path")));
        }));
  r.post("/echo", sync_handler([](request& req) {
           auto r = response::bytes(200, std::string(req.body()), "application/octet-stream");
           r.set("X-Seen", std::string(req.header("x-test").value_or("none")));
           return r;
         }));
  r.get("/boom", sync_handler([](request&) -> response { throw std::runtime_error("boom"); }));
  return r;
}

TEST(http_server, serves_routes_with_captures) {
  http_fixture f(basic_routes());
  client c;
  auto r = c.send({.url = f.url("/hello")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello\n");
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(c.send({.url = f.url("/item/42")})->body, "42");
  EXPECT_EQ(c.send({.url = f.url("/files/a/b/c.txt")})->body, "a/b/c.txt");
}

TEST(http_server, unknown_paths_get_404_and_wrong_methods_405_with_allow) {
  http_fixture f(basic_routes());
  client c;
  EXPECT_EQ(c.send({.url = f.url("/nope")})->status, 404);
  EXPECT_EQ(c.send({.url = f.url("/item")})->status, 404);
  EXPECT_EQ(c.send({.url = f.url("/item/1/extra")})->status, 404);
  auto r = c.send({.method = "DELETE", .url = f.url("/hello")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
}

TEST(http_server, handler_exception_becomes_500_and_server_keeps_serving) {
  http_fixture f(basic_routes());
  client c;
  EXPECT_EQ(c.send({.url = f.url("/boom")})->status, 500);
  EXPECT_EQ(c.send({.url = f.url("/hello")})->status, 200);
}

TEST(http_server, echoes_request_headers_and_body) {
  http_fixture f(basic_routes());
  client c;
  auto body = test::random_bytes(300000);
  auto r = c.send(
      {.method = "POST", .url = f.url("/echo"), .headers = {{"X-Test", "yes"}}, .body = body});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
  EXPECT_EQ(r->header("x-seen"), "yes");
}

TEST(http_server, keep_alive_reuses_one_connection) {
  std::mutex m;
  std::set<std::uint16_t> ports;
  router r;
  r.get("/", sync_handler([&](request& req) {
          std::lock_guard lock(m);
          ports.insert(req.remote().port);
          return response::text(200, "ok");
        }));
  http_fixture f(std::move(r));
  client c;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.send({.url = f.url("/")})->status, 200);
  EXPECT_EQ(ports.size(), 1u);
}

TEST(http_server, pipelined_requests_are_answered_in_order) {
  http_fixture f(basic_routes());
  auto out = test::raw_request(
      f.port(),
      "GET /item/a HTTP/1.1\r\nHost: x\r\n\r\nGET /item/b HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /item/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto a = out.find("\r\n\r\na"), b = out.find("\r\n\r\nb"), c = out.find("\r\n\r\nc");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

// Holds a server's only thread until released: connections made meanwhile
// have sent their requests by the time they are accepted, so a
// single-threaded server serves their first request from the accept loop.
class thread_hold {
 public:
  explicit thread_hold(asio::io_context& io) {
    asio::post(io, [f = gate_.get_future().share()] { f.wait(); });
  }
  ~thread_hold() { release(); }
  void release() {
    if (!released_) gate_.set_value();
    released_ = true;
  }

 private:
  std::promise<void> gate_;
  bool released_ = false;
};

int connect_and_send(std::uint16_t port, std::string_view data, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string body_of(const std::string& reply) {
  auto at = reply.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : reply.substr(at + 4);
}

TEST(http_server, single_threaded_servers_answer_first_requests_from_the_accept_loop) {
  auto routes = basic_routes();
  std::string big(1 << 20, 'b'), medium(60 * 1024, 'm');
  routes.get("/big", sync_handler([&](request&) { return response::text(200, big); }));
  routes.get("/medium", sync_handler([&](request&) { return response::text(200, medium); }));
  routes.get("/async", async_handler([](request&) -> awaitable<response> {
               co_await sleep_for(1ms);
               co_return response::text(200, "later");
             }));
  server_options o;
  o.single_threaded = true;
  http_fixture f(std::move(routes), o);
  auto port = f.port();
  constexpr std::string_view close = "Host: x\r\nConnection: close\r\n\r\n";
  thread_hold hold(f.io());
  int whole = connect_and_send(port, fmt::format("GET /item/a HTTP/1.1\r\n{}", close));
  int pipelined = connect_and_send(
      port,
      fmt::format("GET /item/b HTTP/1.1\r\nHost: x\r\n\r\nGET /item/c HTTP/1.1\r\n{}", close));
  int keep = connect_and_send(port, "GET /item/d HTTP/1.1\r\nHost: x\r\n\r\n");
  int large = connect_and_send(port, fmt::format("GET /big HTTP/1.1\r\n{}", close));
  int head = connect_and_send(port, fmt::format("HEAD /big HTTP/1.1\r\n{}", close));
  // A small receive window: the response may not fit the send buffer at once.
  int slow = connect_and_send(port, fmt::format("GET /medium HTTP/1.1\r\n{}", close), 4096);
  int async = connect_and_send(port, fmt::format("GET /async HTTP/1.1\r\n{}", close));
  int partial = connect_and_send(port,
                                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                                 "Connection: close\r\n\r\n12345");
  int junk = connect_and_send(port, "NOT HTTP AT ALL\r\n\r\n");
  int wrong_method = connect_and_send(port, fmt::format("DELETE /hello HTTP/1.1\r\n{}", close));
  for (int fd : {whole, pipelined, keep, large, head, slow, async, partial, junk, wrong_method}) {
    ASSERT_GE(fd, 0);
  }
  hold.release();

  auto whole_reply = test::exchange(whole, "", 5s);
  EXPECT_TRUE(whole_reply.starts_with("HTTP/1.1 200")) << whole_reply;
  EXPECT_EQ(body_of(whole_reply), "a");

  auto both = test::exchange(pipelined, "", 5s);
  auto b = both.find("\r\n\r\nb"), c = both.find("\r\n\r\nc");
  ASSERT_NE(b, std::string::npos) << both;
  ASSERT_NE(c, std::string::npos) << both;
  EXPECT_LT(b, c);

  // The connection stays open after an inline answer and serves the next request.
  auto first = test::exchange(keep, "", 5s, "\r\n\r\nd");
  EXPECT_TRUE(first.ends_with("\r\n\r\nd")) << first;
  auto second = test::exchange(keep, fmt::format("GET /item/e HTTP/1.1\r\n{}", close), 5s);
  EXPECT_EQ(body_of(second), "e");

  auto large_reply = test::exchange(large, "", 10s);
  EXPECT_NE(large_reply.find("Content-Length: 1048576\r\n"), std::string::npos);
  EXPECT_EQ(body_of(large_reply), big);
  auto head_reply = test::exchange(head, "", 5s);
  EXPECT_NE(head_reply.find("Content-Length: 1048576\r\n"), std::string::npos) << head_reply;
  EXPECT_EQ(body_of(head_reply), "");
  EXPECT_EQ(body_of(test::exchange(slow, "", 10s)), medium);
  EXPECT_EQ(body_of(test::exchange(async, "", 5s)), "later");
  auto echoed = test::exchange(partial, "67890", 5s);
  EXPECT_EQ(body_of(echoed), "1234567890") << echoed;
  auto junk_reply = test::exchange(junk, "", 5s);
  EXPECT_TRUE(junk_reply.starts_with("HTTP/1.1 400")) << junk_reply;
  auto wrong = test::exchange(wrong_method, "", 5s);
  EXPECT_TRUE(wrong.starts_with("HTTP/1.1 405")) << wrong;
  EXPECT_NE(wrong.find("Allow: GET, HEAD\r\n"), std::string::npos) << wrong;
  for (int fd : {whole, pipelined, keep, large, head, slow, async, partial, junk, wrong_method}) {
    ::close(fd);
  }
  EXPECT_TRUE(test::wait_for([&] { return f.server().connections() == 0; }, 5s));
}

TEST(http_server, oversized_headers_get_431) {
  server_options o;
  o.header_limit = 4096;
  http_fixture f(basic_routes(), o);
  auto out = test::raw_request(
      f.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 431")) << out.substr(0, 100);
}

TEST(http_server, oversized_body_gets_413) {
  server_options o;
  o.body_limit = 1024;
  http_fixture f(basic_routes(), o);
  client c;
  auto r = c.send({.method = "POST", .url = f.url("/echo"), .body = std::string(5000, 'x')});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(c.send({.url = f.url("/hello")})->status, 200);
}

TEST(http_server, an_early_413_reaches_a_client_still_sending_its_body) {
  // The server answers on the declared length, long before the body is
  // sent. Were it to close with the body unread, the kernel would reset the
  // connection and the client's next write (or read) would fail without
  // the answer; the server drains instead until the client is done.
  server_options o;
  o.body_limit = 1024;
  http_fixture f(basic_routes(), o);
  int fd = test::connect_loopback(f.port());
  ASSERT_GE(fd, 0);
  timeval limit{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  constexpr std::size_t body = 32 << 20;  // more than any socket buffer holds
  auto head = fmt::format("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body);
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string chunk(256 * 1024, 'b');
  std::size_t sent = 0;
  while (sent < body) {
    auto n = ::send(fd, chunk.data(), std::min(chunk.size(), body - sent), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << "write " << sent << " of " << body << ": " << std::strerror(errno);
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, n);
  ::close(fd);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
}

TEST(http_server, body_limit_for_lets_only_allowed_requests_send_large_bodies) {
  server_options o;
  o.body_limit = 1 << 20;
  o.single_threaded = true;  // the accept loop's inline path must honour it too
  o.body_limit_for = [](const request& r) -> awaitable<std::uint64_t> {
    if (r.path() == "/echo" && r.header("Authorization") == "Bearer ok") co_return 64ULL << 20;
    co_return 1024;
  };
  http_fixture f(basic_routes(), o);
  client c;
  auto small = c.send({.method = "POST", .url = f.url("/echo"), .body = std::string(1000, 's')});
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body.size(), 1000U);
  auto allowed = c.send({.method = "POST",
                         .url = f.url("/echo"),
                         .headers = {{"Authorization", "Bearer ok"}},
                         .body = std::string(100 * 1024, 'a')});
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->body.size(), 100U * 1024);
  // Capped at body_limit whatever the function says.
  auto capped = c.send({.method = "POST",
                        .url = f.url("/echo"),
                        .headers = {{"Authorization", "Bearer ok"}},
                        .body = std::string(2 << 20, 'c')});
  if (capped) {
    EXPECT_EQ(capped->status, 413);
  }
  // Refused on the declared length, before 100 Continue and before any body byte.
  auto declared = test::raw_request(f.port(),
                                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                                    "Expect: 100-continue\r\n\r\n",
                                    3s);
  EXPECT_TRUE(declared.starts_with("HTTP/1.1 413")) << declared;
  // A chunked body is cut off at the limit while it is read.
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "400\r\n" + std::string(1024, 'k') + "\r\n";
  chunked += "0\r\n\r\n";
  auto cut = test::raw_request(f.port(), chunked, 3s);
  EXPECT_TRUE(cut.starts_with("HTTP/1.1 413")) << cut.substr(0, 200);
  // A small body that arrives with its headers in one packet (the accept
  // loop's inline path) is limited too.
  auto inline_body = test::raw_request(
      f.port(),
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'i'),
      3s);
  EXPECT_TRUE(inline_body.starts_with("HTTP/1.1 413")) << inline_body.substr(0, 200);
  EXPECT_EQ(c.send({.url = f.url("/hello")})->status, 200);
}

TEST(http_server, expect_100_continue_is_answered_before_the_body) {
  http_fixture f(basic_routes());
  int fd = test::connect_loopback(f.port());
  ASSERT_GE(fd, 0);
  auto first = test::exchange(fd,
                              "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Expect: 100-continue\r\n\r\n",
                              2s, "\r\n\r\n");
  EXPECT_TRUE(first.starts_with("HTTP/1.1 100 Continue")) << first;
  auto rest = test::exchange(fd, "abcde", 2s, "abcde");
  ::close(fd);
  EXPECT_NE(rest.find("HTTP/1.1 200"), std::string::npos) << rest;
  EXPECT_TRUE(rest.ends_with("abcde")) << rest;
}

TEST(http_server, garbage_and_tls_hellos_are_refused_and_serving_continues) {
  http_fixture f(basic_routes());
  std::string tls_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  tls_hello += test::random_bytes(500);
  auto out = test::raw_request(f.port(), tls_hello, 2s);
  EXPECT_TRUE(out.empty() || out.starts_with("HTTP/1.1 400")) << out.substr(0, 60);
  auto junk = test::raw_request(f.port(), "NOT HTTP AT ALL\r\n\r\n", 2s);
  EXPECT_TRUE(junk.empty() || junk.starts_with("HTTP/1.1 400")) << junk.substr(0, 60);
  client c;
  EXPECT_EQ(c.send({.url = f.url("/hello")})->status, 200);
}

TEST(http_server, idle_connections_are_closed_after_the_idle_timeout) {
  server_options o;
  o.idle_timeout = 200ms;
  http_fixture f(basic_routes(), o);
  int fd = test::connect_loopback(f.port());
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  auto out = test::exchange(fd, "", 5s);  // returns when the server closes
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_TRUE(out.empty());
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(test::wait_for([&] { return f.server().connections() == 0; }, 2s));
}

// A deterministic byte pattern, generated in chunks, never held whole.
void pattern_chunk(std::uint64_t offset, std::span<std::byte> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto v = offset + i;
    out[i] = static_cast<std::byte>((v * 2654435761ULL) >> 13);
  }
}

std::string pattern_sha256(std::uint64_t size) {
  hasher h(hash_algorithm::sha256);
  std::vector<std::byte> buf(1 << 20);
  for (std::uint64_t off = 0; off < size; off += buf.size()) {
    auto n = std::min<std::uint64_t>(buf.size(), size - off);
    pattern_chunk(off, std::span(buf.data(), n));
    h.update(std::span<const std::byte>(buf.data(), n));
  }
  return to_hex(h.finish());
}

router stream_routes(std::uint64_t size) {
  router r;
  auto producer = [size](bool fail_halfway) {
    return [size, fail_halfway](body_writer& w) -> awaitable<result<void>> {
      std::vector<std::byte> buf(256 * 1024);
      for (std::uint64_t off = 0; off < size; off += buf.size()) {
        if (fail_halfway && off >= size / 2) co_return fail(errc::digest_mismatch, "bad bytes");
        auto n = std::min<std::uint64_t>(buf.size(), size - off);
        pattern_chunk(off, std::span(buf.data(), n));
        if (!co_await w.write(std::span<const std::byte>(buf.data(), n))) {
          co_return fail(errc::unavailable, "client went away");
        }
      }
      co_return result<void>{};
    };
  };
  r.get("/sized", async_handler([=](request&) -> awaitable<response> {
          co_return response::stream(200, size, producer(false), "application/octet-stream");
        }));
  r.get("/chunked", async_handler([=](request&) -> awaitable<response> {
          co_return response::stream(200, std::nullopt, producer(false),
                                     "application/octet-stream");
        }));
  r.get("/broken", async_handler([=](request&) -> awaitable<response> {
          co_return response::stream(200, size, producer(true), "application/octet-stream");
        }));
  r.get("/broken-chunked", async_handler([=](request&) -> awaitable<response> {
          co_return response::stream(200, std::nullopt, producer(true), "application/octet-stream");
        }));
  return r;
}

result<std::pair<std::uint64_t, std::string>> fetch_hashed(client& c, const std::string& url) {
  hasher h(hash_algorithm::sha256);
  std::uint64_t n = 0;
  auto r = c.stream({.url = url}, nullptr, [&](std::span<const std::byte> d) -> result<void> {
    h.update(d);
    n += d.size();
    return {};
  });
  if (!r) return fail(r.error());
  return std::pair{n, to_hex(h.finish())};
}

TEST(http_server, streams_a_large_body_with_and_without_length) {
  const std::uint64_t size = 96ULL << 20;
  http_fixture f(stream_routes(size));
  client c;
  auto expected = pattern_sha256(size);
  for (auto path : {"/sized", "/chunked"}) {
    auto got = fetch_hashed(c, f.url(path));
    ASSERT_TRUE(got) << path << ": " << got.error().message;
    EXPECT_EQ(got->first, size) << path;
    EXPECT_EQ(got->second, expected) << path;
  }
}

TEST(http_server, a_failing_stream_truncates_the_response_so_clients_notice) {
  const std::uint64_t size = 8ULL << 20;
  http_fixture f(stream_routes(size));
  client c;
  for (auto path : {"/broken", "/broken-chunked"}) {
    auto got = fetch_hashed(c, f.url(path));
    EXPECT_FALSE(got) << path << " looked complete";
  }
  EXPECT_TRUE(fetch_hashed(c, f.url("/sized")));
}

TEST(http_server, serves_files_with_sendfile_ranges_and_head) {
  test::temp_dir dir;
  auto data = test::random_bytes(5 << 20, 7);
  test::write_text(dir / "blob", data);
  router r;
  r.get("/blob", sync_handler([&](request& req) {
          auto fd = open_file(dir / "blob", O_RDONLY);
          auto size = data.size();
          auto range = parse_range(req.header("range"), size);
          if (range.what == range_request::kind::unsatisfiable) {
            auto res = response::text(416, "");
            res.set("Content-Range", fmt::format("bytes */{}", size));
            return res;
          }
          if (range.what == range_request::kind::partial) {
            auto res = response::file(206, std::move(*fd), range.range.first, range.range.length(),
                                      "application/octet-stream");
            res.set("Content-Range", content_range(range.range, size));
            return res;
          }
          return response::file(200, std::move(*fd), 0, size, "application/octet-stream");
        }));
  http_fixture f(std::move(r));
  client c;
  auto whole = c.send({.url = f.url("/blob")});
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == data);

  auto part = c.send({.url = f.url("/blob"), .headers = {{"Range", "bytes=1000-1999999"}}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->header("content-range"), fmt::format("bytes 1000-1999999/{}", data.size()));
  EXPECT_TRUE(part->body == data.substr(1000, 1999000));

  auto tail = c.send({.url = f.url("/blob"), .headers = {{"Range", "bytes=-10"}}});
  EXPECT_EQ(tail->body, data.substr(data.size() - 10));
  EXPECT_EQ(c.send({.url = f.url("/blob"), .headers = {{"Range", "bytes=99999999-"}}})->status,
            416);

  auto head = c.send({.method = "HEAD", .url = f.url("/blob")});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(data.size()));
  EXPECT_TRUE(head->body.empty());
  // The connection is still usable after a HEAD (no stray body bytes).
  EXPECT_EQ(c.send({.url = f.url("/blob"), .headers = {{"Range", "bytes=0-3"}}})->body,
            data.substr(0, 4));
}

TEST(http_server, graceful_stop_finishes_requests_in_flight) {
  std::atomic<bool> started{false};
  router r;
  r.get("/slow", async_handler([&](request&) -> awaitable<response> {
          started = true;
          co_await sleep_for(400ms);
          co_return response::text(200, "done");
        }));
  http_fixture f(std::move(r));
  auto pending = std::async(std::launch::async, [&] {
    client c;
    return c.send({.url = f.url("/slow")});
  });
  ASSERT_TRUE(test::wait_for([&] { return started.load(); }, 5s));
  f.stop(5s);
  auto res = pending.get();
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "done");
  EXPECT_LT(test::connect_loopback(f.port()), 0) << "still accepting after stop";
}

TEST(http_server, stop_closes_what_is_left_after_the_grace_period) {
  std::atomic<bool> started{false};
  router r;
  r.get("/stuck", async_handler([&](request&) -> awaitable<response> {
          started = true;
          co_await sleep_for(3s);
          co_return response::text(200, "late");
        }));
  http_fixture f(std::move(r));
  auto pending = std::async(std::launch::async, [&] {
    client c;
    return c.send({.url = f.url("/stuck")});
  });
  ASSERT_TRUE(test::wait_for([&] { return started.load(); }, 5s));
  auto t0 = std::chrono::steady_clock::now();
  f.stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

TEST(http_server, access_log_uses_the_redacting_target_rewriter) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto log = std::make_shared<spdlog::logger>("access-test", sink);
  server_options o;
  o.log_target = [](std::string_view t) {
    return std::string(t.substr(0, t.find("/secret/") + 8)) + "…";
  };
  router r;
  r.get("/secret/{key}", sync_handler([](request&) { return response::text(200, "ok"); }));
  http_fixture f(std::move(r), o, log);
  client c;
  ASSERT_EQ(c.send({.url = f.url("/secret/hunter2hunter2")})->status, 200);
  f.stop(1s);
  log->flush();
  auto text = captured.str();
  EXPECT_NE(text.find("\"GET /secret/…\" 200"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
}

}  // namespace
}  // namespace blobswarm::http
