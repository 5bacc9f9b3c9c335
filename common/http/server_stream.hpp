// server_stream: the byte stream of one server connection, plain TCP or TLS
// over TCP (Beast's ssl_stream), chosen per server at run time. It offers
// what http::server uses of beast::tcp_stream (timeouts, the socket, close)
// plus the AsyncReadStream/AsyncWriteStream operations Beast's HTTP reads
// and writes need, so the connection code is the same for both.
// Internal to common/http/server.cpp.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <utility>

namespace blobswarm::http {

class server_stream {
 public:
  using tcp_stream = boost::beast::tcp_stream;
  using tls_stream = boost::beast::ssl_stream<tcp_stream>;
  using executor_type = tcp_stream::executor_type;

  explicit server_stream(boost::asio::ip::tcp::socket s) : plain_(std::in_place, std::move(s)) {}
  server_stream(boost::asio::ip::tcp::socket s, boost::asio::ssl::context& tls)
      : tls_(std::in_place, std::move(s), tls) {}

  bool is_tls() const noexcept { return tls_.has_value(); }
  // Only when is_tls().
  tls_stream& tls() noexcept { return *tls_; }

  tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
  executor_type get_executor() noexcept { return tcp().get_executor(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp().expires_after(d);
  }
  void expires_never() { tcp().expires_never(); }
  // Closes the TCP connection (a TLS close_notify is not worth a round trip
  // here: every response is delimited by its length or chunking).
  void close() { tcp().close(); }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<ReadHandler>(handler));
    return plain_->async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<WriteHandler>(handler));
    return plain_->async_write_some(buffers, std::forward<WriteHandler>(handler));
  }

 private:
  std::optional<tcp_stream> plain_;
  std::optional<tls_stream> tls_;
};

}  // namespace blobswarm::http
