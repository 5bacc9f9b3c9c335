#include "tests/support/http_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace blobswarm::test {

http_fixture::http_fixture(http::router routes, http::server_options options,
                           std::shared_ptr<spdlog::logger> log)
    : work_(boost::asio::make_work_guard(io_)) {
  server_ =
      std::make_unique<http::server>(io_, std::make_shared<const http::router>(std::move(routes)),
                                     std::move(options), std::move(log));
  auto ep = server_->listen({"127.0.0.1", 0});
  if (!ep) throw std::runtime_error(ep.error().message);
  endpoint_ = *ep;
  thread_ = std::thread([this] { io_.run(); });
}

http_fixture::~http_fixture() {
  if (!stopped_) stop(std::chrono::seconds(2));
  work_.reset();
  io_.stop();
  thread_.join();
}

std::string http_fixture::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(endpoint_.port) + std::string(path);
}

void http_fixture::stop(duration grace) {
  stopped_ = true;
  boost::asio::co_spawn(io_, server_->stop(grace), boost::asio::use_future).get();
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string exchange(int fd, std::string_view data, std::chrono::milliseconds timeout,
                     std::string_view until) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    if (!until.empty() && out.find(until) != std::string::npos) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string raw_request(std::uint16_t port, std::string_view data,
                        std::chrono::milliseconds timeout, std::string_view until) {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  auto out = exchange(fd, data, timeout, until);
  ::close(fd);
  return out;
}

}  // namespace blobswarm::test
