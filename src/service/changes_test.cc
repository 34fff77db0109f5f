// Change requests and invitations through the service: every status transition (pending,
// approved, denied, committed, cancelled), who may do what, auto-approval, a removal that settles
// a pending change, invitation codes (bound to their organisation, single use, expiring), and
// concurrency: two approvals at once and an approval racing a cancel, from two Service objects on
// one home (as two processes would).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using catalog::ChangeStatus;
using identity::Ability;
using identity::Caller;

Caller As(const char* name) { return Caller::Embedded(name); }
Caller Token(const char* name) { return Caller::Token(name, "0000000000000000", false); }

catalog::Change Payer(const std::string& payer) {
  catalog::Change change;
  change.kind = "payer";
  change.payer = payer;
  return change;
}

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_changes_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    service_ = Open();
    ASSERT_NE(service_, nullptr);
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Service> Open() {
    Options options;
    options.clock = [this] { return now_.load(); };
    auto opened = Service::Open((dir_ / "home").string(), options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  // owner creates "room"; supplier (added alone: committed at once) and analyst (approved by
  // supplier) join it.
  void ThreeMembers(NewCollaboration room = {.name = "room"}) {
    ASSERT_OK(service_->CreateCollaboration(As("owner"), room));
    ASSERT_OK_AND_ASSIGN(ChangeView first,
                         service_->AddMember(As("owner"), "room",
                                             {"supplier", {Ability::kQuery, Ability::kReceive}}));
    EXPECT_EQ(first.request.status, ChangeStatus::kCommitted);
    ASSERT_OK_AND_ASSIGN(ChangeView second,
                         service_->AddMember(As("owner"), "room", {"analyst", {Ability::kQuery}}));
    if (second.request.status == ChangeStatus::kPending) {
      EXPECT_EQ(second.waiting_for, std::vector<std::string>{"supplier"});
      ASSERT_OK(service_->ApproveChange(As("supplier"), "room", second.request.id));
    }
  }

  catalog::MemberStatus StatusOf(const std::string& member) {
    auto room = service_->ShowCollaboration(As("owner"), "room");
    for (const catalog::Member& m : room->members) {
      if (m.name == member) return m.status;
    }
    return catalog::MemberStatus::kRemoved;
  }
  std::string PayerOf() { return service_->ShowCollaboration(As("owner"), "room")->payer; }

  fs::path dir_;
  std::atomic<int64_t> now_ = 1'700'000'000;
  std::unique_ptr<Service> service_;
};

TEST_F(ChangesTest, TheCreatorAloneCommitsAtOnceAndLaterChangesWaitForEveryActiveMember) {
  ASSERT_OK(service_->CreateCollaboration(As("owner"), {.name = "room"}));
  ASSERT_OK_AND_ASSIGN(ChangeView alone,
                       service_->AddMember(As("owner"), "room", {"supplier", {Ability::kQuery}}));
  EXPECT_EQ(alone.request.status, ChangeStatus::kCommitted);
  EXPECT_EQ(alone.request.approvals, std::vector<std::string>{"owner"});
  EXPECT_TRUE(alone.waiting_for.empty());
  EXPECT_EQ(StatusOf("supplier"), catalog::MemberStatus::kActive);

  ASSERT_OK_AND_ASSIGN(ChangeView pending,
                       service_->AddMember(As("owner"), "room", {"analyst", {Ability::kQuery}}));
  EXPECT_EQ(pending.request.status, ChangeStatus::kPending);
  EXPECT_EQ(pending.waiting_for, std::vector<std::string>{"supplier"});
  // Nothing changed yet: the analyst is not a member.
  EXPECT_EQ(StatusOf("analyst"), catalog::MemberStatus::kRemoved);
  ExpectError(service_->ListTables(As("analyst"), "room").status(),
              absl::StatusCode::kPermissionDenied,
              "'analyst' is not a member of collaboration 'room'");
  // The proposer's approval is implied; it cannot approve twice.
  ExpectError(
      service_->ApproveChange(As("owner"), "room", pending.request.id).status(),
      absl::StatusCode::kFailedPrecondition,
      absl::StrCat("member 'owner' has already voted on change request ", pending.request.id));
  ASSERT_OK_AND_ASSIGN(ChangeView approved,
                       service_->ApproveChange(As("supplier"), "room", pending.request.id));
  EXPECT_EQ(approved.request.status, ChangeStatus::kCommitted);
  EXPECT_EQ(approved.request.approvals, (std::vector<std::string>{"owner", "supplier"}));
  EXPECT_EQ(approved.request.decided_by, "supplier");
  EXPECT_EQ(StatusOf("analyst"), catalog::MemberStatus::kActive);
  // A committed change takes no more votes and cannot be cancelled.
  ExpectError(service_->DenyChange(As("analyst"), "room", pending.request.id).status(),
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("change request ", pending.request.id, " is committed, not pending"));
  ExpectError(
      service_->CancelChange(As("owner"), "room", pending.request.id).status(),
      absl::StatusCode::kFailedPrecondition,
      absl::StrCat("change request ", pending.request.id, " is committed and cannot be cancelled"));

  // Every step is audited, and the chain verifies.
  ASSERT_OK_AND_ASSIGN(auto entries, service_->ListAudit(As("analyst"), "room"));
  std::vector<std::string> actions;
  for (const auto& entry : entries) actions.push_back(entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"collaboration.create", "change.propose",
                                               "change.approved", "member.add", "change.commit",
                                               "change.propose", "change.approve",
                                               "change.approved", "member.add", "change.commit"}));
  ASSERT_OK_AND_ASSIGN(auto verified, service_->VerifyAudit(As("analyst"), "room"));
  EXPECT_TRUE(verified.ok) << verified.problem;
}

