// Error handling for Parley: absl::Status / absl::StatusOr plus two macros that keep call sites
// short. Errors are values; no exception crosses a module boundary.
//
//   absl::StatusOr<Table> LoadTable(...);
//   absl::Status Use() {
//     PARLEY_ASSIGN_OR_RETURN(Table table, LoadTable(...));
//     PARLEY_RETURN_IF_ERROR(Check(table));
//     return absl::OkStatus();
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PARLEY_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status parley_status_ = (expr);          \
    if (!parley_status_.ok()) return parley_status_; \
  } while (0)

#define PARLEY_STATUS_CONCAT_INNER(a, b) a##b
#define PARLEY_STATUS_CONCAT(a, b) PARLEY_STATUS_CONCAT_INNER(a, b)

#define PARLEY_ASSIGN_OR_RETURN(lhs, expr) \
  PARLEY_ASSIGN_OR_RETURN_IMPL(PARLEY_STATUS_CONCAT(parley_statusor_, __LINE__), lhs, expr)

#define PARLEY_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
