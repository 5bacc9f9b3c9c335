// torrentgen: torrent creation CLI.
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Create, inspect and verify BitTorrent v1/v2/hybrid torrents", "torrentgen"};
  app.set_version_flag("--version", "torrentgen " BLOBSWARM_VERSION);
  app.require_subcommand(1);
  app.add_subcommand("create", "create a .torrent for a file or directory");
  app.add_subcommand("info", "show what a .torrent holds");
  app.add_subcommand("verify", "check data on disk against a .torrent");
  app.add_subcommand("magnet", "print a magnet link for a .torrent");
  CLI11_PARSE(app, argc, argv);
  return 2;
}
