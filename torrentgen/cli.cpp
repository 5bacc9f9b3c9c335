#include "torrentgen/cli.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/file.hpp"
#include "common/units.hpp"
#include "torrentgen/hash_pipeline.hpp"
#include "torrentgen/option_parsers.hpp"
#include "torrentgen/output_file.hpp"
#include "torrentgen/piece_size.hpp"
#include "torrentgen/progress_bar.hpp"
#include "torrentgen/source_tree.hpp"
#include "torrentgen/torrent_builder.hpp"
#include "torrentgen/torrent_path.hpp"
#include "torrentgen/torrent_summary.hpp"
#include "torrentgen/verifier.hpp"

namespace blobswarm::torrentgen {
namespace {

constexpr const char* footer = R"(Commands:
  torrentgen create PATH [-o OUT] [-t URL]... [--private] [--piece-size SIZE|auto]
                         [--format v1|v2|hybrid] [-w URL]... [--comment TEXT] [--source TEXT]
                         [--created-by TEXT] [--date UNIX|now|none] [--threads N]
                         [--exclude GLOB]... [--follow-symlinks] [--quiet] [--json] [--force]
  torrentgen info FILE [--json]
  torrentgen verify FILE PATH [--threads N] [--quiet]
  torrentgen magnet FILE
Run 'torrentgen COMMAND --help' for the options of one command.

Exit codes: 0 ok, 1 verify found bad or missing data, 2 usage or input error.
Errors are one line on stderr naming the path and the reason.

Examples:
  torrentgen create ./dataset -t http://tracker.example/announce/KEY --private
  torrentgen create image.qcow2 --format v1 --piece-size 4MiB -o image.torrent
  torrentgen info image.torrent --json
  torrentgen verify image.torrent ./downloads/image.qcow2
  torrentgen magnet image.torrent

Documentation: docs/torrentgen.md)";

struct create_args {
  std::string path;
  std::string output;
  std::vector<std::string> trackers;
  bool is_private = false;
  std::string piece_size = "auto";
  std::string format = "hybrid";
  std::vector<std::string> web_seeds;
  std::string comment;
  std::string source;
  std::string created_by;
  std::string date = "none";
  unsigned threads = 0;
  std::vector<std::string> excludes;
  bool follow_symlinks = false;
  bool quiet = false;
  bool json = false;
  bool force = false;
};

struct info_args {
  std::string file;
  bool json = false;
};

struct verify_args {
  std::string file;
  std::string path;
  unsigned threads = 0;
  bool quiet = false;
};

struct magnet_args {
  std::string file;
};

int report(const error& e) {
  fmt::print(stderr, "torrentgen: error: {}\n", e.message);
  return exit_error;
}

// Progress bars go to a terminal only, and never with --quiet.
bool want_progress(bool quiet) {
  return !quiet && ::isatty(STDOUT_FILENO) == 1;
}

struct loaded {
  std::string bytes;
  std::shared_ptr<const lt::torrent_info> info;
};

// Reads a .torrent from a file, a pipe or "-" (stdin), up to the size limit.
result<std::string> read_torrent_bytes(const std::string& file) {
  unique_fd owned;
  int fd = STDIN_FILENO;
  if (file != "-") {
    auto opened = open_file(file, O_RDONLY);
    if (!opened) return fail(opened.error());
    owned = std::move(*opened);
    fd = owned.get();
  }
  std::string out;
  char buf[65536];
  while (true) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(system_error(errno, "cannot read", file));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > static_cast<std::size_t>(max_torrent_file_size)) {
      return fail(errc::too_large, "{}: larger than the {} bytes a .torrent may have", file,
                  max_torrent_file_size);
    }
  }
  return out;
}

result<loaded> load(const std::string& file) {
  auto bytes = read_torrent_bytes(file);
  if (!bytes) return fail(bytes.error());
  auto ti = load_torrent_info(*bytes);
  if (!ti) return fail(ti.error().code, "{}: {}", file, ti.error().message);
  return loaded{std::move(*bytes), std::move(*ti)};
}

