#include "common/http/server.hpp"

#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "common/http/server_stream.hpp"

namespace blobswarm::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

ip_endpoint to_ip_endpoint(const tcp::endpoint& e) {
  ip_endpoint out;
  auto a = e.address();
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::memcpy(out.address.bytes.data(), b.data(), 4);
  } else {
    auto b = a.to_v6().to_bytes();
    std::memcpy(out.address.bytes.data(), b.data(), 16);
    out.address.v6 = true;
    out.address = out.address.unmapped();
  }
  out.port = e.port();
  return out;
}

struct connection : std::enable_shared_from_this<connection> {
  explicit connection(server_stream s) : stream(std::move(s)) {}
  server_stream stream;  // plain TCP or TLS
  // Raw socket waits (sendfile) bypass tcp_stream's timeouts; this timer
  // guards them. Both live on the connection's strand. Made on first use:
  // most connections never send a file.
  std::optional<asio::steady_timer> file_timer;
  unsigned version = 11;
  bool busy = false;  // a request is being handled; touched only on the strand
  // A small response serialized in one piece (reused between requests).
  std::string wire;
};

// Responses up to this size are serialized into one buffer and written with
// one call: Beast's serializer walks header fields as many small buffers,
// which costs more than copying a small message once.
constexpr std::size_t small_response = 64 * 1024;

struct write_outcome {
  bool ok = false;
  std::uint64_t bytes = 0;
};

class connection_body_writer final : public body_writer {
 public:
  connection_body_writer(connection& c, bool chunked, std::optional<std::uint64_t> limit,
                         duration write_timeout)
      : c_(c), chunked_(chunked), limit_(limit), write_timeout_(write_timeout) {}

