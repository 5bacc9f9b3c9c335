// ui_assets: the web UI's files (tracker/ui/), compiled into the binary by
// tracker/ui_embed.cmake at build time, so the tracker serves its pages
// with nothing installed next to it and nothing fetched at run time.
#pragma once

#include <span>
#include <string_view>

namespace blobswarm::tracker {

struct ui_asset {
  std::string_view name;  // file name in tracker/ui/, e.g. "app.js"
  std::string_view data;
};

// Every embedded file (generated ui_assets.cpp).
std::span<const ui_asset> ui_assets() noexcept;

// The file named `name`, or nullptr.
const ui_asset* find_ui_asset(std::string_view name) noexcept;

// "text/css; charset=utf-8" etc. from the file name's extension.
std::string_view ui_content_type(std::string_view name) noexcept;

}  // namespace blobswarm::tracker
