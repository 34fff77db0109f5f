// Audit commands: audit list|verify.
#include <iostream>
#include <string>

#include "cli/command_line.h"
#include "cli/local_backend.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::AddAuditCommands() {
  CLI::App* group = Group("audit", "the hash-chained audit log");
  auto* list = group->add_subcommand("list", "a collaboration's audit entries");
  AddCollaborationOption(list);
  // Without these, the whole log, oldest first; with any, one page (api/audit.h).
  CLI::Option* limit =
      list->add_option("--limit", audit_limit_,
                       "one page of at most N entries (1 to 1000; default 100), newest "
                       "first unless --after");
  CLI::Option* after =
      list->add_option("--after", audit_after_,
                       "entries after this seq, oldest first (0: from the start; the "
                       "last seq printed: what was added since)");
  CLI::Option* before =
      list->add_option("--before", audit_before_,
                       "entries before this seq, newest first (the page after the one "
                       "that printed 'more: --before SEQ')");
  after->excludes(before);
  Add(list, [this, limit, after, before] {
    api::ListAuditRequest request;
    request.collaboration = globals_.collaboration;
    if (limit->count() > 0) request.limit = audit_limit_;
    if (after->count() > 0) request.after = audit_after_;
    if (before->count() > 0) request.before = audit_before_;
    return Answer(OpenBackend()->ListAudit(request), [after](const auto& r) {
      for (const api::AuditEntry& e : r.entries) PrintAuditEntry(std::cout, e);
      if (r.next) {
        std::cout << "more: " << (after->count() > 0 ? "--after " : "--before ") << *r.next << "\n";
      }
      return 0;
    });
  });
  auto* verify = group->add_subcommand(
      "verify",
      "recompute the hash chain and compare it with the policy now in force; exit 1 if "
      "tampered with. With -c, one collaboration (as one of its members, --as); without, "
      "every chain of the home (for its operator)");
  verify->add_option("-c,--collaboration", globals_.collaboration,
                     "verify this collaboration's chain and print its head");
  verify->add_option("--expect-head", expected_head_,
                     "a head printed earlier (here or by another member): fail unless the "
                     "chain still contains it");
  Add(
      verify,
      [this] {
        api::VerifyAuditRequest request;
        if (remote()) {
          // A member verifies its collaboration's chain; every chain is for the operator.
          if (globals_.collaboration.empty()) {
            return Usage("with --server, say which collaboration's log to verify with -c");
          }
          request.collaboration = globals_.collaboration;
          if (!expected_head_.empty()) request.expected_head = expected_head_;
          std::unique_ptr<Backend> backend = OpenBackend();
          auto verification = backend->VerifyAudit(request);
          if (!verification.ok()) return Fail(verification.status(), globals_.collaboration);
          // The server verifies its catalog; this client re-checks the chain it is shown against
          // the hashes it saw before (a server rewriting history would verify itself).
          return VerifyOnClient(*backend, *verification);
        }
        if (globals_.collaboration.empty()) {
          if (!expected_head_.empty()) return Usage("--expect-head needs -c COLLABORATION");
        } else if (globals_.as.empty()) {
          return Usage("say which member acts with --as MEMBER (or PARLEY_AS)");
        } else {
          request.collaboration = globals_.collaboration;
          if (!expected_head_.empty()) request.expected_head = expected_head_;
        }
        // Verification needs no engine limits: the operator's view of the home.
        LocalBackend backend(globals_.home, api::LocalServiceOptions{}, globals_.as);
        auto verification = backend.VerifyAudit(request);
        if (!verification.ok()) return Fail(verification.status(), globals_.collaboration);
        if (globals_.json) {
          PrintJson(*verification);
          return verification->ok ? 0 : kExitError;
        }
        return PrintVerification(*verification);
      },
      /*needs_actor=*/false);
}

int Cli::PrintVerification(const api::VerifyAuditResponse& verification) {
  if (globals_.collaboration.empty()) {
    if (!verification.ok) {
      std::cout << "audit log TAMPERED: " << verification.problem.value_or("") << "\n";
      return kExitError;
    }
    std::cout << "audit log intact: " << verification.entries << " entries verified\n";
    for (const auto& [chain, head] : verification.heads) {
      std::cout << "head " << (chain.empty() ? "(catalog-wide)" : chain) << " " << head << "\n";
    }
    return 0;
  }
  if (!verification.ok) {
    std::cout << "audit log of " << globals_.collaboration
              << " TAMPERED: " << verification.problem.value_or("") << "\n";
    return kExitError;
  }
  auto head = verification.heads.find(globals_.collaboration);
  std::cout << "audit log of " << globals_.collaboration << " intact: " << verification.entries
            << " entries verified\n"
            << "head " << (head == verification.heads.end() ? "" : head->second) << "\n";
  if (verification.entries_after_expected_head) {
    int64_t after = *verification.entries_after_expected_head;
    if (after == 0) {
      std::cout << "expected head: the current head\n";
    } else {
      std::cout << "expected head: entry " << verification.expected_head_seq.value_or(0)
                << ", followed by " << after << " newer " << (after == 1 ? "entry" : "entries")
                << "\n";
    }
  }
  return 0;
}
}  // namespace parley::cli
