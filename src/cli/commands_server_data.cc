// Bringing data to a server and keeping results there, on the client's side (issue 8 §2-§4):
// `key new|register|show` (the key pair results are sealed to), the upload behind `table add
// --upload`, opening sealed results locally, `audit verify` through a server checked against the
// hashes this client saw before, and `--result-retention` of `collaboration create|set`.
//
// The client's own files live in its config directory (ConfigDirectory): result.key (the
// private key, 0600) and result.pub; result-keys/ (the pairs a key rotation replaced, kept to open
// the results sealed to them); audit/<server>/<collaboration> (one "seq hash" line per entry
// seen). A server never sees the private key and cannot edit these files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/client_side.h"
#include "api/jobs.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

namespace fs = std::filesystem;

namespace {

constexpr char kPrivateKeyFile[] = "result.key";
constexpr char kPublicKeyFile[] = "result.pub";
// Key pairs replaced by `key new --force`, kept to open the results sealed to them:
// <public key>.key (0600) and <public key>.pub.
constexpr char kPreviousKeysFolder[] = "result-keys";

// Writes `text` to `path` with `mode`, atomically (a temporary file renamed); never follows a link
// at the temporary name.
absl::Status WritePrivateText(const fs::path& path, const std::string& text, mode_t mode) {
  std::string temporary = absl::StrCat(path.string(), ".tmp.", getpid());
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("cannot write '", path.string(), "'"));
  bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::InvalidArgumentError(absl::StrCat("cannot write '", path.string(), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadKeyText(const fs::path& path, bool secret) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrCat("no key at '", path.string(), "' (create one with 'parley key new')"));
  }
  if (secret && ((info.st_mode & 077) != 0 || info.st_uid != geteuid())) {
    return absl::FailedPreconditionError(
        absl::StrCat("the private key '", path.string(), "' is readable by others: chmod 600 it"));
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string key(absl::StripAsciiWhitespace(text.str()));
  if (!api::IsResultKey(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path.string(), "' does not hold a key (64 hex digits)"));
  }
  return key;
}

// A file name for a server URL: its letters and digits, the rest as '_'.
std::string ServerFolder(const std::string& url) {
  std::string folder;
  for (char c : url) folder.push_back(absl::ascii_isalnum(c) ? c : '_');
  return folder;
}

std::string ProgressBar(int64_t sent, int64_t total) {
  int percent = total > 0 ? static_cast<int>(sent * 100 / total) : 100;
  int filled = percent * 30 / 100;
  return absl::StrCat("\r[", std::string(filled, '#'), std::string(30 - filled, ' '), "] ", percent,
                      "%  ", sent, "/", total, " bytes");
}

}  // namespace

std::string Cli::ConfigDirectory() const {
  if (const char* dir = std::getenv("PARLEY_CONFIG_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (!globals_.token_file.empty()) {
    return fs::absolute(globals_.token_file).parent_path().string();
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "parley").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr ? home : ".") / ".config" / "parley").string();
}

absl::StatusOr<api::UploadResponse> Cli::UploadFile(Backend& backend, const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat("--upload: '", path, "' is not a readable file"));
  }
  int64_t size = static_cast<int64_t>(fs::file_size(path, error));
  if (remote()) {
    // Checked before sending: a server that refuses a body midway cannot always say why.
    absl::StatusOr<api::WhoAmIResponse> whoami = backend.WhoAmI({});
    if (!whoami.ok()) return whoami.status();
    if (whoami->max_upload_bytes && size > *whoami->max_upload_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "--upload: '", path, "' is ", size, " bytes; the server accepts uploads of at most ",
          *whoami->max_upload_bytes, " bytes"));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(std::string sha256, api::FileSha256(path));
  api::UploadRequest request{fs::path(path).filename().string(), sha256, size};
  bool bar = isatty(STDERR_FILENO) != 0;
  absl::StatusOr<api::UploadResponse> uploaded =
      backend.Upload(request, path, [bar](int64_t sent, int64_t total) {
        if (bar) std::cerr << ProgressBar(sent, total) << std::flush;
      });
  if (bar) std::cerr << "\n";
  return uploaded;
}

