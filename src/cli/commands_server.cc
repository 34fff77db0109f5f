// The commands of a shared server: `parley serve` (and `serve init`, the operator's bootstrap),
// organisations (`org add`, `org list`), API tokens (`token rotate`, `token revoke`), `whoami`;
// and remote mode's checks (PrepareRemote). A command that acts on a home in this process
// (serve, serve init, demo) refuses --server; the others work in both modes.
#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/local_service.h"
#include "cli/command_line.h"
#include "cli/remote_backend.h"
#include "server/server.h"

namespace parley::cli {

std::optional<int> Cli::PrepareRemote() {
  if (!globals_.as.empty()) {
    return Usage(
        "--as cannot be used with --server (or PARLEY_AS with PARLEY_SERVER): on a server, your "
        "token says which organisation acts");
  }
  if (globals_.token_file.empty()) {
    return Usage(
        "with --server, give your API token with --token-file FILE (or PARLEY_TOKEN_FILE)");
  }
  absl::StatusOr<std::string> token = ReadTokenFile(globals_.token_file);
  if (!token.ok()) return Fail(token.status());
  globals_.token = *token;
  absl::StatusOr<std::unique_ptr<RemoteBackend>> backend =
      RemoteBackend::Connect(globals_.server, globals_.token, globals_.timeout_seconds);
  if (!backend.ok()) return Usage(backend.status().message());
  return std::nullopt;
}

int Cli::PrintIssuedToken(const absl::StatusOr<api::IssuedTokenResponse>& issued,
                          const std::string& save_to) {
  if (!issued.ok()) return Fail(issued.status());
  if (!save_to.empty()) {
    absl::Status saved = WriteTokenFile(save_to, issued->token);
    if (!saved.ok()) return Fail(saved);
  }
  if (globals_.json) {
    PrintJson(*issued);
    return 0;
  }
  if (issued->revoked_token_id) {
    std::cout << "revoked token " << *issued->revoked_token_id << " of '" << issued->organisation
              << "'\n";
  }
  if (!save_to.empty()) {
    std::cout << "new token " << issued->token_id << " of '" << issued->organisation
              << "' saved to " << save_to << " (mode 600)\n";
    return 0;
  }
  std::cout << "new token " << issued->token_id << " of '" << issued->organisation << "':\n"
            << issued->token << "\n";
  std::cerr << "it is shown only now: keep it in a file only you can read (chmod 600) and pass it "
               "with --token-file\n";
  return 0;
}

namespace {

// Stops `server` at the first SIGINT or SIGTERM, then drains its queries: the listener closes
// (no new connection), queued runs are cancelled, running ones get `grace` to finish and are
// then interrupted; Serve returns once the requests in flight are answered, and the home (its
// catalog) closes after. The signals are blocked in every thread (the server's workers are
// started after this) and taken by sigwait in a thread of their own, where stopping is safe.
class StopOnSignal {
 public:
  // Blocks SIGINT and SIGTERM in this thread and in every thread it starts from now on: call it
  // before any thread exists (the run queue's workers start when the home opens), so that the
  // signals reach only the waiter's sigwait.
  static sigset_t Block() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
  }
  StopOnSignal(server::Server& server, api::LocalService& home, std::chrono::seconds grace,
               sigset_t signals) {
    waiter_ = std::thread([&server, &home, grace, signals] {
      int signal = 0;
      sigwait(&signals, &signal);
      server.Stop();
      home.DrainRuns(grace);
    });
  }
  // After the server stopped for another reason: wake the waiter and let it go.
  ~StopOnSignal() {
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }

