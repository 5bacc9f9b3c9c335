#include "tracker/redis_peer_store.hpp"

#include "tracker/redis_swarm.hpp"

namespace blobswarm::tracker {

namespace rs = redis_swarm;

redis_peer_store::redis_peer_store(db::redis_url url, swarm_table& swarms,
                                   redis_peer_options options, std::shared_ptr<spdlog::logger> log)
    : url_(url),
      swarms_(swarms),
      options_(std::move(options)),
      log_(log),
      pool_(std::move(url),
            db::redis_pool_options{.timeout = options_.timeout,
                                   .retry_after = options_.retry_after,
                                   .max_idle = options_.max_idle,
                                   .name = "peer store",
                                   .when_down = "announces fail"},
            std::move(log)) {}

redis_peer_store::~redis_peer_store() = default;

template <class F>
auto redis_peer_store::run(F&& f) -> std::invoke_result_t<F&, db::redis_connection&> {
  return pool_.run(std::forward<F>(f));
}

result<void> redis_peer_store::ping() {
  return run([&](db::redis_connection& connection) -> result<void> {
    auto* l = &connection;
    auto r = l->command({"PING"});
    if (!r) return fail(r.error());
    if (r->is_error()) return fail(errc::unavailable, "Redis at {}: {}", url_.describe(), r->str());
    return {};
  });
}

result<void> redis_peer_store::read_swarms(db::redis_connection& c,
                                           std::span<const swarm_key> primaries,
                                           std::vector<std::vector<peer>>& out) {
  out.resize(primaries.size());
  for (const auto& key : primaries) {
    auto keys = rs::keys_for(options_.prefix, key);
    c.append({"HGETALL", keys.seeders});
    c.append({"HGETALL", keys.leechers});
  }
  auto replies = c.replies();
  if (!replies) return fail(replies.error());
  for (std::size_t i = 0; i < primaries.size(); ++i) {
    out[i].clear();
    for (std::size_t h = 0; h < 2; ++h) {
      const auto& r = (*replies)[2 * i + h];
      if (r.is_error()) return fail(errc::unavailable, "Redis: {}", r.str());
      for (std::size_t e = 0; e + 1 < r.size(); e += 2) {
        if (auto p = rs::decode(r.element(e), r.element(e + 1))) out[i].push_back(*p);
      }
    }
  }
  return {};
}

result<std::optional<swarm_answer>> redis_peer_store::announce(const announce_input& in,
                                                               peer_scratch& scratch) {
  std::optional<swarm_key> primary;
  swarms_.with_primary(in.req->info_hash, [&](const swarm_key& k, swarm&) { primary = k; });
  if (!primary) return std::optional<swarm_answer>{};
  auto keys = rs::keys_for(options_.prefix, *primary);

  return run([&](db::redis_connection& connection) -> result<std::optional<swarm_answer>> {
    auto* conn = &connection;
    conn->append({"HGETALL", keys.seeders});
    conn->append({"HGETALL", keys.leechers});
    auto read = conn->replies();
    if (!read) return fail(read.error());
    scratch.records.clear();
    for (const auto& r : *read) {
      if (r.is_error()) return fail(errc::unavailable, "Redis: {}", r.str());
      for (std::size_t e = 0; e + 1 < r.size(); e += 2) {
        if (auto p = rs::decode(r.element(e), r.element(e + 1))) scratch.records.push_back(*p);
      }
    }
    scratch.work.load(scratch.records);
    auto plan = rs::plan_announce(in, scratch);

    auto ttl_ms = std::to_string(std::uint64_t{options_.peer_ttl} * 1000);
    auto field = rs::encode_identity(in.who, scratch.field);
    if (plan.remove_from) conn->append({"HDEL", keys.of(*plan.remove_from), field});
    if (plan.write) {
      auto value = rs::encode_record(*plan.write, scratch.value);
      conn->append({"HSET", keys.of(plan.write->seeder), field, value});
      conn->append({"PEXPIRE", keys.seeders, ttl_ms});
      conn->append({"PEXPIRE", keys.leechers, ttl_ms});
    }
    for (bool seeders : {true, false}) {
      std::vector<std::string> args;
      for (const auto& p : plan.stale) {
        if (p.seeder != seeders) continue;
        std::string f, v;
        args.push_back(std::string(rs::encode_identity(p.identity(), f)));
        args.push_back(std::string(rs::encode_record(p, v)));
      }
      if (args.empty()) continue;
      std::vector<std::string_view> argv{"EVAL", rs::delete_if_unchanged_script, "1",
                                         keys.of(seeders)};
      argv.insert(argv.end(), args.begin(), args.end());
      conn->append(argv);
    }
    // The client's answer does not depend on these writes: their replies
    // are read on the connection's next use (one round trip per announce).
    if (auto sent = conn->send_deferred(); !sent) return fail(sent.error());
    swarms_.with(*primary, [&](swarm& s) { s.count(plan.answer.effect); });
    return std::optional<swarm_answer>(plan.answer);
  });
}

result<std::vector<std::optional<swarm_counts>>> redis_peer_store::counts(
    std::span<const swarm_key> keys) {
  std::vector<std::optional<swarm_counts>> out(keys.size());
  std::vector<swarm_key> primaries(keys.size());
  std::size_t known = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    swarms_.with_primary(keys[i], [&](const swarm_key& k, swarm& s) {
      primaries[i] = k;
      out[i] = swarm_counts{0, 0, s.completed(), s.pending()};
      ++known;
    });
  }
  if (known == 0) return out;
  return run(
      [&](db::redis_connection& connection) -> result<std::vector<std::optional<swarm_counts>>> {
        auto* conn = &connection;
        for (std::size_t i = 0; i < keys.size(); ++i) {
          if (!out[i]) continue;
          auto k = rs::keys_for(options_.prefix, primaries[i]);
          conn->append({"HLEN", k.seeders});
          conn->append({"HLEN", k.leechers});
        }
        auto replies = conn->replies();
        if (!replies) return fail(replies.error());
        std::size_t r = 0;
        for (auto& o : out) {
          if (!o) continue;
          o->seeders = static_cast<std::uint32_t>((*replies)[r++].integer());
          o->leechers = static_cast<std::uint32_t>((*replies)[r++].integer());
        }
        return out;
      });
}

