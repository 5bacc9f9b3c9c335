#include "torrentgen/torrent_summary.hpp"

#include <fmt/chrono.h>

#include <ctime>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/magnet_uri.hpp>

#include "common/hex.hpp"
#include "common/units.hpp"

namespace blobswarm::torrentgen {
namespace {

template <class Hash>
std::string hex_of(const Hash& h) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

std::string date_text(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (::gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", tm);
}

}  // namespace

result<std::shared_ptr<const lt::torrent_info>> load_torrent_info(std::span<const char> bytes) {
  if (bytes.empty()) return fail(errc::invalid_argument, "not a .torrent file: it is empty");
  if (bytes.size() > static_cast<std::size_t>(max_torrent_file_size)) {
    return fail(errc::too_large, "not loaded: {} bytes is more than the {} allowed", bytes.size(),
                max_torrent_file_size);
  }
  lt::load_torrent_limits limits;
  limits.max_buffer_size = max_torrent_file_size;
  // As many pieces as a file of that size can list (20 bytes each).
  limits.max_pieces = max_torrent_file_size / 20;
  lt::error_code ec;
  lt::bdecode_node root =
      lt::bdecode(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec,
                  nullptr, limits.max_decode_depth, limits.max_decode_tokens);
  if (ec) return fail(errc::invalid_argument, "not a .torrent file: {}", ec.message());
  try {
    auto ti = std::make_shared<lt::torrent_info>(root, limits);
    return std::shared_ptr<const lt::torrent_info>(std::move(ti));
  } catch (const std::exception& e) {
    return fail(errc::invalid_argument, "not a valid .torrent file: {}", e.what());
  }
}

torrent_summary torrent_summary::of(const lt::torrent_info& ti, std::span<const char> bytes) {
  torrent_summary s;
  s.name = ti.name();
  auto hashes = ti.info_hashes();
  if (hashes.has_v1()) s.info_hash_v1 = hex_of(hashes.v1);
  if (hashes.has_v2()) s.info_hash_v2 = hex_of(hashes.v2);
  s.format = hashes.has_v1() && hashes.has_v2() ? torrent_format::hybrid
             : hashes.has_v2()                  ? torrent_format::v2
                                                : torrent_format::v1;
  s.piece_length = static_cast<std::uint32_t>(ti.piece_length());
  s.num_pieces = static_cast<std::uint32_t>(ti.num_pieces());
  s.is_private = ti.priv();
  const auto& fs = ti.files();
  for (auto i : fs.file_range()) {
    if (fs.pad_file_at(i)) continue;
    auto size = static_cast<std::uint64_t>(fs.file_size(i));
    s.files.push_back({fs.file_path(i), size});
    s.total_size += size;
  }
  lt::error_code ec;
  lt::load_torrent_limits limits;
  auto top =
      lt::bdecode(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec,
                  nullptr, limits.max_decode_depth, limits.max_decode_tokens);
  if (!ec && top.type() == lt::bdecode_node::dict_t) {
    if (auto list = top.dict_find_list("announce-list")) {
      for (int t = 0; t < list.list_size(); ++t) {
        auto tier = list.list_at(t);
        if (tier.type() != lt::bdecode_node::list_t) continue;
        std::vector<std::string> urls;
        for (int u = 0; u < tier.list_size(); ++u) {
          auto url = tier.list_string_value_at(u);
          if (!url.empty()) urls.emplace_back(url);
        }
        if (!urls.empty()) s.trackers.push_back(std::move(urls));
      }
    }
    if (s.trackers.empty()) {
      auto url = top.dict_find_string_value("announce");
      if (!url.empty()) s.trackers.push_back({std::string(url)});
    }
    // As written: libtorrent appends '/' to a multi-file torrent's web seeds.
    auto seeds = top.dict_find("url-list");
    if (seeds.type() == lt::bdecode_node::string_t && !seeds.string_value().empty()) {
      s.web_seeds.emplace_back(seeds.string_value());
    } else if (seeds.type() == lt::bdecode_node::list_t) {
      for (int i = 0; i < seeds.list_size(); ++i) {
        auto url = seeds.list_string_value_at(i);
        if (!url.empty()) s.web_seeds.emplace_back(url);
      }
    }
  }
  s.comment = ti.comment();
  s.created_by = ti.creator();
  if (ti.creation_date() > 0) s.creation_date = static_cast<std::int64_t>(ti.creation_date());
  // libtorrent has no accessor for "source"; read it from the info dictionary.
  auto info = ti.info_section();
  auto dict = lt::bdecode(info, ec);
  if (!ec && dict.type() == lt::bdecode_node::dict_t) {
    s.source = std::string(dict.dict_find_string_value("source"));
  }
  // From the file's tracker order rather than from `ti`, whose order is
  // shuffled, so the same torrent always gives the same link.
  lt::add_torrent_params atp;
  atp.info_hashes = ti.info_hashes();
  atp.name = ti.name();
  for (std::size_t t = 0; t < s.trackers.size(); ++t) {
    for (const auto& url : s.trackers[t]) {
      atp.trackers.push_back(url);
      atp.tracker_tiers.push_back(static_cast<int>(t));
    }
  }
  atp.url_seeds = s.web_seeds;
  s.magnet = lt::make_magnet_uri(atp);
  return s;
}

result<torrent_summary> torrent_summary::parse(std::span<const char> bytes) {
  auto ti = load_torrent_info(bytes);
  if (!ti) return fail(ti.error());
  return of(**ti, bytes);
}

nlohmann::ordered_json torrent_summary::to_json() const {
  nlohmann::ordered_json j;
  auto opt = [](const std::optional<std::string>& v) -> nlohmann::ordered_json {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  j["name"] = name;
  j["format"] = std::string(to_string(format));
  j["info_hash_v1"] = opt(info_hash_v1);
  j["info_hash_v2"] = opt(info_hash_v2);
  j["total_size"] = total_size;
  j["piece_length"] = piece_length;
  j["num_pieces"] = num_pieces;
  j["private"] = is_private;
  j["trackers"] = trackers;
  j["web_seeds"] = web_seeds;
  auto& fl = j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : files) fl.push_back({{"path", f.path}, {"size", f.size}});
  j["comment"] = comment;
  j["source"] = source;
  j["created_by"] = created_by;
  j["creation_date"] =
      creation_date ? nlohmann::ordered_json(*creation_date) : nlohmann::ordered_json(nullptr);
  j["magnet"] = magnet;
  return j;
}

std::string torrent_summary::to_text() const {
  std::string out;
  auto line = [&](std::string_view key, std::string_view value) {
    out += fmt::format("{:<14} {}\n", key, value);
  };
  line("name:", name);
  line("format:", format == torrent_format::hybrid ? "hybrid (v1 + v2)" : to_string(format));
  if (info_hash_v1) line("info hash v1:", *info_hash_v1);
  if (info_hash_v2) line("info hash v2:", *info_hash_v2);
  line("total size:", fmt::format("{} ({} bytes)", human_bytes(total_size), total_size));
  line("pieces:", fmt::format("{} of {}", num_pieces, human_bytes(piece_length)));
  line("private:", is_private ? "yes" : "no");
  for (std::size_t t = 0; t < trackers.size(); ++t) {
    line(t == 0 ? "trackers:" : "", fmt::format("tier {}: {}", t, fmt::join(trackers[t], ", ")));
  }
  for (std::size_t i = 0; i < web_seeds.size(); ++i) line(i == 0 ? "web seeds:" : "", web_seeds[i]);
  if (!comment.empty()) line("comment:", comment);
  if (!source.empty()) line("source:", source);
  if (!created_by.empty()) line("created by:", created_by);
  if (creation_date) line("created on:", date_text(*creation_date));
  out += fmt::format("files ({}):\n", files.size());
  for (const auto& f : files) out += fmt::format("  {}  ({})\n", f.path, human_bytes(f.size));
  return out;
}

}  // namespace blobswarm::torrentgen
