// Consent: change requests (`change list|show|approve|deny|cancel`), the commands that propose
// them besides `member add` (`member invite`, `member set`, `collaboration set`), and `join`,
// which redeems an invitation's code. A command whose change request waits for other members
// prints "change request N pending, waiting for: ..." and exits with kExitPending (5).
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::PrintPending(const api::ChangeRequest& change) {
  std::cout << "change request " << change.id
            << " pending, waiting for: " << absl::StrJoin(change.waiting_for, ", ") << "\n";
}

void Cli::AddChangeCommands() {
  CLI::App* group =
      Group("change",
            "change requests: list, show, approve, deny or cancel (every active member "
            "must approve a change before it takes effect)");
  auto* list = group->add_subcommand("list", "the collaboration's change requests");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListChanges({globals_.collaboration}), [](const auto& r) {
      if (r.changes.empty()) std::cout << "no change requests\n";
      for (const api::ChangeRequest& change : r.changes) PrintChangeLine(std::cout, change);
      return 0;
    });
  });

  auto* show = group->add_subcommand("show", "one change request: what it changes, who approved");
  AddCollaborationOption(show);
  show->add_option("id", change_id_, "the change request's number")->required();
  Add(show, [this] {
    return Answer(OpenBackend()->ShowChange({globals_.collaboration, change_id_}),
                  [](const auto& r) {
                    PrintChange(std::cout, r.change);
                    return 0;
                  });
  });

  auto vote = [this](const char* name, const char* description, auto call, const char* done) {
    auto* command = app_.get_subcommand("change")->add_subcommand(name, description);
    AddCollaborationOption(command);
    command->add_option("id", change_id_, "the change request's number")->required();
    Add(command, [this, call, done] {
      std::unique_ptr<Backend> backend = OpenBackend();
      api::ChangeIdRequest request{globals_.collaboration, change_id_};
      return AnswerChange(
          (backend.get()->*call)(request), [](const api::ChangeResponse& r) { return r.change; },
          [done](const api::ChangeResponse& r) {
            if (r.change.status == "pending") {
              std::cout << done << " change request " << r.change.id << "\n";
            } else {
              std::cout << "change request " << r.change.id << " " << r.change.status << ": "
                        << DescribeChange(r.change) << "\n";
            }
          });
    });
  };
  vote("approve", "approve a pending change request", &Backend::ApproveChange, "approved");
  vote("deny", "deny a pending change request (it then never takes effect)", &Backend::DenyChange,
       "denied");
  vote("cancel", "cancel your own pending change request", &Backend::CancelChange, "cancelled");

  auto* join = app_.add_subcommand(
      "join", "join a collaboration with an invitation's code (as the organisation invited)");
  join->add_option("code", invitation_code_, "the code the creator gave you")->required();
  Add(join, [this] {
    return Answer(OpenBackend()->Join({invitation_code_}), [](const api::JoinResponse& r) {
      std::cout << r.member << " joined " << r.collaboration << " (abilities "
                << (r.change.abilities && !r.change.abilities->empty()
                        ? absl::StrJoin(*r.change.abilities, ", ")
                        : std::string("none"))
                << ")\n";
      return 0;
    });
  });
}

