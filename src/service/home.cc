#include "service/home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parley::service {

namespace fs = std::filesystem;

namespace {

// Why an existing folder cannot be a home, or "" when it can.
std::string ProblemWith(const struct stat& info) {
  if (!S_ISDIR(info.st_mode)) return "it is not a directory";
  if (info.st_uid != geteuid()) {
    return absl::StrCat("it belongs to another user (uid ", info.st_uid,
                        "); use a folder of your own");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::StrFormat(
        "others can write to it (mode %04o); use a folder only you can write to, or remove their "
        "write permission (chmod go-w)",
        info.st_mode & 07777);
  }
  return "";
}

}  // namespace

absl::Status PrepareHome(const std::string& home) {
  if (home.empty()) return absl::InvalidArgumentError("the home directory is an empty path");
  fs::path path(home);
  std::error_code error;
  fs::path parent = fs::absolute(path, error).parent_path();
  if (!error && !parent.empty()) fs::create_directories(parent, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the home directory '", home, "': ", error.message()));
  }
  // mkdir creates it with 0700 (narrowed further by the umask, never widened); when it already
  // exists, whoever made it, it is only inspected.
  if (::mkdir(home.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the home directory '", home, "': ", std::strerror(errno)));
  }
  struct stat info {};
  if (::stat(home.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the home directory '", home, "': ", std::strerror(errno)));
  }
  std::string problem = ProblemWith(info);
  if (!problem.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing the home directory '", home, "': ", problem));
  }
  return absl::OkStatus();
}

absl::Status MakePrivateFile(const std::string& path) {
  // O_NOFOLLOW: a symbolic link planted where the catalog goes is not followed.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  struct stat info {};
  absl::Status status;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    status = absl::InternalError(absl::StrCat("'", path, "' is not a regular file"));
  } else if (info.st_uid == geteuid() && (info.st_mode & 077) != 0) {
    // A catalog written by an earlier version with the umask's mode: it holds every rule and
    // query, so it is narrowed to its owner (the home around it already is).
    ::fchmod(fd, info.st_mode & 0700);
  }
  ::close(fd);
  return status;
}

absl::Status CreatePrivateDirectories(const std::string& path) {
  fs::path target(path);
  fs::path partial;
  for (const fs::path& part : target) {
    partial /= part;
    if (partial == target.root_path()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(
          absl::StrCat("cannot create '", partial.string(), "': ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<HomeSettings> ReadHomeSettings(const std::string& home) {
  fs::path path = fs::path(home) / "settings.json";
  HomeSettings settings;
  std::ifstream in(path);
  if (!in) return settings;
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  auto invalid = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("the home's settings '", path.string(), "': ", why));
  };
  if (!json.is_object()) return invalid("not a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (key == "result_retention_days") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1) {
        return invalid("result_retention_days must be a whole number of days, at least 1");
      }
      settings.result_retention_days = value.get<int64_t>();
    } else {
      return invalid(absl::StrCat("unknown setting '", key, "'"));
    }
  }
  return settings;
}

absl::Status WriteHomeSettings(const std::string& home, const HomeSettings& settings) {
  nlohmann::json json = nlohmann::json::object();
  if (settings.result_retention_days) {
    json["result_retention_days"] = *settings.result_retention_days;
  }
  fs::path path = fs::path(home) / "settings.json";
  std::string temporary = path.string() + ".new";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot write '", path.string(), "': ", std::strerror(errno)));
  }
  std::string text = json.dump(2) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  }
  return absl::OkStatus();
}

}  // namespace parley::service
