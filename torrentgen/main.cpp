// torrentgen: torrent creation CLI. All of it lives in the library
// (torrentgen/cli.hpp) so tests and the seeder share the code.
#include "torrentgen/cli.hpp"

int main(int argc, char** argv) {
  return blobswarm::torrentgen::run_cli(argc, argv);
}
