// Settings loading: defaults < JSON file < flags; strict JSON; --help.
#include "common/config.hpp"

#include <gtest/gtest.h>

#include "tests/support/support.hpp"

namespace blobswarm::config {
namespace {

struct upstream {
  std::string url;
  bool insecure = false;
  template <class V>
  void visit(V& v) {
    v("url", url, "registry base URL");
    v("insecure", insecure, "skip TLS verification");
  }
};

struct sample_settings {
  std::string listen = "127.0.0.1:6969";
  int workers = 2;
  bool compact = true;
  byte_size cache{1ULL << 30};
  duration ttl = std::chrono::minutes(30);
  std::vector<std::string> tags = {"a", "b"};
  string_list seeders = {"http://one"};
  std::map<std::string, upstream> upstreams;
  std::vector<upstream> fallbacks;
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "listen address");
    v("workers", workers, "worker threads");
    v("compact", compact, "compact replies");
    v("cache_size", cache, "cache quota");
    v("peer_ttl", ttl, "peer lifetime");
    v("tags", tags, "tags");
    v("seeders", seeders, "one URL or several");
    v("upstreams", upstreams, "registries by host");
    v("fallbacks", fallbacks, "fallback registries");
    log.visit(v);
  }
  result<void> validate() const {
    if (workers < 1) return fail(errc::invalid_argument, "workers must be at least 1");
    return {};
  }
};

const app_info info{"sample", "a sample component", ""};

expected<sample_settings, exit_status> load_args(std::vector<std::string> args) {
  args.insert(args.begin(), "sample");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return load<sample_settings>(info, static_cast<int>(argv.size()), argv.data());
}

TEST(config, defaults_apply_without_file_or_flags) {
  auto s = load_args({});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->listen, "127.0.0.1:6969");
  EXPECT_EQ(s->workers, 2);
  EXPECT_TRUE(s->compact);
  EXPECT_EQ(s->cache.bytes, 1ULL << 30);
}

TEST(config, flags_override_file_which_overrides_defaults) {
  test::temp_dir dir;
  test::write_text(dir / "c.json", R"({
    "listen": "0.0.0.0:1", "workers": 8, "compact": false, "cache_size": "10GiB",
    "peer_ttl": "5m", "tags": ["x"],
    "upstreams": {"docker.io": {"url": "https://registry-1.docker.io"},
                  "127.0.0.1:5000": {"url": "http://127.0.0.1:5000", "insecure": true}},
    "fallbacks": [{"url": "http://a"}],
    "log_level": "debug"})");
  auto s = load_args({"--config", (dir / "c.json").string(), "--workers", "3", "--cache-size",
                      "2GiB", "--compact"});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->listen, "0.0.0.0:1");      // from the file
  EXPECT_EQ(s->workers, 3);               // flag wins
  EXPECT_TRUE(s->compact);                // flag wins over the file's false
  EXPECT_EQ(s->cache.bytes, 2ULL << 30);  // flag wins
  EXPECT_EQ(s->ttl, std::chrono::minutes(5));
  EXPECT_EQ(s->tags, std::vector<std::string>{"x"});
  ASSERT_EQ(s->upstreams.size(), 2u);
  EXPECT_TRUE(s->upstreams.at("127.0.0.1:5000").insecure);
  EXPECT_FALSE(s->upstreams.at("docker.io").insecure);
  ASSERT_EQ(s->fallbacks.size(), 1u);
  EXPECT_EQ(s->log.level, "debug");
}

TEST(config, a_string_list_takes_one_string_or_a_list_or_a_comma_separated_flag) {
  test::temp_dir dir;
  test::write_text(dir / "one.json", R"({"seeders": "http://a"})");
  auto s = load_args({"--config", (dir / "one.json").string()});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->seeders, (std::vector<std::string>{"http://a"}));
  test::write_text(dir / "two.json", R"({"seeders": ["http://a", "http://b"]})");
  s = load_args({"--config", (dir / "two.json").string()});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->seeders, (std::vector<std::string>{"http://a", "http://b"}));
  s = load_args({"--seeders", "http://x,http://y"});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->seeders, (std::vector<std::string>{"http://x", "http://y"}));
  EXPECT_EQ(load_args({})->seeders, (std::vector<std::string>{"http://one"}));
  for (auto bad : {R"({"seeders": 1})", R"({"seeders": [1]})", R"({"seeders": {}})"}) {
    test::write_text(dir / "bad.json", bad);
    s = load_args({"--config", (dir / "bad.json").string()});
    ASSERT_FALSE(s) << bad;
    EXPECT_NE(s.error().message.find("'seeders'"), std::string::npos) << s.error().message;
  }
}