absl::Status Cli::OpenSealed(absl::StatusOr<api::GetResultResponse>& response) {
  if (!response.ok() || !response->sealed_result) return absl::OkStatus();
  fs::path dir = ConfigDirectory();
  PARLEY_ASSIGN_OR_RETURN(std::string public_key, ReadKeyText(dir / kPublicKeyFile, false));
  PARLEY_ASSIGN_OR_RETURN(std::string private_key, ReadKeyText(dir / kPrivateKeyFile, true));
  absl::StatusOr<api::Result> opened =
      api::OpenSealedResult(*response->sealed_result, public_key, private_key);
  // Sealed before the last key rotation: one of the previous pairs opens it.
  std::error_code error;
  for (fs::directory_iterator it(dir / kPreviousKeysFolder, error), end;
       !error && it != end && absl::IsPermissionDenied(opened.status()); it.increment(error)) {
    if (it->path().extension() != ".key") continue;
    fs::path previous_public = it->path();
    previous_public.replace_extension(".pub");
    absl::StatusOr<std::string> previous = ReadKeyText(previous_public, false);
    absl::StatusOr<std::string> secret = ReadKeyText(it->path(), true);
    if (!previous.ok() || !secret.ok()) continue;
    opened = api::OpenSealedResult(*response->sealed_result, *previous, *secret);
  }
  PARLEY_ASSIGN_OR_RETURN(response->result, std::move(opened));
  response->sealed_result.reset();
  return absl::OkStatus();
}

absl::Status Cli::OpenSealed(api::JobRun& run) {
  bool any = std::any_of(run.outputs.begin(), run.outputs.end(), [](const api::JobOutput& output) {
    return output.sealed.value_or(false) && output.content_base64;
  });
  if (!any) return absl::OkStatus();
  fs::path dir = ConfigDirectory();
  PARLEY_ASSIGN_OR_RETURN(std::string public_key, ReadKeyText(dir / kPublicKeyFile, false));
  PARLEY_ASSIGN_OR_RETURN(std::string private_key, ReadKeyText(dir / kPrivateKeyFile, true));
  for (api::JobOutput& output : run.outputs) {
    if (!output.sealed.value_or(false) || !output.content_base64) continue;
    absl::StatusOr<std::string> bytes =
        api::OpenSealedBytes(*output.content_base64, public_key, private_key, output.sha256);
    if (!bytes.ok()) {
      return absl::Status(bytes.status().code(), absl::StrCat("job output '", output.name,
                                                              "': ", bytes.status().message()));
    }
    output.content_base64 = api::Base64Encode(*bytes);
    output.sealed.reset();
  }
  return absl::OkStatus();
}

absl::Status Cli::OpenSealed(Backend& backend, absl::StatusOr<api::RunResponse>& response) {
  if (!response.ok() || !response->sealed.value_or(false)) return absl::OkStatus();
  absl::StatusOr<api::GetResultResponse> stored =
      backend.GetResult({globals_.collaboration, response->query_id});
  PARLEY_RETURN_IF_ERROR(OpenSealed(stored));
  if (!stored.ok()) return stored.status();
  response->result = std::move(stored->result);
  return absl::OkStatus();
}