result<std::vector<peer>> redis_peer_store::peers(const swarm_key& key) {
  std::optional<swarm_key> primary;
  swarms_.with_primary(key, [&](const swarm_key& k, swarm&) { primary = k; });
  if (!primary) return std::vector<peer>{};
  return run([&](db::redis_connection& connection) -> result<std::vector<peer>> {
    auto* conn = &connection;
    std::vector<std::vector<peer>> out;
    if (auto r = read_swarms(*conn, std::span<const swarm_key>(&*primary, 1), out); !r) {
      return fail(r.error());
    }
    return std::move(out.front());
  });
}

result<void> redis_peer_store::visit(const std::function<void(const peer&)>& f) {
  std::vector<swarm_key> all;
  swarms_.for_each([&](const swarm_key& k, swarm&) { all.push_back(k); });
  return run([&](db::redis_connection& connection) -> result<void> {
    auto* conn = &connection;
    constexpr std::size_t batch = 256;
    std::vector<std::vector<peer>> out;
    for (std::size_t i = 0; i < all.size(); i += batch) {
      auto n = std::min(batch, all.size() - i);
      if (auto r = read_swarms(*conn, std::span<const swarm_key>(all.data() + i, n), out); !r) {
        return fail(r.error());
      }
      for (const auto& records : out) {
        for (const auto& p : records) f(p);
      }
    }
    return {};
  });
}

result<std::size_t> redis_peer_store::remove_user(std::uint32_t user) {
  return run([&](db::redis_connection& connection) -> result<std::size_t> {
    auto* conn = &connection;
    std::size_t removed = 0;
    std::string cursor = "0";
    auto pattern = options_.prefix + "*";
    // Bounded: SCAN visits every key once; a deleted user is rare.
    for (int rounds = 0; rounds < 1000000; ++rounds) {
      auto page = conn->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (!page) return fail(page.error());
      if (page->is_error()) return fail(errc::unavailable, "Redis: {}", page->str());
      // A SCAN reply is [cursor, [keys...]].
      if (page->size() != 2) return fail(errc::unavailable, "Redis: unexpected SCAN reply");
      std::string next_cursor(page->element(0));
      auto keys = page->strings_at(1);
      for (const auto& key : keys) conn->append({"HKEYS", key});
      auto fields = conn->replies();
      if (!fields) return fail(fields.error());
      for (std::size_t k = 0; k < keys.size(); ++k) {
        std::vector<std::string_view> argv{"HDEL", keys[k]};
        const auto& r = (*fields)[k];
        for (std::size_t e = 0; e < r.size(); ++e) {
          if (rs::user_of_field(r.element(e)) == user) argv.push_back(r.element(e));
        }
        if (argv.size() == 2) continue;
        conn->append(argv);
        auto del = conn->replies();
        if (!del) return fail(del.error());
        removed += static_cast<std::size_t>(del->front().integer());
      }
      cursor = std::move(next_cursor);
      if (cursor == "0") break;
    }
    return removed;
  });
}

result<void> redis_peer_store::forget(const swarm_key& primary) {
  return run([&](db::redis_connection& connection) -> result<void> {
    auto* conn = &connection;
    auto keys = rs::keys_for(options_.prefix, primary);
    auto r = conn->command({"DEL", keys.seeders, keys.leechers});
    if (!r) return fail(r.error());
    return {};
  });
}

result<std::size_t> redis_peer_store::sweep(std::uint32_t, std::uint32_t) {
  // Records older than peer_ttl are deleted by the next announce to their
  // swarm, and a swarm nobody announces to expires as a whole: here only
  // the totals are refreshed.
  std::vector<swarm_key> all;
  swarms_.for_each([&](const swarm_key& k, swarm&) { all.push_back(k); });
  return run([&](db::redis_connection& connection) -> result<std::size_t> {
    auto* conn = &connection;
    std::size_t peers = 0, seeders = 0;
    constexpr std::size_t batch = 512;
    for (std::size_t i = 0; i < all.size(); i += batch) {
      auto n = std::min(batch, all.size() - i);
      for (std::size_t j = i; j < i + n; ++j) {
        auto k = rs::keys_for(options_.prefix, all[j]);
        conn->append({"HLEN", k.seeders});
        conn->append({"HLEN", k.leechers});
      }
      auto r = conn->replies();
      if (!r) return fail(r.error());
      for (std::size_t j = 0; j < r->size(); j += 2) {
        auto s = static_cast<std::size_t>((*r)[j].integer());
        seeders += s;
        peers += s + static_cast<std::size_t>((*r)[j + 1].integer());
      }
    }
    peers_total_ = peers;
    seeders_total_ = seeders;
    return 0;
  });
}

swarm_totals redis_peer_store::totals() const {
  auto t = swarms_.totals();
  t.peers = peers_total_;
  t.seeders = seeders_total_;
  return t;
}

}  // namespace blobswarm::tracker
