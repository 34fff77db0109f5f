// The `parley` command line: subcommands in a table, each a thin function that reads its flags,
// sends one API request to a Backend (embedded mode: LocalBackend, the service in this process)
// and prints the response. Exit codes: 0 success, 1 error, 2 usage, 3 the query was rejected by
// the rules. With --json, stdout holds exactly one JSON document — the API response, or
// {"error": {"code", "message"}} — and the exit codes stay the same (docs/api.md).
#pragma once

namespace parley::cli {

int Main(int argc, char** argv);

}  // namespace parley::cli