 private:
  std::thread waiter_;
};

// Deletes results past their retention every `period` while the server runs (a home opened once
// and served for months would otherwise keep them). Stops, and joins, when destroyed.
class RetentionSweep {
 public:
  RetentionSweep(api::LocalService& home, std::chrono::seconds period)
      : thread_([this, &home, period] {
          std::unique_lock<std::mutex> lock(mutex_);
          while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
            lock.unlock();
            absl::Status pruned = home.PruneResults();
            if (!pruned.ok()) {
              std::cerr << "parley serve: retention sweep failed: " << pruned.message()
                        << std::endl;
            }
            lock.lock();
          }
        }) {}
  ~RetentionSweep() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

void Cli::AddServerCommands() {
  auto* serve = app_.add_subcommand(
      "serve",
      "serve the home (--home) to organisations over HTTP(S): parley serve --listen "
      "127.0.0.1:8443 [--tls-cert F --tls-key F]; `serve init` bootstraps the operator");
  serve->require_subcommand(0, 1);
  serve->add_option("--listen", listen_,
                    "HOST:PORT to listen on (port 0: any free port, printed when ready); a "
                    "non-loopback host needs TLS");
  serve->add_option("--tls-cert", tls_cert_, "TLS certificate (PEM)");
  serve->add_option("--tls-key", tls_key_, "TLS private key (PEM, unencrypted)");
  serve->add_option("--data-root", data_root_,
                    "organisations register only files under DIR/<their name>/ (without it, "
                    "none)");
  serve
      ->add_option("--max-upload-bytes", max_upload_bytes_,
                   "the largest file an organisation may upload (bytes)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  serve
      ->add_option("--retention-sweep-seconds", sweep_seconds_,
                   "how often results past their retention are deleted")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  serve->add_option("--console", console_dir_,
                    "the web console's built files, served at / (default: the build's web/dist, "
                    "when scripts/bootstrap.sh has built it)");
  serve->add_option("--price-per-tb", price_per_tb_,
                    "what usage reports cost a terabyte scanned at (default 5.00)");
  serve->add_option("--threads", server_threads_, "requests served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve->add_option("--query-workers", run_workers_, "queries run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  serve
      ->add_option("--query-queue", max_queued_runs_,
                   "queries waiting for a worker, at most (more: 429 with Retry-After)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve
      ->add_option("--queries-per-member", max_runs_per_member_,
                   "queries one member may have queued or running at once (more: 429)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve
      ->add_option("--drain-seconds", drain_seconds_,
                   "on SIGTERM, how long running queries may finish before they are cancelled")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  serve
      ->add_option("--read-timeout", read_timeout_seconds_,
                   "seconds a client may leave the server waiting for its request before it is "
                   "cut off")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  auto* init = serve->add_subcommand(
      "init", "create the operator's organisation and print its admin token (once)");
  init->add_option("--organisation", organisation_name_, "its name (default: operator)");
  init->add_option("--save-token", save_token_,
                   "write the token to this file (mode 600) instead of printing it");
  // Registered before `serve`, which is parsed too when `serve init` is.
  Add(
      init,
      [this] {
        if (remote()) return Usage("serve init works on a home of this machine, not --server");
        api::LocalService home(globals_.home, ServiceOptions());
        return PrintIssuedToken(
            home.InitServer(organisation_name_.empty() ? "operator" : organisation_name_),
            save_token_);
      },
      /*needs_actor=*/false);
  Add(
      serve,
      [this] {
        if (remote()) return Usage("serve serves a home of this machine; it takes no --server");
        if (listen_.empty()) return Usage("serve needs --listen HOST:PORT (e.g. 127.0.0.1:8443)");
        server::Options options;
        absl::Status parsed = server::ParseListen(listen_, options.host, options.port);
        if (!parsed.ok()) return Usage(parsed.message());
        options.tls_cert_file = tls_cert_;
        options.tls_key_file = tls_key_;
        options.threads = server_threads_;
        options.read_timeout = std::chrono::seconds(read_timeout_seconds_);
        options.console_dir = console_dir_;
        if (options.console_dir.empty() &&
            std::filesystem::exists(std::filesystem::path(PARLEY_CONSOLE_DIR) / "index.html")) {
          options.console_dir = PARLEY_CONSOLE_DIR;
        }
        options.log = [](const std::string& line) { std::cerr << line << std::endl; };
        api::LocalServiceOptions service_options = ServiceOptions();
        service_options.cancel = nullptr;  // a client's run is not cancelled by ^C of the server
        service_options.data_root = data_root_;
        service_options.run_workers = run_workers_;
        service_options.max_queued_runs = max_queued_runs_;
        service_options.max_runs_per_member = max_runs_per_member_;
        service_options.max_upload_bytes = max_upload_bytes_;
        // Blocked before the home opens: every thread started from here on (the service's webhook
        // workers, the run queue's, the server's) inherits the mask, so only StopOnSignal's
        // waiter takes them.
        sigset_t stop_signals = StopOnSignal::Block();
        api::LocalService home(globals_.home, service_options);
        absl::Status opened = home.OpenHome();
        if (!opened.ok()) return Fail(opened);
        auto server = server::Server::Create(home, options);
        if (!server.ok()) {
          if (server.status().code() == absl::StatusCode::kInvalidArgument) {
            return Usage(server.status().message());
          }
          return Fail(server.status());
        }
        StopOnSignal stop(**server, home, std::chrono::seconds(drain_seconds_), stop_signals);
        // After the signals are blocked: a thread started earlier could take SIGTERM and die.
        RetentionSweep sweep(home, std::chrono::seconds(sweep_seconds_));
        absl::StatusOr<int> port = (*server)->Bind();
        if (!port.ok()) return Fail(port.status());
        std::string scheme = tls_cert_.empty() ? "http" : "https";
        std::string host =
            options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
        std::cout << "parley serve: listening on " << scheme << "://" << host << ":" << *port
                  << " (home " << globals_.home << ")" << std::endl;
        if (options.console_dir.empty()) {
          std::cerr << "parley serve: no web console (not built: run scripts/bootstrap.sh, or give "
                       "--console DIR)"
                    << std::endl;
        }
        absl::Status served = (*server)->Serve();
        if (!served.ok()) return Fail(served);
        std::cout << "parley serve: stopped" << std::endl;
        return 0;
      },
      /*needs_actor=*/false);

  CLI::App* org = Group("org", "organisations of a server (its operator)");
  auto* add = org->add_subcommand(
      "add",
      "add an organisation and print its first token (once); with --server, as the "
      "operator's organisation");
  add->add_option("name", organisation_name_, "its name (its member name in collaborations)")
      ->required();
  add->add_option("--save-token", save_token_,
                  "write the token to this file (mode 600) instead of printing it");
  Add(
      add,
      [this] {
        return PrintIssuedToken(OpenBackend()->AddOrganisation({organisation_name_}), save_token_);
      },
      /*needs_actor=*/false);
  auto* list = org->add_subcommand("list", "the organisations of the server");
  Add(
      list,
      [this] {
        return Answer(OpenBackend()->ListOrganisations({}), [](const auto& r) {
          for (const api::Organisation& o : r.organisations) {
            std::cout << o.name << (o.admin ? "  (operator)" : "") << "\n";
          }
          return 0;
        });
      },
      /*needs_actor=*/false);

  CLI::App* token = Group("token", "your organisation's API tokens");
  auto* rotate = token->add_subcommand(
      "rotate",
      "issue a new token and revoke the one in use; with --server the new token replaces the "
      "one in --token-file unless --save-token names another file");
  rotate->add_option("--save-token", save_token_, "write the new token to this file (mode 600)");
  Add(rotate, [this] {
    std::string save_to = save_token_.empty() && remote() ? globals_.token_file : save_token_;
    return PrintIssuedToken(OpenBackend()->RotateToken({}), save_to);
  });
  auto* revoke = token->add_subcommand("revoke", "revoke one of your organisation's tokens");
  revoke->add_option("token_id", token_id_, "the token's id (16 hex digits)")->required();
  Add(revoke, [this] {
    return Answer(OpenBackend()->RevokeToken({token_id_}), [](const auto& r) {
      std::cout << "revoked token " << r.token_id << " of '" << r.organisation << "'\n";
      return 0;
    });
  });

  auto* whoami = app_.add_subcommand("whoami", "the organisation your token (or --as) acts as");
  Add(whoami, [this] {
    return Answer(OpenBackend()->WhoAmI({}), [](const auto& r) {
      std::cout << r.organisation << (r.admin ? " (operator)" : "") << "\n";
      return 0;
    });
  });
}

}  // namespace parley::cli
