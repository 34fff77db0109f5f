// A free TCP port on 127.0.0.1 for the servers tests start (PostgreSQL, ClickHouse): bound to
// port 0, read back, released (another process may take it before the server binds it).
#ifndef PARLEY_TESTS_SUPPORT_FREE_PORT_H_
#define PARLEY_TESTS_SUPPORT_FREE_PORT_H_

#include "absl/status/statusor.h"

namespace parley::testing {

absl::StatusOr<int> FreeLoopbackPort();

}  // namespace parley::testing

#endif  // PARLEY_TESTS_SUPPORT_FREE_PORT_H_
