// psi serve | psi connect: private set intersection between two parties' own files, directly
// between the two machines (docs/formats/psi.md). The Parley home is not involved unless
// --register asks to add the intersection as a table of a collaboration afterwards.
// psi start | psi join: the same session between two members of a collaboration, relayed by the
// --server (cli/psi_relay_channel.h), which authenticates both, checks every frame and delivers
// the result to the receivers the starter named only.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/column_reader.h"
#include "cli/command_line.h"
#include "cli/psi_relay_channel.h"
#include "psi/identifiers.h"
#include "psi/protocol.h"
#include "psi/tcp.h"

namespace parley::cli {
namespace {

// How the two parties reach each other: directly (serve, connect) or through a Parley server that
// relays their frames (start, join).
enum class PsiWay { kServe, kConnect, kStart, kJoin };

struct PsiFlags {
  std::string address;        // serve: --listen; connect: the positional HOST:PORT
  std::string peer, session;  // start: --peer; join: the positional SESSION
  std::vector<std::string> receivers;
  std::string input, column, normalise = "none", register_as;
  bool cardinality_only = false;
  psi::TransportOptions transport;
  int io_timeout_seconds = 300;
  int connect_timeout_seconds = 10;
};

// Progress on stderr, redrawn in place at most ten times a second, only on a terminal.
class ProgressLine {
 public:
  ProgressLine() : enabled_(isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { Finish(); }
  void Show(absl::string_view phase, uint64_t done, uint64_t total) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string line =
        total > 0 ? absl::StrCat(phase, ": ", done, " of ", total, " (", done * 100 / total, "%)")
                  : absl::StrCat(phase, ": ", done);
    std::cerr << "\r\033[K" << line << std::flush;
    shown_ = true;
  }
  void Finish() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

void Cli::AddPsiCommands() {
  CLI::App* group =
      Group("psi",
            "private set intersection with another party: learn the identifiers you both hold (or "
            "only how many) without either side seeing the other's (docs/formats/psi.md)");
  auto flags = std::make_shared<PsiFlags>();
  auto add_common = [this, flags](CLI::App* app) {
    app->add_option("--input", flags->input, "your .csv (with a header row) or .parquet file")
        ->required();
    app->add_option("--column", flags->column, "the column holding the identifiers")->required();
    app->add_option("--normalise", flags->normalise,
                    "how identifiers are normalised before matching; both parties must choose "
                    "the same: " +
                        absl::StrJoin(psi::NormaliserNames(), ", "))
        ->capture_default_str();
    app->add_flag("--cardinality-only", flags->cardinality_only,
                  "both parties learn only the size of the intersection (both must give it)");
    AddOutputOptions(app);
    app->add_option("--register", flags->register_as,
                    "COLLABORATION:TABLE: add the --output file as your table of that "
                    "collaboration (as the member --as, or your organisation on a --server)");
    app->add_option("--timeout-io", flags->io_timeout_seconds,
                    "seconds the peer may stay silent before the session ends")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400));
  };

  auto* serve = group->add_subcommand(
      "serve", "wait for the other party on --listen and run one intersection with it");
  serve->add_option("--listen", flags->address, "HOST:PORT to listen on (PORT 0: any free port)")
      ->required();
  add_common(serve);
  auto* cert = serve->add_option("--tls-cert", flags->transport.tls_cert_file,
                                 "TLS: your certificate chain (PEM); the peer checks it");
  auto* key = serve->add_option("--tls-key", flags->transport.tls_key_file,
                                "TLS: the certificate's private key (PEM)");
  cert->needs(key);
  key->needs(cert);

