// torrent_path: a file's path inside a torrent as its components, ordered
// the way BitTorrent v2 orders its file tree (component by component, bytes
// compared unsigned). Using this one order for every format keeps v1 file
// lists, v2 file trees and hybrid torrents consistent: "a/b" sorts before
// "a.txt" because the directory "a" sorts before the name "a.txt", whereas
// a plain string sort ('.' < '/') would put "a.txt" first.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace blobswarm::torrentgen {

struct torrent_path {
  std::vector<std::string> components;

  // Components joined by '/'.
  std::string str() const;

  // std::string compares chars as unsigned char, and vectors compare
  // element by element: exactly the v2 file tree order.
  friend auto operator<=>(const torrent_path&, const torrent_path&) = default;
  friend bool operator==(const torrent_path&, const torrent_path&) = default;
};

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;

// `s` with bytes that are not printable UTF-8 (invalid sequences, control
// characters) written as \xNN, so an error message stays one readable line.
std::string printable(std::string_view s);

}  // namespace blobswarm::torrentgen
