// The home directory: where a Parley home's catalog, results, run locks and spill files live.
// Everything in it is private to the user who runs Parley, so the folder itself must be: a home
// that another user can write to lets that user swap the catalog or a result file under us, and
// one that another user owns can be read or replaced by them at will.
//
//   PARLEY_RETURN_IF_ERROR(PrepareHome("/srv/parley"));
//
// PrepareHome creates a missing home with mode 0700 (missing parents with the usual mode) and
// accepts an existing one only when it is a directory owned by the current user that neither its
// group nor others may write to. It never changes an existing folder's mode: `--home` pointed at
// a shared folder by mistake must be refused, not quietly re-permissioned.
// Errors: FailedPrecondition naming the folder and what is wrong with it (not a directory,
// owned by another user, writable by others); InvalidArgument when it cannot be created.
// Thread safety: a free function; two processes creating the same home at once both succeed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parley::service {

absl::Status PrepareHome(const std::string& home);

// Creates `path` (a file of the home: the catalog) empty and 0600 if it does not exist, and
// removes the group and other permission bits of an existing one owned by the current user.
// Errors: Internal when the file cannot be created or is not a regular file.
absl::Status MakePrivateFile(const std::string& path);

// Creates the missing folders of `path` (a folder inside the home: results, locks) with mode 0700;
// existing ones are left as they are.
// Errors: Internal naming the folder that cannot be created.
absl::Status CreatePrivateDirectories(const std::string& path);

// The home's own settings, in HOME/settings.json (0600). A missing file means the defaults;
// unknown keys are errors (InvalidArgument naming the file), as in rule documents.
struct HomeSettings {
  std::optional<int64_t> result_retention_days;  // results older than this are deleted
};
absl::StatusOr<HomeSettings> ReadHomeSettings(const std::string& home);
absl::Status WriteHomeSettings(const std::string& home, const HomeSettings& settings);

}  // namespace parley::service
