// Commands on collaborations and their members: collaboration create|list|show|close, member
// add|remove|leave.
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::AddCollaborationCommands() {
  CLI::App* group = Group("collaboration", "create, list, show and close collaborations");
  auto* create =
      group->add_subcommand("create", "create a collaboration; --as becomes its creator");
  create->add_option("name", new_collaboration_.name, "its name")->required();
  create->add_option("--description", new_collaboration_.description);
  create->add_option("--dp-epsilon", dp_epsilon_per_month_,
                     "differential privacy: the budget's epsilon per calendar month (sets a "
                     "budget; later changed only by change request, 'collaboration set')");
  create->add_option("--dp-delta", dp_delta_per_month_, "the budget's delta per month")
      ->default_val("0.00001");
  create
      ->add_option("--dp-default-epsilon", dp_default_epsilon_,
                   "what a query spends unless its runner asks otherwise")
      ->default_val("1");
  create->add_option("--dp-max-epsilon", dp_max_epsilon_,
                     "the most one query may spend (default: the default epsilon)");
  create->add_flag("--query-logging", new_collaboration_.query_logging,
                   "let table owners list the queries that touch their tables");
  create->add_option("--abilities", abilities_, "the creator's abilities: query,receive or none")
      ->capture_default_str();
  create
      ->add_option("--payer", new_collaboration_.payer,
                   "who pays for queries: runner (each query's runner) or a member")
      ->capture_default_str();
  create->add_option("--auto-approve", auto_approve_,
                     "kinds of change that take effect without the members' approval: "
                     "add_member,abilities,payer,query_logging,privacy_budget,time_limit");
  AddRetentionOptions(create, nullptr);
  create->add_option("--time-limit", time_limit_setting_,
                     "seconds one of its queries may run, at most the server's limit (a query "
                     "over it is cancelled; later changed by change request)");
  // Client-side column encryption's settings (docs/formats/encrypted-columns.md), fixed here.
  api::EncryptionSettings& encryption = new_collaboration_.encryption;
  create
      ->add_option("--allow-cleartext", encryption.allow_cleartext,
                   "true/false: tables may have cleartext columns")
      ->capture_default_str();
  create
      ->add_option("--allow-duplicates", encryption.allow_duplicates,
                   "true/false: a fingerprint column may repeat a value")
      ->capture_default_str();
  create
      ->add_option("--allow-joins-on-columns-with-different-names",
                   encryption.allow_joins_on_columns_with_different_names,
                   "true/false: fingerprint columns of different names may be joined")
      ->capture_default_str();
  create
      ->add_option("--preserve-nulls", encryption.preserve_nulls,
                   "true/false: NULL stays NULL in encrypted columns (GROUP BY and NULL tests "
                   "on them need it)")
      ->capture_default_str();
  Add(create, [this] {
    if (!collaboration_retention_.empty()) {
      int64_t days = 0;
      if (!absl::SimpleAtoi(collaboration_retention_, &days) || days < 1) {
        return Usage("--result-retention takes a number of days (at least 1)");
      }
      new_collaboration_.result_retention_days = days;
    }
    if (!time_limit_setting_.empty()) {
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(time_limit_setting_, &seconds) || seconds < 1) {
        return Usage("--time-limit takes a number of seconds (at least 1)");
      }
      new_collaboration_.time_limit_seconds = seconds;
    }
    auto abilities = AbilityList(abilities_);
    if (!abilities.ok()) return Fail(abilities.status());
    new_collaboration_.creator_abilities = *abilities;
    new_collaboration_.auto_approve = SplitList(auto_approve_);
    if (!dp_epsilon_per_month_.empty()) {
      new_collaboration_.privacy_budget =
          api::PrivacyBudget{dp_epsilon_per_month_, dp_delta_per_month_, dp_default_epsilon_,
                             dp_max_epsilon_.empty() ? dp_default_epsilon_ : dp_max_epsilon_};
    }
    return Answer(OpenBackend()->CreateCollaboration(new_collaboration_), [&](const auto& r) {
      std::cout << "created collaboration " << r.collaboration.name << " (creator "
                << r.collaboration.creator << ")\n";
      return 0;
    });
  });

  auto* list = group->add_subcommand(
      "list", "the collaborations --as is a member of; closed ones are marked [closed]");
  list->add_flag("--open", only_open_, "leave out closed collaborations");
  Add(list, [this] {
    return Answer(OpenBackend()->ListCollaborations({}), [this](const auto& r) {
      for (const api::Collaboration& c : r.collaborations) {
        if (only_open_ && c.closed_at) continue;
        std::cout << c.name << "  (creator " << c.creator << ", " << c.members.size() << " members)"
                  << (c.closed_at ? "  [closed]" : "") << "\n";
      }
      return 0;
    });
  });

  collaboration_group_ = group;
  auto* show = group->add_subcommand("show", "a collaboration and its members");
  show->add_option("name", globals_.collaboration)->required();
  Add(show, [this] {
    return Answer(OpenBackend()->ShowCollaboration({globals_.collaboration}), [](const auto& r) {
      PrintCollaboration(std::cout, r.collaboration);
      return 0;
    });
  });

  auto* close = group->add_subcommand(
      "close",
      "close a collaboration for good (only its creator may): no more queries or changes; "
      "results and audit stay readable");
  AddCollaborationOption(close);
  Add(close, [this] {
    return Answer(OpenBackend()->CloseCollaboration({globals_.collaboration}), [](const auto& r) {
      std::cout << "closed collaboration " << r.collaboration.name
                << ": it takes no more queries or changes; its results and audit log stay "
                   "readable\n";
      return 0;
    });
  });
}

void Cli::AddMemberCommands() {
  CLI::App* group = Group("member", "add, invite, change, remove or leave");
  auto* add = group->add_subcommand(
      "add", "add a member (only the creator may; embedded mode — over a server, invite)");
  AddCollaborationOption(add);
  add->add_option("name", member_name_, "the member's name")->required();
  add->add_option("--abilities", member_abilities_, "query,receive or none")->required();
  Add(add, [this] {
    auto abilities = AbilityList(member_abilities_);
    if (!abilities.ok()) return Fail(abilities.status());
    return AnswerChange(
        OpenBackend()->AddMember({globals_.collaboration, member_name_, *abilities}),
        [](const api::AddMemberResponse& r) { return r.change; },
        [](const api::AddMemberResponse& r) {
          if (r.change.status == "committed") {
            std::cout << "added member " << r.member.name << " (abilities " << Abilities(r.member)
                      << ") to " << r.collaboration << "\n";
          }
        });
  });
  AddConsentCommands(group, collaboration_group_);

  auto* remove = group->add_subcommand("remove", "remove a member (only the creator may)");
  AddCollaborationOption(remove);
  remove->add_option("name", member_name_, "the member's name")->required();
  Add(remove, [this] {
    return Answer(OpenBackend()->RemoveMember({globals_.collaboration, member_name_}),
                  [](const auto& r) {
                    std::cout << "removed member " << r.member << " from " << r.collaboration
                              << "; its tables can no longer be queried\n";
                    return 0;
                  });
  });

  auto* leave = group->add_subcommand("leave", "leave a collaboration (--as leaves)");
  AddCollaborationOption(leave);
  Add(leave, [this] {
    return Answer(OpenBackend()->Leave({globals_.collaboration}), [](const auto& r) {
      std::cout << r.member << " left " << r.collaboration
                << "; its tables can no longer be queried\n";
      return 0;
    });
  });
}
}  // namespace parley::cli
