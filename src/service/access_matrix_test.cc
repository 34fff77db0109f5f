// The authorization matrix: every use case of the service, asked by every kind of caller, with
// the status each must get. One row per use case; the columns are the callers below. Each cell
// runs on a fresh home, so a use case that changes the room (adding, removing, leaving) cannot
// change the next cell's answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;
using Code = absl::StatusCode;

// The kinds of caller, in column order. "creator" made the room; "owner" owns table `sales`;
// "runner" may query but not receive (it ran query 1 for "receiver"); "receiver" may only
// receive; "other" may query and receive but owns, ran and receives nothing; "removed" was a
// member with every ability until the creator removed it; "outsider" was never a member.
constexpr const char* kCallers[] = {"creator", "owner",   "runner",  "receiver",
                                    "other",   "removed", "outsider"};
constexpr int kCallerCount = 7;

constexpr Code kOk = Code::kOk;
constexpr Code kDenied = Code::kPermissionDenied;
constexpr Code kClosed = Code::kFailedPrecondition;

struct Room {
  std::unique_ptr<Service> service;
  fs::path dir;
  int64_t query_id = 0;           // run by runner for receiver
  std::string approved_template;  // approved by owner for sales
  std::string pending_template;   // not approved
  int64_t change_id = 0;          // a pending change request (payer), proposed by creator
};

std::string Write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

void OpenRoom(const fs::path& dir, Room& room) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  room.dir = dir;
  auto opened = Service::Open((dir / "home").string(), {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  room.service = *std::move(opened);
  Service& service = *room.service;
  auto as = [](const char* name) { return Caller::Embedded(name); };
  auto ok = [](const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; };
  // Members are added without approvals here (auto_approve), so that the room starts as it did
  // before change requests.
  ok(service.CreateCollaboration(
      as("creator"), {.name = "room", .query_logging = true, .auto_approve = {"add_member"}}));
  for (auto [name, abilities] : std::vector<std::pair<const char*, identity::AbilitySet>>{
           {"owner", {Ability::kQuery, Ability::kReceive}},
           {"runner", {Ability::kQuery}},
           {"receiver", {Ability::kReceive}},
           {"other", {Ability::kQuery, Ability::kReceive}},
           {"removed", {Ability::kQuery, Ability::kReceive}}}) {
    ok(service.AddMember(as("creator"), "room", {name, abilities}).status());
  }
  std::string sales = Write(dir / "sales.csv", "region,amount\neast,10\nwest,20\n");
  ok(service.AddTable(as("owner"), {"room", "sales", sales, {}}));
  ok(service.SetRule(as("owner"), "room", "sales",
                     R"({"kind": "custom", "any_query": true,
                         "allowed_analysis_providers": ["creator", "runner", "other", "removed"]})"));
  auto approved = service.CreateTemplate(
      as("owner"),
      {"room", "by region", "SELECT region FROM sales WHERE amount > :min", {"min:integer=0"}});
  ASSERT_TRUE(approved.ok()) << approved.status();
  room.approved_template = *approved;
  ok(service.ApproveTemplate(as("owner"), "room", room.approved_template, "sales"));
  auto pending =
      service.CreateTemplate(as("owner"), {"room", "all", "SELECT region, amount FROM sales", {}});
  ASSERT_TRUE(pending.ok()) << pending.status();
  room.pending_template = *pending;
  auto run = service.Run(as("runner"), "room", "SELECT region FROM sales", {"receiver"});
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->explanation.verdict.allowed());
  room.query_id = run->query_id;
  ok(service.RemoveMember(as("creator"), "room", "removed"));
  catalog::Change payer;
  payer.kind = "payer";
  payer.payer = "owner";
  auto change = service.ProposeChange(as("creator"), "room", payer);
  ASSERT_TRUE(change.ok()) << change.status();
  room.change_id = change->request.id;
}

