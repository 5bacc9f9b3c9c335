// The torrentgen binary: the interface the issue fixes (create, info,
// verify, magnet), exit codes, one-line errors that name the path, no
// partial output, the progress bar on a terminal only, and agreement with
// libtorrent and mktorrent about info-hashes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>

#include "tests/torrentgen/tg_support.hpp"

namespace blobswarm::torrentgen {
namespace {

namespace fs = std::filesystem;
using testing::lt_info_hashes;
using testing::make_files;
using testing::tg_result;
using testing::torrentgen;
using testing::tricky_tree;

// No .torrent and no temporary file left in `dir`.
void expect_no_output(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    EXPECT_EQ(name.find(".torrent"), std::string::npos) << "left behind: " << name;
  }
}

void expect_one_line_error(const tg_result& r, const std::string& mentions) {
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_TRUE(r.err.starts_with("torrentgen: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
}

nlohmann::json info_json(const fs::path& torrent) {
  auto r = torrentgen({"info", torrent.string(), "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(torrentgen_cli, create_then_info_agrees_with_libtorrent_for_every_format) {
  test::temp_dir dir;
  make_files(dir / "data", tricky_tree(32768));
  for (std::string format : {"v1", "v2", "hybrid"}) {
    auto out = dir / (format + ".torrent");
    auto r = torrentgen({"create",       (dir / "data").string(),
                         "-o",           out.string(),
                         "--format",     format,
                         "--piece-size", "32KiB",
                         "-t",           "http://127.0.0.1:1/announce,http://b/announce",
                         "-t",           "udp://c:80",
                         "-w",           "http://mirror/data",
                         "--comment",    "c",
                         "--source",     "S",
                         "--created-by", "me",
                         "--private",    "--date",
                         "1700000000",   "--quiet"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;  // --quiet
    auto j = info_json(out);
    auto [v1, v2] = lt_info_hashes(out);
    EXPECT_EQ(j["info_hash_v1"].is_null() ? "" : j["info_hash_v1"].get<std::string>(), v1);
    EXPECT_EQ(j["info_hash_v2"].is_null() ? "" : j["info_hash_v2"].get<std::string>(), v2);
    EXPECT_EQ(v1.empty(), format == "v2");
    EXPECT_EQ(v2.empty(), format == "v1");
    EXPECT_EQ(j["name"], "data");
    EXPECT_EQ(j["format"], format);
    EXPECT_EQ(j["piece_length"], 32768);
    EXPECT_EQ(j["private"], true);
    EXPECT_EQ(j["trackers"],
              nlohmann::json::parse(
                  R"([["http://127.0.0.1:1/announce","http://b/announce"],["udp://c:80"]])"));
    EXPECT_EQ(j["web_seeds"], nlohmann::json::parse(R"(["http://mirror/data"])"));
    EXPECT_EQ(j["comment"], "c");
    EXPECT_EQ(j["source"], "S");
    EXPECT_EQ(j["created_by"], "me");
    EXPECT_EQ(j["creation_date"], 1700000000);
    std::uint64_t total = 0;
    for (const auto& f : tricky_tree(32768)) total += f.size;
    EXPECT_EQ(j["total_size"], total);
    EXPECT_EQ(j["files"].size(), tricky_tree(32768).size());
    lt::error_code ec;
    lt::torrent_info ti(out.string(), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(j["num_pieces"], ti.num_pieces());

    auto text = torrentgen({"info", out.string()});
    EXPECT_EQ(text.status, 0);
    EXPECT_NE(text.out.find("name:          data"), std::string::npos) << text.out;
    if (!v1.empty()) {
      EXPECT_NE(text.out.find(v1), std::string::npos);
    }
    if (!v2.empty()) {
      EXPECT_NE(text.out.find(v2), std::string::npos);
    }
  }
}

TEST(torrentgen_cli, output_is_byte_identical_across_runs_and_copies) {
  test::temp_dir dir;
  make_files(dir / "one" / "data", tricky_tree(16384), 3);
  make_files(dir / "two" / "data", tricky_tree(16384), 3);
  ::chmod((dir / "two" / "data" / "one").c_str(), 0700);
  auto a = torrentgen({"create", (dir / "one" / "data").string(), "-o", "-"});
  auto b = torrentgen({"create", (dir / "one" / "data").string(), "-o", "-", "--threads", "1"});
  auto c = torrentgen({"create", (dir / "two" / "data").string(), "-o", "-", "--threads", "3"});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, c.out);
  // -o - sends the summary to stderr so stdout is only the torrent.
  EXPECT_NE(a.err.find("info hash v1:"), std::string::npos) << a.err;
  // The same bytes as writing a file.
  auto f =
      torrentgen({"create", (dir / "one" / "data").string(), "-o", (dir / "x.torrent").string()});
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_EQ(test::read_text(dir / "x.torrent"), a.out);
}

TEST(torrentgen_cli, reads_torrents_from_pipes_and_stdin) {
  test::temp_dir dir;
  make_files(dir / "data", {{"f", 50000}});
  auto tg = test::binary("torrentgen").string();
  auto r = test::run_command({"/bin/sh", "-c",
                              fmt::format("'{0}' create '{1}' -o - --quiet | '{0}' info - --json",
                                          tg, (dir / "data").string())});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["name"], "data");
  auto m =
      test::run_command({"/bin/sh", "-c",
                         fmt::format("'{0}' create '{1}' -o - --quiet | '{0}' magnet /dev/stdin",
                                     tg, (dir / "data").string())});
  ASSERT_EQ(m.status, 0) << m.output;
  EXPECT_TRUE(m.output.starts_with("magnet:?xt=urn:btih:")) << m.output;
}

TEST(torrentgen_cli, default_output_name_and_no_overwrite_without_force) {
  test::temp_dir dir;
  make_files(dir / "data", {{"f", 5000}});
  auto r = torrentgen({"create", "data"}, dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir / "data.torrent"));
  EXPECT_NE(r.out.find("wrote data.torrent"), std::string::npos) << r.out;
  auto first = test::read_text(dir / "data.torrent");

  make_files(dir / "data", {{"f", 5000}}, 99);  // new content
  auto again = torrentgen({"create", "data"}, dir.path());
  expect_one_line_error(again, "data.torrent: already exists");
  EXPECT_EQ(test::read_text(dir / "data.torrent"), first);

  // --force never overwrites the input itself.
  auto self = torrentgen({"create", "data/f", "-o", "data/f", "--force"}, dir.path());
  expect_one_line_error(self, "data/f: is the input");
  EXPECT_EQ(fs::file_size(dir / "data" / "f"), 5000u);

  auto forced = torrentgen({"create", "data", "--force", "--quiet"}, dir.path());
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_NE(test::read_text(dir / "data.torrent"), first);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos);
  }
}

TEST(torrentgen_cli, single_file_v1_info_hash_equals_mktorrents) {
  auto mktorrent = test::find_program("mktorrent");
  ASSERT_TRUE(mktorrent) << "mktorrent is not installed (scripts/install-deps)";
  test::temp_dir dir;
  make_files(dir.path(), {{"image.raw", 3 * 1048576 + 12345}});
  struct variant {
    std::vector<std::string> ours;
    std::vector<std::string> theirs;
  } variants[] = {
      {{"--piece-size", "32KiB"}, {"-l", "15"}},
      {{"--piece-size", "1MiB"}, {"-l", "20"}},
      {{"--piece-size", "256KiB", "--private"}, {"-l", "18", "-p"}},
      {{"--piece-size", "64KiB", "--source", "SRC", "--private"}, {"-l", "16", "-s", "SRC", "-p"}},
  };
  int n = 0;
  for (const auto& v : variants) {
    auto ours = dir / fmt::format("ours{}.torrent", n);
    auto theirs = dir / fmt::format("theirs{}.torrent", n++);
    std::vector<std::string> args{
        "create", (dir / "image.raw").string(), "--format", "v1", "-o", ours.string(), "--quiet"};
    args.insert(args.end(), v.ours.begin(), v.ours.end());
    ASSERT_EQ(torrentgen(args).status, 0);
    std::vector<std::string> margs{mktorrent->string(), "-d", "-o", theirs.string()};
    margs.insert(margs.end(), v.theirs.begin(), v.theirs.end());
    margs.push_back((dir / "image.raw").string());
    auto m = test::run_command(margs);
    ASSERT_EQ(m.status, 0) << m.output;
    auto a = lt_info_hashes(ours);
    auto b = lt_info_hashes(theirs);
    EXPECT_EQ(a.first, b.first) << fmt::format("{}", fmt::join(v.ours, " "));
    EXPECT_FALSE(a.first.empty());
  }
}

// Directories: equal when both tools list files in the same order. They
// differ for names where a plain string sort and the v2 tree order
// disagree ("a.txt" vs "a/b"): documented in docs/torrentgen.md.
TEST(torrentgen_cli, directory_v1_info_hash_vs_mktorrent) {
  auto mktorrent = test::find_program("mktorrent");
  ASSERT_TRUE(mktorrent);
  test::temp_dir dir;
  make_files(dir / "plain", {{"b", 70000}, {"c/d", 5}, {"c/e", 40000}, {"f", 1}});
  make_files(dir / "mixed", {{"a.txt", 70000}, {"a/b", 5000}});
  for (std::string name : {"plain", "mixed"}) {
    auto ours = dir / (name + "-ours.torrent");
    auto theirs = dir / (name + "-theirs.torrent");
    ASSERT_EQ(torrentgen({"create", (dir / name).string(), "--format", "v1", "--piece-size",
                          "32KiB", "-o", ours.string()})
                  .status,
              0);
    ASSERT_EQ(test::run_command({mktorrent->string(), "-d", "-l", "15", "-o", theirs.string(),
                                 (dir / name).string()})
                  .status,
              0);
    // verify reads mktorrent's torrents too.
    auto v = torrentgen({"verify", theirs.string(), (dir / name).string()});
    EXPECT_EQ(v.status, 0) << v.out << v.err;
    if (name == "plain") {
      EXPECT_EQ(lt_info_hashes(ours).first, lt_info_hashes(theirs).first);
    } else {
      // Compare, don't assume: record what mktorrent does with this order.
      lt::error_code ec;
      lt::torrent_info t(theirs.string(), ec), o(ours.string(), ec);
      EXPECT_EQ(o.files().file_path(lt::file_index_t(0)), "mixed/a/b");
      bool same_order = t.files().file_path(lt::file_index_t(0)) == "mixed/a/b";
      EXPECT_EQ(lt_info_hashes(ours).first == lt_info_hashes(theirs).first, same_order);
    }
  }
}

// The v1 file list of a hybrid torrent must be the v2 file tree's order
// (pad files aside), or clients would map the two views differently.
TEST(torrentgen_cli, hybrid_v1_file_order_matches_the_v2_file_tree) {
  test::temp_dir dir;
  make_files(dir / "data",
             {{"a.txt", 20000}, {"a/b", 30000}, {"a/b.c", 1}, {"a-", 2}, {"a/a/z", 3}, {"B", 4}});
  auto out = dir / "h.torrent";
  ASSERT_EQ(torrentgen({"create", (dir / "data").string(), "-o", out.string()}).status, 0);
  auto bytes = test::read_text(out);
  lt::error_code ec;
  auto root = lt::bdecode(bytes, ec);
  ASSERT_FALSE(ec);
  auto info = root.dict_find_dict("info");
  std::vector<std::string> v1;
  auto files = info.dict_find_list("files");
  for (int i = 0; i < files.list_size(); ++i) {
    auto f = files.list_at(i);
    if (f.dict_find_string_value("attr").find('p') != std::string_view::npos) continue;
    std::string path;
    auto parts = f.dict_find_list("path");
    for (int k = 0; k < parts.list_size(); ++k) {
      path += (k ? "/" : "") + std::string(parts.list_string_value_at(k));
    }
    v1.push_back(path);
  }
  std::vector<std::string> v2;
  std::function<void(lt::bdecode_node, std::string)> walk = [&](lt::bdecode_node d,
                                                                std::string prefix) {
    for (int i = 0; i < d.dict_size(); ++i) {
      auto [key, value] = d.dict_at(i);
      if (key.empty()) {
        v2.push_back(prefix);
      } else {
        walk(value, prefix.empty() ? std::string(key) : prefix + "/" + std::string(key));
      }
    }
  };
  walk(info.dict_find_dict("file tree"), "");
  EXPECT_EQ(v1, v2);
  EXPECT_EQ(v1, (std::vector<std::string>{"B", "a/a/z", "a/b", "a/b.c", "a-", "a.txt"}));
}

TEST(torrentgen_cli, magnet_links_carry_btih_btmh_name_and_trackers) {
  test::temp_dir dir;
  make_files(dir.path(), {{"my file", 40000}});
  for (std::string format : {"v1", "v2", "hybrid"}) {
    auto out = dir / (format + ".torrent");
    ASSERT_EQ(torrentgen({"create", (dir / "my file").string(), "-o", out.string(), "--format",
                          format, "-t", "http://t/announce"})
                  .status,
              0);
    auto m = torrentgen({"magnet", out.string()});
    ASSERT_EQ(m.status, 0) << m.err;
    auto [v1, v2] = lt_info_hashes(out);
    EXPECT_TRUE(m.out.starts_with("magnet:?xt=urn:")) << m.out;
    EXPECT_EQ(m.out.find("urn:btih:" + v1) != std::string::npos, !v1.empty()) << m.out;
    EXPECT_EQ(m.out.find("urn:btmh:1220" + v2) != std::string::npos, !v2.empty()) << m.out;
    EXPECT_NE(m.out.find("dn=my%20file"), std::string::npos) << m.out;
    EXPECT_NE(m.out.find("tr=http%3a%2f%2ft%2fannounce"), std::string::npos) << m.out;
  }
}

TEST(torrentgen_cli, verify_exit_codes_and_reports) {
  test::temp_dir dir;
  make_files(dir / "data", {{"a", 100000}, {"b/c", 50000}, {"d", 70000}});
  auto t = dir / "t.torrent";
  ASSERT_EQ(
      torrentgen({"create", (dir / "data").string(), "-o", t.string(), "--piece-size", "16KiB"})
          .status,
      0);
  auto ok = torrentgen({"verify", t.string(), (dir / "data").string()});
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK"), std::string::npos);
  EXPECT_EQ(torrentgen({"verify", t.string(), dir.path().string(), "--threads", "1"}).status, 0);

  {
    std::fstream f(dir / "data" / "a", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12345);
    f.put('\x42' ^ test::random_bytes(100000, 1)[12345]);  // surely different
  }
  auto flipped = torrentgen({"verify", t.string(), (dir / "data").string()});
  EXPECT_EQ(flipped.status, 1) << flipped.out;
  EXPECT_NE(flipped.out.find("data/a: 1 bad piece"), std::string::npos) << flipped.out;
  EXPECT_NE(flipped.out.find("FAILED 1 of"), std::string::npos) << flipped.out;

  make_files(dir / "data", {{"a", 100000}}, 1);  // repaired
  ::truncate((dir / "data" / "d").c_str(), 100);
  auto truncated = torrentgen({"verify", t.string(), (dir / "data").string()});
  EXPECT_EQ(truncated.status, 1);
  EXPECT_NE(truncated.out.find("data/d: 100 bytes on disk, the torrent says 70000"),
            std::string::npos)
      << truncated.out;

  fs::remove(dir / "data" / "b" / "c");
  auto missing = torrentgen({"verify", t.string(), (dir / "data").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("data/b/c: missing"), std::string::npos) << missing.out;

  auto nowhere = torrentgen({"verify", t.string(), (dir / "elsewhere").string()});
  expect_one_line_error(nowhere, "elsewhere");
}

TEST(torrentgen_cli, bad_input_gets_one_line_errors_and_exit_2) {
  test::temp_dir dir;
  auto out_dir = dir / "out";
  fs::create_directories(out_dir);
  auto out = (out_dir / "x.torrent").string();
  make_files(dir / "ok", {{"f", 1000}});
  fs::create_directories(dir / "empty" / "sub");
  make_files(dir / "zeros", {{"a", 0}, {"b", 0}});
  make_files(dir / "badname", {{"good", 10}, {"bad\xfe", 10}});

  expect_one_line_error(torrentgen({"create", (dir / "missing").string(), "-o", out}), "missing");
  expect_one_line_error(torrentgen({"create", (dir / "empty").string(), "-o", out}),
                        "empty: directory contains no files");
  expect_one_line_error(torrentgen({"create", (dir / "zeros").string(), "-o", out}),
                        "zeros: 0 bytes");
  expect_one_line_error(torrentgen({"create", (dir / "badname").string(), "-o", out}),
                        "bad\\xfe: file name is not valid UTF-8");
  expect_one_line_error(
      torrentgen({"create", (dir / "ok").string(), "-o", out, "--piece-size", "1000"}),
      "not a power of two");
  expect_one_line_error(
      torrentgen({"create", (dir / "ok").string(), "-o", out, "--piece-size", "8KiB"}),
      "at least 16 KiB");
  expect_one_line_error(
      torrentgen({"create", (dir / "ok").string(), "-o", out, "--piece-size", "32MiB"}), "--force");
  expect_one_line_error(torrentgen({"create", (dir / "ok").string(), "-o", out, "--format", "v3"}),
                        "v3");
  expect_one_line_error(torrentgen({"create", (dir / "ok").string(), "-o", out, "-t", "nope"}),
                        "nope");
  expect_one_line_error(torrentgen({"create", (dir / "ok").string(), "-o", out, "--date", "x"}),
                        "date 'x'");
  expect_one_line_error(
      torrentgen({"create", (dir / "ok").string(), "-o", (dir / "nodir" / "x.torrent").string()}),
      "cannot write into " + (dir / "nodir").string());
  {
    std::ofstream(dir / "huge");
    ASSERT_EQ(::truncate((dir / "huge").c_str(), 32LL << 30), 0);  // sparse
  }
  expect_one_line_error(
      torrentgen({"create", (dir / "huge").string(), "-o", out, "--piece-size", "16KiB"}),
      "huge: 2097152 pieces of 16.0 KiB would make a .torrent over 64 MiB");
  expect_one_line_error(torrentgen({"create"}), "PATH");
  expect_one_line_error(torrentgen({"frobnicate"}), "frobnicate");
  expect_no_output(out_dir);
  // 32 MiB pieces are fine with --force.
  EXPECT_EQ(
      torrentgen({"create", (dir / "ok").string(), "-o", out, "--piece-size", "32MiB", "--force"})
          .status,
      0);
}

TEST(torrentgen_cli, unreadable_input_is_reported_without_output) {
  // Root reads anything; drop to nobody to see a permission error.
  auto setpriv = test::find_program("setpriv");
  ASSERT_TRUE(setpriv);
  test::temp_dir dir;
  ::chmod(dir.path().c_str(), 0777);
  make_files(dir / "data", {{"readable", 100}, {"secret", 100}});
  make_files(dir / "closed", {{"inside", 100}});
  ::chmod((dir / "data").c_str(), 0755);
  ::chmod((dir / "data" / "readable").c_str(), 0644);
  ::chmod((dir / "data" / "secret").c_str(), 0000);
  ::chmod((dir / "closed").c_str(), 0000);
  // nobody runs a copy of the binary: the build tree may be where nobody
  // cannot reach it (a checkout in /root, mode 0700).
  test::temp_dir bin;
  ::chmod(bin.path().c_str(), 0755);
  fs::copy_file(test::binary("torrentgen"), bin / "torrentgen");
  auto as_nobody = [&](const std::string& path) {
    test::temp_dir io;
    ::chmod(io.path().c_str(), 0777);
    auto r = test::run_command(
        {setpriv->string(), "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
         "'" + (bin / "torrentgen").string() + "' create '" + path + "' -o '" +
             (dir / "x.torrent").string() + "' 2>'" + (io / "err").string() + "'"});
    return tg_result{r.status, r.output, test::read_text(io / "err")};
  };
  expect_one_line_error(as_nobody((dir / "data" / "secret").string()), "secret: Permission denied");
  expect_one_line_error(as_nobody((dir / "data").string()), "secret: Permission denied");
  expect_one_line_error(as_nobody((dir / "closed").string()), "closed: Permission denied");
  expect_no_output(dir.path());
}

TEST(torrentgen_cli, corrupt_or_truncated_torrents_are_rejected) {
  test::temp_dir dir;
  make_files(dir / "data", {{"f", 100000}});
  auto good = dir / "good.torrent";
  ASSERT_EQ(torrentgen({"create", (dir / "data").string(), "-o", good.string()}).status, 0);
  auto bytes = test::read_text(good);
  test::write_text(dir / "truncated.torrent", bytes.substr(0, bytes.size() / 2));
  auto corrupt = bytes;
  corrupt[corrupt.find("6:pieces") + 1] = 'X';  // break a key's bencoding
  test::write_text(dir / "corrupt.torrent", corrupt);
  test::write_text(dir / "garbage.torrent", "this is not bencode");
  test::write_text(dir / "empty.torrent", "");
  test::write_text(dir / "nodict.torrent", "i42e");
  for (std::string name : {"truncated", "corrupt", "garbage", "empty", "nodict", "absent"}) {
    auto path = (dir / (name + ".torrent")).string();
    SCOPED_TRACE(name);
    expect_one_line_error(torrentgen({"info", path}), path);
    expect_one_line_error(torrentgen({"info", path, "--json"}), path);
    expect_one_line_error(torrentgen({"magnet", path}), path);
    expect_one_line_error(torrentgen({"verify", path, (dir / "data").string()}), path);
  }
}

TEST(torrentgen_cli, progress_bar_only_on_a_terminal) {
  auto script = test::find_program("script");
  ASSERT_TRUE(script) << "script (util-linux) is needed to give torrentgen a terminal";
  test::temp_dir dir;
  make_files(dir.path(), {{"big", 96 << 20}});
  auto tg = test::binary("torrentgen").string();
  // --threads 1 and 16 KiB pieces make the run last a few progress ticks.
  auto cmd = fmt::format("'{}' create '{}' -o '{}' --threads 1 --format hybrid --piece-size 16KiB",
                         tg, (dir / "big").string(), (dir / "t.torrent").string());
  auto tty =
      test::run_command({script->string(), "-qefc", cmd, "/dev/null"}, std::chrono::seconds(120));
  ASSERT_EQ(tty.status, 0) << tty.output;
  EXPECT_NE(tty.output.find("hashing"), std::string::npos) << tty.output;
  EXPECT_NE(tty.output.find("MB/s"), std::string::npos) << tty.output;
  EXPECT_NE(tty.output.find("ETA"), std::string::npos) << tty.output;
  EXPECT_NE(tty.output.find('%'), std::string::npos) << tty.output;

  auto quiet = test::run_command({script->string(), "-qefc", cmd + " --force --quiet", "/dev/null"},
                                 std::chrono::seconds(120));
  ASSERT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("MB/s"), std::string::npos) << quiet.output;

  auto piped = torrentgen({"create", (dir / "big").string(), "-o", (dir / "t.torrent").string(),
                           "--force", "--threads", "1", "--piece-size", "16KiB"});
  ASSERT_EQ(piped.status, 0);
  EXPECT_EQ(piped.out.find("MB/s"), std::string::npos) << piped.out;
  EXPECT_EQ(piped.err.find("MB/s"), std::string::npos) << piped.err;

  auto verify =
      test::run_command({script->string(), "-qefc",
                         fmt::format("'{}' verify '{}' '{}' --threads 1", tg,
                                     (dir / "t.torrent").string(), (dir / "big").string()),
                         "/dev/null"},
                        std::chrono::seconds(120));
  ASSERT_EQ(verify.status, 0) << verify.output;
  EXPECT_NE(verify.output.find("verifying"), std::string::npos) << verify.output;
}

TEST(torrentgen_cli, excludes_symlinks_and_json_from_create) {
  test::temp_dir dir;
  make_files(dir / "data", {{"keep", 100}, {"x.tmp", 100}, {".git/HEAD", 10}});
  fs::create_symlink("keep", dir / "data" / "link");
  auto r = torrentgen({"create", (dir / "data").string(), "-o", (dir / "a.torrent").string(),
                       "--exclude", "*.tmp", "--exclude", ".git", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["files"].size(), 1u) << j.dump();
  EXPECT_EQ(j["files"][0]["path"], "data/keep");
  EXPECT_EQ(j["output"], (dir / "a.torrent").string());
  EXPECT_NE(r.err.find("skipped symlink"), std::string::npos) << r.err;

  auto followed = torrentgen({"create", (dir / "data").string(), "-o", "-", "--follow-symlinks",
                              "--exclude", "*.tmp", "--exclude", ".git", "--quiet"});
  ASSERT_EQ(followed.status, 0);
  auto ti = lt::torrent_info(followed.out.data(), static_cast<int>(followed.out.size()));
  EXPECT_EQ(
      ti.files().num_files() -
          [&] {
            int pads = 0;
            for (auto i : ti.files().file_range()) pads += ti.files().pad_file_at(i);
            return pads;
          }(),
      2);
}

// A few buffers per thread, whatever the size: a 768 MiB (sparse) file must
// not grow the process much beyond what a 1 MiB file needs.
TEST(torrentgen_cli, peak_memory_does_not_grow_with_the_data) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in quarantine (256 MiB by default), so peak RSS
  // grows with the bytes that passed through; the release build measures it.
  GTEST_SKIP() << "peak RSS under ASan counts its quarantine";
#endif
  test::temp_dir dir;
  make_files(dir.path(), {{"small", 1 << 20}});
  { std::ofstream(dir / "large"); }
  ASSERT_EQ(::truncate((dir / "large").c_str(), 768LL << 20), 0);
  auto peak_kib = [&](const std::string& file) {
    auto r = test::run_command(
        {"/usr/bin/time", "-f", "%M", "-o", (dir / "rss").string(),
         test::binary("torrentgen").string(), "create", (dir / file).string(), "-o",
         (dir / (file + ".torrent")).string(), "--piece-size", "1MiB", "--threads", "2", "--quiet"},
        std::chrono::seconds(120));
    EXPECT_EQ(r.status, 0) << r.output;
    return std::stol(test::read_text(dir / "rss"));
  };
  auto small = peak_kib("small");
  auto large = peak_kib("large");
  // 2 threads x 1 MiB buffers plus slack; 768 MiB of data must not show up.
  EXPECT_LT(large, small + 8 * 1024) << "small " << small << " KiB, large " << large << " KiB";
}

TEST(torrentgen_cli, help_documents_the_interface) {
  auto r = torrentgen({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* word : {"create", "info", "verify", "magnet", "Exit codes"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  auto c = torrentgen({"create", "--help"});
  for (const char* opt :
       {"--output", "--tracker", "--private", "--piece-size", "--format", "--web-seed", "--comment",
        "--source", "--created-by", "--date", "--threads", "--exclude", "--follow-symlinks",
        "--quiet", "--json", "--force"}) {
    EXPECT_NE(c.out.find(opt), std::string::npos) << opt;
  }
}

}  // namespace
}  // namespace blobswarm::torrentgen
