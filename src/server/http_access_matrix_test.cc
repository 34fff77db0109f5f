// The authorization matrix over HTTP: every route of the API asked by every kind of caller — the
// six kinds of member of src/service/access_matrix_test.cc, an outsider organisation, no token, a
// bad token and a revoked token — with the HTTP status each must get. Members that may not see
// the room (removed, outsider) get 404, word for word what a collaboration that does not exist
// answers; requests without a valid token get 401 before anything is looked up.
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/codec.h"
#include "api/routes.h"
#include "crypto/sha256.h"
#include "gtest/gtest.h"
#include "identity/caller.h"
#include "server/server.h"
#include "service/service.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;

// Columns: the kinds of caller. creator made the room (and wrote its jobs); owner owns `sales`
// and the asset `model` (the inputs of the jobs); runner may query and run jobs but not receive
// (it ran query Q and job run R for receiver); receiver may only receive; other may query and
// receive but owns, ran and receives nothing; removed was removed by the creator; outsider is an
// organisation of the server that was never a member; then three callers without a valid token.
constexpr const char* kCallers[] = {"creator", "owner",    "runner",   "receiver",  "other",
                                    "removed", "outsider", "no_token", "bad_token", "revoked"};
constexpr int kCallerCount = 10;
constexpr int kMembers = 7;  // the callers with a valid token

struct Room {
  fs::path dir;
  std::unique_ptr<api::LocalService> local;
  std::unique_ptr<Server> server;
  std::thread serving;
  int port = 0;
  std::map<std::string, std::string> tokens;
  std::map<std::string, std::string> token_ids;
  std::string query_id, approved_template, pending_template;
  std::string change_id;  // a pending change request (query logging off), proposed by creator
  std::string code;       // an invitation of outsider into another collaboration, "lobby"
  // A job approved by owner for `sales` and `model`, one waiting for owner's approval, and a run
  // of the first by runner for receiver (only for the rows that need one: it takes a sandbox).
  std::string job, pending_job, job_run;

  ~Room() {
    if (server) server->Stop();
    if (serving.joinable()) serving.join();
    server.reset();
    local.reset();
    fs::remove_all(dir);
  }
};

void Ok(const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; }

