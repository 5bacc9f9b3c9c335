// Files from URLs, the parts that need no network: parsing and normalizing
// URLs, resolving redirects, the origin allow-list (which origins, which
// paths, which credentials go where), and the URL index.
#include <gtest/gtest.h>

#include "common/hasher.hpp"
#include "seeder/file_url.hpp"
#include "seeder/origin_allowlist.hpp"
#include "seeder/url_index.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::seeder {
namespace {

TEST(file_url, normalizes_host_port_and_drops_the_fragment) {
  auto u = file_url::parse("HTTPS://HuggingFace.CO:443/org/model/resolve/main/x.bin?a=1#frag");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "huggingface.co");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->origin(), "https://huggingface.co");
  EXPECT_EQ(u->str, "https://huggingface.co/org/model/resolve/main/x.bin?a=1");
  EXPECT_EQ(u->without_query(), "https://huggingface.co/org/model/resolve/main/x.bin");
  EXPECT_EQ(u->file_name(), "x.bin");
  auto p = file_url::parse("http://127.0.0.1:8080/a%20b/c.tar.gz");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->origin(), "http://127.0.0.1:8080");
  EXPECT_EQ(p->file_name(), "c.tar.gz");
  EXPECT_EQ(file_url::parse("http://h/dir/../x")->path, "/x");
}

TEST(file_url, refuses_other_schemes_credentials_and_garbage) {
  for (const char* bad : {"ftp://h/x", "file:///etc/passwd", "https://user:pw@h/x",
                          "https://user@h/x", "not a url", "", "https://h/a b", "https://h/\x01"}) {
    auto u = file_url::parse(bad);
    EXPECT_FALSE(u) << bad << " parsed as " << (u ? u->str : "");
    if (!u) {
      EXPECT_EQ(u.error().code, errc::invalid_argument) << bad;
    }
  }
}

TEST(file_url, resolves_redirects_absolute_and_relative) {
  auto u = *file_url::parse("https://a.example/org/x/resolve/main/w.bin?download=1");
  EXPECT_EQ(u.resolve("https://cdn.example/blobs/123?sig=abc")->str,
            "https://cdn.example/blobs/123?sig=abc");
  EXPECT_EQ(u.resolve("/other/path")->str, "https://a.example/other/path");
  EXPECT_EQ(u.resolve("next.bin")->str, "https://a.example/org/x/resolve/main/next.bin");
  EXPECT_EQ(u.resolve("//cdn.example:8443/y")->origin(), "https://cdn.example:8443");
  EXPECT_FALSE(u.resolve("gopher://h/x"));
}

origin_allowlist make(const std::map<std::string, origin_settings>& m) {
  auto a = origin_allowlist::make(m);
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  return std::move(*a);
}

TEST(origin_allowlist, admits_listed_origins_and_their_paths_only) {
  std::map<std::string, origin_settings> m;
  m["https://huggingface.co"].paths = {"/org/"};
  m["http://127.0.0.1:8080"] = {};
  auto a = make(m);
  EXPECT_TRUE(a.admit(*file_url::parse("https://huggingface.co/org/m/resolve/main/x")));
  EXPECT_TRUE(a.admit(*file_url::parse("http://127.0.0.1:8080/anything")));
  for (const char* no : {"https://huggingface.co/other/x", "http://huggingface.co/org/x",
                         "https://huggingface.co:8443/org/x", "http://127.0.0.1:8081/x",
                         "https://evil.example/org/x"}) {
    auto r = a.admit(*file_url::parse(no));
    EXPECT_FALSE(r) << no;
    if (!r) {
      EXPECT_EQ(r.error().code, errc::forbidden) << no;
    }
  }
  auto r = a.admit(*file_url::parse("https://evil.example/x"));
  EXPECT_NE(r.error().message.find("https://evil.example is not in this seeder's file_origins"),
            std::string::npos)
      << r.error().message;
}

