// reply_writer: appends bencoded values to a caller-owned buffer.
//
// libtorrent's bencode (lt::entry) builds a tree of std::map and
// std::string nodes; the announce path answers tens of thousands of
// requests a second and must not allocate, so its replies (a handful of
// fixed keys and a compact peer string) are written straight into a
// reused buffer. Everything else the tracker bencodes (.torrent files)
// goes through libtorrent. Callers write dictionary keys in sorted order;
// the tests decode every reply shape with libtorrent's bdecode.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace blobswarm::tracker {

class reply_writer {
 public:
  // Clears `out` (keeping its capacity) and writes into it.
  explicit reply_writer(std::string& out) noexcept : out_(out) { out_.clear(); }

  reply_writer& dict() {
    out_ += 'd';
    return *this;
  }
  reply_writer& list() {
    out_ += 'l';
    return *this;
  }
  reply_writer& end() {
    out_ += 'e';
    return *this;
  }
  reply_writer& integer(std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_ += 'i';
    out_.append(buf, r.ptr);
    out_ += 'e';
    return *this;
  }
  reply_writer& string(std::string_view s) {
    string_header(s.size());
    out_.append(s);
    return *this;
  }
  // "<n>:"; the caller appends exactly n bytes with raw().
  reply_writer& string_header(std::size_t n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    out_ += ':';
    return *this;
  }
  reply_writer& raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }

  // A whole failure reply: d14:failure reason<n>:<reason>e
  static void failure(std::string& out, std::string_view reason) {
    reply_writer(out).dict().string("failure reason").string(reason).end();
  }

 private:
  std::string& out_;
};

}  // namespace blobswarm::tracker