struct UseCase {
  const char* name;
  std::function<absl::Status(Room&, const Caller&)> call;
  Code expected[kCallerCount];  // creator, owner, runner, receiver, other, removed, outsider
};

absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

const std::vector<UseCase>& UseCases() {
  static const auto* cases = new std::vector<UseCase>{
      {"ShowCollaboration",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ShowCollaboration(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ListCollaborations (the room is listed)",
       [](Room& r, const Caller& c) -> absl::Status {
         auto listed = r.service->ListCollaborations(c);
         if (!listed.ok()) return listed.status();
         if (listed->size() == 1 && (*listed)[0].name == "room") return absl::OkStatus();
         return absl::PermissionDeniedError("not listed");
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"CloseCollaboration",
       [](Room& r, const Caller& c) { return StatusOf(r.service->CloseCollaboration(c, "room")); },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied, kDenied}},
      // Once the creator closed the room: queries and changes are FailedPrecondition for those
      // who could make them, reads go on, and the others are answered as in an open room.
      {"RunAfterClose (for receiver)",
       [](Room& r, const Caller& c) {
         if (auto closed = r.service->CloseCollaboration(Caller::Embedded("creator"), "room");
             !closed.ok()) {
           return closed.status();
         }
         return StatusOf(r.service->Run(c, "room", "SELECT region FROM sales", {"receiver"}));
       },
       {kClosed, kClosed, kClosed, kDenied, kClosed, kDenied, kDenied}},
      {"SetRuleAfterClose",
       [](Room& r, const Caller& c) {
         if (auto closed = r.service->CloseCollaboration(Caller::Embedded("creator"), "room");
             !closed.ok()) {
           return closed.status();
         }
         return r.service->SetRule(c, "room", "sales", R"({"kind": "custom", "any_query": true})");
       },
       {kDenied, kClosed, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"ResultAfterClose (of runner's query for receiver)",
       [](Room& r, const Caller& c) {
         if (auto closed = r.service->CloseCollaboration(Caller::Embedded("creator"), "room");
             !closed.ok()) {
           return closed.status();
         }
         return StatusOf(r.service->Result(c, "room", r.query_id));
       },
       {kDenied, kDenied, kDenied, kOk, kDenied, kDenied, kDenied}},
      {"RemoveMember (other)",
       [](Room& r, const Caller& c) { return r.service->RemoveMember(c, "room", "other"); },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"Leave",
       [](Room& r, const Caller& c) { return r.service->Leave(c, "room"); },
       {Code::kFailedPrecondition, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"AddTable (its own file)",
       [](Room& r, const Caller& c) {
         std::string path = Write(r.dir / (c.member() + ".csv"), "x\n1\n");
         return r.service->AddTable(c, {"room", "own_" + c.member(), path, {}});
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ListTables",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ListTables(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ShowTable",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ShowTable(c, "room", "sales")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"SetRule",
       [](Room& r, const Caller& c) {
         return r.service->SetRule(c, "room", "sales",
                                   R"({"kind": "custom", "any_query": true,
                                       "allowed_analysis_providers": ["runner"]})");
       },
       {kDenied, kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"Explain",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->Explain(c, "room", "SELECT region FROM sales"));
       },
       {kOk, kOk, kOk, kDenied, kOk, kDenied, kDenied}},
      {"Run (for receiver)",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->Run(c, "room", "SELECT region FROM sales", {"receiver"}));
       },
       {kOk, kOk, kOk, kDenied, kOk, kDenied, kDenied}},
      {"Result (of runner's query for receiver)",
       [](Room& r, const Caller& c) { return StatusOf(r.service->Result(c, "room", r.query_id)); },
       {kDenied, kDenied, kDenied, kOk, kDenied, kDenied, kDenied}},
      {"ListQueries",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ListQueries(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"QueryLog",
       [](Room& r, const Caller& c) { return StatusOf(r.service->QueryLog(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"CreateTemplate",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->CreateTemplate(
             c, {"room", "mine", "SELECT amount FROM sales WHERE region = :r", {"r:text"}}));
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ShowTemplate",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->ShowTemplate(c, "room", r.approved_template));
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ListTemplates",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ListTemplates(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ApproveTemplate",
       [](Room& r, const Caller& c) {
         return r.service->ApproveTemplate(c, "room", r.pending_template, "sales");
       },
       {kDenied, kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"RevokeTemplate",
       [](Room& r, const Caller& c) {
         return r.service->RevokeTemplate(c, "room", r.approved_template, "sales");
       },
       {kDenied, kOk, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"RunTemplate (for receiver)",
       [](Room& r, const Caller& c) {
         return StatusOf(
             r.service->RunTemplate(c, "room", r.approved_template, {{"min", "5"}}, {"receiver"}));
       },
       {kOk, kOk, kOk, kDenied, kOk, kDenied, kDenied}},
      {"Policy",
       [](Room& r, const Caller& c) { return StatusOf(r.service->Policy(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ListAudit",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ListAudit(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"InviteMember",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->InviteMember(c, "room", {"newcomer", {Ability::kQuery}}));
       },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"AddMember",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->AddMember(c, "room", {"newcomer", {Ability::kQuery}}));
       },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"ProposeChange (abilities of other)",
       [](Room& r, const Caller& c) {
         catalog::Change change;
         change.kind = "abilities";
         change.member = catalog::Member{"other", true, false, catalog::MemberStatus::kActive};
         return StatusOf(r.service->ProposeChange(c, "room", change));
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ListChanges",
       [](Room& r, const Caller& c) { return StatusOf(r.service->ListChanges(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"ShowChange",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->ShowChange(c, "room", r.change_id));
       },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      // The creator proposed it: its approval is implied, a second vote is refused.
      {"ApproveChange",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->ApproveChange(c, "room", r.change_id));
       },
       {Code::kFailedPrecondition, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"DenyChange",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->DenyChange(c, "room", r.change_id));
       },
       {Code::kFailedPrecondition, kOk, kOk, kOk, kOk, kDenied, kDenied}},
      {"CancelChange (the creator's)",
       [](Room& r, const Caller& c) {
         return StatusOf(r.service->CancelChange(c, "room", r.change_id));
       },
       {kOk, kDenied, kDenied, kDenied, kDenied, kDenied, kDenied}},
      {"VerifyAudit",
       [](Room& r, const Caller& c) { return StatusOf(r.service->VerifyAudit(c, "room")); },
       {kOk, kOk, kOk, kOk, kOk, kDenied, kDenied}},
  };
  return *cases;
}

class AccessMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(AccessMatrixTest, EachKindOfCallerGetsItsExpectedAnswer) {
  const UseCase& use_case = UseCases()[GetParam()];
  fs::path base = fs::temp_directory_path() /
                  absl::StrCat("parley_access_matrix_", ::getpid(), "_", GetParam());
  for (int i = 0; i < kCallerCount; ++i) {
    SCOPED_TRACE(absl::StrCat(use_case.name, " by ", kCallers[i]));
    Room room;
    OpenRoom(base / kCallers[i], room);
    if (HasFatalFailure()) return;
    absl::Status status = use_case.call(room, Caller::Embedded(kCallers[i]));
    EXPECT_EQ(status.code(), use_case.expected[i]) << status;
  }
  fs::remove_all(base);
}

INSTANTIATE_TEST_SUITE_P(EveryUseCase, AccessMatrixTest,
                         ::testing::Range<size_t>(0, UseCases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name;
                           for (char c : std::string(UseCases()[info.param].name)) {
                             if (std::isalnum(static_cast<unsigned char>(c))) name += c;
                             if (c == ' ' || c == '(') break;
                           }
                           return name;
                         });

}  // namespace
}  // namespace parley::service
