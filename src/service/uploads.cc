// Bringing data to a server (issue 8 §2): a member uploads a file into its own folder of the
// server's data root, DATA_ROOT/<member>/ (HOME/data unless `serve --data-root` says otherwise),
// which only the server's user can read (0700). The bytes go to a temporary file created there
// (O_EXCL, 0600, never following a link) while their SHA-256 is computed; the file gets its name
// only once the size and checksum the client declared match, by link(2), which never replaces a
// file or follows a link planted under that name. Registering it is then AddTable's ordinary
// check: files under one's own folder only.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "service/service_impl.h"

namespace parley::service {

namespace fs = std::filesystem;

struct Upload::State {
  fs::path directory;
  fs::path temporary;
  std::string name;
  std::string expected_sha256;
  std::optional<int64_t> declared_bytes;
  int64_t max_bytes = 0;
  int64_t received = 0;
  int fd = -1;
  bool failed = false;
  bool committed = false;
  crypto::Sha256Stream digest;
};

Upload::Upload(std::unique_ptr<State> state) : state_(std::move(state)) {}

Upload::~Upload() {
  if (state_->fd >= 0) close(state_->fd);
  if (!state_->committed) unlink(state_->temporary.c_str());
}

absl::Status Upload::Write(std::string_view bytes) {
  State& s = *state_;
  if (s.failed || s.committed) return absl::FailedPreconditionError("the upload was abandoned");
  if (s.received + static_cast<int64_t>(bytes.size()) > s.max_bytes) {
    s.failed = true;
    return absl::ResourceExhaustedError(absl::StrCat(
        "the upload is larger than this server accepts (at most ", s.max_bytes, " bytes)"));
  }
  s.digest.Update(bytes);
  while (!bytes.empty()) {
    ssize_t written = ::write(s.fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      s.failed = true;
      return absl::InternalError("the server cannot store the upload (disk full or unwritable)");
    }
    bytes.remove_prefix(static_cast<size_t>(written));
    s.received += written;
  }
  return absl::OkStatus();
}

absl::StatusOr<UploadedFile> Upload::Commit() {
  State& s = *state_;
  if (s.failed || s.committed) return absl::FailedPreconditionError("the upload was abandoned");
  s.failed = true;  // until it succeeds
  if (s.declared_bytes && *s.declared_bytes != s.received) {
    return absl::InvalidArgumentError(
        absl::StrCat("the upload of '", s.name, "' is incomplete: ", s.received, " of ",
                     *s.declared_bytes, " bytes arrived; nothing was kept"));
  }
  std::string actual = s.digest.HexDigest();
  if (actual != s.expected_sha256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the checksum of the upload of '", s.name,
        "' does not match what arrived (SHA-256 sent with it differs); nothing was kept"));
  }
  if (fsync(s.fd) != 0) {
    return absl::InternalError("the server cannot store the upload (disk full or unwritable)");
  }
  close(s.fd);
  s.fd = -1;
  fs::path final_path = s.directory / s.name;
  if (link(s.temporary.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("a file named '", s.name, "' is already in your folder of the data root"));
    }
    return absl::InternalError("the server cannot store the upload (disk full or unwritable)");
  }
  unlink(s.temporary.c_str());
  s.committed = true;
  s.failed = false;
  return UploadedFile{final_path.string(), s.name, s.received, actual};
}

std::string Service::DataRootOf(const std::string& member) const {
  return (impl_->DataRoot() / member).string();
}

namespace {

// DIR as a directory of this user that is not a link, created 0700 when absent.
absl::Status PrivateDirectory(const fs::path& directory) {
  if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError("the server cannot create its data root folder");
  }
  struct stat info {};
  if (lstat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        "the server's data root folder is not a directory of the server's user (a link?); its "
        "operator must fix it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Upload>> Service::StartUpload(const identity::Caller& caller,
                                                             const std::string& name,
                                                             const std::string& sha256_hex,
                                                             std::optional<int64_t> declared_bytes,
                                                             int64_t max_bytes) {
  // A plain name: no separator, no NUL, no leading dot (".", "..", hidden files and our own
  // temporary files), printable and bounded, so it can be echoed in messages as given.
  static const std::regex kName("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  if (name.size() > 128 || !std::regex_match(name, kName)) {
    return absl::InvalidArgumentError(
        "an upload's file name is letters, digits, '.', '_' and '-' (at most 128, not starting "
        "with '.'), without a folder");
  }
  static const std::regex kSha256("[0-9a-f]{64}");
  if (!std::regex_match(sha256_hex, kSha256)) {
    return absl::InvalidArgumentError(
        "an upload needs its SHA-256 as 64 lowercase hex digits (X-Parley-Sha256)");
  }
  if (declared_bytes && (*declared_bytes < 0 || *declared_bytes > max_bytes)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the upload is larger than this server accepts (at most ", max_bytes, " bytes)"));
  }
  // The member's folder is named by the member: a name that could leave the data root is none.
  static const std::regex kMember("[A-Za-z0-9_][A-Za-z0-9_-]{0,63}");
  if (!std::regex_match(caller.member(), kMember)) {
    return absl::InvalidArgumentError("uploads need a member name of letters, digits, '_', '-'");
  }
  fs::path root = impl_->DataRoot();
  std::error_code error;
  fs::create_directories(root.parent_path(), error);
  PARLEY_RETURN_IF_ERROR(PrivateDirectory(root));
  fs::path directory = root / caller.member();
  PARLEY_RETURN_IF_ERROR(PrivateDirectory(directory));
  if (struct stat info{}; lstat((directory / name).c_str(), &info) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a file named '", name, "' is already in your folder of the data root"));
  }
  auto state = std::make_unique<Upload::State>();
  state->directory = directory;
  state->name = name;
  state->expected_sha256 = sha256_hex;
  state->declared_bytes = declared_bytes;
  state->max_bytes = max_bytes;
  std::string pattern = (directory / ".upload-XXXXXX").string();
  state->fd = mkostemp(pattern.data(), O_CLOEXEC);  // O_EXCL, 0600
  if (state->fd < 0) {
    return absl::InternalError("the server cannot store the upload (disk full or unwritable)");
  }
  state->temporary = pattern;
  return std::make_unique<Upload>(std::move(state));
}

}  // namespace parley::service