TEST_F(ChangesTest, OneDenialEndsAChange) {
  ThreeMembers();
  ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                       service_->ProposeChange(As("supplier"), "room", Payer("supplier")));
  EXPECT_EQ(proposed.request.status, ChangeStatus::kPending);
  EXPECT_EQ(proposed.waiting_for, (std::vector<std::string>{"owner", "analyst"}));
  ASSERT_OK_AND_ASSIGN(ChangeView denied,
                       service_->DenyChange(As("analyst"), "room", proposed.request.id));
  EXPECT_EQ(denied.request.status, ChangeStatus::kDenied);
  EXPECT_EQ(denied.request.denials, std::vector<std::string>{"analyst"});
  EXPECT_TRUE(denied.waiting_for.empty());
  ExpectError(service_->ApproveChange(As("owner"), "room", proposed.request.id).status(),
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("change request ", proposed.request.id, " is denied, not pending"));
  EXPECT_EQ(PayerOf(), "runner");
}

TEST_F(ChangesTest, OnlyTheProposerCancelsAPendingChange) {
  ThreeMembers();
  ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                       service_->ProposeChange(As("supplier"), "room", Payer("analyst")));
  ExpectError(service_->CancelChange(As("owner"), "room", proposed.request.id).status(),
              absl::StatusCode::kPermissionDenied,
              "only the proposer of a change request ('supplier') can cancel it");
  // Two pending changes about one thing are refused.
  ExpectError(service_->ProposeChange(As("owner"), "room", Payer("owner")).status(),
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("change request ", proposed.request.id,
                           " of kind 'payer' is already pending; approve, deny or cancel it "
                           "first"));
  ASSERT_OK_AND_ASSIGN(ChangeView cancelled,
                       service_->CancelChange(As("supplier"), "room", proposed.request.id));
  EXPECT_EQ(cancelled.request.status, ChangeStatus::kCancelled);
  ExpectError(service_->ApproveChange(As("owner"), "room", proposed.request.id).status(),
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("change request ", proposed.request.id, " is cancelled, not pending"));
  EXPECT_EQ(PayerOf(), "runner");
  // The payer must be an active member or "runner"; an unknown change id is NotFound.
  ExpectError(service_->ProposeChange(As("owner"), "room", Payer("stranger")).status(),
              absl::StatusCode::kInvalidArgument,
              "the payer must be 'runner' or an active member of collaboration 'room'; "
              "'stranger' is not");
  ExpectError(service_->ShowChange(As("owner"), "room", 999).status(), absl::StatusCode::kNotFound,
              "change request 999 not found in collaboration 'room'");
}

