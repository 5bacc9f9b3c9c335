// Faults in the swarm: the seeder killed in the middle of a transfer, a
// peer that serves corrupted pieces, the tracker down before and during
// pulls. Real tracker, seeder and mirrors; the bad peer is a real
// libtorrent client (python3-libtorrent). Every case checks the bytes the
// client received against the digest and the mirror's cache afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "tests/faults/fault_system.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;

// 1a. The seeder dies while a node downloads from it and from another
// node: the download finishes from the other node, nothing over HTTP. (The
// tracker hands out the seeder with a node seeding too: origins on standby
// would keep it out of this transfer.)
TEST(faults_swarm, seeder_killed_mid_transfer_the_pull_completes_from_a_peer) {
  fault_system sys(true, {{"origin_standby_seeders", 0}});
  auto blob = sys.reg.push_blob("faults/app", random_bytes(8 * MiB, 101));
  sys.start_seeder();
  sys.ingest("faults/app", blob);
  // Node A gets the blob at full speed, then uploads at 1 MiB/s.
  auto& a = sys.add_mirror({{"upload_rate", "1MiB"}});
  ASSERT_TRUE(pull_blob(blob_url(a, "faults/app", blob.digest)).intact(blob.digest, blob.size));
  // The seeder, restarted with the same store, uploads at 1 MiB/s too, so
  // node B's download takes seconds and draws on both.
  sys.seeder->config()["upload_rate_limit"] = "1MiB";
  sys.seeder->restart();
  auto& b = sys.add_mirror({{"stall_timeout", "30s"}});

  auto pull = std::async(std::launch::async,
                         [&] { return pull_blob(blob_url(b, "faults/app", blob.digest)); });
  auto progress = [&] {
    return stored_bytes(b.dir() / "data", blob.digest);
  };
  ASSERT_TRUE(wait_for([&] { return progress() >= 1 * MiB; }, 30s)) << b.output();
  sys.seeder->stop(SIGKILL);
  ASSERT_LT(progress(), blob.size - 2 * MiB) << "too late: the seeder was not killed mid-transfer";

  auto result = pull.get();
  EXPECT_TRUE(result.intact(blob.digest, blob.size))
      << result.status << " " << result.bytes << " " << result.error;
  auto t = b.stats_totals();
  EXPECT_GT(t.value("from_peers", 0u), 0u) << t.dump();
  EXPECT_GT(t.value("from_seeder", 0u), 0u)
      << "the seeder was not part of the transfer: " << t.dump();
  EXPECT_EQ(t.value("from_upstream", 0u), 0u) << t.dump();
  EXPECT_EQ(sys.reg.count_requests("GET", "/v2/faults/app/blobs/"), 1u) << "only the ingest";
  EXPECT_EQ(cache_problems(b.dir() / "data"), "");
  EXPECT_EQ(cache_files(b.dir() / "data"),
            std::vector<std::string>{std::string(blob.digest.hex())});
}

// 1b. The seeder dies and no other node has the blob: the swarm stalls and
// the node fetches the missing pieces from upstream over HTTP.
TEST(faults_swarm, seeder_killed_mid_transfer_without_peers_falls_back_to_upstream) {
  fault_system sys;
  auto blob = sys.reg.push_blob("faults/app", random_bytes(6 * MiB, 102));
  sys.start_seeder({{"upload_rate_limit", "1MiB"}});
  sys.ingest("faults/app", blob);
  auto& m = sys.add_mirror({{"stall_timeout", "1s"}});

  auto pull = std::async(std::launch::async,
                         [&] { return pull_blob(blob_url(m, "faults/app", blob.digest)); });
  auto progress = [&] {
    return stored_bytes(m.dir() / "data", blob.digest);
  };
  ASSERT_TRUE(wait_for([&] { return progress() >= 1 * MiB; }, 30s)) << m.output();
  sys.seeder->stop(SIGKILL);
  ASSERT_LT(progress(), blob.size - 2 * MiB) << "too late: the seeder was not killed mid-transfer";

  auto result = pull.get();
  EXPECT_TRUE(result.intact(blob.digest, blob.size))
      << result.status << " " << result.bytes << " " << result.error;
  EXPECT_GT(m.stats_total("from_seeder"), 0u);
  EXPECT_GT(m.stats_total("from_upstream"), 0u) << "the rest came from upstream";
  EXPECT_NE(m.output().find("swarm stalled"), std::string::npos);
  EXPECT_EQ(cache_problems(m.dir() / "data"), "");
  // Served again from the cache, identical.
  EXPECT_TRUE(pull_blob(blob_url(m, "faults/app", blob.digest)).intact(blob.digest, blob.size));
}