  auto* connect =
      group->add_subcommand("connect", "connect to a party's `psi serve` and run the intersection");
  connect->add_option("address", flags->address, "HOST:PORT of the other party")->required();
  add_common(connect);
  connect->add_option("--tls-ca", flags->transport.tls_ca_file,
                      "TLS: the CA certificates (PEM) the server's certificate must chain to");
  connect
      ->add_option("--connect-timeout", flags->connect_timeout_seconds,
                   "seconds to keep retrying while nobody listens yet")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));

  auto* start = group->add_subcommand(
      "start",
      "through the --server: start a session with another member of the collaboration, then "
      "wait for it to join (the server relays blinded messages and learns no identifier)");
  AddCollaborationOption(start);
  start->add_option("--peer", flags->peer, "the member to match with")->required();
  start
      ->add_option("--receivers", flags->receivers,
                   "who learns the result: you, the peer or both (members with `receive`); "
                   "default: you")
      ->delimiter(',');
  add_common(start);
  auto* join = group->add_subcommand(
      "join", "through the --server: join the session another member started with you");
  AddCollaborationOption(join);
  join->add_option("session", flags->session, "the session id `psi start` printed")->required();
  add_common(join);

  auto run = [this, flags](PsiWay way) -> int {
    const bool relayed = way == PsiWay::kStart || way == PsiWay::kJoin;
    if (relayed && !remote()) {
      return Usage(absl::StrCat("psi ", way == PsiWay::kStart ? "start" : "join",
                                " runs through a Parley server: give --server URL (and your "
                                "token); without one use `psi serve` and `psi connect`"));
    }
    if (auto usage = OutputUsage()) return Usage(*usage);
    if (globals_.json && output_ == "-") {
      return Usage("--output - and --json both write to stdout; choose one");
    }
    if (flags->cardinality_only && !output_.empty()) {
      return Usage(
          "--output has nothing to write with --cardinality-only (only the size is "
          "learnt)");
    }
    std::string collaboration, table;
    if (!flags->register_as.empty()) {
      size_t colon = flags->register_as.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == flags->register_as.size()) {
        return Usage("--register takes COLLABORATION:TABLE");
      }
      collaboration = flags->register_as.substr(0, colon);
      table = flags->register_as.substr(colon + 1);
      if (output_.empty() || output_ == "-") {
        return Usage("--register adds the --output file as a table: give --output FILE");
      }
      if (!remote() && globals_.as.empty()) {
        return Usage("--register acts as a member: say which with --as MEMBER (or PARLEY_AS)");
      }
    }
    absl::StatusOr<psi::Normaliser> normaliser = psi::NormaliserNamed(flags->normalise);
    if (!normaliser.ok()) return Usage(normaliser.status().message());

    ProgressLine progress;
    psi::IdentifierSet identifiers(*normaliser);
    absl::Status read = api::ReadColumn(
        flags->input, flags->column, [&](const api::ColumnBatch& batch) -> absl::Status {
          for (size_t i = 0; i < batch.values.size(); ++i) {
            const std::optional<std::string>& value = batch.values[i];
            PARLEY_RETURN_IF_ERROR(
                identifiers.Add(value ? std::optional<absl::string_view>(*value) : std::nullopt,
                                batch.first_row + i));
          }
          progress.Show(absl::StrCat("reading ", flags->input),
                        batch.first_row + batch.values.size() - 1, 0);
          return absl::OkStatus();
        });
    progress.Finish();
    if (!read.ok()) {
      return Fail(absl::Status(read.code(), absl::StrCat(flags->input, ": ", read.message())));
    }

    flags->transport.io_timeout = std::chrono::seconds(flags->io_timeout_seconds);
    flags->transport.connect_timeout = std::chrono::seconds(flags->connect_timeout_seconds);
    psi::SessionOptions options;
    options.mode = flags->cardinality_only ? psi::Mode::kCardinalityOnly : psi::Mode::kIntersection;
    absl::StatusOr<std::unique_ptr<psi::Channel>> channel;
    std::unique_ptr<Backend> relay;
    bool serving = way == PsiWay::kServe || way == PsiWay::kStart;
    std::string relayed_receivers;
    if (relayed) {
      relay = OpenBackend();
      absl::StatusOr<api::PsiSession> session;
      if (way == PsiWay::kStart) {
        session = relay->StartPsi({globals_.collaboration, flags->peer,
                                   flags->cardinality_only ? "cardinality_only" : "intersection",
                                   flags->receivers});
      } else {
        session = relay->ShowPsi({globals_.collaboration, flags->session});
      }
      if (!session.ok()) return Fail(session.status(), globals_.collaboration);
      if (way == PsiWay::kJoin &&
          session->mode != (flags->cardinality_only ? "cardinality_only" : "intersection")) {
        return Fail(absl::FailedPreconditionError(absl::StrCat(
            "session ", session->session, " was started for ",
            session->mode == "intersection" ? "the intersection" : "the cardinality only",
            flags->cardinality_only ? " (leave out --cardinality-only)"
                                    : " (give --cardinality-only)")));
      }
      bool responder_learns = std::find(session->receivers.begin(), session->receivers.end(),
                                        session->responder) != session->receivers.end();
      bool initiator_learns = std::find(session->receivers.begin(), session->receivers.end(),
                                        session->initiator) != session->receivers.end();
      options.receivers = responder_learns && initiator_learns ? psi::Receivers::kBoth
                          : responder_learns                   ? psi::Receivers::kResponder
                                                               : psi::Receivers::kInitiator;
      relayed_receivers = absl::StrJoin(session->receivers, " and ");
      bool learns = serving ? responder_learns : initiator_learns;
      if (!learns && !output_.empty()) {
        return Fail(absl::FailedPreconditionError(
            absl::StrCat("--output: the result of session ", session->session, " goes to ",
                         relayed_receivers, " only; leave out --output")));
      }
      if (way == PsiWay::kStart) {
        // The peer joins with this id; scripts read it from this line.
        std::cerr << "psi session " << session->session << " started with " << session->initiator
                  << "; it joins with: parley psi join -c " << globals_.collaboration << " "
                  << session->session << "\n"
                  << std::flush;
      }
      channel = std::unique_ptr<psi::Channel>(std::make_unique<RelayChannel>(
          *relay, globals_.collaboration, session->session, flags->transport.io_timeout));
    } else if (serving) {
      absl::StatusOr<std::unique_ptr<psi::Listener>> listener = psi::Listener::Open(flags->address);
      if (!listener.ok()) return Fail(listener.status());
      std::string host = flags->address.substr(0, flags->address.rfind(':'));
      // Tests and scripts read the port from this line when they asked for port 0.
      std::cerr << "listening on " << host << ":" << (*listener)->port() << "\n" << std::flush;
      channel = (*listener)->Accept(flags->transport);
    } else {
      channel = psi::Connect(flags->address, flags->transport);
    }
    if (!channel.ok()) return Fail(channel.status());

    options.progress = [&](absl::string_view phase, uint64_t done, uint64_t total) {
      progress.Show(phase, done, total);
    };
    absl::StatusOr<psi::SessionResult> result =
        psi::RunSession(**channel, serving ? psi::Role::kResponder : psi::Role::kInitiator,
                        identifiers.identifiers(), options);
    progress.Finish();
    channel->reset();
    if (!result.ok()) return Fail(result.status());

    if (!output_.empty()) {
      api::Result rows;
      rows.columns.push_back({flags->column, "VARCHAR"});
      for (size_t position : result->matched) {
        rows.rows.push_back({identifiers.spelling(position)});
      }
      if (output_ == "-") {
        absl::StatusOr<std::string> text = api::RenderResult(rows, *OutputFormat());
        if (!text.ok()) return Fail(text.status());
        std::cout << *text;
      } else {
        absl::Status written = api::WriteResultFile(rows, output_, *OutputFormat(), force_);
        if (!written.ok()) return Fail(written);
      }
    }
    std::optional<api::AddTableResponse> added;
    if (!table.empty()) {
      api::AddTableRequest request;
      request.collaboration = collaboration;
      request.table = table;
      request.source = std::filesystem::absolute(output_).string();
      absl::StatusOr<api::AddTableResponse> response = OpenBackend()->AddTable(request);
      if (!response.ok()) return Fail(response.status(), collaboration);
      added = *response;
    }
    if (globals_.json) {
      nlohmann::json summary = {{"intersection_size", result->intersection_size},
                                {"own_size", result->own_size},
                                {"peer_size", result->peer_size},
                                {"values_skipped", identifiers.skipped()},
                                {"values_not_identifiers", identifiers.unusable()}};
      // A relayed session's party that does not receive the result says so (its size is 0).
      if (!result->learned) summary["learned"] = false;
      if (!output_.empty() && output_ != "-") summary["output"] = output_;
      if (added) summary["table"] = api::ToJson(*added);
      std::cout << api::Dump(summary, 2) << "\n";
      return 0;
    }
    std::ostream& summary = output_ == "-" ? std::cerr : std::cout;
    if (!result->learned) {
      summary << "done: the result went to " << relayed_receivers << " only (you sent "
              << result->own_size << " identifiers; the peer has " << result->peer_size << ")\n";
      return 0;
    }
    summary << "intersection: " << result->intersection_size << " of your " << result->own_size
            << " identifiers (the peer has " << result->peer_size << ")";
    if (identifiers.skipped() > 0) {
      summary << "; " << identifiers.skipped() << " empty or NULL values skipped";
    }
    if (identifiers.unusable() > 0) {
      summary << "; " << identifiers.unusable() << " values that are not identifiers under "
              << "--normalise " << flags->normalise << " skipped (the first in row "
              << identifiers.first_unusable_row() << ")";
    }
    summary << "\n";
    if (!output_.empty() && output_ != "-") summary << "written to " << output_ << "\n";
    if (added) {
      summary << "added as table " << table << " of collaboration " << collaboration
              << " (set its rule with `parley rule set`)\n";
    }
    return 0;
  };
  Add(
      serve, [run] { return run(PsiWay::kServe); }, /*needs_actor=*/false);
  Add(
      connect, [run] { return run(PsiWay::kConnect); }, /*needs_actor=*/false);
  Add(
      start, [run] { return run(PsiWay::kStart); }, /*needs_actor=*/false);
  Add(
      join, [run] { return run(PsiWay::kJoin); }, /*needs_actor=*/false);
}

}  // namespace parley::cli
