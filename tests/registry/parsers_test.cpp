// Unit tests of the registry client's pure parts: WWW-Authenticate,
// manifests, error bodies, tokens, credentials, references, upstreams.
#include <gtest/gtest.h>

#include "common/registry/credentials.hpp"
#include "common/registry/image_reference.hpp"
#include "common/registry/manifest.hpp"
#include "common/registry/media_types.hpp"
#include "common/registry/registry_error.hpp"
#include "common/registry/token_cache.hpp"
#include "common/registry/upstream_table.hpp"
#include "common/registry/www_authenticate.hpp"

namespace blobswarm::registry {
namespace {

using namespace std::chrono_literals;

const std::string d1 = "sha256:" + std::string(64, 'a');
const std::string d2 = "sha256:" + std::string(64, 'b');
const std::string d3 = "sha256:" + std::string(64, 'c');

TEST(www_authenticate, parses_docker_hub_bearer_challenge) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 1u);
  EXPECT_TRUE((*c)[0].is_bearer());
  EXPECT_EQ((*c)[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].param("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].param("scope"), "repository:library/alpine:pull");
}

TEST(www_authenticate, parses_several_challenges_tokens_and_escapes) {
  auto c = parse_www_authenticate(
      R"(Basic realm="Registry \"Realm\"", Bearer Realm=tok-en , service = svc,Negotiate)");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 3u);
  EXPECT_TRUE((*c)[0].is_basic());
  EXPECT_EQ((*c)[0].param("realm"), "Registry \"Realm\"");
  EXPECT_TRUE((*c)[1].is_bearer());
  EXPECT_EQ((*c)[1].param("realm"), "tok-en");
  EXPECT_EQ((*c)[1].param("service"), "svc");
  EXPECT_EQ((*c)[2].scheme, "negotiate");
  EXPECT_TRUE((*c)[2].params.empty());
}

TEST(www_authenticate, rejects_malformed_headers) {
  for (std::string_view bad : {"", "   ", "Bearer realm=\"unterminated", "Bearer realm=https://x",
                               "Bearer realm=\"a\" junk", "=x"}) {
    EXPECT_FALSE(parse_www_authenticate(bad)) << bad;
  }
}

TEST(www_authenticate, formats_what_it_parses) {
  auto c = parse_www_authenticate(R"(Bearer realm="https://a/t",service="s\"q")");
  ASSERT_TRUE(c);
  auto again = parse_www_authenticate(format_challenge((*c)[0]));
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)[0].params, (*c)[0].params);
}

TEST(manifest, parses_docker_schema2_image) {
  auto body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      d1 +
      R"(","size":100},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
      d2 +
      R"(","size":2000},
              {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
      d2 +
      R"(","size":2000},
              {"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" +
      d3 + R"(","size":5,"urls":["https://example/x"]}]})";
  auto m = parse_manifest(body, "application/vnd.docker.distribution.manifest.v2+json");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_FALSE(m->is_index());
  EXPECT_EQ(m->media_type, media_type::docker_manifest_v2);
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->digest.str(), d1);
  ASSERT_EQ(m->layers.size(), 3u);
  EXPECT_EQ(m->layers[2].urls.size(), 1u);
  auto blobs = m->blobs();  // config, one copy of the repeated layer, no foreign layer
  ASSERT_EQ(blobs.size(), 2u);
  EXPECT_EQ(blobs[0].digest.str(), d1);
  EXPECT_EQ(blobs[1].digest.str(), d2);
  EXPECT_EQ(blobs[1].size, 2000u);
}