void OpenRoom(const fs::path& dir, Room& room, bool with_job_run = false) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  room.dir = dir;
  // The room is set up through the service, which is then closed; the server opens the home
  // anew, as `parley serve` does.
  auto opened = service::Service::Open((dir / "home").string(), {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<service::Service> owned = *std::move(opened);
  service::Service& service = *owned;
  ASSERT_TRUE(service.InitServer("operator").ok());
  for (int i = 0; i < kMembers; ++i) {
    auto issued = service.AddOrganisation(Caller::Embedded(""), kCallers[i]);
    ASSERT_TRUE(issued.ok()) << issued.status();
    room.tokens[kCallers[i]] = issued->token;
    room.token_ids[kCallers[i]] = issued->token_id;
  }
  auto revoked = service.AddOrganisation(Caller::Embedded(""), "revoked");
  ASSERT_TRUE(revoked.ok());
  room.tokens["revoked"] = revoked->token;
  auto revoked_caller = service.Authenticate(revoked->token);
  ASSERT_TRUE(revoked_caller.ok());
  Ok(service.RevokeToken(*revoked_caller, revoked->token_id));
  room.tokens["no_token"] = "";
  room.tokens["bad_token"] = "pt_" + std::string(16, '0') + "_" + std::string(64, '0');

  auto as = [](const char* name) { return Caller::Embedded(name); };
  // Members join without approvals here (auto_approve add_member), as before change requests.
  Ok(service.CreateCollaboration(
      as("creator"), {.name = "room", .query_logging = true, .auto_approve = {"add_member"}}));
  for (auto [name, abilities] : std::vector<std::pair<const char*, identity::AbilitySet>>{
           {"owner", {Ability::kQuery, Ability::kReceive}},
           {"runner", {Ability::kQuery, Ability::kRunJobs}},
           {"receiver", {Ability::kReceive}},
           {"other", {Ability::kQuery, Ability::kReceive}},
           {"removed", {Ability::kQuery, Ability::kReceive}}}) {
    Ok(service.AddMember(as("creator"), "room", {name, abilities}).status());
  }
  std::ofstream(dir / "sales.csv") << "region,amount\neast,10\nwest,20\n";
  Ok(service.AddTable(as("owner"), {"room", "sales", (dir / "sales.csv").string(), {}}));
  Ok(service.SetRule(as("owner"), "room", "sales",
                     R"({"kind": "custom", "any_query": true,
                         "allowed_analysis_providers": ["creator", "runner", "other", "removed"]})"));
  auto approved = service.CreateTemplate(
      as("owner"),
      {"room", "by region", "SELECT region FROM sales WHERE amount > :min", {"min:integer=0"}});
  ASSERT_TRUE(approved.ok()) << approved.status();
  room.approved_template = *approved;
  Ok(service.ApproveTemplate(as("owner"), "room", room.approved_template, "sales"));
  auto pending =
      service.CreateTemplate(as("owner"), {"room", "all", "SELECT region, amount FROM sales", {}});
  ASSERT_TRUE(pending.ok());
  room.pending_template = *pending;
  std::ofstream(dir / "model.bin") << "weights";
  Ok(service
         .RegisterAsset(as("owner"),
                        {"room", "model", "model", "a model", (dir / "model.bin").string(), false})
         .status());
  for (auto [code, id] : {std::pair{"print(1)\n", &room.job}, {"print(2)\n", &room.pending_job}}) {
    auto job = service.CreateJob(
        as("creator"),
        {"room", "regions", "regions.py", code, {{"sales", {"region"}}}, {"model"}, {}});
    ASSERT_TRUE(job.ok()) << job.status();
    *id = job->id;
  }
  Ok(service.ApproveJob(as("owner"), "room", room.job, "sales", true).status());
  Ok(service.ApproveJob(as("owner"), "room", room.job, "model", true).status());
  if (with_job_run) {
    auto job_run = service.RunJob(as("runner"), {"room", room.job, {}, {"receiver"}, {}});
    ASSERT_TRUE(job_run.ok()) << job_run.status();
    ASSERT_EQ(job_run->status, "succeeded") << job_run->reason;
    room.job_run = std::to_string(job_run->run_id);
  }
  auto run = service.Run(as("runner"), "room", "SELECT region FROM sales", {"receiver"});
  ASSERT_TRUE(run.ok()) << run.status();
  room.query_id = std::to_string(run->query_id);
  Ok(service.RemoveMember(as("creator"), "room", "removed"));
  catalog::Change logging_off;
  logging_off.kind = "query_logging";
  logging_off.query_logging = false;
  auto change = service.ProposeChange(as("creator"), "room", logging_off);
  ASSERT_TRUE(change.ok()) << change.status();
  room.change_id = std::to_string(change->request.id);
  Ok(service.CreateCollaboration(as("creator"), {.name = "lobby"}));
  auto invitation = service.InviteMember(as("creator"), "lobby", {"outsider", {}});
  ASSERT_TRUE(invitation.ok()) << invitation.status();
  room.code = invitation->code;
  owned.reset();

  api::LocalServiceOptions local_options;
  local_options.data_root = dir.string();
  room.local = std::make_unique<api::LocalService>((dir / "home").string(), local_options);
  Options options;
  options.threads = 2;
  auto server = Server::Create(*room.local, options);
  ASSERT_TRUE(server.ok()) << server.status();
  room.server = *std::move(server);
  auto port = room.server->Bind();
  ASSERT_TRUE(port.ok());
  room.port = *port;
  Server* raw = room.server.get();
  room.serving = std::thread([raw] { (void)raw->Serve(); });
}

struct Answer {
  int status = 0;
  std::string body;
};

Answer Send(Room& room, const std::string& caller, const std::string& method,
            const std::string& path, const std::string& body) {
  httplib::Client client("127.0.0.1", room.port);
  const std::string& token = room.tokens[caller];
  if (!token.empty()) client.set_bearer_token_auth(token);
  if (path.rfind("/api/v1/uploads/", 0) == 0) {
    // An upload's body is the file's bytes, with their checksum in a header.
    auto result = client.Put(path, {{"X-Parley-Sha256", crypto::Sha256Hex(body)}}, body,
                             "application/octet-stream");
    if (!result) return {};
    return {result->status, result->body};
  }
  auto result = method == "GET"      ? client.Get(path)
                : method == "DELETE" ? client.Delete(path)
                : method == "PUT"    ? client.Put(path, body, "application/json")
                                     : client.Post(path, body, "application/json");
  if (!result) return {};
  return {result->status, result->body};
}

struct Row {
  const char* name;
  const char* method;
  const char* path;  // {q}, {approved}, {pending}, {self_token} filled per room
  const char* body;
  int expected[kMembers];  // creator, owner, runner, receiver, other, removed, outsider
};

constexpr int k200 = 200, k400 = 400, k403 = 403, k404 = 404;

const std::vector<Row>& Rows() {
  static const auto* rows = new std::vector<Row>{
      {"WhoAmI", "GET", "/api/v1/whoami", "", {k200, k200, k200, k200, k200, k200, k200}},
      {"AddOrganisation",
       "POST",
       "/api/v1/organisations",
       R"({"name": "newcomer"})",
       {k403, k403, k403, k403, k403, k403, k403}},
      {"ListOrganisations",
       "GET",
       "/api/v1/organisations",
       "",
       {k403, k403, k403, k403, k403, k403, k403}},
      {"RotateToken", "POST", "/api/v1/tokens", "", {k200, k200, k200, k200, k200, k200, k200}},
      {"RevokeOwnToken",
       "DELETE",
       "/api/v1/tokens/{self_token}",
       "",
       {k200, k200, k200, k200, k200, k200, k200}},
      {"RevokeAnothersToken",
       "DELETE",
       "/api/v1/tokens/{creator_token}",
       "",
       {k200, k404, k404, k404, k404, k404, k404}},
      {"CreateCollaboration",
       "POST",
       "/api/v1/collaborations",
       R"({"name": "mine"})",
       {k200, k200, k200, k200, k200, k200, k200}},
      {"ListCollaborations",
       "GET",
       "/api/v1/collaborations",
       "",
       {k200, k200, k200, k200, k200, k200, k200}},
      {"ShowCollaboration",
       "GET",
       "/api/v1/collaborations/room",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"CloseCollaboration",
       "POST",
       "/api/v1/collaborations/room/close",
       "",
       {k200, k403, k403, k403, k403, k404, k404}},
      // Over a server, organisations join by invitation only.
      {"AddMember",
       "POST",
       "/api/v1/collaborations/room/members",
       R"({"member": "newcomer", "abilities": ["query"]})",
       {k403, k403, k403, k403, k403, k404, k404}},
      {"InviteMember",
       "POST",
       "/api/v1/collaborations/room/invitations",
       R"({"member": "newcomer", "abilities": ["query"]})",
       {k200, k403, k403, k403, k403, k404, k404}},
      // The code was made for outsider (into "lobby"): anyone else is told it does not exist.
      {"Join",
       "POST",
       "/api/v1/join",
       R"({"code": "{code}"})",
       {k404, k404, k404, k404, k404, k404, k200}},
      {"ProposeChange",
       "POST",
       "/api/v1/collaborations/room/changes",
       R"({"kind": "payer", "payer": "creator"})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListChanges",
       "GET",
       "/api/v1/collaborations/room/changes",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ShowChange",
       "GET",
       "/api/v1/collaborations/room/changes/{change}",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      // The creator proposed it: its approval is implied, another vote is refused.
      {"ApproveChange",
       "POST",
       "/api/v1/collaborations/room/changes/{change}/approve",
       "",
       {k400, k200, k200, k200, k200, k404, k404}},
      {"DenyChange",
       "POST",
       "/api/v1/collaborations/room/changes/{change}/deny",
       "",
       {k400, k200, k200, k200, k200, k404, k404}},
      {"CancelChange",
       "POST",
       "/api/v1/collaborations/room/changes/{change}/cancel",
       "",
       {k200, k403, k403, k403, k403, k404, k404}},
      {"RemoveMember",
       "DELETE",
       "/api/v1/collaborations/room/members/other",
       "",
       {k200, k403, k403, k403, k403, k404, k404}},
      {"Leave",
       "POST",
       "/api/v1/collaborations/room/leave",
       "",
       {k400, k200, k200, k200, k200, k404, k404}},
      {"AddTable",
       "POST",
       "/api/v1/collaborations/room/tables",
       R"({"table": "own", "source": "{own_file}"})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListTables",
       "GET",
       "/api/v1/collaborations/room/tables",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ShowTable",
       "GET",
       "/api/v1/collaborations/room/tables/sales",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"SetRule",
       "PUT",
       "/api/v1/collaborations/room/tables/sales/rule",
       R"({"rule": {"kind": "custom", "any_query": true, "allowed_analysis_providers": ["runner"]}})",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"UpdateTable",
       "PUT",
       "/api/v1/collaborations/room/tables/sales/source",
       R"({"source": "{own_file}"})",
       {k403, k400, k403, k403, k403, k404, k404}},
      {"RemoveTable",
       "DELETE",
       "/api/v1/collaborations/room/tables/sales",
       "",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"Explain",
       "POST",
       "/api/v1/collaborations/room/explain",
       R"({"sql": "SELECT region FROM sales"})",
       {k200, k200, k200, k403, k200, k404, k404}},
      {"RunQuery",
       "POST",
       "/api/v1/collaborations/room/queries",
       R"({"sql": "SELECT region FROM sales", "receivers": ["receiver"]})",
       {k200, k200, k200, k403, k200, k404, k404}},
      {"ListQueries",
       "GET",
       "/api/v1/collaborations/room/queries",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"GetResult",
       "GET",
       "/api/v1/collaborations/room/queries/{q}/result",
       "",
       {k403, k403, k403, k200, k403, k404, k404}},
      {"DeleteResult",
       "DELETE",
       "/api/v1/collaborations/room/queries/{q}/result",
       "",
       {k404, k404, k404, k200, k404, k404, k404}},
      {"ListResults",
       "GET",
       "/api/v1/collaborations/room/results",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"QueryLog",
       "GET",
       "/api/v1/collaborations/room/query-log",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"CreateTemplate",
       "POST",
       "/api/v1/collaborations/room/templates",
       R"({"name": "mine", "sql": "SELECT amount FROM sales WHERE region = :r", "parameters": ["r:text"]})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListTemplates",
       "GET",
       "/api/v1/collaborations/room/templates",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ShowTemplate",
       "GET",
       "/api/v1/collaborations/room/templates/{approved}",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ApproveTemplate",
       "POST",
       "/api/v1/collaborations/room/templates/{pending}/approvals",
       R"({"table": "sales"})",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"RevokeTemplate",
       "DELETE",
       "/api/v1/collaborations/room/templates/{approved}/approvals/sales",
       "",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"RunTemplate",
       "POST",
       "/api/v1/collaborations/room/templates/{approved}/runs",
       R"({"parameters": {"min": "5"}, "receivers": ["receiver"]})",
       {k200, k200, k200, k403, k200, k404, k404}},
      {"Policy",
       "GET",
       "/api/v1/collaborations/room/policy",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListAudit",
       "GET",
       "/api/v1/collaborations/room/audit",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"VerifyAudit",
       "POST",
       "/api/v1/collaborations/room/audit/verify",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      // Each organisation uploads into its own folder of the data root: no collaboration asked.
      {"Upload",
       "PUT",
       "/api/v1/uploads/new.csv",
       "x\n1\n",
       {k200, k200, k200, k200, k200, k200, k200}},
      {"SetMemberKey",
       "PUT",
       "/api/v1/key",
       R"({"public_key": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})",
       {k200, k200, k200, k200, k200, k200, k200}},
      {"MemberKey", "GET", "/api/v1/key", "", {k200, k200, k200, k200, k200, k200, k200}},
      {"SetCollaborationRetention",
       "PUT",
       "/api/v1/collaborations/room/result-retention",
       R"({"days": 30})",
       {k200, k403, k403, k403, k403, k404, k404}},
      {"CollaborationRetention",
       "GET",
       "/api/v1/collaborations/room/result-retention",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"AddWebhook",
       "POST",
       "/api/v1/collaborations/room/webhooks",
       R"({"url": "http://127.0.0.1:9/hook"})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListWebhooks",
       "GET",
       "/api/v1/collaborations/room/webhooks",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      // Jobs and assets (issue 12). Any member writes a job or registers an asset of its own;
      // only an input's owner approves or revokes; only a member with run_jobs runs; a run is
      // seen by its runner and receivers, and to anyone else it does not exist. (The room's
      // creator wrote the jobs but has no run_jobs.)
      {"CreateJob",
       "POST",
       "/api/v1/collaborations/room/jobs",
       R"({"name": "mine", "code_name": "mine.py", "code": "print(3)\n",
           "inputs": [{"table": "sales", "columns": ["region"]}]})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListJobs",
       "GET",
       "/api/v1/collaborations/room/jobs",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ShowJob",
       "GET",
       "/api/v1/collaborations/room/jobs/{job}",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ApproveJob",
       "POST",
       "/api/v1/collaborations/room/jobs/{pending_job}/approvals",
       R"({"input": "sales"})",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"ApproveJobAsset",
       "POST",
       "/api/v1/collaborations/room/jobs/{pending_job}/approvals",
       R"({"input": "model"})",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"RevokeJob",
       "DELETE",
       "/api/v1/collaborations/room/jobs/{job}/approvals/sales",
       "",
       {k403, k200, k403, k403, k403, k404, k404}},
      {"RunJob",
       "POST",
       "/api/v1/collaborations/room/jobs/{job}/runs",
       R"({"receivers": ["receiver"]})",
       {k403, k403, k200, k403, k403, k404, k404}},
      {"ShowJobRun",
       "GET",
       "/api/v1/collaborations/room/job-runs/{job_run}",
       "",
       {k404, k404, k200, k200, k404, k404, k404}},
      {"RegisterAsset",
       "POST",
       "/api/v1/collaborations/room/assets",
       R"({"name": "mine", "kind": "data", "path": "{own_file}"})",
       {k200, k200, k200, k200, k200, k404, k404}},
      {"ListAssets",
       "GET",
       "/api/v1/collaborations/room/assets",
       "",
       {k200, k200, k200, k200, k200, k404, k404}},
  };
  return *rows;
}

std::string Fill(const std::string& text, Room& room, const std::string& caller) {
  return absl::StrReplaceAll(text, {{"{q}", room.query_id},
                                    {"{job}", room.job},
                                    {"{pending_job}", room.pending_job},
                                    {"{job_run}", room.job_run},
                                    {"{change}", room.change_id},
                                    {"{code}", room.code},
                                    {"{approved}", room.approved_template},
                                    {"{pending}", room.pending_template},
                                    {"{self_token}", room.token_ids[caller]},
                                    {"{creator_token}", room.token_ids["creator"]},
                                    {"{own_file}", (room.dir / caller / "own.csv").string()}});
}

class HttpAccessMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(HttpAccessMatrixTest, EachKindOfCallerGetsItsExpectedStatus) {
  const Row& row = Rows()[GetParam()];
  fs::path base = fs::path(::testing::TempDir()) /
                  absl::StrCat("parley_http_matrix_", ::getpid(), "_", GetParam());
  // A route that only reads asks one room; any other gets a fresh room per caller, so that what
  // one caller changed cannot change the next caller's answer.
  bool reads = std::string(row.method) == "GET";
  std::unique_ptr<Room> last;
  for (int i = 0; i < kMembers; ++i) {
    const std::string caller = kCallers[i];
    SCOPED_TRACE(absl::StrCat(row.name, " by ", caller));
    std::unique_ptr<Room> room = std::move(last);
    if (room == nullptr || !reads) {
      room.reset();
      room = std::make_unique<Room>();
      OpenRoom(base / caller, *room, std::string(row.path).find("{job_run}") != std::string::npos);
      if (HasFatalFailure()) return;
    }
    fs::create_directories(room->dir / caller);
    std::ofstream(room->dir / caller / "own.csv") << "x\n1\n";
    std::string path = Fill(row.path, *room, caller);
    std::string body = Fill(row.body, *room, caller);
    Answer answer = Send(*room, caller, row.method, path, body);
    EXPECT_EQ(answer.status, row.expected[i]) << answer.body;
    bool sees_room = caller != "removed" && caller != "outsider";
    if (answer.status == 404 && !sees_room &&
        path.find("/collaborations/room") != std::string::npos) {
      // What a room that does not exist answers, word for word. (A member that is not a
      // receiver gets a result's "not found" instead: HttpResultsTest.)
      Answer missing =
          Send(*room, caller, row.method,
               absl::StrReplaceAll(path, {{"/collaborations/room", "/collaborations/moor"}}), body);
      EXPECT_EQ(missing.status, 404);
      EXPECT_EQ(absl::StrReplaceAll(answer.body, {{"'room'", "'moor'"}}), missing.body);
    }
    last = std::move(room);
  }
  // Without a valid token: 401 and one body, before anything is looked up.
  for (int i = kMembers; i < kCallerCount; ++i) {
    SCOPED_TRACE(absl::StrCat(row.name, " by ", kCallers[i]));
    std::string path = Fill(row.path, *last, "outsider");
    Answer answer = Send(*last, kCallers[i], row.method, path, Fill(row.body, *last, "outsider"));
    EXPECT_EQ(answer.status, 401) << answer.body;
    EXPECT_EQ(
        answer.body,
        R"({"error":{"code":"UNAUTHENTICATED","message":"missing, invalid or revoked API token"}})");
  }
  last.reset();
  fs::remove_all(base);
}

// A closed room over HTTP: its creator closed it; queries and changes are 400 saying so, its
// receiver still reads its result, and an outsider is answered as for a room that does not exist.
TEST(HttpClosedTest, AClosedRoomRefusesChangesAndStaysReadable) {
  fs::path base = fs::path(::testing::TempDir()) / absl::StrCat("parley_http_closed_", ::getpid());
  Room room;
  OpenRoom(base, room);
  if (HasFatalFailure()) return;
  Answer closed = Send(room, "creator", "POST", "/api/v1/collaborations/room/close", "");
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_NE(closed.body.find(R"("state":"closed")"), std::string::npos) << closed.body;
  const std::string refusal =
      R"({"error":{"code":"FAILED_PRECONDITION","message":"collaboration 'room' is closed: it )"
      R"(takes no more queries and no changes to its members, tables, rules or templates; its )"
      R"(results and audit log stay readable"}})";
  Answer run = Send(room, "runner", "POST", "/api/v1/collaborations/room/queries",
                    R"({"sql": "SELECT region FROM sales", "receivers": ["receiver"]})");
  EXPECT_EQ(run.status, 400);
  EXPECT_EQ(run.body, refusal);
  Answer rule = Send(room, "owner", "PUT", "/api/v1/collaborations/room/tables/sales/rule",
                     R"({"rule": {"kind": "custom", "any_query": true}})");
  EXPECT_EQ(rule.status, 400);
  EXPECT_EQ(rule.body, refusal);
  Answer again = Send(room, "creator", "POST", "/api/v1/collaborations/room/close", "");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(
      again.body,
      R"({"error":{"code":"FAILED_PRECONDITION","message":"collaboration 'room' is already closed"}})");
  Answer result =
      Send(room, "receiver", "GET",
           absl::StrCat("/api/v1/collaborations/room/queries/", room.query_id, "/result"), "");
  EXPECT_EQ(result.status, 200) << result.body;
  Answer list = Send(room, "other", "GET", "/api/v1/collaborations", "");
  EXPECT_NE(list.body.find(R"("state":"closed")"), std::string::npos) << list.body;
  for (auto [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/api/v1/collaborations/room/close", ""},
           {"/api/v1/collaborations/room/queries", R"({"sql": "SELECT 1"})"}}) {
    Answer outsider = Send(room, "outsider", "POST", path, body);
    Answer missing =
        Send(room, "outsider", "POST",
             absl::StrReplaceAll(path, {{"/collaborations/room", "/collaborations/moor"}}), body);
    EXPECT_EQ(outsider.status, 404);
    EXPECT_EQ(absl::StrReplaceAll(outsider.body, {{"'room'", "'moor'"}}), missing.body);
  }
}

