// The sqlite layer: migrations, transactions, and refusing bad files.
#include "db/database.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/support.hpp"

namespace blobswarm::db {
namespace {

const migration v1{1, "items table",
                   "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT "
                   "NOT NULL UNIQUE, data BLOB, size INTEGER)"};
const migration v2{2, "items index", "CREATE INDEX items_size ON items(size)"};
const migration broken{3, "broken", "CREATE TABLE more (x INTEGER); THIS IS NOT SQL"};

TEST(database, creates_and_migrates_to_the_newest_version) {
  test::temp_dir dir;
  auto db = database::open(dir / "a.db");
  ASSERT_TRUE(db) << db.error().message;
  const migration all[] = {v1, v2};
  auto v = db->migrate(all);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(*db->schema_version(), 2);
  // Re-running is a no-op.
  EXPECT_EQ(*db->migrate(all), 2);
}

TEST(database, applies_only_missing_migrations_on_reopen) {
  test::temp_dir dir;
  {
    auto db = database::open(dir / "a.db");
    const migration first[] = {v1};
    ASSERT_EQ(*db->migrate(first), 1);
    ASSERT_TRUE(db->exec("INSERT INTO items(name, size) VALUES ('keep', 1)"));
  }
  auto db = database::open(dir / "a.db");
  const migration all[] = {v1, v2};
  ASSERT_EQ(*db->migrate(all), 2);
  auto s = db->prepare("SELECT count(*) FROM items");
  ASSERT_TRUE(s->step().value());
  EXPECT_EQ(s->column_int(0), 1);
}

TEST(database, a_failing_migration_changes_nothing) {
  test::temp_dir dir;
  auto db = database::open(dir / "a.db");
  const migration good[] = {v1, v2};
  ASSERT_TRUE(db->migrate(good));
  const migration bad[] = {v1, v2, broken};
  auto r = db->migrate(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("migration 3 (broken)"), std::string::npos) << r.error().message;
  EXPECT_EQ(*db->schema_version(), 2);
  auto s = db->prepare("SELECT count(*) FROM sqlite_master WHERE name='more'");
  ASSERT_TRUE(s->step().value());
  EXPECT_EQ(s->column_int(0), 0) << "the partial migration was not rolled back";
}

TEST(database, refuses_a_database_newer_than_it_knows) {
  test::temp_dir dir;
  {
    auto db = database::open(dir / "a.db");
    const migration all[] = {v1, v2};
    ASSERT_TRUE(db->migrate(all));
  }
  auto db = database::open(dir / "a.db");
  const migration older[] = {v1};
  auto r = db->migrate(older);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::conflict);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

// Every migration here is valid SQL that would apply, so only the order
// check can refuse them, and it must do so before touching the database.
TEST(database, rejects_out_of_order_migrations) {
  const migration v3{3, "more table", "CREATE TABLE more (x INTEGER)"};
  const migration after_a_gap[] = {v1, v3};
  const migration swapped[] = {v1, v3, v2};
  const migration numbered_twice[] = {v1, {1, "again", "CREATE TABLE again (x INTEGER)"}};
  for (auto list : {std::span<const migration>(after_a_gap), std::span<const migration>(swapped),
                    std::span<const migration>(numbered_twice)}) {
    test::temp_dir dir;
    auto db = database::open(dir / "a.db");
    ASSERT_TRUE(db) << db.error().message;
    auto r = db->migrate(list);
    ASSERT_FALSE(r) << "migrated to version " << *r;
    EXPECT_NE(r.error().message.find("out of order"), std::string::npos) << r.error().message;
    auto s = db->prepare("SELECT count(*) FROM sqlite_master");
    ASSERT_TRUE(s->step().value());
    EXPECT_EQ(s->column_int(0), 0) << "a migration ran before the order was checked";
  }
}

TEST(database, refuses_a_file_that_is_not_a_database_and_leaves_it_alone) {
  test::temp_dir dir;
  auto junk = test::random_bytes(8192, 3);
  test::write_text(dir / "junk.db", junk);
  auto db = database::open(dir / "junk.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, errc::corrupt);
  EXPECT_NE(db.error().message.find("junk.db"), std::string::npos) << db.error().message;
  EXPECT_EQ(test::read_text(dir / "junk.db"), junk) << "the file was modified";
}

TEST(database, reports_a_damaged_database) {
  test::temp_dir dir;
  {
    auto db = database::open(dir / "a.db");
    const migration all[] = {v1};
    ASSERT_TRUE(db->migrate(all));
    ASSERT_TRUE(db->exec("PRAGMA journal_mode=DELETE"));
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(db->prepare("INSERT INTO items(name, data) VALUES (?, ?)")
                      ->bind(std::to_string(i), blob{std::string(500, 'x')})
                      .run());
    }
  }
  // Overwrite the middle of the file, leaving the header intact.
  auto bytes = test::read_text(dir / "a.db");
  ASSERT_GT(bytes.size(), 16384u);
  for (std::size_t i = 4096; i < bytes.size() - 4096; ++i) bytes[i] = '\x5a';
  test::write_text(dir / "a.db", bytes);
  auto db = database::open(dir / "a.db");
  result<void> outcome;
  if (db) {
    auto s = db->prepare("SELECT count(*), sum(length(data)) FROM items");
    if (!s) {
      outcome = fail(s.error());
    } else if (auto r = s->step(); !r) {
      outcome = fail(r.error());
    }
  } else {
    outcome = fail(db.error());
  }
  ASSERT_FALSE(outcome) << "reading a damaged database succeeded";
  EXPECT_EQ(outcome.error().code, errc::corrupt) << outcome.error().message;
}

TEST(database, read_only_files_are_a_clear_error_on_write) {
  if (::geteuid() == 0) {
    // root ignores file permissions; use a read-only open instead.
  }
  test::temp_dir dir;
  {
    auto db = database::open(dir / "a.db");
    const migration all[] = {v1};
    ASSERT_TRUE(db->migrate(all));
  }
  auto db = database::open(dir / "a.db", {.read_only = true});
  ASSERT_TRUE(db) << db.error().message;
  auto r = db->exec("INSERT INTO items(name) VALUES ('x')");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::forbidden) << r.error().message;
}

TEST(database, missing_file_without_create_is_not_found) {
  test::temp_dir dir;
  auto db = database::open(dir / "none.db", {.create = false});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, errc::not_found) << db.error().message;
}