void Cli::AddConsentCommands(CLI::App* member_group, CLI::App* collaboration_group) {
  auto* invite = member_group->add_subcommand(
      "invite",
      "invite an organisation (only the creator may): prints a one-time code it joins "
      "with");
  AddCollaborationOption(invite);
  invite->add_option("name", member_name_, "the organisation invited")->required();
  invite->add_option("--abilities", member_abilities_, "query,receive or none")->required();
  invite->add_option("--valid-hours", valid_hours_, "how long the code is valid (at most 720)")
      ->capture_default_str()
      ->check(CLI::Range(1, 720));
  Add(invite, [this] {
    auto abilities = AbilityList(member_abilities_);
    if (!abilities.ok()) return Fail(abilities.status());
    return AnswerChange(
        OpenBackend()->InviteMember(
            {globals_.collaboration, member_name_, *abilities, valid_hours_}),
        [](const api::InviteMemberResponse& r) { return r.change; },
        [](const api::InviteMemberResponse& r) {
          std::cout << "invited " << r.member << " to " << r.collaboration << " (abilities "
                    << (r.change.abilities && !r.change.abilities->empty()
                            ? absl::StrJoin(*r.change.abilities, ", ")
                            : std::string("none"))
                    << "); the code, shown once, valid until " << FormatTime(r.expires_at) << ":\n"
                    << r.code << "\n"
                    << r.member << " joins with: parley join CODE\n";
          if (r.change.status == "pending") {
            std::cout << "the code works once every member has approved change request "
                      << r.change.id << "\n";
          }
        });
  });

  auto* set = member_group->add_subcommand(
      "set", "change a member's abilities (a change request every member must approve)");
  AddCollaborationOption(set);
  set->add_option("name", member_name_, "the member")->required();
  set->add_option("--abilities", member_abilities_, "its new abilities: query,receive or none")
      ->required();
  Add(set, [this] {
    auto abilities = AbilityList(member_abilities_);
    if (!abilities.ok()) return Fail(abilities.status());
    api::ProposeChangeRequest request;
    request.collaboration = globals_.collaboration;
    request.kind = "abilities";
    request.member = member_name_;
    request.abilities = *abilities;
    return AnswerChange(
        OpenBackend()->ProposeChange(request),
        [](const api::ChangeResponse& r) { return r.change; },
        [](const api::ChangeResponse& r) {
          if (r.change.status == "committed") {
            std::cout << "change request " << r.change.id
                      << " committed: " << DescribeChange(r.change) << "\n";
          }
        });
  });

  auto* settings = collaboration_group->add_subcommand(
      "set",
      "change one setting — the payer, query logging, the privacy budget or the time limit (a "
      "change request every member must approve)");
  AddCollaborationOption(settings);
  settings->add_option("--payer", payer_, "who pays for queries: runner, or a member");
  settings->add_option("--query-logging", query_logging_setting_, "on or off")
      ->check(CLI::IsMember({"on", "off"}));
  settings->add_option("--dp-epsilon", dp_epsilon_per_month_,
                       "a new privacy budget: epsilon per calendar month");
  settings->add_option("--dp-delta", dp_delta_per_month_, "the budget's delta per month")
      ->default_val("0.00001");
  settings
      ->add_option("--dp-default-epsilon", dp_default_epsilon_,
                   "what a query spends unless its runner asks otherwise")
      ->default_val("1");
  settings->add_option("--dp-max-epsilon", dp_max_epsilon_,
                       "the most one query may spend (default: the default epsilon)");
  settings->add_option("--time-limit", time_limit_setting_,
                       "seconds one query may run (at most the server's limit), or 'off' for the "
                       "server's limit");
  AddRetentionOptions(nullptr, settings);
  Add(settings, [this] {
    int given = !payer_.empty() + !query_logging_setting_.empty() + !dp_epsilon_per_month_.empty() +
                !time_limit_setting_.empty();
    // The result retention is the creator's to set, not a change request.
    if (!collaboration_retention_.empty()) {
      if (given != 0) return Usage("--result-retention is set on its own");
      return SetRetention();
    }
    if (given != 1) {
      return Usage(
          "say one setting to change: --payer, --query-logging, --dp-epsilon, --time-limit or "
          "--result-retention");
    }
    api::ProposeChangeRequest request;
    request.collaboration = globals_.collaboration;
    if (!payer_.empty()) {
      request.kind = "payer";
      request.payer = payer_;
    } else if (!time_limit_setting_.empty()) {
      request.kind = "time_limit";
      int64_t seconds = 0;
      if (time_limit_setting_ != "off" &&
          (!absl::SimpleAtoi(time_limit_setting_, &seconds) || seconds < 1)) {
        return Usage("--time-limit takes a number of seconds (at least 1) or 'off'");
      }
      request.time_limit_seconds = seconds;
    } else if (!query_logging_setting_.empty()) {
      request.kind = "query_logging";
      request.query_logging = query_logging_setting_ == "on";
    } else {
      request.kind = "privacy_budget";
      request.privacy_budget =
          api::PrivacyBudget{dp_epsilon_per_month_, dp_delta_per_month_, dp_default_epsilon_,
                             dp_max_epsilon_.empty() ? dp_default_epsilon_ : dp_max_epsilon_};
    }
    return AnswerChange(
        OpenBackend()->ProposeChange(request),
        [](const api::ChangeResponse& r) { return r.change; },
        [](const api::ChangeResponse& r) {
          if (r.change.status == "committed") {
            std::cout << "change request " << r.change.id
                      << " committed: " << DescribeChange(r.change) << "\n";
          }
        });
  });
}

}  // namespace parley::cli