// A kept result is visible to its receivers only: listed for them alone, and to anyone else a
// delete of it is answered word for word as one of a query that does not exist.
TEST(HttpResultsTest, AResultIsVisibleToItsReceiversOnly) {
  fs::path base = fs::path(::testing::TempDir()) / absl::StrCat("parley_http_results_", ::getpid());
  Room room;
  OpenRoom(base, room);
  if (HasFatalFailure()) return;
  for (const char* caller : {"creator", "owner", "runner", "other"}) {
    SCOPED_TRACE(caller);
    Answer list = Send(room, caller, "GET", "/api/v1/collaborations/room/results", "");
    EXPECT_EQ(list.status, 200);
    EXPECT_EQ(list.body, R"({"results":[]})");
    Answer deleted =
        Send(room, caller, "DELETE",
             absl::StrCat("/api/v1/collaborations/room/queries/", room.query_id, "/result"), "");
    Answer missing =
        Send(room, caller, "DELETE", "/api/v1/collaborations/room/queries/999999/result", "");
    EXPECT_EQ(deleted.status, 404);
    EXPECT_EQ(absl::StrReplaceAll(deleted.body, {{room.query_id, "999999"}}), missing.body);
  }
  Answer list = Send(room, "receiver", "GET", "/api/v1/collaborations/room/results", "");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(absl::StrCat(R"("query_id":)", room.query_id)), std::string::npos)
      << list.body;
  Answer deleted =
      Send(room, "receiver", "DELETE",
           absl::StrCat("/api/v1/collaborations/room/queries/", room.query_id, "/result"), "");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  // Once deleted, the receiver too gets the answer for a result that is not there.
  Answer again =
      Send(room, "receiver", "DELETE",
           absl::StrCat("/api/v1/collaborations/room/queries/", room.query_id, "/result"), "");
  Answer missing =
      Send(room, "receiver", "DELETE", "/api/v1/collaborations/room/queries/999999/result", "");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(absl::StrReplaceAll(again.body, {{room.query_id, "999999"}}), missing.body);
  list = Send(room, "receiver", "GET", "/api/v1/collaborations/room/results", "");
  EXPECT_EQ(list.body, R"({"results":[]})");
  room.server->Stop();
  room.serving.join();
  room.server.reset();
  room.local.reset();
  fs::remove_all(base);
}