TEST(origin_allowlist, sends_each_origin_its_own_credentials_and_no_other) {
  test::temp_dir dir;
  test::write_text(dir / "token", "hf-token\n");
  test::write_text(dir / "pw", "s3cret");
  test::write_text(dir / "key", "gl-key");
  std::map<std::string, origin_settings> m;
  m["https://huggingface.co"].bearer_token_file = (dir / "token").string();
  m["https://files.example"].username = "u";
  m["https://files.example"].password_file = (dir / "pw").string();
  m["https://gitlab.example"].header = "PRIVATE-TOKEN";
  m["https://gitlab.example"].header_value_file = (dir / "key").string();
  auto a = make(m);
  auto hf = *file_url::parse("https://huggingface.co/org/m/resolve/main/w.bin");
  EXPECT_EQ(a.credentials_for(hf), (http::header_list{{"Authorization", "Bearer hf-token"}}));
  EXPECT_EQ(a.credentials_for(*file_url::parse("https://files.example/x")),
            (http::header_list{{"Authorization", "Basic dTpzM2NyZXQ="}}));
  EXPECT_EQ(a.credentials_for(*file_url::parse("https://gitlab.example/x")),
            (http::header_list{{"PRIVATE-TOKEN", "gl-key"}}));
  // Where Hugging Face redirects (its CDN) gets nothing of Hugging Face's.
  auto cdn = *hf.resolve("https://cdn-lfs.huggingface.co/repos/ab/cd?X-Amz-Signature=1");
  EXPECT_TRUE(a.credentials_for(cdn).empty());
  EXPECT_TRUE(a.credentials_for(*file_url::parse("http://huggingface.co/x")).empty());
}

TEST(origin_allowlist, refuses_bad_entries_with_their_name) {
  test::temp_dir dir;
  test::write_text(dir / "t", "t");
  auto bad = [&](std::string key, origin_settings s) {
    auto a = origin_allowlist::make({{key, s}});
    EXPECT_FALSE(a) << key;
    return a ? std::string() : a.error().message;
  };
  EXPECT_NE(bad("https://h.example/", {}).find("file_origins \"https://h.example/\""),
            std::string::npos);
  bad("https://h.example/path", {});
  bad("https://h.example:443", {});
  bad("HTTPS://H.example", {});
  bad("ftp://h.example", {});
  bad("https://h.example", {.paths = {"nope"}});
  bad("https://h.example", {.username = "u"});
  bad("https://h.example", {.bearer_token_file = (dir / "missing").string()});
  bad("https://h.example", {.header = "bad header", .header_value_file = (dir / "t").string()});
  origin_settings both;
  both.bearer_token_file = (dir / "t").string();
  both.username = "u";
  both.password_file = (dir / "t").string();
  bad("https://h.example", both);
}

TEST(url_index, keeps_records_across_reopening_and_confirms_them) {
  test::temp_dir dir;
  auto d = *digest::from_raw(hash_algorithm::sha256, sha256("x"));
  {
    auto idx = url_index::open(dir / "urls.db");
    ASSERT_TRUE(idx);
    EXPECT_FALSE((*idx)->find("https://h/x")->has_value());
    ASSERT_TRUE(
        (*idx)->put({"https://h/x", d, 1, "\"e1\"", "Mon, 01 Jan 2024 00:00:00 GMT", 10, 20}));
    ASSERT_TRUE((*idx)->confirm("https://h/x", 30));
  }
  auto idx = url_index::open(dir / "urls.db");
  ASSERT_TRUE(idx);
  auto r = (*idx)->find("https://h/x");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->digest, d);
  EXPECT_EQ((*r)->etag, "\"e1\"");
  EXPECT_EQ((*r)->fetched_ms, 10);
  EXPECT_EQ((*r)->checked_ms, 30);
  EXPECT_EQ((*idx)->count(), 1u);
}

}  // namespace
}  // namespace blobswarm::seeder
