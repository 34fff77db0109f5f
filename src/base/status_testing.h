// Assertions on absl::Status and absl::StatusOr for GoogleTest, shared by the test files (only
// tests include this header).
//
//   ASSERT_OK(store->AddTable(table, "retailer"));
//   ASSERT_OK_AND_ASSIGN(Table found, store->GetTable("campaign", "retail"));
//   ExpectError(status, absl::StatusCode::kNotFound, "table 'x' not found ...");
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "base/status.h"

namespace parley::testing_internal {
inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <class T>
absl::Status StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace parley::testing_internal

// Takes an absl::Status or an absl::StatusOr (whose value is then ignored).
#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    const absl::Status status_ = ::parley::testing_internal::StatusOf((expr)); \
    ASSERT_TRUE(status_.ok()) << status_;                                      \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                       \
  auto PARLEY_STATUS_CONCAT(statusor_, __LINE__) = (expr);    \
  ASSERT_TRUE(PARLEY_STATUS_CONCAT(statusor_, __LINE__).ok()) \
      << PARLEY_STATUS_CONCAT(statusor_, __LINE__).status();  \
  lhs = std::move(PARLEY_STATUS_CONCAT(statusor_, __LINE__)).value()

namespace parley {

// The exact code and message: user-facing errors are part of the behaviour.
inline void ExpectError(const absl::Status& status, absl::StatusCode code,
                        const std::string& message) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(std::string(status.message()), message);
}
template <class T>
void ExpectError(const absl::StatusOr<T>& result, absl::StatusCode code,
                 const std::string& message) {
  ExpectError(result.status(), code, message);
}

}  // namespace parley