int run_create(const create_args& a) {
  create_options o;
  auto piece = parse_piece_size(a.piece_size, a.force);
  if (!piece) return report(piece.error());
  o.piece_size = *piece;
  auto format = parse_torrent_format(a.format);
  if (!format) return report(format.error());
  o.format = *format;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto date = parse_creation_date(a.date, now);
  if (!date) return report(date.error());
  o.creation_date = *date;
  for (const auto& t : a.trackers) {
    auto tier = parse_tracker_tier(t);
    if (!tier) return report(tier.error());
    o.trackers.push_back(std::move(*tier));
  }
  for (const auto& w : a.web_seeds) {
    auto url = parse_web_seed(w);
    if (!url) return report(url.error());
    o.web_seeds.push_back(std::move(*url));
  }
  o.is_private = a.is_private;
  o.comment = a.comment;
  o.source = a.source;
  o.created_by = a.created_by;
  o.threads = a.threads;
  bool to_stdout = a.output == "-";
  if (to_stdout && a.json) {
    return report({errc::invalid_argument, "--json prints to stdout and cannot go with -o -"});
  }
  if (to_stdout && ::isatty(STDOUT_FILENO) == 1) {
    return report({errc::invalid_argument, "refusing to write a .torrent to a terminal (-o -)"});
  }

  scan_options scan{.excludes = a.excludes, .follow_symlinks = a.follow_symlinks};
  if (!a.quiet) {
    scan.warn = [](const std::string& m) {
      fmt::print(stderr, "torrentgen: warning: {}\n", m);
    };
  }
  // Where the torrent goes, decided before hashing so that a refusal to
  // overwrite costs nothing.
  std::filesystem::path output;
  if (!to_stdout) {
    if (!a.output.empty()) output = a.output;
    struct stat st {};
    if (!output.empty() && ::stat(output.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return report({errc::invalid_argument, fmt::format("{}: is a directory", a.output)});
      }
      if (!a.force) {
        return report({errc::conflict,
                       fmt::format("{}: already exists (use --force to overwrite)", a.output)});
      }
      struct stat in {};
      if (::stat(a.path.c_str(), &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino) {
        return report({errc::invalid_argument,
                       fmt::format("{}: is the input; refusing to overwrite it", a.output)});
      }
      // Overwriting a file inside the tree being hashed: leave it out.
      scan.skip_inodes.emplace_back(st.st_dev, st.st_ino);
    }
  }
  auto tree = source_tree::scan(a.path, scan);
  if (!tree) return report(tree.error());
  if (!to_stdout && output.empty()) {
    output = tree->name() + ".torrent";
    struct stat st {};
    if (::stat(output.c_str(), &st) == 0) {
      if (!a.force) {
        return report({errc::conflict, fmt::format("{}: already exists (use --force to overwrite)",
                                                   output.string())});
      }
      if (!S_ISREG(st.st_mode)) {
        return report(
            {errc::invalid_argument, fmt::format("{}: not a regular file", output.string())});
      }
    }
  }

  if (!to_stdout) {
    // Fail before hashing, not after, when the torrent cannot be written.
    auto dir = output.parent_path().empty() ? std::filesystem::path(".") : output.parent_path();
    if (::access(dir.c_str(), W_OK) != 0) {
      return report(system_error(errno, "cannot write into", dir));
    }
  }
  std::optional<progress_bar> bar;
  if (!to_stdout && want_progress(a.quiet)) {
    bar.emplace(stdout, "hashing");
    o.progress = [&bar](std::uint64_t done, std::uint64_t total) {
      bar->update(done, total);
    };
  }
  auto made = make_torrent(*tree, o);
  if (bar) bar->finish();
  if (!made) return report(made.error());

  if (to_stdout) {
    if (auto w = write_all(STDOUT_FILENO, made->data, "stdout"); !w) return report(w.error());
  } else if (auto w = write_output_file(output, made->data, a.force); !w) {
    return report(w.error());
  }
  if (a.json) {
    auto j = made->summary.to_json();
    j["output"] = to_stdout ? "-" : output.string();
    fmt::print("{}\n", j.dump(2));
  } else if (!a.quiet) {
    std::FILE* out = to_stdout ? stderr : stdout;
    fmt::print(out, "{}wrote {}\n", made->summary.to_text(),
               to_stdout ? "stdout" : output.string());
  }
  return exit_ok;
}

int run_info(const info_args& a) {
  auto ti = load(a.file);
  if (!ti) return report(ti.error());
  auto s = torrent_summary::of(*ti->info, ti->bytes);
  if (a.json) {
    fmt::print("{}\n", s.to_json().dump(2));
  } else {
    fmt::print("{}", s.to_text());
  }
  return exit_ok;
}

std::string_view issue_text(file_issue issue) {
  switch (issue) {
    case file_issue::none:
      return "ok";
    case file_issue::missing:
      return "missing";
    case file_issue::unreadable:
      return "unreadable";
    case file_issue::wrong_size:
      return "wrong size";
  }
  return "?";
}

int run_verify(const verify_args& a) {
  auto ti = load(a.file);
  if (!ti) return report(ti.error());
  verify_options o{.threads = a.threads};
  std::optional<progress_bar> bar;
  if (want_progress(a.quiet)) {
    bar.emplace(stdout, "verifying");
    o.progress = [&bar](std::uint64_t done, std::uint64_t total) {
      bar->update(done, total);
    };
  }
  auto r = verify_torrent(*ti->info, a.path, o);
  if (bar) bar->finish();
  if (!r) return report(r.error());
  std::size_t bad_files = 0;
  for (const auto& f : r->files) {
    if (f.issue == file_issue::none && f.bad_pieces == 0) continue;
    ++bad_files;
    std::string what;
    if (f.issue == file_issue::wrong_size) {
      what = fmt::format("{} bytes on disk, the torrent says {}", f.size_on_disk, f.size);
    } else if (f.issue != file_issue::none) {
      what = std::string(issue_text(f.issue));
    }
    if (f.bad_pieces > 0) {
      what += fmt::format("{}{} bad piece{}", what.empty() ? "" : "; ", f.bad_pieces,
                          f.bad_pieces == 1 ? "" : "s");
    }
    fmt::print("BAD  {}: {}\n", printable(f.disk_path.string()), what);
  }
  if (r->ok()) {
    if (!a.quiet) {
      fmt::print("OK   all {} pieces of {} files match\n", r->num_pieces, r->files.size());
    }
    return exit_ok;
  }
  std::string list;
  for (std::size_t i = 0; i < r->bad_pieces.size() && i < 20; ++i) {
    list += fmt::format("{}{}", i ? "," : "", r->bad_pieces[i]);
  }
  if (r->bad_pieces.size() > 20) list += ",...";
  fmt::print("FAILED {} of {} pieces bad{}{}, {} of {} files with problems\n", r->bad_pieces.size(),
             r->num_pieces, list.empty() ? "" : " (pieces ", list.empty() ? "" : list + ")",
             bad_files, r->files.size());
  return exit_verify_failed;
}

int run_magnet(const magnet_args& a) {
  auto ti = load(a.file);
  if (!ti) return report(ti.error());
  fmt::print("{}\n", torrent_summary::of(*ti->info, ti->bytes).magnet);
  return exit_ok;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"Create, inspect and verify BitTorrent v1/v2/hybrid torrents, fast.", "torrentgen"};
  app.set_version_flag("--version", "torrentgen " BLOBSWARM_VERSION);
  app.require_subcommand(1);
  app.footer(footer);

  create_args c;
  auto* create = app.add_subcommand("create", "create a .torrent for a file or directory");
  create->add_option("PATH", c.path, "file or directory to share")->required();
  create->add_option("-o,--output", c.output,
                     "where to write the torrent ('-' for stdout; default <name>.torrent here)");
  create
      ->add_option("-t,--tracker", c.trackers,
                   "announce URL; repeat for more tiers, commas put URLs in one tier")
      ->allow_extra_args(false)
      ->type_name("URL");
  create->add_flag("--private", c.is_private, "set the private flag (BEP 27)");
  create
      ->add_option("--piece-size", c.piece_size,
                   "auto, or a power of two >= 16KiB with unit (4MiB); >16MiB needs --force")
      ->capture_default_str()
      ->type_name("SIZE|auto");
  create->add_option("--format", c.format, "v1, v2 or hybrid")
      ->capture_default_str()
      ->type_name("v1|v2|hybrid");
  create->add_option("-w,--web-seed", c.web_seeds, "web seed URL (BEP 19); repeatable")
      ->allow_extra_args(false)
      ->type_name("URL");
  create->add_option("--comment", c.comment, "comment (outside the info dictionary)");
  create->add_option("--source", c.source,
                     "source tag inside the info dictionary (changes the info-hash)");
  create->add_option("--created-by", c.created_by, "'created by' field (default: none)");
  create->add_option("--date", c.date, "creation date: unix seconds, now, or none (default)")
      ->capture_default_str()
      ->type_name("UNIX|now|none");
  create->add_option("--threads", c.threads, "hashing threads (default: all cores)")
      ->check(CLI::Range(0u, 1024u))
      ->type_name("N");
  create
      ->add_option("--exclude", c.excludes,
                   "leave out matching files/dirs: a glob on names, or on the path if it has '/'")
      ->allow_extra_args(false)
      ->type_name("GLOB");
  create->add_flag("--follow-symlinks", c.follow_symlinks,
                   "include what symlinks point to (default: skip symlinks)");
  create->add_flag("--quiet", c.quiet, "no progress bar, summary or warnings");
  create->add_flag("--json", c.json, "print the new torrent's summary as JSON (as info --json)");
  create->add_flag("--force", c.force, "overwrite the output; allow pieces over 16 MiB");

  info_args i;
  auto* info = app.add_subcommand("info", "show what a .torrent holds");
  info->add_option("FILE", i.file, ".torrent file ('-' for stdin)")->required();
  info->add_flag(
      "--json", i.json,
      "JSON: name, info hashes, sizes, pieces, private, trackers, web seeds, files, ...");

  verify_args v;
  auto* verify = app.add_subcommand(
      "verify", "check data on disk against a .torrent (exit 1 if anything is bad or missing)");
  verify->add_option("FILE", v.file, ".torrent file ('-' for stdin)")->required();
  verify
      ->add_option("PATH", v.path,
                   "the file or directory the torrent describes (or the directory holding it)")
      ->required();
  verify->add_option("--threads", v.threads, "hashing threads (default: all cores)")
      ->check(CLI::Range(0u, 1024u))
      ->type_name("N");
  verify->add_flag("--quiet", v.quiet, "no progress bar, print only problems");

  magnet_args m;
  auto* magnet = app.add_subcommand(
      "magnet", "print a magnet link (btih for v1, btmh for v2, both for hybrid; name, trackers)");
  magnet->add_option("FILE", m.file, ".torrent file ('-' for stdin)")->required();

  create->footer(
      R"(Defaults: hybrid (v1 + v2), piece size chosen for 1000-2000 pieces (16 KiB-16 MiB),
no trackers, not private, no creation date. The same files and flags always give the
same bytes: canonical file order (v2 file-tree order: "a/b" before "a.txt"), no mtimes,
no file attributes. Symlinks and special files are skipped with a warning. The output is
written atomically; an existing file is kept unless --force.
Exit codes: 0 ok, 2 usage or input error (nothing written).)");
  info->footer(R"(--json fields: name, format, info_hash_v1, info_hash_v2, total_size, piece_length,
num_pieces, private, trackers (tiers), web_seeds, files (path, size), comment, source,
created_by, creation_date, magnet. Exit codes: 0 ok, 2 unreadable or invalid .torrent.)");
  verify->footer(
      R"(Hashes the data and compares every piece (v1 SHA-1 pieces, v2 piece layers, both for
hybrid). Prints one BAD line per damaged, truncated, oversized or missing file.
Exit codes: 0 all pieces match, 1 bad or missing data, 2 usage or input error.)");
  magnet->footer("Exit codes: 0 ok, 2 unreadable or invalid .torrent.");

  auto known = [](std::string_view c) {
    return c == "create" || c == "info" || c == "verify" || c == "magnet";
  };
  if (argc >= 2 && argv[1][0] != '-' && !known(argv[1])) {
    fmt::print(stderr,
               "torrentgen: error: unknown command '{}' (use create, info, verify or magnet; see "
               "torrentgen --help)\n",
               printable(argv[1]));
    return exit_error;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (auto& ch : what) {
      if (ch == '\n') ch = ' ';
    }
    fmt::print(stderr, "torrentgen: error: {} (see torrentgen --help)\n", what);
    return exit_error;
  }
  try {
    if (*create) return run_create(c);
    if (*info) return run_info(i);
    if (*verify) return run_verify(v);
    if (*magnet) return run_magnet(m);
  } catch (const std::exception& e) {
    // Not expected: the library reports errors as values. Still one line.
    fmt::print(stderr, "torrentgen: error: {}\n", e.what());
    return exit_error;
  }
  return exit_error;
}

}  // namespace blobswarm::torrentgen