TEST(config, negated_flag_turns_a_default_off) {
  auto s = load_args({"--no-compact"});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->compact);
}

TEST(config, unknown_keys_are_rejected_by_name) {
  test::temp_dir dir;
  test::write_text(dir / "c.json", R"({"listen": "x:1", "peer_tll": "5m"})");
  auto s = load_args({"--config", (dir / "c.json").string()});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 2);
  EXPECT_NE(s.error().message.find("unknown config key 'peer_tll'"), std::string::npos)
      << s.error().message;

  test::write_text(dir / "d.json", R"({"upstreams": {"h": {"url": "u", "tls": true}}})");
  s = load_args({"--config", (dir / "d.json").string()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("'upstreams.h.tls'"), std::string::npos) << s.error().message;

  test::write_text(dir / "e.json", R"({"peer-ttl": "5m"})");
  s = load_args({"--config", (dir / "e.json").string()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("did you mean 'peer_ttl'"), std::string::npos)
      << s.error().message;
}

TEST(config, bad_values_name_the_key) {
  test::temp_dir dir;
  struct row {
    const char* json;
    const char* key;
  };
  for (auto [json, key] :
       std::initializer_list<row>{{R"({"workers": "many"})", "workers"},
                                  {R"({"workers": 1.5})", "workers"},
                                  {R"({"workers": 99999999999})", "workers"},
                                  {R"({"compact": "yes"})", "compact"},
                                  {R"({"cache_size": "lots"})", "cache_size"},
                                  {R"({"peer_ttl": "soon"})", "peer_ttl"},
                                  {R"({"tags": "x"})", "tags"},
                                  {R"({"fallbacks": [{"url": 1}]})", "fallbacks[0].url"},
                                  {R"({"upstreams": []})", "upstreams"}}) {
    test::write_text(dir / "c.json", json);
    auto s = load_args({"--config", (dir / "c.json").string()});
    ASSERT_FALSE(s) << json;
    EXPECT_NE(s.error().message.find(std::string("'") + key + "'"), std::string::npos)
        << json << " -> " << s.error().message;
  }
}

TEST(config, invalid_json_and_missing_file_are_clear_errors) {
  test::temp_dir dir;
  test::write_text(dir / "c.json", "{ \"listen\": ");
  auto s = load_args({"--config", (dir / "c.json").string()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("not valid JSON"), std::string::npos) << s.error().message;
  s = load_args({"--config", (dir / "missing.json").string()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("missing.json"), std::string::npos) << s.error().message;
  test::write_text(dir / "a.json", "[1, 2]");
  s = load_args({"--config", (dir / "a.json").string()});
  ASSERT_FALSE(s);
}

// Found by fuzz/config_files: nlohmann throws out_of_range, not parse_error,
// for a number no double can hold, and the loader let it escape (the
// binaries died at start-up instead of naming the file).
TEST(config, numbers_too_large_for_json_are_a_clear_error_not_a_crash) {
  test::temp_dir dir;
  for (std::string text : {"{\"cache_size\": 1e400}", "{\"workers\": -10737e41824}", "[1e999]"}) {
    test::write_text(dir / "n.json", text);
    auto s = load_args({"--config", (dir / "n.json").string()});
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, 2);
    EXPECT_NE(s.error().message.find("not valid JSON"), std::string::npos) << s.error().message;
  }
}

TEST(config, bad_flags_and_validation_fail_with_exit_code_2) {
  auto s = load_args({"--workers", "x"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 2);
  s = load_args({"--cache-size", "huge"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 2);
  EXPECT_NE(s.error().message.find("huge"), std::string::npos);
  s = load_args({"--no-such-flag"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 2);
  s = load_args({"--workers", "0"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("workers must be at least 1"), std::string::npos);
}

TEST(config, help_lists_every_option_with_its_default) {
  auto s = load_args({"--help"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 0);
  const auto& help = s.error().message;
  for (auto text : {"--listen", "127.0.0.1:6969", "--workers", "--compact", "--no-compact",
                    "--cache-size", "1GiB", "--peer-ttl", "30m", "--tags", "--log-level",
                    "--log-format", "--config", "upstreams", "fallbacks"}) {
    EXPECT_NE(help.find(text), std::string::npos) << "missing " << text << " in\n" << help;
  }
  auto v = load_args({"--version"});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, 0);
  EXPECT_NE(v.error().message.find(BLOBSWARM_VERSION), std::string::npos);
}

}  // namespace
}  // namespace blobswarm::config
