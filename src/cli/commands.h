// The `parley` command line: subcommands in a table, each a thin function that reads its flags,
// calls the service (embedded mode) and prints. Exit codes: 0 success, 1 error, 2 usage, 3 the
// query was rejected by the rules.
#pragma once

namespace parley::cli {

int Main(int argc, char** argv);

}  // namespace parley::cli