TEST(manifest, parses_oci_index_and_selects_platforms) {
  auto body = R"({"schemaVersion":2,"manifests":[
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
              d1 +
              R"(","size":500,"platform":{"os":"linux","architecture":"amd64"}},
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
              d2 +
              R"(","size":501,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
     {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
              d3 + R"(","size":502}]})";
  // Content-Type decides; a body without mediaType is still an index by shape.
  auto m = parse_manifest(body, "application/vnd.oci.image.index.v1+json; charset=utf-8");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->is_index());
  EXPECT_EQ(m->manifests.size(), 3u);
  EXPECT_EQ(m->select({}).size(), 3u);
  auto arm = m->select({*platform::parse("linux/arm64")});
  ASSERT_EQ(arm.size(), 1u);
  EXPECT_EQ(arm[0].digest.str(), d2);
  EXPECT_EQ(m->select({*platform::parse("linux/arm64/v7")}).size(), 0u);
  EXPECT_EQ(m->select({*platform::parse("linux/amd64"), *platform::parse("linux/arm64/v8")}).size(),
            2u);
  auto shaped = parse_manifest(body, "application/json");
  ASSERT_TRUE(shaped);
  EXPECT_EQ(shaped->media_type, media_type::oci_index);
}

TEST(manifest, parses_docker_manifest_list_by_its_media_type_field) {
  auto body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
      d1 +
      R"(","size":1,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0"}}]})";
  auto m = parse_manifest(body);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media_type::docker_manifest_list);
  ASSERT_TRUE(m->manifests[0].platform);
  EXPECT_EQ(m->manifests[0].platform->os_version, "10.0");
}

TEST(manifest, parses_schema1_blob_sums_base_layer_first) {
  auto body = R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[{"blobSum":")" + d2 +
              R"("},{"blobSum":")" + d1 + R"("}]})";
  auto m = parse_manifest(body, "application/vnd.docker.distribution.manifest.v1+prettyjws");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->schema_version, 1);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].digest.str(), d1);
  EXPECT_FALSE(m->layers[0].size_known);
}

TEST(manifest, rejects_invalid_documents_with_a_reason) {
  struct bad_case {
    std::string body;
    std::string mention;
  };
  std::vector<bad_case> cases = {
      {"not json", "JSON"},
      {"[]", "object"},
      {R"({"mediaType":"x"})", "schemaVersion"},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:00","size":1},"layers":[]})", "digest"},
      {R"({"schemaVersion":2,"config":{"digest":")" + d1 + R"(","size":-1},"layers":[]})",
       "negative"},
      {R"({"schemaVersion":2,"config":{"digest":")" + d1 + R"(","size":1}})", "layers"},
      {R"({"schemaVersion":2,"manifests":[{"digest":")" + d1 +
           R"(","size":1,"platform":{"os":"linux"}}]})",
       "architecture"},
      {R"({"schemaVersion":3,"layers":[]})", "schemaVersion"},
  };
  for (const auto& c : cases) {
    auto m = parse_manifest(c.body);
    ASSERT_FALSE(m) << c.body;
    EXPECT_NE(m.error().message.find(c.mention), std::string::npos)
        << c.body << " -> " << m.error().message;
  }
}

TEST(platform, parses_and_rejects) {
  EXPECT_EQ(platform::parse("linux/arm64/v8")->str(), "linux/arm64/v8");
  EXPECT_EQ(platform::parse("linux/amd64")->variant, "");
  for (std::string_view bad :
       {"linux", "linux/", "/amd64", "a/b/c/d", "Linux/amd64", "linux/am d64"}) {
    EXPECT_FALSE(platform::parse(bad)) << bad;
  }
}

TEST(registry_error, parses_and_writes_error_bodies) {
  auto body = format_error(code::blob_unknown, "blob unknown to registry", {{"digest", d1}});
  auto parsed = parse_errors(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].code, "BLOB_UNKNOWN");
  EXPECT_EQ((*parsed)[0].detail["digest"], d1);
  EXPECT_FALSE(parse_errors("{}"));
  EXPECT_FALSE(parse_errors("<html>"));
  EXPECT_FALSE(parse_errors(R"({"errors":[{}]})"));
  // Invalid UTF-8 in a message does not throw.
  EXPECT_FALSE(format_error("X", std::string("\xff\xfe")).empty());
}