// 3. The tracker goes down while a node downloads: it finishes from the
// peers it already knows, without HTTP. Then, with the tracker still down,
// other nodes pull a blob the seeder has and one it must fetch first: they
// get the torrent from the seeder, find no peers, and step in over HTTP
// from the seeder (not upstream). No passkey shows up in any log.
TEST(faults_swarm, tracker_down_during_and_before_pulls) {
  fault_system sys;
  auto big = sys.reg.push_blob("faults/app", random_bytes(6 * MiB, 301));
  auto warm = sys.reg.push_blob("faults/app", random_bytes(2 * MiB, 302));
  auto cold = sys.reg.push_blob("faults/app", random_bytes(2 * MiB, 303));
  sys.start_seeder();
  sys.ingest("faults/app", big);
  sys.ingest("faults/app", warm);
  auto& a = sys.add_mirror();
  ASSERT_TRUE(pull_blob(blob_url(a, "faults/app", big.digest)).intact(big.digest, big.size));

  // During: node B downloads slowly from the seeder and node A.
  auto& b = sys.add_mirror({{"download_rate", "1MiB"}, {"stall_timeout", "30s"}});
  auto pull = std::async(std::launch::async,
                         [&] { return pull_blob(blob_url(b, "faults/app", big.digest)); });
  auto progress = [&] {
    return stored_bytes(b.dir() / "data", big.digest);
  };
  ASSERT_TRUE(wait_for([&] { return progress() >= 1 * MiB; }, 30s)) << b.output();
  auto tracker_log = sys.tracker->output();
  sys.tracker->stop(SIGKILL);
  ASSERT_LT(progress(), big.size - 2 * MiB) << "too late: the tracker did not die mid-transfer";
  auto during = pull.get();
  EXPECT_TRUE(during.intact(big.digest, big.size)) << during.status << " " << during.error;
  EXPECT_EQ(b.output().find("swarm stalled"), std::string::npos) << "B needed HTTP";
  EXPECT_EQ(b.stats_total("from_upstream"), 0u);

  // Before: the tracker is down when the pulls start.
  auto& c = sys.add_mirror({{"stall_timeout", "1s"}});
  for (const auto* blob : {&warm, &cold}) {
    auto r = pull_blob(blob_url(c, "faults/app", blob->digest));
    EXPECT_TRUE(r.intact(blob->digest, blob->size)) << r.status << " " << r.error << r.body;
  }
  EXPECT_NE(c.output().find("tracker unavailable"), std::string::npos);
  EXPECT_EQ(c.stats_total("from_upstream"), 0u) << "the seeder's HTTP should have served them";
  EXPECT_EQ(c.stats_total("from_seeder"), warm.size + cold.size);
  for (const auto* blob : {&big, &warm, &cold}) {
    EXPECT_EQ(sys.reg.count_requests("GET", "/v2/faults/app/blobs/" + blob->digest.str()), 1u)
        << "fetched upstream more than once";
  }
  for (auto* m : {&a, &b, &c}) EXPECT_EQ(cache_problems(m->dir() / "data"), "");

  // Tracker errors name the announce URL: the passkeys in it stay out of the logs.
  auto seeder_passkey = read_text(sys.dir / "seeder" / "tracker-passkey");
  while (!seeder_passkey.empty() && std::isspace(static_cast<unsigned char>(seeder_passkey.back())))
    seeder_passkey.pop_back();
  ASSERT_GE(seeder_passkey.size(), 16u);
  for (const auto* m : {&a, &b, &c}) {
    EXPECT_EQ(m->output().find(sys.passkey), std::string::npos) << "a mirror logged its passkey";
  }
  EXPECT_EQ(sys.seeder->output().find(seeder_passkey), std::string::npos)
      << "the seeder logged its passkey";
  EXPECT_EQ(tracker_log.find(sys.passkey), std::string::npos) << "the tracker logged a passkey";
}

// Whether one line of `log` holds every one of `parts`.
bool log_has_line(std::string_view log, std::initializer_list<std::string> parts) {
  while (!log.empty()) {
    auto eol = log.find('\n');
    auto line = log.substr(0, eol);
    if (std::all_of(parts.begin(), parts.end(),
                    [&](const std::string& p) { return line.find(p) != std::string_view::npos; })) {
      return true;
    }
    if (eol == std::string_view::npos) break;
    log.remove_prefix(eol + 1);
  }
  return false;
}

