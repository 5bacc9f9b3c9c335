#include "tracker/shared_session_store.hpp"

namespace blobswarm::tracker {

passkey_hash shared_session_store::hash(std::string_view id) {
  std::lock_guard lock(mutex_);
  return hasher_(id);
}

result<session_store::created_session> shared_session_store::create(std::uint32_t user_id,
                                                                    std::string name, bool admin,
                                                                    std::uint32_t now) {
  auto out = make(user_id, std::move(name), admin, now);
  auto n = db_.count_sessions();
  if (!n) return fail(n.error());
  if (*n >= policy_.max_sessions) {
    if (auto p = purge(now); !p) return fail(p.error());
    if (auto t = db_.trim_sessions(policy_.max_sessions - 1); !t) return fail(t.error());
  }
  session_row row{hash(out.id), user_id, out.s.name, admin, out.s.csrf, now, now};
  if (auto r = db_.insert_session(row); !r) return fail(r.error());
  return out;
}

result<std::optional<session>> shared_session_store::find(std::string_view id, std::uint32_t now) {
  if (id.size() != 64) return std::optional<session>{};
  auto key = hash(id);
  auto row = db_.find_session(key);
  if (!row) return fail(row.error());
  if (!*row) return std::optional<session>{};
  session s{(*row)->user_id,         std::move((*row)->name), (*row)->admin,
            std::move((*row)->csrf), (*row)->created,         (*row)->last_used};
  if (policy_.expired(s, now)) {
    if (auto d = db_.delete_session(key); !d) return fail(d.error());
    return std::optional<session>{};
  }
  if (now >= s.last_used + touch_every) {
    if (auto t = db_.touch_session(key, now); !t) return fail(t.error());
    s.last_used = now;
  }
  return std::optional<session>(std::move(s));
}

result<void> shared_session_store::remove(std::string_view id) {
  return db_.delete_session(hash(id));
}

result<std::size_t> shared_session_store::remove_user(std::uint32_t user_id) {
  return db_.delete_user_sessions(user_id);
}

result<void> shared_session_store::purge(std::uint32_t now) {
  auto created_before = now >= policy_.ttl ? now - policy_.ttl + 1 : 0;
  auto used_before = now >= policy_.idle ? now - policy_.idle + 1 : 0;
  auto r = db_.purge_sessions(created_before, used_before);
  if (!r) return fail(r.error());
  return {};
}

result<std::size_t> shared_session_store::size() {
  return db_.count_sessions();
}

}  // namespace blobswarm::tracker