TEST(database, a_lock_held_elsewhere_is_reported_after_the_busy_timeout) {
  test::temp_dir dir;
  auto a = database::open(dir / "a.db");
  const migration all[] = {v1};
  ASSERT_TRUE(a->migrate(all));
  auto b = database::open(dir / "a.db", {.busy_timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(b);
  auto tx = transaction::begin(*a, transaction::mode::exclusive);
  ASSERT_TRUE(tx);
  auto r = b->exec("INSERT INTO items(name) VALUES ('x')");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable) << r.error().message;
  EXPECT_NE(r.error().message.find("lock"), std::string::npos) << r.error().message;
}

TEST(database, transactions_roll_back_unless_committed) {
  test::temp_dir dir;
  auto db = database::open(dir / "a.db");
  const migration all[] = {v1};
  ASSERT_TRUE(db->migrate(all));
  {
    auto tx = transaction::begin(*db);
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('dropped')"));
  }
  {
    auto tx = transaction::begin(*db);
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('kept')"));
    ASSERT_TRUE(tx->commit());
    EXPECT_FALSE(tx->commit());
  }
  auto s = db->prepare("SELECT group_concat(name) FROM items");
  ASSERT_TRUE(s->step().value());
  EXPECT_EQ(s->column_text(0), "kept");
}

TEST(database, binds_and_reads_every_type) {
  test::temp_dir dir;
  auto db = database::open(dir / "a.db");
  const migration all[] = {v1};
  ASSERT_TRUE(db->migrate(all));
  std::string binary("\x00\x01\xff\x00", 4);
  auto ins = db->cached("INSERT INTO items(name, data, size) VALUES (?, ?, ?)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE((*ins)->bind("a", blob{binary}, std::int64_t{1} << 40).run());
  ASSERT_TRUE((*ins)->bind(std::string("b"), nullptr, std::optional<std::int64_t>{}).run());
  auto dup = (*ins)->bind("a", nullptr, 1).run();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, errc::conflict);
  EXPECT_EQ(*db->cached("INSERT INTO items(name, data, size) VALUES (?, ?, ?)"), *ins);

  auto sel = db->prepare("SELECT name, data, size FROM items ORDER BY name");
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_text(0), "a");
  EXPECT_EQ(sel->column_blob(1), binary);
  EXPECT_EQ(sel->column_int(2), std::int64_t{1} << 40);
  ASSERT_TRUE(sel->step().value());
  EXPECT_TRUE(sel->column_is_null(1));
  EXPECT_FALSE(sel->column_int_or_null(2));
  EXPECT_FALSE(sel->step().value());
}

}  // namespace
}  // namespace blobswarm::db
