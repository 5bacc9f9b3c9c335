#include "tracker/catalog.hpp"

#include <unordered_map>

namespace blobswarm::tracker {

result<void> catalog::load() {
  auto keys = store_.load_user_keys();
  if (!keys) return fail(keys.error());
  for (auto& k : *keys) users_.add(k.key, static_cast<std::uint32_t>(k.id), std::move(k.name));
  auto torrents = store_.load_torrents();
  if (!torrents) return fail(torrents.error());
  for (const auto& t : *torrents) {
    if (auto r = swarms_.add({t.id, t.primary, t.alias, t.completed}); !r) return fail(r.error());
  }
  return {};
}

result<void> catalog::check_user_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '@');
  }
  if (!ok) {
    return fail(errc::invalid_argument, "user name must be 1-64 characters of [A-Za-z0-9._@-]");
  }
  return {};
}

result<new_user> catalog::create_user(std::string_view name, std::int64_t now) {
  if (auto c = check_user_name(name); !c) return fail(c.error());
  auto passkey = generate_passkey();
  auto key = passkey_hasher()(passkey);
  auto row = store_.create_user(name, key, now);
  if (!row) return fail(row.error());
  users_.add(key, static_cast<std::uint32_t>(row->id), row->name);
  return new_user{std::move(*row), std::move(passkey)};
}

result<new_user> catalog::rotate_passkey(std::string_view name) {
  auto passkey = generate_passkey();
  auto key = passkey_hasher()(passkey);
  auto row = store_.set_passkey(name, key);
  if (!row) return fail(row.error());
  if (!users_.rekey(static_cast<std::uint32_t>(row->id), key)) {
    users_.add(key, static_cast<std::uint32_t>(row->id), row->name);
  }
  return new_user{std::move(*row), std::move(passkey)};
}

result<bool> catalog::provision_user(std::string_view name, std::string_view passkey,
                                     std::int64_t now) {
  if (auto c = check_user_name(name); !c) return fail(c.error());
  auto key = passkey_hasher()(passkey);
  if (auto existing = users_.find(key)) {
    if (existing->name == name) return false;
    return fail(errc::conflict, "the passkey of user '{}' is already user '{}'s", name,
                existing->name);
  }
  auto row = store_.find_user(name);
  if (!row && row.error().code != errc::not_found) return fail(row.error());
  if (!row) {
    auto made = store_.create_user(name, key, now);
    if (!made) return fail(made.error());
    users_.add(key, static_cast<std::uint32_t>(made->id), made->name);
    return true;
  }
  auto updated = store_.set_passkey(name, key);
  if (!updated) return fail(updated.error());
  if (!users_.rekey(static_cast<std::uint32_t>(updated->id), key)) {
    users_.add(key, static_cast<std::uint32_t>(updated->id), updated->name);
  }
  return true;
}

result<user_row> catalog::delete_user(std::string_view name) {
  auto row = store_.delete_user(name);
  if (!row) return row;
  auto id = static_cast<std::uint32_t>(row->id);
  users_.remove(id);
  swarms_.for_each([&](const swarm_key&, swarm& s) { s.remove_user(id); });
  return row;
}

result<user_row> catalog::find_user(std::string_view name) {
  return store_.find_user(name);
}

result<std::vector<user_row>> catalog::list_users() {
  return store_.list_users();
}

result<registration_outcome> catalog::register_torrent(std::string_view bytes,
                                                       const std::optional<digest>& blob,
                                                       std::optional<std::int64_t> segment,
                                                       std::int64_t now) {
  auto meta = inspect_torrent(bytes);
  if (!meta) return fail(meta.error());
  new_torrent t;
  t.v1 = meta->v1;
  t.v2 = meta->v2;
  t.name = meta->name;
  t.size = meta->size;
  t.piece_length = meta->piece_length;
  t.is_private = meta->is_private;
  t.bytes = std::string(bytes);
  t.blob = blob;
  t.segment = segment;
  t.now = now;
  auto out = store_.register_torrent(t);
  if (!out) return out;
  auto r = swarms_.add({out->row.id, out->row.primary, out->row.alias, out->row.completed});
  if (!r) {
    // Only possible if the database and memory disagree; undo the insert
    // so the next attempt sees the same state.
    if (out->created) (void)store_.delete_torrent(out->row.id);
    return fail(r.error());
  }
  return out;
}

result<torrent_row> catalog::find_torrent(const info_hash& h) {
  return store_.find_torrent(h);
}

result<std::vector<torrent_row>> catalog::list_torrents(std::int64_t after, std::size_t limit) {
  return store_.list_torrents(after, limit);
}

result<blob_torrents> catalog::find_blob(const digest& d) {
  return store_.find_blob(d);
}

result<std::optional<torrent_row>> catalog::find_segment(const digest& d, std::int64_t segment) {
  return store_.find_segment(d, segment);
}

result<std::string> catalog::torrent_bytes(std::int64_t id) {
  return store_.torrent_bytes(id);
}

result<torrent_row> catalog::delete_torrent(const info_hash& h) {
  auto row = store_.find_torrent(h);
  if (!row) return row;
  // Counters still pending for this torrent are written first, so its
  // totals in the database are complete when it goes.
  if (auto f = flush_stats(); !f) return fail(f.error());
  if (auto d = store_.delete_torrent(row->id); !d) return fail(d.error());
  swarms_.remove(row->primary, row->alias);
  return row;
}

result<flush_report> catalog::flush_stats() {
  std::vector<torrent_stats_delta> torrents;
  swarms_.for_each([&](const swarm_key&, swarm& s) {
    if (s.pending().empty()) return;
    auto p = s.take_pending();
    torrents.push_back({s.torrent_id(), p.uploaded, p.downloaded, p.completed});
  });
  auto users = users_.take_pending();
  if (auto r = store_.add_stats(torrents, users); !r) {
    // Put everything back; the next flush tries again.
    std::unordered_map<std::int64_t, pending_stats> back;
    for (const auto& d : torrents) back[d.torrent_id] = {d.uploaded, d.downloaded, d.completed};
    swarms_.for_each([&](const swarm_key&, swarm& s) {
      if (auto it = back.find(s.torrent_id()); it != back.end()) s.give_back(it->second);
    });
    users_.give_back(users);
    return fail(r.error());
  }
  return flush_report{torrents.size(), users.size()};
}

}  // namespace blobswarm::tracker