int Cli::VerifyOnClient(Backend& backend, const api::VerifyAuditResponse& verification) {
  absl::StatusOr<api::ListAuditResponse> listed = backend.ListAudit({globals_.collaboration});
  if (!listed.ok()) return Fail(listed.status(), globals_.collaboration);
  fs::path kept = fs::path(ConfigDirectory()) / "audit" / ServerFolder(globals_.server) /
                  globals_.collaboration;
  std::map<int64_t, std::string> seen;
  {
    std::ifstream in(kept);
    int64_t seq = 0;
    std::string hash;
    while (in >> seq >> hash) seen[seq] = hash;
  }
  api::ClientAuditCheck check = api::CheckAuditChain(*listed, seen);
  // The server's own verification and this client's, together.
  bool ok = verification.ok && check.ok;
  if (check.ok) {
    std::string text;
    for (const api::AuditEntry& entry : listed->entries) {
      absl::StrAppend(&text, entry.seq, " ", entry.hash, "\n");
    }
    std::error_code error;
    fs::create_directories(kept.parent_path(), error);
    // What this client saw is its own record: its folders too are its user's alone.
    for (fs::path folder = kept.parent_path(); folder != fs::path(ConfigDirectory());
         folder = folder.parent_path()) {
      fs::permissions(folder, fs::perms::owner_all, error);
      if (folder == folder.parent_path()) break;
    }
    absl::Status saved = WritePrivateText(kept, text, 0600);
    if (!saved.ok()) return Fail(saved);
  }
  if (globals_.json) {
    nlohmann::json json = api::ToJson(verification);
    json["client"] = {
        {"ok", check.ok}, {"entries", check.entries}, {"seen_before", check.seen_before}};
    if (!check.ok) json["client"]["problem"] = check.problem;
    std::cout << api::Dump(json, 2) << "\n";
    return ok ? 0 : kExitError;
  }
  int code = PrintVerification(verification);
  if (!check.ok) {
    std::cout << "audit log of " << globals_.collaboration
              << " REWRITTEN by the server since this client last verified it: " << check.problem
              << "\n";
    return kExitError;
  }
  std::cout << "checked on this machine: " << check.entries << " entries link and hash; "
            << check.seen_before << " seen before, unchanged\n";
  return code;
}

void Cli::AddRetentionOptions(CLI::App* create, CLI::App* set) {
  if (create != nullptr) {
    create->add_option("--result-retention", collaboration_retention_,
                       "delete results after this many days (the creator may change it)");
  }
  if (set != nullptr) {
    set->add_option("--result-retention", collaboration_retention_,
                    "the creator: delete results after this many days, or 'off'");
  }
}

int Cli::SetRetention() {
  api::SetCollaborationRetentionRequest request{globals_.collaboration, {}};
  if (collaboration_retention_ != "off") {
    int64_t days = 0;
    if (!absl::SimpleAtoi(collaboration_retention_, &days) || days < 1) {
      return Usage("--result-retention takes a number of days (at least 1) or 'off'");
    }
    request.days = days;
  }
  return Answer(OpenBackend()->SetCollaborationRetention(request), [](const auto& r) {
    if (r.result_retention_days) {
      std::cout << "results of " << r.collaboration << " are kept " << *r.result_retention_days
                << " days\n";
    } else {
      std::cout << "results of " << r.collaboration << " are kept until deleted\n";
    }
    return 0;
  });
}

