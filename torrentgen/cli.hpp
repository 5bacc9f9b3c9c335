// cli: the torrentgen command line (create, info, verify, magnet) on top of
// the library. main.cpp only calls run_cli(). Exit codes: 0 ok, 1 verify
// found bad data, 2 usage or input error (one line on stderr naming the
// path and the reason).
#pragma once

namespace blobswarm::torrentgen {

inline constexpr int exit_ok = 0;
inline constexpr int exit_verify_failed = 1;
inline constexpr int exit_error = 2;

int run_cli(int argc, char** argv);

}  // namespace blobswarm::torrentgen
