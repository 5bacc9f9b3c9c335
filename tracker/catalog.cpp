#include "tracker/catalog.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "tracker/memory_peer_store.hpp"

namespace blobswarm::tracker {

catalog::catalog(std::unique_ptr<store> db, user_table& users, swarm_table& swarms,
                 peer_store* peers)
    : store_(std::move(db)), users_(users), swarms_(swarms), peers_(peers) {
  if (peers_ == nullptr) {
    owned_peers_ = std::make_unique<memory_peer_store>(swarms_);
    peers_ = owned_peers_.get();
  }
}

catalog::~catalog() = default;

void catalog::file_user(const passkey_hash& key, std::uint32_t id, const std::string& name) {
  if (auto known = users_.find(key); known && known->id == id) return;
  if (!users_.rekey(id, key)) users_.add(key, id, name);
}

result<void> catalog::load() {
  auto keys = store_->load_user_keys();
  if (!keys) return fail(keys.error());
  for (auto& k : *keys) users_.add(k.key, static_cast<std::uint32_t>(k.id), std::move(k.name));
  auto torrents = store_->load_torrents();
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
  auto row = store_->create_user(name, key, now);
  if (!row) return fail(row.error());
  users_.add(key, static_cast<std::uint32_t>(row->id), row->name);
  if (auto k = keep_passkey(row->id, passkey); !k) return fail(k.error());
  row->passkey_on_record = vault_.has_value();
  return new_user{std::move(*row), std::move(passkey)};
}

result<void> catalog::keep_passkey(std::int64_t user_id, std::string_view passkey) {
  if (!vault_) return store_->set_sealed_passkey(user_id, std::nullopt);
  return store_->set_sealed_passkey(user_id, vault_->seal(passkey, user_id));
}

result<std::optional<std::string>> catalog::passkey_of(std::int64_t user_id) {
  auto sealed = store_->sealed_passkey(user_id);
  if (!sealed) return fail(sealed.error());
  if (!*sealed || !vault_) return std::optional<std::string>{};
  auto plain = vault_->open(**sealed, user_id);
  if (!plain) return fail(plain.error());
  return std::optional<std::string>(std::move(*plain));
}

result<user_credentials> catalog::find_credentials(std::string_view name) {
  return store_->find_credentials(name);
}

result<user_row> catalog::set_password_hash(std::string_view name,
                                            const std::optional<std::string>& hash) {
  return store_->set_password_hash(name, hash);
}

result<new_user> catalog::rotate_passkey(std::string_view name) {
  auto passkey = generate_passkey();
  auto key = passkey_hasher()(passkey);
  auto row = store_->set_passkey(name, key);
  if (!row) return fail(row.error());
  if (!users_.rekey(static_cast<std::uint32_t>(row->id), key)) {
    users_.add(key, static_cast<std::uint32_t>(row->id), row->name);
  }
  if (auto k = keep_passkey(row->id, passkey); !k) return fail(k.error());
  row->passkey_on_record = vault_.has_value();
  return new_user{std::move(*row), std::move(passkey)};
}

result<bool> catalog::provision_user(std::string_view name, std::string_view passkey,
                                     std::int64_t now) {
  // Replicas starting at once provision the same users: the one that loses
  // the race sees a conflict, looks again and finds the user made.
  auto r = provision_once(name, passkey, now);
  if (!r && r.error().code == errc::conflict && store_->shared()) {
    if (auto u = store_->find_user(name)) {
      if (auto k = store_->find_user_key(u->id)) {
        file_user(k->key, static_cast<std::uint32_t>(k->id), k->name);
      }
    }
    r = provision_once(name, passkey, now);
  }
  return r;
}

result<bool> catalog::provision_once(std::string_view name, std::string_view passkey,
                                     std::int64_t now) {
  if (auto c = check_user_name(name); !c) return fail(c.error());
  auto key = passkey_hasher()(passkey);
  if (auto existing = users_.find(key)) {
    if (existing->name == name) {
      // Unchanged; put the passkey on record if it is not yet.
      if (vault_) {
        auto sealed = store_->sealed_passkey(existing->id);
        if (!sealed) return fail(sealed.error());
        if (!*sealed || !vault_->open(**sealed, existing->id)) {
          if (auto k = keep_passkey(existing->id, passkey); !k) return fail(k.error());
        }
      }
      return false;
    }
    return fail(errc::conflict, "the passkey of user '{}' is already user '{}'s", name,
                existing->name);
  }
  auto row = store_->find_user(name);
  if (!row && row.error().code != errc::not_found) return fail(row.error());
  if (!row) {
    auto made = store_->create_user(name, key, now);
    if (!made) return fail(made.error());
    users_.add(key, static_cast<std::uint32_t>(made->id), made->name);
    if (auto k = keep_passkey(made->id, passkey); !k) return fail(k.error());
    return true;
  }
  auto updated = store_->set_passkey(name, key);
  if (!updated) return fail(updated.error());
  if (!users_.rekey(static_cast<std::uint32_t>(updated->id), key)) {
    users_.add(key, static_cast<std::uint32_t>(updated->id), updated->name);
  }
  if (auto k = keep_passkey(updated->id, passkey); !k) return fail(k.error());
  return true;
}

result<user_row> catalog::delete_user(std::string_view name) {
  auto row = store_->delete_user(name);
  if (!row) return row;
  auto id = static_cast<std::uint32_t>(row->id);
  users_.remove(id);
  // Their peers leave every swarm. Should the peer store be down, they
  // expire after peer_ttl (the announce path no longer knows the user).
  (void)peers_->remove_user(id);
  return row;
}

result<user_row> catalog::find_user(std::string_view name) {
  return store_->find_user(name);
}

result<std::vector<user_row>> catalog::list_users() {
  return store_->list_users();
}

result<new_torrent> catalog::describe_registration(std::string_view bytes,
                                                   const std::optional<digest>& blob,
                                                   std::optional<std::int64_t> segment,
                                                   std::int64_t now,
                                                   const registration_details& details) {
  auto meta = inspect_torrent(bytes);
  if (!meta) return fail(meta.error());
  std::optional<info_hash> made_private_from;
  std::string registered;
  if (!meta->is_private) {
    // Setting the flag changes the info-hash, so whoever seeds it must use
    // the .torrent downloaded from here (the answer names the new hash).
    auto priv = make_private(bytes);
    if (!priv) return fail(priv.error());
    made_private_from = meta->v1 ? meta->v1 : meta->v2;
    registered = std::move(*priv);
    meta = inspect_torrent(registered);
    if (!meta) return fail(meta.error());
  } else {
    registered = std::string(bytes);
  }
  new_torrent t;
  t.v1 = meta->v1;
  t.v2 = meta->v2;
  t.name = meta->name;
  t.size = meta->size;
  t.piece_length = meta->piece_length;
  t.is_private = meta->is_private;
  t.bytes = std::move(registered);
  t.blob = blob;
  t.segment = segment;
  t.now = now;
  t.details = details;
  t.made_private_from = made_private_from;
  return t;
}

result<registration_outcome> catalog::register_torrent(std::string_view bytes,
                                                       const std::optional<digest>& blob,
                                                       std::optional<std::int64_t> segment,
                                                       std::int64_t now,
                                                       const registration_details& details) {
  auto t = describe_registration(bytes, blob, segment, now, details);
  if (!t) return fail(t.error());
  auto out = store_->register_torrent(*t);
  if (!out) return out;
  auto r = swarms_.add({out->row.id, out->row.primary, out->row.alias, out->row.completed});
  if (!r) {
    // Only possible if the database and memory disagree; undo the insert
    // so the next attempt sees the same state.
    if (out->created) (void)store_->delete_torrent(out->row);
    return fail(r.error());
  }
  out->made_private_from = t->made_private_from;
  return out;
}

result<torrent_row> catalog::find_torrent(const info_hash& h) {
  return store_->find_torrent(h);
}

result<std::vector<torrent_row>> catalog::list_torrents(std::int64_t after, std::size_t limit) {
  return store_->list_torrents(after, limit);
}

result<blob_torrents> catalog::find_blob(const digest& d) {
  return store_->find_blob(d);
}

result<std::optional<torrent_row>> catalog::find_segment(const digest& d, std::int64_t segment) {
  return store_->find_segment(d, segment);
}

result<std::string> catalog::torrent_bytes(std::int64_t id) {
  return store_->torrent_bytes(id);
}

bool catalog::known_order(std::string_view order) noexcept {
  return store::known_order(order) || order == "seeders" || order == "leechers" ||
         order == "completed";
}

result<torrent_page> catalog::search_torrents(const torrent_filter& f, std::string_view order,
                                              bool descending, std::size_t offset,
                                              std::size_t limit) {
  if (!known_order(order)) return fail(errc::invalid_argument, "unknown order '{}'", order);
  torrent_page page;
  if (store::known_order(order)) {
    auto total = store_->count_torrents(f);
    if (!total) return fail(total.error());
    page.total = *total;
    auto rows = store_->search_torrents(f, order, descending, offset, limit);
    if (!rows) return fail(rows.error());
    page.rows = std::move(*rows);
    return page;
  }
  // Live figures: rank every match by its swarm, then load one page.
  auto keys = store_->search_keys(f);
  if (!keys) return fail(keys.error());
  struct ranked {
    std::uint64_t value;
    std::int64_t id;
  };
  std::vector<swarm_key> swarm_keys;
  swarm_keys.reserve(keys->size());
  for (const auto& k : *keys) swarm_keys.push_back(k.second);
  auto counts = peers_->counts(swarm_keys);
  if (!counts) return fail(counts.error());
  std::vector<ranked> all;
  all.reserve(keys->size());
  for (std::size_t i = 0; i < keys->size(); ++i) {
    std::uint64_t v = 0;
    if (const auto& c = (*counts)[i]) {
      v = order == "seeders" ? c->seeders : order == "leechers" ? c->leechers : c->completed;
    }
    all.push_back({v, (*keys)[i].first});
  }
  std::stable_sort(all.begin(), all.end(), [descending](const ranked& a, const ranked& b) {
    return descending ? a.value > b.value : a.value < b.value;
  });
  page.total = all.size();
  std::vector<std::int64_t> ids;
  for (std::size_t i = offset; i < all.size() && ids.size() < limit; ++i) ids.push_back(all[i].id);
  auto rows = store_->find_torrents(ids);
  if (!rows) return fail(rows.error());
  page.rows = std::move(*rows);
  return page;
}

result<catalog_totals> catalog::totals() {
  return store_->totals();
}

result<torrent_row> catalog::delete_torrent(const info_hash& h) {
  auto row = store_->find_torrent(h);
  if (!row) return row;
  // Counters still pending for this torrent are written first, so its
  // totals in the database are complete when it goes.
  if (auto f = flush_stats(); !f) return fail(f.error());
  if (auto d = store_->delete_torrent(*row); !d) return fail(d.error());
  swarms_.remove(row->primary, row->alias);
  (void)peers_->forget(row->primary);  // else they expire with the swarm's key in the store
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
  if (auto r = store_->add_stats(torrents, users); !r) {
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

result<void> catalog::apply(const store_change& c) {
  if (c.what == store_change::kind::user) {
    auto key = store_->find_user_key(c.id);
    if (key) {
      file_user(key->key, static_cast<std::uint32_t>(key->id), key->name);
      return {};
    }
    if (key.error().code != errc::not_found) return fail(key.error());
    auto id = static_cast<std::uint32_t>(c.id);
    users_.remove(id);
    // With peers in a shared store, the tracker that deleted the user
    // removed them there.
    if (!peers_->shared()) (void)peers_->remove_user(id);
    return {};
  }
  if (c.what == store_change::kind::torrent) {
    auto row = store_->find_torrent_by_id(c.id);
    if (row) return swarms_.add({row->id, row->primary, row->alias, row->completed});
    if (row.error().code != errc::not_found) return fail(row.error());
    if (c.primary) {
      swarms_.remove(*c.primary, c.alias);
      (void)peers_->forget(*c.primary);
    }
    return {};
  }
  auto r = resync();
  if (!r) return fail(r.error());
  return {};
}

result<resync_report> catalog::resync() {
  resync_report report;
  auto keys = store_->load_user_keys();
  if (!keys) return fail(keys.error());
  std::unordered_set<std::uint32_t> ids;
  for (const auto& k : *keys) {
    auto id = static_cast<std::uint32_t>(k.id);
    ids.insert(id);
    auto known = users_.find(k.key);
    if (known && known->id == id) continue;
    file_user(k.key, id, k.name);
    ++report.users_changed;
  }
  for (auto id : users_.ids()) {
    if (ids.contains(id)) continue;
    users_.remove(id);
    if (!peers_->shared()) (void)peers_->remove_user(id);
    ++report.users_changed;
  }

  auto torrents = store_->load_torrents();
  if (!torrents) return fail(torrents.error());
  std::unordered_map<std::int64_t, std::uint64_t> completed;
  for (const auto& t : *torrents) {
    completed[t.id] = t.completed;
    if (swarms_.contains(t.primary)) continue;
    if (auto a = swarms_.add({t.id, t.primary, t.alias, t.completed}); !a) return fail(a.error());
    ++report.swarms_changed;
  }
  std::vector<swarm_key> gone;
  swarms_.for_each([&](const swarm_key& key, swarm& s) {
    auto it = completed.find(s.torrent_id());
    if (it == completed.end()) {
      gone.push_back(key);
    } else {
      s.set_recorded_completions(it->second);
    }
  });
  for (const auto& key : gone) {
    swarms_.remove(key, std::nullopt);
    (void)peers_->forget(key);
    ++report.swarms_changed;
  }
  return report;
}

}  // namespace blobswarm::tracker