void Cli::AddKeyCommands() {
  CLI::App* group = Group("key", "the key pair your results are sealed to");
  auto* create = group->add_subcommand(
      "new",
      "write a new X25519 key pair to your config directory (result.key, 0600, and result.pub)");
  create->add_flag("--force", key_force_,
                   "replace the key pair there (the old pair is kept in result-keys/ to open "
                   "the results sealed to it)");
  Add(
      create,
      [this] {
        fs::path dir = ConfigDirectory();
        std::error_code error;
        if (!key_force_ && fs::exists(dir / kPrivateKeyFile, error)) {
          return Usage(
              absl::StrCat("a key pair is already in ", dir.string(), " (--force replaces it)"));
        }
        absl::StatusOr<std::pair<std::string, std::string>> pair = api::NewResultKeyPair();
        if (!pair.ok()) return Fail(pair.status());
        fs::create_directories(dir, error);
        // A rotation loses no result: the old pair is kept, under its public key's name, before
        // the new one replaces it.
        absl::StatusOr<std::string> kept_public = ReadKeyText(dir / kPublicKeyFile, false);
        absl::StatusOr<std::string> kept_private = ReadKeyText(dir / kPrivateKeyFile, true);
        fs::path kept = dir / kPreviousKeysFolder;
        if (kept_public.ok() && kept_private.ok()) {
          fs::create_directories(kept, error);
          fs::permissions(kept, fs::perms::owner_all, error);
          absl::Status moved =
              WritePrivateText(kept / (*kept_public + ".key"), *kept_private + "\n", 0600);
          if (moved.ok()) {
            moved = WritePrivateText(kept / (*kept_public + ".pub"), *kept_public + "\n", 0644);
          }
          if (!moved.ok()) return Fail(moved);
        } else if (fs::exists(dir / kPrivateKeyFile, error)) {
          // A pair that cannot be read (mode, content) is not overwritten: it may be the only
          // key to results.
          return Fail(kept_private.ok() ? kept_public.status() : kept_private.status());
        }
        absl::Status saved = WritePrivateText(dir / kPrivateKeyFile, pair->second + "\n", 0600);
        if (saved.ok()) saved = WritePrivateText(dir / kPublicKeyFile, pair->first + "\n", 0644);
        if (!saved.ok()) return Fail(saved);
        if (globals_.json) {
          std::cout << api::Dump(
                           nlohmann::json{{"public_key", pair->first},
                                          {"private_key_file", (dir / kPrivateKeyFile).string()}},
                           2)
                    << "\n";
          return 0;
        }
        std::cout << "wrote " << (dir / kPrivateKeyFile).string() << " (mode 600) and "
                  << (dir / kPublicKeyFile).string() << "\npublic key " << pair->first << "\n";
        if (kept_public.ok() && kept_private.ok()) {
          std::cout << "the previous key pair is kept in " << kept.string()
                    << " to open the results sealed to it; register the new key with 'parley "
                       "key register'\n";
        }
        return 0;
      },
      /*needs_actor=*/false);

  auto* set = group->add_subcommand(
      "register", "register your public key: your results are sealed to it from now on");
  set->add_option("--public-key", public_key_file_,
                  "the public key's file (default: result.pub of your config directory)");
  Add(set, [this] {
    fs::path file = public_key_file_.empty() ? fs::path(ConfigDirectory()) / kPublicKeyFile
                                             : fs::path(public_key_file_);
    absl::StatusOr<std::string> key = ReadKeyText(file, false);
    if (!key.ok()) return Fail(key.status());
    return Answer(OpenBackend()->SetMemberKey({*key}), [](const auto& r) {
      std::cout << "results of " << r.member << " are sealed to the public key "
                << r.public_key.value_or("") << "\n";
      return 0;
    });
  });

  auto* show = group->add_subcommand("show", "the public key your results are sealed to");
  Add(show, [this] {
    return Answer(OpenBackend()->MemberKey({}), [](const auto& r) {
      if (r.public_key) {
        std::cout << r.member << " public key " << *r.public_key << "\n";
      } else {
        std::cout << r.member << " has no public key: its results are stored in the clear\n";
      }
      return 0;
    });
  });
}

void Cli::AddWebhookCommands() {
  CLI::App* group = Group("webhook", "URLs that receive the collaboration's events");
  auto* add = group->add_subcommand(
      "add",
      "subscribe an http(s) URL to the collaboration's events (change requests, queries); prints "
      "the secret that signs deliveries, once");
  AddCollaborationOption(add);
  add->add_option("url", webhook_url_, "http(s)://HOST[:PORT][/PATH]")->required();
  Add(add, [this] {
    return Answer(OpenBackend()->AddWebhook({globals_.collaboration, webhook_url_}),
                  [](const auto& r) {
                    std::cout << "webhook " << r.webhook.id << " -> " << r.webhook.url
                              << "\nsecret " << r.secret << "\n";
                    std::cerr << "the secret is shown only now: deliveries carry "
                                 "X-Parley-Signature: sha256=HMAC-SHA256(secret, body)\n";
                    return 0;
                  });
  });
  auto* list = group->add_subcommand("list", "your webhooks in the collaboration");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListWebhooks({globals_.collaboration}), [](const auto& r) {
      for (const api::Webhook& hook : r.webhooks) {
        std::cout << hook.id << "  " << hook.url << "  since " << FormatTime(hook.created_at)
                  << "\n";
      }
      return 0;
    });
  });
  auto* remove = group->add_subcommand("remove", "stop a webhook of yours");
  AddCollaborationOption(remove);
  remove->add_option("id", webhook_id_, "the webhook's id")->required();
  Add(remove, [this] {
    return Answer(
        OpenBackend()->RemoveWebhook({globals_.collaboration, webhook_id_}), [](const auto& r) {
          std::cout << "removed webhook " << r.webhook_id << " of " << r.collaboration << "\n";
          return 0;
        });
  });
}

}  // namespace parley::cli