TEST(registry_error, maps_codes_statuses_and_errc) {
  EXPECT_EQ(code_for(errc::not_found, subject::blob), code::blob_unknown);
  EXPECT_EQ(code_for(errc::not_found, subject::manifest), code::manifest_unknown);
  EXPECT_EQ(code_for(errc::invalid_argument, subject::repository), code::name_invalid);
  EXPECT_EQ(code_for(errc::invalid_argument, subject::blob), code::digest_invalid);
  EXPECT_EQ(code_for(errc::forbidden, subject::blob), code::denied);
  EXPECT_EQ(errc_for(404), errc::not_found);
  EXPECT_EQ(errc_for(200, "BLOB_UNKNOWN"), errc::not_found);
  EXPECT_EQ(errc_for(401), errc::unauthorized);
  EXPECT_EQ(errc_for(403), errc::forbidden);
  EXPECT_EQ(errc_for(429), errc::unavailable);
  EXPECT_EQ(errc_for(500), errc::upstream);
  EXPECT_EQ(errc_for(504), errc::timeout);
  auto e = upstream_failure(404, format_error(code::manifest_unknown, "manifest unknown"),
                            "GET http://r/v2/x/manifests/y");
  EXPECT_EQ(e.code, errc::not_found);
  EXPECT_NE(e.message.find("MANIFEST_UNKNOWN: manifest unknown"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("GET http://r/v2/x/manifests/y"), std::string::npos);
}

TEST(token, parses_token_server_answers) {
  auto t = parse_token_response(
      R"({"token":"abc","expires_in":300,"issued_at":"2020-01-01T00:00:00Z"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, "abc");
  EXPECT_EQ(t->expires_in, 300s);
  auto oauth = parse_token_response(R"({"access_token":"xyz"})");
  ASSERT_TRUE(oauth);
  EXPECT_EQ(oauth->value, "xyz");
  EXPECT_EQ(oauth->expires_in, 60s);
  EXPECT_FALSE(parse_token_response(R"({"token":""})"));
  EXPECT_FALSE(parse_token_response(R"({"token":"a b"})"));
  EXPECT_FALSE(parse_token_response("nope"));
}

TEST(token, builds_token_request_urls) {
  auto c = parse_www_authenticate(R"(Bearer realm="https://auth/token",service="reg istry")");
  ASSERT_TRUE(c);
  auto url = token_request_url((*c)[0], {repository_scope("library/alpine")}, "me");
  ASSERT_TRUE(url);
  EXPECT_EQ(*url,
            "https://auth/token?service=reg%20istry&scope=repository%3Alibrary%2Falpine%3Apull&"
            "account=me");
  auto no_realm = parse_www_authenticate(R"(Bearer service="x")");
  EXPECT_FALSE(token_request_url((*no_realm)[0], {}));
  auto ftp = parse_www_authenticate(R"(Bearer realm="ftp://x")");
  EXPECT_FALSE(token_request_url((*ftp)[0], {}));
}

TEST(token_cache, keeps_tokens_per_scope_until_shortly_before_expiry) {
  token_cache cache;
  auto t0 = token_cache::clock::time_point{} + 1000s;
  auto k1 = token_cache::key("realm", "svc", "repository:a:pull", "");
  auto k2 = token_cache::key("realm", "svc", "repository:b:pull", "");
  auto k3 = token_cache::key("realm", "svc", "repository:a:pull", "alice");
  cache.put(k1, bearer_token{"A", 300s}, t0);
  EXPECT_EQ(cache.get(k1, t0), "A");
  EXPECT_FALSE(cache.get(k2, t0));
  EXPECT_FALSE(cache.get(k3, t0)) << "tokens are per identity";
  EXPECT_EQ(cache.get(k1, t0 + 269s), "A");
  EXPECT_FALSE(cache.get(k1, t0 + 271s)) << "30 s safety margin";
  cache.put(k2, bearer_token{"B", 10s}, t0);
  EXPECT_EQ(cache.get(k2, t0 + 8s), "B");
  EXPECT_FALSE(cache.get(k2, t0 + 9s)) << "10% margin for short tokens";
  cache.erase(k2);
  EXPECT_FALSE(cache.get(k2, t0));
}

TEST(credentials, decodes_docker_auth_and_config_entries) {
  auto c = credentials::from_docker_auth(base64_encode("alice:s3cr:et"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cr:et");
  EXPECT_EQ(c->basic_authorization(), "Basic " + base64_encode("alice:s3cr:et"));
  EXPECT_FALSE(credentials::from_docker_auth("!!!!"));
  EXPECT_FALSE(credentials::from_docker_auth(base64_encode("nocolon")));
  EXPECT_EQ(*base64_decode(base64_encode("a")), "a");
  EXPECT_EQ(*base64_decode(base64_encode("ab")), "ab");
  EXPECT_FALSE(base64_decode("YQ=a"));

  std::string config = R"({"auths":{
      "https://index.docker.io/v1/":{"auth":")" +
                       base64_encode("hub:pw") + R"("},
      "127.0.0.1:5000":{"username":"local","password":"lpw"},
      "broken.example":{"auth":"***"}}})";
  EXPECT_EQ(credentials_from_docker_config(config, "docker.io")->username, "hub");
  EXPECT_EQ(credentials_from_docker_config(config, "registry-1.docker.io")->password, "pw");
  EXPECT_EQ(credentials_from_docker_config(config, "127.0.0.1:5000")->username, "local");
  EXPECT_EQ(credentials_from_docker_config(config, "ghcr.io").error().code, errc::not_found);
  EXPECT_EQ(credentials_from_docker_config(config, "broken.example").error().code,
            errc::invalid_argument);
}

TEST(image_reference, parses_tags_digests_and_defaults) {
  auto a = image_reference::parse("library/alpine");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tag(), "latest");
  EXPECT_EQ(a->reference(), "latest");
  auto b = image_reference::parse("team/app:v1.2");
  EXPECT_EQ(b->name().str(), "team/app");
  EXPECT_EQ(b->tag(), "v1.2");
  auto c = image_reference::parse("team/app@" + d1);
  EXPECT_EQ(c->reference(), d1);
  EXPECT_EQ(c->tag(), "");
  auto d = image_reference::parse("team/app:v1@" + d1);
  EXPECT_EQ(d->reference(), d1);
  EXPECT_EQ(d->str(), "team/app:v1@" + d1);
  for (std::string bad : {"", "UPPER:x", "a/../b:x", "a:b:c", "a:-bad", "a@sha256:zz", "a//b"}) {
    EXPECT_FALSE(image_reference::parse(bad)) << bad;
  }
}

TEST(upstream_table, resolves_hosts_and_refuses_unlisted_ones) {
  std::map<std::string, upstream_settings> by_host;
  by_host["127.0.0.1:5000"] = upstream_settings{.url = "http://127.0.0.1:5000/", .username = "u"};
  by_host["docker.io"] = upstream_settings{.auth = "x"};
  auto t = upstream_table::make("https://registry-1.docker.io", by_host);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->default_upstream().host, "docker.io");
  EXPECT_EQ(t->default_upstream().settings.auth, "x") << "the default keeps its credentials";
  EXPECT_EQ(t->resolve("")->url, "https://registry-1.docker.io");
  EXPECT_EQ(t->resolve("index.docker.io")->host, "docker.io");
  auto local = t->resolve("127.0.0.1:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->url, "http://127.0.0.1:5000");
  EXPECT_EQ(local->settings.username, "u");
  EXPECT_EQ(t->resolve("ghcr.io").error().code, errc::forbidden);
  EXPECT_EQ(t->resolve("bad host/").error().code, errc::invalid_argument);
  auto open = upstream_table::make("http://127.0.0.1:5000", {}, /*allow_unlisted=*/true);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->resolve("ghcr.io")->url, "https://ghcr.io");
  EXPECT_EQ(open->resolve("127.0.0.1:5000")->url, "http://127.0.0.1:5000");
  EXPECT_FALSE(upstream_table::make("ftp://x", {}));
  EXPECT_FALSE(upstream_table::make("http://x/path", {}));
}

}  // namespace
}  // namespace blobswarm::registry