// Every job and asset route of the API has its row (a new one cannot be added without one).
TEST(HttpAccessMatrixCoverageTest, EveryJobAndAssetRouteIsInTheMatrix) {
  std::vector<std::pair<std::string, std::string>> routes;
#define PARLEY_ROUTE(name, request, response, method, path) routes.emplace_back(#name, path);
  PARLEY_API_ENDPOINTS(PARLEY_ROUTE)
#undef PARLEY_ROUTE
  int checked = 0;
  for (const auto& [name, path] : routes) {
    if (path.find("/jobs") == std::string::npos && path.find("/job-runs") == std::string::npos &&
        path.find("/assets") == std::string::npos) {
      continue;
    }
    ++checked;
    bool found =
        std::any_of(Rows().begin(), Rows().end(), [&](const Row& row) { return row.name == name; });
    EXPECT_TRUE(found) << name << " " << path << " has no row in the access matrix";
  }
  EXPECT_EQ(checked, 9);
}

INSTANTIATE_TEST_SUITE_P(EveryRoute, HttpAccessMatrixTest,
                         ::testing::Range<size_t>(0, Rows().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name;
                           for (char c : std::string(Rows()[info.param].name)) {
                             if (std::isalnum(static_cast<unsigned char>(c))) name += c;
                             if (c == ' ' || c == '(') break;
                           }
                           return name;
                         });

}  // namespace
}  // namespace parley::server