  awaitable<bool> write(std::span<const std::byte> data) override {
    if (data.empty()) co_return true;
    if (!admit(data.size())) co_return false;
    error_code ec;
    c_.stream.expires_after(write_timeout_);
    if (chunked_) {
      auto head = fmt::format("{:x}\r\n", data.size());
      std::array<asio::const_buffer, 3> bufs{
          asio::buffer(head), asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
      co_await asio::async_write(c_.stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(c_.stream, asio::buffer(data.data(), data.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return false;
    bytes_ += data.size();
    co_return true;
  }

  awaitable<bool> write_file(int fd, std::uint64_t offset, std::uint64_t length) override {
    if (length == 0) co_return true;
    if (!admit(length)) co_return false;
    error_code ec;
    if (chunked_) {
      auto head = fmt::format("{:x}\r\n", length);
      c_.stream.expires_after(write_timeout_);
      co_await asio::async_write(c_.stream, asio::buffer(head),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
    }
    if (!co_await send_file(c_, fd, offset, length, write_timeout_)) co_return false;
    if (chunked_) {
      c_.stream.expires_after(write_timeout_);
      co_await asio::async_write(c_.stream, asio::buffer("\r\n", 2),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
    }
    bytes_ += length;
    co_return true;
  }

  awaitable<bool> finish() {
    if (!chunked_) co_return !limit_ || bytes_ == *limit_;
    error_code ec;
    c_.stream.expires_after(write_timeout_);
    co_await asio::async_write(c_.stream, asio::buffer("0\r\n\r\n", 5),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  std::uint64_t bytes() const noexcept { return bytes_; }

  static awaitable<bool> send_file(connection& c, int fd, std::uint64_t offset,
                                   std::uint64_t length, duration timeout) {
    if (c.stream.is_tls()) co_return co_await copy_file(c, fd, offset, length, timeout);
    auto& sock = c.stream.socket();
    // tcp_stream's deadline would otherwise fire on the next beast operation.
    c.stream.expires_never();
    error_code ec;
    sock.native_non_blocking(true, ec);
    if (ec) co_return false;
    auto off = static_cast<off_t>(offset);
    while (length > 0) {
      auto n = ::sendfile(sock.native_handle(), fd, &off,
                          static_cast<std::size_t>(std::min<std::uint64_t>(length, 1ULL << 30)));
      if (n > 0) {
        length -= static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0) co_return false;  // the file is shorter than promised
      if (errno == EINTR) continue;
      if (errno != EAGAIN) co_return false;
      if (!c.file_timer) c.file_timer.emplace(c.stream.get_executor());
      c.file_timer->expires_after(timeout);
      c.file_timer->async_wait([self = c.shared_from_this()](error_code e) {
        if (!e) {
          error_code ignored;
          self->stream.socket().close(ignored);
        }
      });
      co_await sock.async_wait(tcp::socket::wait_write,
                               asio::redirect_error(asio::use_awaitable, ec));
      c.file_timer->cancel();
      if (ec) co_return false;
    }
    co_return true;
  }

  // send_file over TLS: the bytes must pass through the TLS stream, so they
  // are read into a buffer and written (no sendfile).
  static awaitable<bool> copy_file(connection& c, int fd, std::uint64_t offset,
                                   std::uint64_t length, duration timeout) {
    std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(length, 256 << 10)));
    error_code ec;
    while (length > 0) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
      auto n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) co_return false;  // a read error, or the file is shorter than promised
      c.stream.expires_after(timeout);
      co_await asio::async_write(c.stream, asio::buffer(buffer.data(), static_cast<std::size_t>(n)),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      offset += static_cast<std::uint64_t>(n);
      length -= static_cast<std::uint64_t>(n);
    }
    co_return true;
  }

 private:
  bool admit(std::uint64_t n) const noexcept { return !limit_ || bytes_ + n <= *limit_; }

  connection& c_;
  bool chunked_;
  std::optional<std::uint64_t> limit_;
  duration write_timeout_;
  std::uint64_t bytes_ = 0;
};

bool is_bodyless_status(int status) noexcept {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

template <class Message>
void copy_headers(Message& out, const response& res) {
  for (const auto& [k, v] : res.headers()) out.insert(k, v);
}

// The Beast message for a string response (the body moved in; none for HEAD).
bhttp::response<bhttp::string_body> string_message(response& res, std::string& body,
                                                   unsigned version, bool head, bool keep) {
  int status = res.status();
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(status), version};
  copy_headers(out, res);
  out.keep_alive(keep);
  if (!is_bodyless_status(status)) {
    out.content_length(res.content_length().value_or(body.size()));
    if (!head) out.body() = std::move(body);
  }
  return out;
}

// Renders `out` into `wire` when its body is small: Beast's fields writer
// renders the status line and header (the Fields concept's writer, which its
// serializer uses too); header and body then go out in one buffer and one
// write. Returns false (wire untouched) for a large body.
bool render_small(std::string& wire, bhttp::response<bhttp::string_body>& out) {
  auto n = out.body().size();
  if (n > small_response) return false;
  bhttp::fields::writer header{out, out.version(), out.result_int()};
  auto bytes = header.get();
  auto header_size = asio::buffer_size(bytes);
  wire.resize(header_size + n);
  asio::buffer_copy(asio::buffer(wire.data(), header_size), bytes);
  if (n > 0) std::memcpy(wire.data() + header_size, out.body().data(), n);
  return true;
}

// What is left of a connection's first exchange when the accept loop served
// its request inline (server::impl::serve_inline) and could not finish it.
struct first_exchange {
  std::string input;  // received bytes not parsed yet: the next request(s)
  // A response already made for the first request: the rest of a small one
  // (`output`) or one with a file or stream body (`pending`).
  std::string output;
  std::optional<response> pending;
  bool keep = true;  // after that response, serve the next request
  bool head = false;
  unsigned version = 11;
  int status = 0;
  std::uint64_t body_bytes = 0;
  std::string method, target;  // for the access log
  steady::time_point started;
  bool has_response() const noexcept { return !output.empty() || pending.has_value(); }
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io_, std::shared_ptr<const router> routes_, server_options options_,
       std::shared_ptr<spdlog::logger> log_)
      : io(io_),
        routes(std::move(routes_)),
        options(std::move(options_)),
        log(std::move(log_)),
        acceptor(options.single_threaded ? asio::any_io_executor(io_.get_executor())
                                         : asio::any_io_executor(asio::make_strand(io_))) {}

  asio::io_context& io;
  std::shared_ptr<const router> routes;
  server_options options;
  std::shared_ptr<spdlog::logger> log;
  tcp::acceptor acceptor;
  // Set by listen() when options.tls_cert_file is: every connection is TLS.
  std::unique_ptr<asio::ssl::context> tls;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  std::unordered_set<std::shared_ptr<connection>> live;
  std::string inline_wire;  // serve_inline's response buffer (accept loop only)

  void add(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex);
    live.insert(c);
  }
  void remove(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex);
    live.erase(c);
  }
  std::size_t connections_count() const {
    std::lock_guard lock(mutex);
    return live.size();
  }
  std::vector<std::shared_ptr<connection>> snapshot() const {
    std::lock_guard lock(mutex);
    return {live.begin(), live.end()};
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      error_code ec;
      // The peer's address comes with the accept (no getpeername per connection).
      tcp::endpoint peer;
      auto executor = options.single_threaded ? asio::any_io_executor(io.get_executor())
                                              : asio::any_io_executor(asio::make_strand(io));
      tcp::socket socket = co_await acceptor.async_accept(
          executor, peer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        // EMFILE and friends: back off instead of spinning.
        log->warn("accept failed: {}", ec.message());
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (stopping) break;
      auto remote = to_ip_endpoint(peer);
      first_exchange first;
      if (options.single_threaded && !tls) {
        auto left = serve_inline(socket, remote);
        if (!left) continue;
        first = std::move(*left);
      }
      auto c = tls ? std::make_shared<connection>(server_stream(std::move(socket), *tls))
                   : std::make_shared<connection>(server_stream(std::move(socket)));
      add(c);
      asio::co_spawn(c->stream.get_executor(), session(c, remote, std::move(first)),
                     [self, c](std::exception_ptr e) {
                       self->remove(c);
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           self->log->error("connection ended by exception: {}", ex.what());
                         }
                       }
                     });
    }
  }

  awaitable<void> write_raw_status(connection& c, int status) {
    auto text = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: "
        "close\r\n\r\n{}\n",
        status, reason(status), reason(status).size() + 1, reason(status));
    error_code ec;
    c.stream.expires_after(std::chrono::seconds(5));
    co_await asio::async_write(c.stream, asio::buffer(text),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await lingering_close(c);
  }

  // After an error answer that leaves the request (its body, most often)
  // unread: send the FIN, then read and drop what the client still sends
  // until it closes too, for at most a few seconds. Closing a socket with
  // unread input sends a TCP reset instead, and a client still uploading
  // then loses the answer it was about to read ("connection reset by
  // peer" in place of 413). What nginx calls lingering close.
  awaitable<void> lingering_close(connection& c) {
    error_code ec;
    c.stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    std::array<char, 16 * 1024> sink;
    auto until = steady::now() + std::chrono::seconds(5);
    while (!stopping && steady::now() < until) {
      // The raw TCP bytes: a TLS peer's records need no decrypting to be dropped.
      c.stream.tcp().expires_after(
          std::min<steady::duration>(std::chrono::seconds(1), until - steady::now()));
      co_await c.stream.tcp().async_read_some(asio::buffer(sink),
                                              asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // the client's FIN, a reset or the time limit
    }
  }

  // Writes `res` for a request with method `method` (the target is for
  // log lines).
  awaitable<write_outcome> write_response(connection& c, std::string_view method,
                                          std::string_view target, response res, bool keep) {
    bool head = method == "HEAD";
    int status = res.status();
    bool bodyless = is_bodyless_status(status);
    auto length = res.content_length();
    error_code ec;

    if (auto* s = std::get_if<std::string>(&res.body())) {
      auto out = string_message(res, *s, c.version, head, keep);
      std::uint64_t n = out.body().size();
      c.stream.expires_after(options.write_timeout);
      if (render_small(c.wire, out)) {
        co_await asio::async_write(c.stream, asio::buffer(c.wire),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (c.wire.capacity() > 2 * small_response) std::string().swap(c.wire);
        co_return write_outcome{!ec, n};
      }
      co_await bhttp::async_write(c.stream, out, asio::redirect_error(asio::use_awaitable, ec));
      co_return write_outcome{!ec, n};
    }

    bhttp::response<bhttp::empty_body> header{static_cast<bhttp::status>(status), c.version};
    copy_headers(header, res);
    header.keep_alive(keep);
    if (!bodyless) {
      if (length) {
        header.content_length(*length);
      } else {
        header.chunked(true);
      }
    }
    bhttp::response_serializer<bhttp::empty_body> serializer{header};
    c.stream.expires_after(options.write_timeout);
    co_await bhttp::async_write_header(c.stream, serializer,
                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return write_outcome{false, 0};
    if (head || bodyless) co_return write_outcome{true, 0};

    if (auto* f = std::get_if<file_body>(&res.body())) {
      bool ok = co_await connection_body_writer::send_file(c, f->fd.get(), f->offset, f->length,
                                                           options.write_timeout);
      co_return write_outcome{ok, ok ? f->length : 0};
    }
    auto& st = std::get<stream_body>(res.body());
    connection_body_writer writer(c, !length, length, options.write_timeout);
    result<void> produced;
    try {
      produced = co_await st.produce(writer);
    } catch (const std::exception& e) {
      produced = fail(errc::internal, "stream producer threw: {}", e.what());
    }
    if (!produced) {
      log->warn("{} {}: response aborted after {} bytes: {}", method, loggable_target(target),
                writer.bytes(), produced.error().message);
      co_return write_outcome{false, writer.bytes()};
    }
    bool finished = co_await writer.finish();
    co_return write_outcome{finished, writer.bytes()};
  }

  std::string loggable_target(std::string_view target) const {
    if (options.log_target) return options.log_target(target);
    return std::string(target.substr(0, 512));
  }

  void log_access(const ip_endpoint& remote, std::string_view method, std::string_view target,
                  int status, std::uint64_t bytes, steady::time_point started, bool ok) const {
    if (!options.access_log) return;
    auto ms = std::chrono::duration<double, std::milli>(steady::now() - started).count();
    log->info("{} \"{} {}\" {} {} {:.1f}ms{}", remote.str(), method, loggable_target(target),
              status, bytes, ms, ok ? "" : " aborted");
  }

  // Serves a new connection's first request right in the accept loop when
  // it has fully arrived and its handler is synchronous: for a small
  // response with `Connection: close` (a tracker's announce) that is the
  // whole connection, with no coroutine, timer or connection object. Only
  // for single-threaded servers, where the handler would hold up the same
  // thread anyway. Returns what is left for a session, or nullopt when the
  // connection is done (and closed).
  std::optional<first_exchange> serve_inline(tcp::socket& socket, const ip_endpoint& remote) {
    first_exchange left;
    std::array<char, 8192> in;
    auto fd = socket.native_handle();
    auto got = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
    if (got <= 0) {
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        error_code ignored;
        socket.close(ignored);  // gone before it said anything
        return std::nullopt;
      }
      return left;  // nothing yet: the session waits for it
    }
    std::string_view received(in.data(), static_cast<std::size_t>(got));
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    parser.eager(true);
    error_code ec;
    auto used = parser.put(asio::buffer(received.data(), received.size()), ec);
    if (ec || !parser.is_done()) {
      // Incomplete, 100-continue or malformed: the session reads on (and
      // answers errors) from these bytes.
      left.input.assign(received);
      return left;
    }
    auto& msg = parser.get();
    if (options.body_limit_for && !msg.body().empty()) {
      left.input.assign(received);  // the session applies the route's body limit
      return left;
    }
    request req;
    req.reset(verb_from_string(msg.method_string()), msg.method_string(), msg.target(), msg.body(),
              remote, msg.keep_alive());
    for (const auto& field : msg) req.add_header(field.name_string(), field.value());
    auto match = routes->find(req);
    auto* h = std::get_if<sync_handler>(match.h);
    if (h == nullptr) {
      left.input.assign(received);
      return left;
    }
    if (!match.allow.empty()) {
      header_view allow{"allow", match.allow};
      req.set_params(std::span(&allow, 1));
    }
    left.started = steady::now();
    response res;
    try {
      res = (*h)(req);
    } catch (const std::exception& e) {
      log->error("{} {}: handler threw: {}", req.method_string(), loggable_target(req.target()),
                 e.what());
      res = response::text(500, "internal server error\n");
      res.close();
    }
    if (res.status() == 405 && !match.allow.empty() && !res.header("Allow")) {
      res.set("Allow", match.allow);
    }
    left.input.assign(received.substr(used));
    left.keep = req.keep_alive() && !res.wants_close() && !stopping;
    left.head = req.method() == verb::head;
    left.version = msg.version();
    left.status = res.status();
    auto* body = std::get_if<std::string>(&res.body());
    if (body == nullptr || (!left.head && body->size() > small_response)) {
      left.method = req.method_string();
      left.target = req.target();
      left.pending = std::move(res);
      return left;
    }
    auto out = string_message(res, *body, left.version, left.head, left.keep);
    render_small(inline_wire, out);  // small, as checked above
    left.body_bytes = out.body().size();
    std::size_t sent = 0;
    bool would_block = false;
    while (sent < inline_wire.size()) {
      auto n = ::send(fd, inline_wire.data() + sent, inline_wire.size() - sent,
                      MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      would_block = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      break;
    }
    if (sent == inline_wire.size() || !would_block) {
      bool ok = sent == inline_wire.size();
      log_access(remote, req.method_string(), req.target(), left.status, left.body_bytes,
                 left.started, ok);
      if (ok && left.keep) return left;
      error_code ignored;
      socket.close(ignored);  // the FIN (no shutdown(): one call less)
      return std::nullopt;
    }
    // The socket's buffer is full: the session sends the rest.
    left.output = inline_wire.substr(sent);
    left.method = req.method_string();
    left.target = req.target();
    return left;
  }

  awaitable<void> session(std::shared_ptr<connection> c, ip_endpoint remote, first_exchange first) {
    auto& stream = c->stream;
    error_code ec;
    // TCP_NODELAY is inherited from the listening socket (see listen()).
    beast::flat_buffer buffer;
    request req;
    if (stream.is_tls()) {
      stream.expires_after(options.read_timeout);
      co_await stream.tls().async_handshake(asio::ssl::stream_base::server,
                                            asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        log->debug("{}: TLS handshake failed: {}", remote.str(), ec.message());
        stream.close();
        co_return;
      }
    }
    if (!first.input.empty()) {
      auto space = buffer.prepare(first.input.size());
      asio::buffer_copy(space, asio::buffer(first.input));
      buffer.commit(first.input.size());
    }
    if (first.has_response()) {
      // The rest of the first response, which serve_inline could not send.
      c->busy = true;
      c->version = first.version;
      write_outcome outcome{true, first.body_bytes};
      if (first.pending) {
        outcome = co_await write_response(*c, first.method, first.target, std::move(*first.pending),
                                          first.keep);
      } else {
        stream.expires_after(options.write_timeout);
        co_await asio::async_write(stream, asio::buffer(first.output),
                                   asio::redirect_error(asio::use_awaitable, ec));
        outcome.ok = !ec;
      }
      log_access(remote, first.method, first.target, first.status, outcome.bytes, first.started,
                 outcome.ok);
      if (!outcome.ok || !first.keep) {
        stream.close();
        co_return;
      }
    }
    first = {};

    while (!stopping) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      c->busy = false;
      stream.expires_after(options.idle_timeout);
      co_await bhttp::async_read_header(stream, buffer, parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == bhttp::error::header_limit) {
          co_await write_raw_status(*c, 431);
        } else if (ec == bhttp::error::body_limit) {
          // A declared Content-Length over the limit is caught with the header.
          co_await write_raw_status(*c, 413);
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
          // Not HTTP (a TLS hello on the plain port, garbage): say so and close.
          co_await write_raw_status(*c, 400);
        }
        break;
      }
      c->busy = true;
      auto started = steady::now();
      auto& msg = parser.get();
      c->version = msg.version();
      if (!parser.is_done()) {
        if (options.body_limit_for) {
          // The route's own limit, decided from the request line and headers
          // (authentication, say) before any body byte is read or buffered.
          req.reset(verb_from_string(msg.method_string()), msg.method_string(), msg.target(), {},
                    remote, msg.keep_alive());
          for (const auto& field : msg) req.add_header(field.name_string(), field.value());
          auto wanted = co_await options.body_limit_for(req);
          auto limit = std::min<std::uint64_t>(wanted, options.body_limit);
          if (auto declared = parser.content_length(); declared && *declared > limit) {
            co_await write_raw_status(*c, 413);
            break;
          }
          parser.body_limit(limit);
        }
        if (auto expect = msg[bhttp::field::expect]; iequals(expect, "100-continue")) {
          static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
          stream.expires_after(options.write_timeout);
          co_await asio::async_write(stream, asio::buffer(cont.data(), cont.size()),
                                     asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
        stream.expires_after(options.read_timeout);
        co_await bhttp::async_read(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec == bhttp::error::body_limit) {
          co_await write_raw_status(*c, 413);
          break;
        }
        if (ec) break;
      }

      req.reset(verb_from_string(msg.method_string()), msg.method_string(), msg.target(),
                msg.body(), remote, msg.keep_alive());
      for (const auto& field : msg) req.add_header(field.name_string(), field.value());

      auto match = routes->find(req);
      if (!match.allow.empty()) {
        header_view allow{"allow", match.allow};
        req.set_params(std::span(&allow, 1));
      }
      response res;
      try {
        if (auto* h = std::get_if<sync_handler>(match.h)) {
          res = (*h)(req);
        } else {
          res = co_await std::get<async_handler>(*match.h)(req);
        }
      } catch (const std::exception& e) {
        log->error("{} {}: handler threw: {}", req.method_string(), loggable_target(req.target()),
                   e.what());
        res = response::text(500, "internal server error\n");
        res.close();
      }
      if (res.status() == 405 && !match.allow.empty() && !res.header("Allow")) {
        res.set("Allow", match.allow);
      }
      int status = res.status();
      bool keep = req.keep_alive() && !res.wants_close() && !stopping;
      auto outcome =
          co_await write_response(*c, req.method_string(), req.target(), std::move(res), keep);
      log_access(remote, req.method_string(), req.target(), status, outcome.bytes, started,
                 outcome.ok);
      if (!outcome.ok || !keep) break;
    }
    // close() sends the FIN; a shutdown() first would only add a system call.
    stream.close();
  }
};

namespace {

// The server's TLS context from the certificate and key files; null when
// TLS is off. TLS 1.2 or newer, OpenSSL's default ciphers.
result<std::unique_ptr<asio::ssl::context>> make_tls_context(const server_options& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    return std::unique_ptr<asio::ssl::context>();
  }
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return fail(errc::invalid_argument, "TLS needs both a certificate file and a key file");
  }
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  error_code ec;
  ctx->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) {
    return fail(errc::invalid_argument, "TLS certificate {}: {}", o.tls_cert_file, ec.message());
  }
  ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return fail(errc::invalid_argument, "TLS key {}: {}", o.tls_key_file, ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return fail(errc::invalid_argument, "TLS key {} does not match the certificate {}",
                o.tls_key_file, o.tls_cert_file);
  }
  return ctx;
}

}  // namespace

server::server(asio::io_context& io, std::shared_ptr<const router> routes, server_options options,
               std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(io, std::move(routes), std::move(options), std::move(log))) {}

server::~server() {
  // Connections hold the impl alive; make sure nothing new arrives.
  impl_->stopping = true;
  asio::post(impl_->acceptor.get_executor(), [i = impl_] {
    error_code ignored;
    i->acceptor.close(ignored);
  });
}

result<ip_endpoint> server::listen(const host_port& where) {
  auto& a = impl_->acceptor;
  error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(where.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, where.port);
  } else {
    tcp::resolver resolver(impl_->io);
    auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
    if (ec || results.empty()) {
      return fail(errc::invalid_argument, "cannot resolve listen address {}: {}", where.str(),
                  ec.message());
    }
    endpoint = results.begin()->endpoint();
  }
  if (auto t = make_tls_context(impl_->options); !t) {
    return fail(t.error());
  } else {
    impl_->tls = std::move(*t);
  }
  a.open(endpoint.protocol(), ec);
  if (ec) return fail(errc::io, "cannot open socket for {}: {}", where.str(), ec.message());
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  // Accepted sockets inherit TCP_NODELAY on Linux: one setsockopt here
  // instead of one per connection.
  a.set_option(tcp::no_delay(true), ec);
  if (impl_->options.reuse_port) {
    int one = 1;
    ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  a.bind(endpoint, ec);
  if (ec) return fail(errc::unavailable, "cannot listen on {}: {}", where.str(), ec.message());
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(errc::unavailable, "cannot listen on {}: {}", where.str(), ec.message());
  auto local = to_ip_endpoint(a.local_endpoint());
  auto self = impl_;
  asio::co_spawn(a.get_executor(), self->accept_loop(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->log->error("accept loop ended by exception: {}", ex.what());
      }
    }
  });
  return local;
}

awaitable<void> server::stop(duration grace) {
  auto self = impl_;
  self->stopping = true;
  asio::post(self->acceptor.get_executor(), [self] {
    error_code ignored;
    self->acceptor.close(ignored);
  });
  for (auto& c : self->snapshot()) {
    asio::post(c->stream.get_executor(), [c] {
      // Idle keep-alive connections go now; busy ones after their response.
      error_code ignored;
      if (!c->busy) c->stream.socket().close(ignored);
    });
  }
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  auto deadline = steady::now() + grace;
  error_code ec;
  while (self->connections_count() > 0 && steady::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  auto left = self->snapshot();
  if (!left.empty()) {
    self->log->warn("closing {} connection(s) still busy after the {} grace period", left.size(),
                    format_duration(grace));
    for (auto& c : left) {
      asio::post(c->stream.get_executor(), [c] {
        error_code ignored;
        c->stream.socket().close(ignored);
      });
    }
    // Give the closed connections a moment to unwind.
    for (int i = 0; i < 50 && self->connections_count() > 0; ++i) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

std::size_t server::connections() const {
  return impl_->connections_count();
}

}  // namespace blobswarm::http
