// The Asio names blobswarm code uses, in one place.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace blobswarm {
namespace asio = boost::asio;
template <class T = void>
using awaitable = boost::asio::awaitable<T>;
}  // namespace blobswarm
