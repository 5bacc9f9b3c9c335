// Table-driven tests of the Registry v2 path router.
#include "mirror/registry_path.hpp"

#include <gtest/gtest.h>

namespace blobswarm::mirror {
namespace {

const std::string d64 = "sha256:" + std::string(64, 'a');
bool known_host(std::string_view h) {
  return h == "ghcr.io" || h == "127.0.0.1:5000";
}

TEST(registry_path, routes_the_pull_api) {
  using k = registry_path::kind;
  struct row {
    std::string path;
    k what;
    std::string host, name, reference;
  };
  for (const auto& [path, what, host, name, reference] : std::vector<row>{
           {"/v2/", k::base, "", "", ""},
           {"/v2", k::base, "", "", ""},
           {"/v2/alpine/manifests/latest", k::manifest, "", "alpine", "latest"},
           {"/v2/library/alpine/manifests/" + d64, k::manifest, "", "library/alpine", d64},
           {"/v2/a/b/c/blobs/" + d64, k::blob, "", "a/b/c", d64},
           {"/v2/a/blobs/blobs/" + d64, k::blob, "", "a/blobs", d64},
           {"/v2/x/manifests/manifests/tag", k::manifest, "", "x/manifests", "tag"},
           {"/v2/team/app/tags/list", k::tags_list, "", "team/app", ""},
           {"/v2/team/app/blobs/uploads/", k::upload, "", "team/app", ""},
           {"/v2/team/app/blobs/uploads/abc-123", k::upload, "", "team/app", ""},
           {"/v2/_catalog", k::catalog, "", "", ""},
           {"/v2/team/app/referrers/" + d64, k::referrers, "", "team/app", d64},
           {"/v2/ghcr.io/owner/img/blobs/" + d64, k::blob, "ghcr.io", "owner/img", d64},
           {"/v2/127.0.0.1:5000/app/manifests/v1", k::manifest, "127.0.0.1:5000", "app", "v1"},
           {"/v2/other.io/app/manifests/v1", k::manifest, "", "other.io/app", "v1"},
           {"/v2/a/blobs/sha256%3A" + std::string(64, 'b'), k::blob, "", "a",
            "sha256:" + std::string(64, 'b')},
       }) {
    auto r = parse_registry_path(path, known_host);
    ASSERT_TRUE(r) << path << ": " << r.error().message;
    EXPECT_EQ(r->what, what) << path;
    EXPECT_EQ(r->host, host) << path;
    EXPECT_EQ(r->name ? r->name->str() : "", name) << path;
    EXPECT_EQ(r->reference, reference) << path;
  }
}

TEST(registry_path, rejects_bad_names_digests_tags_and_routes) {
  using c = route_error_code;
  struct row {
    std::string path;
    c code;
  };
  for (const auto& [path, code] : std::vector<row>{
           {"/v2/UPPER/manifests/latest", c::name_invalid},
           {"/v2/a/../b/manifests/latest", c::name_invalid},
           {"/v2/a//b/manifests/latest", c::name_invalid},
           {"/v2//manifests/latest", c::name_invalid},
           {"/v2/manifests/latest", c::not_found},
           {"/v2/a%2Fb/manifests/latest", c::name_invalid},
           {"/v2/a%zz/manifests/latest", c::name_invalid},
           {"/v2/a/blobs/sha256:short", c::digest_invalid},
           {"/v2/a/blobs/latest", c::digest_invalid},
           {"/v2/a/manifests/sha256:" + std::string(63, 'a'), c::digest_invalid},
           {"/v2/a/manifests/.hidden", c::tag_invalid},
           {"/v2/a/manifests/" + std::string(129, 't'), c::tag_invalid},
           {"/v2/a/nothing/here", c::not_found},
           {"/v3/a/manifests/latest", c::not_found},
           {"/v2/a/blobs/uploads/x/y", c::not_found},
       }) {
    auto r = parse_registry_path(path, known_host);
    ASSERT_FALSE(r) << path << " was accepted";
    EXPECT_EQ(r.error().code, code) << path << ": " << r.error().message;
  }
  EXPECT_EQ(to_string(c::name_invalid), "NAME_INVALID");
}

}  // namespace
}  // namespace blobswarm::mirror