TEST_F(ChangesTest, RevokingAnAbilityTakesEffectOnlyWhenEveryMemberApproved) {
  ThreeMembers();
  std::string path = (dir_ / "sales.csv").string();
  std::ofstream(path) << "region,amount\neast,1\n";
  ASSERT_OK(service_->AddTable(As("owner"), {"room", "sales", path, {}}));
  ASSERT_OK(service_->SetRule(As("owner"), "room", "sales",
                              R"({"kind": "custom", "any_query": true,
                                  "allowed_analysis_providers": ["supplier", "analyst"]})"));
  catalog::Change revoke;
  revoke.kind = "abilities";
  revoke.member = catalog::Member{"supplier", false, true, catalog::MemberStatus::kActive};
  ASSERT_OK_AND_ASSIGN(ChangeView proposed, service_->ProposeChange(As("owner"), "room", revoke));
  // Still pending: the supplier still queries.
  ASSERT_OK(service_->Run(As("supplier"), "room", "SELECT region FROM sales", {}));
  ASSERT_OK(service_->ApproveChange(As("analyst"), "room", proposed.request.id));
  ASSERT_OK_AND_ASSIGN(ChangeView done,
                       service_->ApproveChange(As("supplier"), "room", proposed.request.id));
  EXPECT_EQ(done.request.status, ChangeStatus::kCommitted);
  ExpectError(service_->Run(As("supplier"), "room", "SELECT region FROM sales", {}).status(),
              absl::StatusCode::kPermissionDenied,
              "member 'supplier' does not have the 'query' ability in collaboration 'room' "
              "(abilities: receive)");
}

TEST_F(ChangesTest, AutoApprovedKindsCommitAtOnceAndOthersDoNot) {
  ThreeMembers({.name = "room", .auto_approve = {"query_logging"}});
  catalog::Change logging;
  logging.kind = "query_logging";
  logging.query_logging = true;
  ASSERT_OK_AND_ASSIGN(ChangeView on, service_->ProposeChange(As("analyst"), "room", logging));
  EXPECT_EQ(on.request.status, ChangeStatus::kCommitted);
  EXPECT_TRUE(on.request.auto_approved);
  EXPECT_TRUE(service_->ShowCollaboration(As("owner"), "room")->query_logging);
  ASSERT_OK_AND_ASSIGN(ChangeView payer,
                       service_->ProposeChange(As("analyst"), "room", Payer("analyst")));
  EXPECT_EQ(payer.request.status, ChangeStatus::kPending);
  // An unknown kind cannot be declared.
  ExpectError(
      service_->CreateCollaboration(As("owner"), {.name = "other", .auto_approve = {"everything"}}),
      absl::StatusCode::kInvalidArgument,
      "unknown kind of change 'everything' (kinds: add_member, abilities, payer, "
      "query_logging, privacy_budget, time_limit)");
}

