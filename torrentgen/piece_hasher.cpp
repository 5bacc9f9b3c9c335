#include "torrentgen/piece_hasher.hpp"

#include <algorithm>
#include <stdexcept>

namespace blobswarm::torrentgen {

piece_hasher::piece_hasher(std::uint32_t piece_size) : piece_size_(piece_size) {
  if (piece_size == 0) throw std::invalid_argument("piece size must be positive");
}

void piece_hasher::update(std::span<const std::byte> data) {
  while (!data.empty()) {
    auto take = std::min<std::size_t>(data.size(), piece_size_ - in_piece_);
    sha1_.update(data.first(take));
    data = data.subspan(take);
    in_piece_ += static_cast<std::uint32_t>(take);
    bytes_ += take;
    if (in_piece_ == piece_size_) {
      hashes_.push_back(sha1_.finish());
      in_piece_ = 0;
    }
  }
}

void piece_hasher::finish() {
  if (in_piece_ > 0) {
    hashes_.push_back(sha1_.finish());
    in_piece_ = 0;
  }
}

}  // namespace blobswarm::torrentgen