// Seeders of a blob's whole torrent as the tracker counts them.
std::uint64_t seeders_of(fault_system& sys, const digest& d) {
  http::client c;
  auto auth = http::header_list{{"Authorization", "Bearer " + sys.admin_token}};
  auto blob = c.send({.url = sys.tracker_url() + "/api/v1/blobs/" + d.str(), .headers = auth});
  if (!blob || blob->status != 200) return 0;
  auto ih = json::parse(blob->body)["torrent"].value("info_hash_v1", "");
  auto t = c.send({.url = sys.tracker_url() + "/api/v1/torrents/" + ih, .headers = auth});
  if (!t || t->status != 200) return 0;
  return json::parse(t->body).value("seeders", std::uint64_t{0});
}

// 2. A peer in the swarm serves corrupted pieces (a real libtorrent client
// whose file was altered after it had checked it and begun seeding): the
// mirror's libtorrent rejects those pieces and bans the peer, the rest
// comes from the seeder, and the client gets the blob intact. The tracker
// keeps the seeder on standby while the bad peer seeds: the mirror asks for
// it (origins=1) when the swarm stops delivering.
TEST(faults_swarm, a_peer_serving_corrupt_pieces_is_banned_and_the_blob_arrives_intact) {
  fault_system sys;
  auto content = random_bytes(2 * MiB, 201);
  auto blob = sys.reg.push_blob("faults/app", content);
  // The honest seeder is slow, the bad peer fast: the mirror asks it first.
  sys.start_seeder({{"upload_rate_limit", "512KiB"}});
  sys.ingest("faults/app", blob);
  auto evil_passkey = sys.create_user("evil");
  http::client c;
  auto torrent =
      c.send({.url = sys.tracker_url() + "/api/v1/blobs/" + blob.digest.str() + "/torrent",
              .headers = {{"Authorization", "Bearer " + evil_passkey}}});
  ASSERT_TRUE(torrent && torrent->status == 200);
  temp_dir evil_dir;
  write_text(evil_dir / "blob.torrent", torrent->body);
  write_text(evil_dir / "blob.data", content);
  process evil({"/usr/bin/python3", std::string(BLOBSWARM_SOURCE_DIR) + "/tests/faults/bad_peer.py",
                "--torrent", (evil_dir / "blob.torrent").string(), "--data",
                (evil_dir / "blob.data").string(), "--save", (evil_dir / "save").string(),
                "--listen", "127.0.0.66"},
               {.name = "bad_peer"});
  ASSERT_TRUE(evil.wait_for_output("corrupted", 30s)) << evil.output();
  ASSERT_TRUE(wait_for([&] { return seeders_of(sys, blob.digest) >= 2; }, 20s))
      << "the bad peer is not in the swarm\n"
      << evil.output();

  auto& m = sys.add_mirror({{"stall_timeout", "6s"}});
  auto got = pull_blob(blob_url(m, "faults/app", blob.digest));
  EXPECT_TRUE(got.intact(blob.digest, blob.size))
      << got.status << " " << got.bytes << " " << got.error;
  auto log = m.output();
  // One line each: a piece of this blob's torrent rejected, and libtorrent's
  // ban of exactly the bad peer ("<torrent> peer [ <ip:port> client: ... ]
  // banned peer"), not two words anywhere in the log.
  EXPECT_TRUE(
      log_has_line(log, {"of " + std::string(blob.digest.hex()) + " failed its hash check"}))
      << "no piece was rejected\n"
      << log;
  EXPECT_TRUE(log_has_line(log, {"peer [ 127.0.0.66:", "banned peer"}))
      << "the bad peer was not banned\n"
      << log;
  EXPECT_FALSE(log_has_line(log, {"peer [ 127.0.0.1:", "banned peer"}))
      << "the honest seeder was banned";
  EXPECT_NE(log.find("asking the tracker for the seeder"), std::string::npos);
  // The rest came from the seeder: over BitTorrent, and over HTTP for the
  // few pieces that failed while only the bad peer was connected, which
  // libtorrent 2.0.8 does not ask the seeder for again.
  EXPECT_TRUE(wait_for([&] { return m.stats_total("from_seeder") > 0; }, 10s))
      << m.stats_totals().dump();
  EXPECT_EQ(m.stats_total("from_upstream"), 0u);
  EXPECT_EQ(cache_problems(m.dir() / "data"), "");
}

}  // namespace
}  // namespace blobswarm::test