TEST_F(ChangesTest, ThePrivacyBudgetChangesOnlyByChangeRequest) {
  NewCollaboration room{.name = "room"};
  room.privacy_budget = catalog::PrivacyBudget{3'000'000, 0, 1'000'000, 2'000'000};
  ThreeMembers(room);
  catalog::Change budget;
  budget.kind = "privacy_budget";
  budget.privacy_budget = catalog::PrivacyBudget{5'000'000, 0, 1'000'000, 1'000'000};
  ASSERT_OK_AND_ASSIGN(ChangeView proposed, service_->ProposeChange(As("owner"), "room", budget));
  EXPECT_EQ(service_->Budget(As("owner"), "room")->budget->epsilon_per_period, 3'000'000);
  ASSERT_OK(service_->ApproveChange(As("supplier"), "room", proposed.request.id));
  ASSERT_OK(service_->ApproveChange(As("analyst"), "room", proposed.request.id));
  EXPECT_EQ(service_->Budget(As("owner"), "room")->budget->epsilon_per_period, 5'000'000);
  // A malformed budget is refused when proposed.
  budget.privacy_budget->max_epsilon = 9'000'000;
  ExpectError(service_->ProposeChange(As("owner"), "room", budget).status(),
              absl::StatusCode::kInvalidArgument,
              "privacy budget: need 0 < default epsilon <= max epsilon per query <= epsilon per "
              "month, and delta >= 0");
}

TEST_F(ChangesTest, AMemberWhoLeavesIsNoLongerWaitedFor) {
  ThreeMembers();
  ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                       service_->ProposeChange(As("owner"), "room", Payer("owner")));
  ASSERT_OK(service_->ApproveChange(As("supplier"), "room", proposed.request.id));
  ASSERT_OK(service_->Leave(As("analyst"), "room"));
  ASSERT_OK_AND_ASSIGN(ChangeView settled,
                       service_->ShowChange(As("owner"), "room", proposed.request.id));
  EXPECT_EQ(settled.request.status, ChangeStatus::kCommitted);
  EXPECT_EQ(settled.request.decided_by, "parley");
  EXPECT_EQ(PayerOf(), "owner");
  // A member who left votes no more, and does not see the room's changes.
  ExpectError(service_->ListChanges(As("analyst"), "room").status(),
              absl::StatusCode::kPermissionDenied,
              "member 'analyst' is left in collaboration 'room', not active");
}

TEST_F(ChangesTest, AnInvitationIsRedeemedOnceByItsOrganisationAfterApproval) {
  ThreeMembers();
  ASSERT_OK_AND_ASSIGN(
      InvitationView invitation,
      service_->InviteMember(Token("owner"), "room", {"bank", {Ability::kReceive}}));
  EXPECT_TRUE(absl::StartsWith(invitation.code, "pi_")) << invitation.code;
  EXPECT_EQ(invitation.expires_at, now_ + kInvitationSeconds);
  EXPECT_EQ(invitation.change.request.status, ChangeStatus::kPending);
  // The invitee cannot join before every member approved.
  ExpectError(
      service_->Join(Token("bank"), invitation.code).status(),
      absl::StatusCode::kFailedPrecondition,
      absl::StrCat("this invitation waits for change request ", invitation.change.request.id,
                   " to be approved by every member of collaboration 'room'"));
  ASSERT_OK(service_->ApproveChange(As("supplier"), "room", invitation.change.request.id));
  ASSERT_OK_AND_ASSIGN(ChangeView approved, service_->ApproveChange(As("analyst"), "room",
                                                                    invitation.change.request.id));
  EXPECT_EQ(approved.request.status, ChangeStatus::kApproved);
  EXPECT_EQ(StatusOf("bank"), catalog::MemberStatus::kInvited);

  // Another organisation, a wrong secret and a malformed code all get one answer, and none of
  // them uses the code up.
  std::string wrong_secret = invitation.code;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  for (auto [caller, code] : std::vector<std::pair<Caller, std::string>>{
           {Token("supplier"), invitation.code},
           {Token("intruder"), invitation.code},
           {Token("bank"), wrong_secret},
           {Token("bank"), "pi_nonsense"},
           {Token("bank"), "pt_0000000000000000_" + std::string(64, '0')}}) {
    ExpectError(service_->Join(caller, code).status(), absl::StatusCode::kNotFound,
                "no such invitation (the code is not valid)");
  }
  ASSERT_OK_AND_ASSIGN(ChangeView joined, service_->Join(Token("bank"), invitation.code));
  EXPECT_EQ(joined.request.status, ChangeStatus::kCommitted);
  EXPECT_EQ(StatusOf("bank"), catalog::MemberStatus::kActive);
  ExpectError(service_->Join(Token("bank"), invitation.code).status(),
              absl::StatusCode::kFailedPrecondition, "this invitation has already been used");
  ASSERT_OK(service_->ListTables(Token("bank"), "room"));
  ASSERT_OK_AND_ASSIGN(auto entries, service_->ListAudit(As("bank"), "room"));
  EXPECT_EQ(entries[entries.size() - 2].action, "member.join");
  // The code's secret is nowhere in the log.
  std::string secret = invitation.code.substr(invitation.code.rfind('_') + 1);
  for (const auto& entry : entries) {
    EXPECT_EQ(entry.details_json.find(secret), std::string::npos) << entry.details_json;
  }
}

