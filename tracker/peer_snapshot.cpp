#include "tracker/peer_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <unordered_set>

#include "common/file.hpp"

namespace blobswarm::tracker {
namespace {

constexpr std::string_view magic = "BSWPEER1";
constexpr std::size_t record_size = 20 + 20 + 4 + 4 + 8 + 8 + 8 + 16 + 4 + 2 + 2 + 4 + 1;

// Fixed little-endian layout, independent of struct padding.
template <class T>
void put(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
  }
}
template <class T>
T get(const char*& p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  p += sizeof(T);
  return static_cast<T>(v);
}
void put_bytes(std::string& out, const void* data, std::size_t n) {
  out.append(static_cast<const char*>(data), n);
}
void get_bytes(const char*& p, void* data, std::size_t n) {
  std::memcpy(data, p, n);
  p += n;
}

}  // namespace

result<snapshot_report> save_peer_snapshot(swarm_table& swarms, const std::filesystem::path& path) {
  std::string out;
  out.append(magic);
  auto totals = swarms.totals();
  out.reserve(magic.size() + 8 + totals.peers * record_size);
  auto count_at = out.size();
  put<std::uint64_t>(out, 0);
  std::uint64_t count = 0;
  swarms.for_each([&](const swarm_key& key, swarm& s) {
    for (const auto& p : s.peers()) {
      put_bytes(out, key.bytes.data(), 20);
      put_bytes(out, p.id.bytes.data(), 20);
      put<std::uint32_t>(out, p.user);
      put<std::uint32_t>(out, p.last_seen);
      put<std::uint64_t>(out, p.key);
      put<std::uint64_t>(out, p.uploaded);
      put<std::uint64_t>(out, p.downloaded);
      put_bytes(out, p.ip6.data(), 16);
      put_bytes(out, p.ip4.data(), 4);
      put<std::uint16_t>(out, p.port4);
      put<std::uint16_t>(out, p.port6);
      put<std::uint32_t>(out, p.zone);
      put<std::uint8_t>(out, static_cast<std::uint8_t>((p.seeder ? 1 : 0) | (p.completed ? 2 : 0) |
                                                       (p.fed ? 4 : 0)));
      ++count;
    }
  });
  std::string header;
  put<std::uint64_t>(header, count);
  out.replace(count_at, 8, header);
  if (auto w = write_file_atomic(path, out, 0600); !w) return fail(w.error());
  return snapshot_report{static_cast<std::size_t>(count), 0};
}

result<snapshot_report> load_peer_snapshot(swarm_table& swarms, const user_table& users,
                                           const std::filesystem::path& path, std::uint32_t now,
                                           std::uint32_t ttl) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return snapshot_report{};
  auto data = read_file(path, 1ULL << 34);
  if (!data) return fail(data.error());
  std::filesystem::remove(path, ec);
  if (data->size() < magic.size() + 8 || std::string_view(*data).substr(0, magic.size()) != magic) {
    return fail(errc::corrupt, "{} is not a peer snapshot", path.string());
  }
  const char* p = data->data() + magic.size();
  auto count = get<std::uint64_t>(p);
  if (count != (data->size() - magic.size() - 8) / record_size ||
      (data->size() - magic.size() - 8) % record_size != 0) {
    return fail(errc::corrupt, "{}: truncated peer snapshot", path.string());
  }
  auto ids = users.ids();
  std::unordered_set<std::uint32_t> known(ids.begin(), ids.end());
  snapshot_report report;
  for (std::uint64_t i = 0; i < count; ++i) {
    swarm_key key;
    peer r;
    get_bytes(p, key.bytes.data(), 20);
    get_bytes(p, r.id.bytes.data(), 20);
    r.user = get<std::uint32_t>(p);
    r.last_seen = get<std::uint32_t>(p);
    r.key = get<std::uint64_t>(p);
    r.uploaded = get<std::uint64_t>(p);
    r.downloaded = get<std::uint64_t>(p);
    get_bytes(p, r.ip6.data(), 16);
    get_bytes(p, r.ip4.data(), 4);
    r.port4 = get<std::uint16_t>(p);
    r.port6 = get<std::uint16_t>(p);
    r.zone = get<std::uint32_t>(p);
    auto flags = get<std::uint8_t>(p);
    r.seeder = flags & 1;
    r.completed = flags & 2;
    r.fed = flags & 4;
    if (r.seeder) r.left_kib = 0;  // a leecher's progress is unknown until it announces
    bool fresh = r.last_seen + ttl >= now && r.last_seen <= now + 60;
    bool restored =
        fresh && known.contains(r.user) && swarms.with(key, [&](swarm& s) { s.restore(r); });
    restored ? ++report.peers : ++report.dropped;
  }
  return report;
}

}  // namespace blobswarm::tracker
