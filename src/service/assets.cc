// Private assets (issue 12): a member's model, library or documents, registered as a copy under
// the home. Every member sees the metadata (name, kind, size, hash, description); no one — not
// even its owner, through Parley — downloads the bytes: only jobs the owner approved read them,
// inside the sandbox (job_run.cc).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "service/job_internal.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxAssetBytes = int64_t{1} << 30;
constexpr size_t kMaxAssetFiles = 10'000;

bool AssetName(const std::string& name) {
  if (name.empty() || name.size() > 64 || !(std::isalpha(static_cast<unsigned char>(name[0])))) {
    return false;
  }
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
         std::string::npos;
}

absl::StatusOr<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read '", path.string(), "'"));
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The files of an asset (a file, or every regular file under a folder), refusing links, other
// kinds of entries and sizes over the limits. Relative paths, sorted.
absl::StatusOr<std::vector<std::string>> AssetFiles(const fs::path& root,
                                                    const std::string& named) {
  std::error_code error;
  fs::file_status status = fs::symlink_status(root, error);
  if (error || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("asset source '", named, "' does not exist"));
  }
  if (fs::is_symlink(status)) {
    return absl::InvalidArgumentError(absl::StrCat("asset source '", named, "' is a link"));
  }
  if (fs::is_regular_file(status)) return std::vector<std::string>{""};
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("asset source '", named, "' is not a file or a folder"));
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    fs::file_status entry = it->symlink_status(error);
    std::string relative = fs::relative(it->path(), root).string();
    if (fs::is_symlink(entry)) {
      return absl::InvalidArgumentError(
          absl::StrCat("asset source '", named, "' holds a link: ", relative));
    }
    if (fs::is_directory(entry)) continue;
    if (!fs::is_regular_file(entry)) {
      return absl::InvalidArgumentError(
          absl::StrCat("asset source '", named, "' holds something not a file: ", relative));
    }
    files.push_back(relative);
    if (files.size() > kMaxAssetFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat("asset source '", named, "' holds more than ", kMaxAssetFiles, " files"));
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list '", named, "'"));
  std::sort(files.begin(), files.end());
  return files;
}

AssetView ViewOf(const catalog::AssetRecord& asset) {
  return {asset.name,
          asset.owner,
          asset.kind,
          asset.description,
          asset.bytes,
          asset.sha256,
          std::vector<std::string>(asset.allowed_jobs.begin(), asset.allowed_jobs.end()),
          asset.allow_job_logs,
          asset.created_at};
}

}  // namespace

absl::StatusOr<AssetView> Service::RegisterAsset(const identity::Caller& caller,
                                                 const NewAsset& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kAddTable));
  if (!AssetName(request.name)) {
    return absl::InvalidArgumentError(
        "an asset name is 1 to 64 letters, digits, '_', '-' or '.', starting with a letter");
  }
  if (request.kind != "model" && request.kind != "library" && request.kind != "data") {
    return absl::InvalidArgumentError("an asset's kind is model, library or data");
  }
  if (request.description.size() > 2000) {
    return absl::InvalidArgumentError("an asset's description is at most 2000 characters");
  }
  std::error_code error;
  fs::path source = fs::absolute(request.path, error);
  if (caller.authentication() == identity::Authentication::kToken) {
    // Over a server an organisation registers only files of its own folder of the data root.
    fs::path own =
        fs::weakly_canonical(fs::path(impl_->options.data_root) / caller.member(), error);
    fs::path resolved = fs::weakly_canonical(source, error);
    if (impl_->options.data_root.empty() || error ||
        resolved.string().rfind(own.string() + "/", 0) != 0) {
      return absl::PermissionDeniedError(absl::StrCat(
          "asset source '", request.path, "' is not under your folder of the server's data root"));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, AssetFiles(source, request.path));
  // A copy under the home: what was registered is what jobs read, whatever happens to the source.
  catalog::AssetRecord record;
  record.collaboration = request.collaboration;
  record.name = request.name;
  record.kind = request.kind;
  record.description = request.description;
  record.allow_job_logs = request.allow_job_logs;
  if (impl_->store->GetAsset(request.collaboration, request.name).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("asset '", request.name,
                                                 "' already exists in collaboration '",
                                                 request.collaboration, "'"));
  }
  fs::path folder =
      impl_->home / "assets" /
      absl::StrCat(crypto::Sha256Hex(request.collaboration).substr(0, 16), "-", request.name);
  fs::remove_all(folder, error);  // left by a registration that failed half-way
  error.clear();
  fs::create_directories(folder, error);
  fs::permissions(impl_->home / "assets", fs::perms::owner_all, error);
  if (error) return absl::InternalError("cannot create the home's assets folder");
  fs::path stored = folder / (files.size() == 1 && files[0].empty()
                                  ? source.filename()
                                  : fs::path(source.filename().string() + ".d"));
  std::string listing;
  for (const std::string& relative : files) {
    fs::path from = relative.empty() ? source : source / relative;
    fs::path to = relative.empty() ? stored : stored / relative;
    PARLEY_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(from));
    record.bytes += static_cast<int64_t>(bytes.size());
    if (record.bytes > kMaxAssetBytes) {
      fs::remove_all(folder, error);
      return absl::InvalidArgumentError(
          absl::StrCat("asset source '", request.path, "' is larger than 1 GiB"));
    }
    absl::StrAppend(&listing, relative, "\t", crypto::Sha256Hex(bytes), "\n");
    fs::create_directories(to.parent_path(), error);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      fs::remove_all(folder, error);
      return absl::InternalError(absl::StrCat("cannot store asset '", request.name, "'"));
    }
  }
  record.sha256 =
      files.size() == 1 && files[0].empty() ? listing.substr(1, 64) : crypto::Sha256Hex(listing);
  record.stored_path = stored.string();
  absl::Status created = impl_->store->CreateAsset(record, caller.member());
  if (!created.ok()) {
    if (!absl::IsAlreadyExists(created)) fs::remove_all(folder, error);
    return created;
  }
  PARLEY_ASSIGN_OR_RETURN(catalog::AssetRecord stored_record,
                          impl_->store->GetAsset(request.collaboration, request.name));
  return ViewOf(stored_record);
}

absl::StatusOr<std::vector<AssetView>> Service::ListAssets(const identity::Caller& caller,
                                                           const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto assets, impl_->store->ListAssets(collaboration));
  std::vector<AssetView> views;
  for (const catalog::AssetRecord& asset : assets) views.push_back(ViewOf(asset));
  return views;
}

}  // namespace parley::service
