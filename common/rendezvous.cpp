#include "common/rendezvous.hpp"

#include <algorithm>
#include <numeric>

#include "common/hasher.hpp"

namespace blobswarm {

std::string rendezvous_member(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

std::uint64_t rendezvous_weight(std::string_view member, std::string_view key) {
  hasher h(hash_algorithm::sha256);
  h.update(member).update("\n").update(key);
  auto raw = h.finish();
  std::uint64_t w = 0;
  for (int i = 0; i < 8; ++i) w = (w << 8) | static_cast<unsigned char>(raw[i]);
  return w;
}

std::vector<std::size_t> rendezvous_order(std::span<const std::string> members,
                                          std::string_view key) {
  struct scored {
    std::uint64_t weight;
    std::string member;
  };
  std::vector<scored> s;
  s.reserve(members.size());
  for (const auto& m : members) {
    auto n = rendezvous_member(m);
    s.push_back({rendezvous_weight(n, key), std::move(n)});
  }
  std::vector<std::size_t> order(members.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (s[a].weight != s[b].weight) return s[a].weight > s[b].weight;
    return s[a].member < s[b].member;
  });
  return order;
}

result<std::vector<std::string>> rendezvous_members(std::span<const std::string> urls,
                                                    std::string_view what) {
  std::vector<std::string> members;
  for (const auto& url : urls) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return fail(errc::invalid_argument, "{}: '{}' is not an http(s) URL", what, url);
    }
    auto m = rendezvous_member(url);
    if (std::find(members.begin(), members.end(), m) != members.end()) {
      return fail(errc::invalid_argument, "{}: '{}' is listed twice", what, url);
    }
    members.push_back(std::move(m));
  }
  return members;
}

std::vector<std::string> rendezvous_ranked(std::span<const std::string> members,
                                           std::string_view key) {
  std::vector<std::string> out;
  out.reserve(members.size());
  for (auto i : rendezvous_order(members, key)) out.push_back(rendezvous_member(members[i]));
  return out;
}

}  // namespace blobswarm
