// Client-side column encryption (docs/formats/encrypted-columns.md): `parley secret new`,
// `parley encrypt` and `parley decrypt`. They run on the owner's or receiver's machine, act as no
// member and talk to no server or home: the shared secret never leaves the machine.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/encrypted_files.h"
#include "cli/command_line.h"

namespace parley::cli {
namespace {

struct CryptoFlags {
  std::string secret_path;
  std::string collaboration;
  std::string spec;
  std::string table;
  std::vector<std::string> columns;
  std::string input;
  std::string output;
  bool force = false;
  int threads = 0;
  std::string memory_limit;
  bool quiet = false;
};

// A progress bar on stderr, only when stderr is a terminal (scripts and tests see none).
std::function<void(double)> ProgressBar(bool quiet) {
  if (quiet || !isatty(STDERR_FILENO)) return nullptr;
  return [](double fraction) {
    int filled = static_cast<int>(fraction * 40);
    std::fprintf(stderr, "\r[%s%s] %3d%%", std::string(filled, '#').c_str(),
                 std::string(40 - filled, ' ').c_str(), static_cast<int>(fraction * 100));
    if (fraction >= 1.0) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

void AddFileFlags(CLI::App* app, CryptoFlags& flags) {
  app->add_option("--secret", flags.secret_path, "the shared secret file (parley secret new)")
      ->required();
  app->add_option("--collaboration", flags.collaboration,
                  "the collaboration id the keys are derived for")
      ->required();
  app->add_option("input", flags.input, "the input file (.csv or .parquet)")->required();
  app->add_option("output", flags.output, "the output file (.csv or .parquet)")->required();
  app->add_flag("--force", flags.force, "replace the output file if it exists");
  app->add_option("--threads", flags.threads, "threads to use (default: every core)");
  app->add_option("--memory-limit", flags.memory_limit, "DuckDB's memory limit, e.g. 2GB");
  app->add_flag("--quiet", flags.quiet, "no progress bar");
}

void FillOptions(const CryptoFlags& flags, api::CryptoFileOptions& options) {
  options.secret_path = flags.secret_path;
  options.collaboration = flags.collaboration;
  options.input = flags.input;
  options.output = flags.output;
  options.replace = flags.force;
  options.threads = flags.threads;
  options.memory_limit = flags.memory_limit;
  options.progress = ProgressBar(flags.quiet);
}

}  // namespace

void Cli::AddCryptoCommands() {
  auto flags = std::make_shared<CryptoFlags>();
  auto print = [this](const absl::StatusOr<api::CryptoFileSummary>& summary,
                      const std::string& output) {
    if (!summary.ok()) return Fail(summary.status());
    if (globals_.json) {
      nlohmann::json columns = nlohmann::json::array();
      for (const auto& [name, what] : summary->columns) {
        columns.push_back({{"name", name}, {"done", what}});
      }
      std::cout << nlohmann::json{{"output", output}, {"rows", summary->rows}, {"columns", columns}}
                       .dump(2)
                << "\n";
      return 0;
    }
    std::cout << "wrote " << output << ": " << summary->rows << " rows\n";
    for (const auto& [name, what] : summary->columns)
      std::cout << "  " << name << "  " << what << "\n";
    return 0;
  };

  CLI::App* secret = Group("secret", "shared secrets for client-side column encryption");
  auto* secret_new = secret->add_subcommand(
      "new", "write a new random 256-bit secret to FILE (mode 0600; never replaces a file)");
  secret_new->add_option("file", flags->secret_path, "where to write the secret")->required();
  Add(
      secret_new,
      [this, flags] {
        absl::Status status = api::WriteNewSecret(flags->secret_path);
        if (!status.ok()) return Fail(status);
        if (globals_.json) {
          std::cout << nlohmann::json{{"secret_file", flags->secret_path}}.dump(2) << "\n";
        } else {
          std::cout << "wrote a new secret to " << flags->secret_path
                    << "; share it with the other members out of band\n";
        }
        return 0;
      },
      /*needs_actor=*/false);

  auto* encrypt = app_.add_subcommand(
      "encrypt",
      "encrypt a CSV or Parquet file's columns on this machine before registering it "
      "(docs/formats/encrypted-columns.md)");
  AddFileFlags(encrypt, *flags);
  encrypt->add_option("--spec", flags->spec, "the encryption spec (JSON): each column's kind")
      ->required();
  Add(
      encrypt,
      [flags, print] {
        api::EncryptOptions options;
        FillOptions(*flags, options);
        options.spec_path = flags->spec;
        return print(api::EncryptFile(options), flags->output);
      },
      /*needs_actor=*/false);

  auto* decrypt = app_.add_subcommand(
      "decrypt", "open the sealed columns of a result on the receiver's machine");
  AddFileFlags(decrypt, *flags);
  decrypt->add_option("--table", flags->table,
                      "the table sealed columns came from (when named as in that table)");
  decrypt->add_option("--column", flags->columns,
                      "OUT=TABLE.COLUMN: where a renamed sealed output column came from");
  Add(
      decrypt,
      [flags, print] {
        api::DecryptOptions options;
        FillOptions(*flags, options);
        options.table = flags->table;
        options.columns = flags->columns;
        return print(api::DecryptFile(options), flags->output);
      },
      /*needs_actor=*/false);
}

}  // namespace parley::cli