TEST_F(ChangesTest, InvitationsExpireAndCancelledOnesAreVoid) {
  ASSERT_OK(service_->CreateCollaboration(As("owner"), {.name = "room"}));
  ASSERT_OK_AND_ASSIGN(InvitationView late,
                       service_->InviteMember(As("owner"), "room", {"bank", {}}, 3600));
  EXPECT_EQ(late.change.request.status, ChangeStatus::kApproved);
  now_ += 3600;
  ExpectError(service_->Join(As("bank"), late.code).status(), absl::StatusCode::kFailedPrecondition,
              "this invitation has expired; ask for a new one");
  // The creator cancels it: the invited member is removed and may be invited again.
  ASSERT_OK_AND_ASSIGN(ChangeView cancelled,
                       service_->CancelChange(As("owner"), "room", late.change.request.id));
  EXPECT_EQ(cancelled.request.status, ChangeStatus::kCancelled);
  EXPECT_EQ(StatusOf("bank"), catalog::MemberStatus::kRemoved);
  ExpectError(service_->Join(As("bank"), late.code).status(), absl::StatusCode::kFailedPrecondition,
              "this invitation has expired; ask for a new one");
  ASSERT_OK_AND_ASSIGN(InvitationView again,
                       service_->InviteMember(As("owner"), "room", {"bank", {}}));
  ASSERT_OK(service_->Join(As("bank"), again.code));
  ExpectError(service_->InviteMember(As("owner"), "room", {"bank", {}}, 0).status(),
              absl::StatusCode::kInvalidArgument, "an invitation is valid for 1 second to 30 days");
}

TEST_F(ChangesTest, WhoMayProposeVoteAndSee) {
  ThreeMembers();
  // Only the creator adds members; over a server only by invitation.
  ExpectError(service_->InviteMember(As("supplier"), "room", {"bank", {}}).status(),
              absl::StatusCode::kPermissionDenied,
              "only the creator of collaboration 'room' ('owner') can add members");
  ExpectError(service_->AddMember(Token("owner"), "room", {"bank", {}}).status(),
              absl::StatusCode::kPermissionDenied,
              "over a server an organisation joins only by invitation: invite it, and it joins "
              "with the code");
  ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                       service_->ProposeChange(As("owner"), "room", Payer("owner")));
  // An outsider with a token learns nothing: the answer of a missing collaboration.
  for (auto status :
       {service_->ListChanges(Token("stranger"), "room").status(),
        service_->ShowChange(Token("stranger"), "room", proposed.request.id).status(),
        service_->ApproveChange(Token("stranger"), "room", proposed.request.id).status(),
        service_->CancelChange(Token("stranger"), "room", proposed.request.id).status(),
        service_->ListChanges(Token("stranger"), "moor").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "collaboration '")) << status;
  }
  ASSERT_OK_AND_ASSIGN(auto changes, service_->ListChanges(As("analyst"), "room"));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes.back().waiting_for, (std::vector<std::string>{"supplier", "analyst"}));
}

// Two members approve at the same moment, from two Service objects on one home: both votes land,
// the change commits exactly once.
TEST_F(ChangesTest, TwoApprovalsAtOnceCommitOnce) {
  ThreeMembers();
  std::unique_ptr<Service> second = Open();
  ASSERT_NE(second, nullptr);
  for (int round = 0; round < 6; ++round) {
    std::string payer = round % 2 == 0 ? "supplier" : "analyst";
    ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                         service_->ProposeChange(As("owner"), "room", Payer(payer)));
    absl::Status a, b;
    std::thread first_vote(
        [&] { a = service_->ApproveChange(As("supplier"), "room", proposed.request.id).status(); });
    std::thread second_vote(
        [&] { b = second->ApproveChange(As("analyst"), "room", proposed.request.id).status(); });
    first_vote.join();
    second_vote.join();
    ASSERT_OK(a);
    ASSERT_OK(b);
    ASSERT_OK_AND_ASSIGN(ChangeView done,
                         service_->ShowChange(As("owner"), "room", proposed.request.id));
    EXPECT_EQ(done.request.status, ChangeStatus::kCommitted);
    EXPECT_EQ(done.request.approvals.size(), 3u);
    EXPECT_EQ(PayerOf(), payer);
  }
  ASSERT_OK_AND_ASSIGN(auto entries, service_->ListAudit(As("owner"), "room"));
  int commits = 0;
  for (const auto& entry : entries) commits += entry.action == "collaboration.payer";
  EXPECT_EQ(commits, 6);
  ASSERT_OK_AND_ASSIGN(auto verified, service_->VerifyAudit(As("owner"), "room"));
  EXPECT_TRUE(verified.ok) << verified.problem;
}

// The last approval races the proposer's cancel: exactly one wins, and the state agrees with it.
TEST_F(ChangesTest, AnApprovalRacingACancelHasOneWinner) {
  ASSERT_OK(service_->CreateCollaboration(As("owner"), {.name = "room"}));
  ASSERT_OK(service_->AddMember(As("owner"), "room", {"supplier", {Ability::kQuery}}));
  std::unique_ptr<Service> second = Open();
  ASSERT_NE(second, nullptr);
  int committed = 0, cancelled = 0;
  for (int round = 0; round < 10; ++round) {
    std::string payer = round % 2 == 0 ? "supplier" : "owner";
    ASSERT_OK_AND_ASSIGN(ChangeView proposed,
                         service_->ProposeChange(As("owner"), "room", Payer(payer)));
    std::string before = PayerOf();
    absl::Status approve, cancel;
    std::thread voter([&] {
      approve = second->ApproveChange(As("supplier"), "room", proposed.request.id).status();
    });
    std::thread proposer([&] {
      cancel = service_->CancelChange(As("owner"), "room", proposed.request.id).status();
    });
    voter.join();
    proposer.join();
    ASSERT_NE(approve.ok(), cancel.ok()) << approve << " / " << cancel;
    ASSERT_OK_AND_ASSIGN(ChangeView done,
                         service_->ShowChange(As("owner"), "room", proposed.request.id));
    if (approve.ok()) {
      ++committed;
      EXPECT_EQ(done.request.status, ChangeStatus::kCommitted);
      EXPECT_EQ(PayerOf(), payer);
      EXPECT_EQ(cancel.code(), absl::StatusCode::kFailedPrecondition) << cancel;
    } else {
      ++cancelled;
      EXPECT_EQ(done.request.status, ChangeStatus::kCancelled);
      EXPECT_EQ(PayerOf(), before);
      EXPECT_EQ(approve.code(), absl::StatusCode::kFailedPrecondition) << approve;
    }
  }
  EXPECT_EQ(committed + cancelled, 10);
  ASSERT_OK_AND_ASSIGN(auto verified, service_->VerifyAudit(As("owner"), "room"));
  EXPECT_TRUE(verified.ok) << verified.problem;
}

}  // namespace
}  // namespace parley::service
