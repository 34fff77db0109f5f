#include "catalog/store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_testing.h"
#include "crypto/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace parley::catalog {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

const std::string kZeroHash(64, '0');
constexpr int64_t kStart = 1'700'000'000;

// Each test gets its own catalog file in a fresh directory and a clock it moves by hand.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("parley_catalog_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "catalog.db").string();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }

  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_, [this] { return now_; });
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static Collaboration Campaign() {
    Collaboration collaboration;
    collaboration.name = "campaign";
    collaboration.description = "joint ad campaign";
    collaboration.creator = "retailer";
    collaboration.query_logging = true;
    // The creator's status is given as invited on purpose: the store must make it active.
    collaboration.members = {{.name = "retailer",
                              .can_query = true,
                              .can_receive = true,
                              .status = MemberStatus::kInvited},
                             {.name = "supplier",
                              .can_query = true,
                              .can_receive = false,
                              .status = MemberStatus::kInvited}};
    return collaboration;
  }

  static Table Retail() {
    Table table;
    table.collaboration = "campaign";
    table.name = "retail";
    table.owner = "retailer";
    table.source_kind = "files";
    table.source_json = R"({"path": "/data/retail/*.parquet", "format": "parquet"})";
    table.source_schema = {{"household_id", "BIGINT"},
                           {"hashed_email", "VARCHAR"},
                           {"age_band", "VARCHAR"},
                           {"spend", "DOUBLE"}};
    table.allowed_columns = {"household_id", "hashed_email", "age_band"};
    return table;
  }

  static QueryRecord Query(QueryStatus status) {
    QueryRecord query;
    query.collaboration = "campaign";
    query.runner = "supplier";
    query.sql = "SELECT age_band, COUNT(DISTINCT household_id) FROM retail WHERE spend > 1234";
    query.status = status;
    query.receivers = {"supplier", "retailer"};
    query.tables = {"retail", "loyalty"};
    return query;
  }

  // Runs SQL on the catalog file behind the store's back, as an attacker with file access would.
  // Returns how many rows it changed.
  int Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    int changes = sqlite3_total_changes(db);
    sqlite3_free(error);
    sqlite3_close(db);
    EXPECT_EQ(code, SQLITE_OK) << message;
    return changes;
  }

  std::string RawText(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    std::string text;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return text;
  }

  std::vector<std::string> Actions() {
    std::vector<std::string> actions;
    absl::StatusOr<std::vector<AuditEntry>> entries = store_->ListAudit("");
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (entries.ok()) {
      for (const AuditEntry& entry : *entries) actions.push_back(entry.action);
    }
    return actions;
  }

  AuditEntry LastAudit() {
    absl::StatusOr<std::vector<AuditEntry>> entries = store_->ListAudit("");
    EXPECT_TRUE(entries.ok() && !entries->empty());
    return entries.ok() && !entries->empty() ? entries->back() : AuditEntry{};
  }

  // Five entries: collaboration.create, member.add, table.add, rule.set, query.finished.
  void BuildHistory() {
    ASSERT_OK(store_->CreateCollaboration(Campaign()));
    ++now_;
    ASSERT_OK(store_->AddMember("campaign", {.name = "publisher"}, "retailer"));
    ++now_;
    ASSERT_OK(store_->AddTable(Retail(), "retailer"));
    ++now_;
    ASSERT_OK(store_->SetRule("campaign", "retail", R"({"kind":"list"})", "retailer"));
    ++now_;
    ASSERT_OK(store_->RecordQuery(Query(QueryStatus::kSucceeded)).status());
  }

  // Verifies the campaign's chain, which must fail with `problem` after `entries` good entries.
  void ExpectTampered(const std::string& problem, int64_t entries) {
    absl::StatusOr<AuditVerification> verification = store_->VerifyAudit("campaign");
    ASSERT_TRUE(verification.ok()) << verification.status();
    EXPECT_FALSE(verification->ok);
    EXPECT_EQ(verification->problem, problem);
    EXPECT_EQ(verification->entries, entries);
  }

  std::filesystem::path dir_;
  std::string path_;
  int64_t now_ = kStart;
  std::unique_ptr<Store> store_;
};

// --- Opening and migrations -------------------------------------------------------------------

TEST_F(StoreTest, OpenCreatesTheSchemaInWalMode) {
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  EXPECT_EQ(RawText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawText("SELECT count(*) FROM audit_heads"), "0");
  // A new catalog has nothing to re-chain, so no migration entry either.
  EXPECT_EQ(RawText("SELECT count(*) FROM audit"), "0");
}

TEST_F(StoreTest, ReopenKeepsRecordsAndDoesNotRerunMigrations) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  store_.reset();
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  ASSERT_OK_AND_ASSIGN(Collaboration collaboration, store_->GetCollaboration("campaign"));
  EXPECT_EQ(collaboration.description, "joint ad campaign");
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  EXPECT_EQ(RawText("SELECT count(*) FROM audit_heads"), "1");
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit());
  EXPECT_TRUE(verification.ok) << verification.problem;
  EXPECT_EQ(verification.entries, 1);
}

TEST_F(StoreTest, OpenRejectsACatalogFromANewerParley) {
  store_.reset();
  Tamper(absl::StrCat("PRAGMA user_version = ", SchemaVersion() + 1));
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_, [this] { return now_; });
  ExpectError(store.status(), absl::StatusCode::kFailedPrecondition,
              absl::StrFormat("the catalog has schema version %d but this parley knows only up "
                              "to version %d; upgrade parley to open it",
                              SchemaVersion() + 1, SchemaVersion()));
}

TEST_F(StoreTest, OpenFailsInAMissingDirectory) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open((dir_ / "absent" / "catalog.db").string(), nullptr);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal) << store.status();
}

// --- Collaborations and members ---------------------------------------------------------------

TEST_F(StoreTest, CollaborationRoundTrip) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK_AND_ASSIGN(Collaboration got, store_->GetCollaboration("campaign"));
  EXPECT_EQ(got.name, "campaign");
  EXPECT_EQ(got.description, "joint ad campaign");
  EXPECT_EQ(got.creator, "retailer");
  EXPECT_TRUE(got.query_logging);
  EXPECT_EQ(got.created_at, kStart);
  ASSERT_EQ(got.members.size(), 2u);
  EXPECT_EQ(got.members[0].name, "retailer");
  EXPECT_TRUE(got.members[0].can_query);
  EXPECT_TRUE(got.members[0].can_receive);
  EXPECT_EQ(got.members[0].status, MemberStatus::kActive);
  EXPECT_EQ(got.members[1].name, "supplier");
  EXPECT_TRUE(got.members[1].can_query);
  EXPECT_FALSE(got.members[1].can_receive);
  EXPECT_EQ(got.members[1].status, MemberStatus::kInvited);
}

TEST_F(StoreTest, ListCollaborationsOrdersByName) {
  Collaboration zeta = Campaign();
  zeta.name = "Zeta.2";
  Collaboration alpha = Campaign();
  alpha.name = "alpha-1";
  ASSERT_OK(store_->CreateCollaboration(zeta));
  ASSERT_OK(store_->CreateCollaboration(alpha));
  ASSERT_OK_AND_ASSIGN(std::vector<Collaboration> all, store_->ListCollaborations());
  ASSERT_EQ(all.size(), 2u);
  // SQLite's binary collation: upper case sorts first.
  EXPECT_EQ(all[0].name, "Zeta.2");
  EXPECT_EQ(all[1].name, "alpha-1");
  EXPECT_EQ(all[1].members.size(), 2u);
}

TEST_F(StoreTest, CreateCollaborationRejectsATakenName) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ExpectError(store_->CreateCollaboration(Campaign()), absl::StatusCode::kAlreadyExists,
              "collaboration 'campaign' already exists");
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create"));
}

TEST_F(StoreTest, CreateCollaborationRequiresTheCreatorAmongTheMembers) {
  Collaboration collaboration = Campaign();
  collaboration.creator = "publisher";
  ExpectError(store_->CreateCollaboration(collaboration), absl::StatusCode::kInvalidArgument,
              "the creator 'publisher' must be listed as a member of collaboration 'campaign'");
  collaboration = Campaign();
  collaboration.members.push_back({.name = "supplier"});
  ExpectError(store_->CreateCollaboration(collaboration), absl::StatusCode::kInvalidArgument,
              "member 'supplier' is listed twice in collaboration 'campaign'");
  ExpectError(store_->GetCollaboration("campaign").status(), absl::StatusCode::kNotFound,
              "collaboration 'campaign' not found");
  EXPECT_THAT(Actions(), IsEmpty());
}

TEST_F(StoreTest, BadNamesAreRejectedByName) {
  const std::string party_hint =
      ": use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit";
  Collaboration collaboration = Campaign();
  collaboration.name = "-campaign";
  ExpectError(store_->CreateCollaboration(collaboration), absl::StatusCode::kInvalidArgument,
              "invalid collaboration name '-campaign'" + party_hint);
  collaboration.name = std::string(65, 'a');
  EXPECT_EQ(store_->CreateCollaboration(collaboration).code(), absl::StatusCode::kInvalidArgument);
  collaboration.name = std::string(64, 'a');
  ASSERT_OK(store_->CreateCollaboration(collaboration));

  // A hostile name is echoed escaped, so it cannot start a new line in a log.
  ExpectError(store_->AddMember("campaign", {.name = "evil\nname"}, "retailer"),
              absl::StatusCode::kInvalidArgument, "invalid member name 'evil\\nname'" + party_hint);
  ExpectError(store_->AddMember("campaign", {.name = "ok"}, "re tailer"),
              absl::StatusCode::kInvalidArgument, "invalid member name 're tailer'" + party_hint);

  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Table table = Retail();
  const std::string table_hint =
      ": use 1 to 63 lower-case letters, digits or '_', not starting with a digit";
  for (const std::string& bad :
       std::vector<std::string>{"Retail", "1retail", "re-tail", "", std::string(64, 'r')}) {
    table.name = bad;
    ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
                "invalid table name '" + bad + "'" + table_hint);
  }
  table.name = "_retail_2";
  ASSERT_OK(store_->AddTable(table, "retailer"));
}

TEST_F(StoreTest, GetCollaborationNotFound) {
  ExpectError(store_->GetCollaboration("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, AddMemberRoundTripAndErrors) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK(store_->AddMember("campaign",
                              {.name = "publisher",
                               .can_query = false,
                               .can_receive = true,
                               .status = MemberStatus::kInvited},
                              "retailer"));
  ASSERT_OK_AND_ASSIGN(Collaboration got, store_->GetCollaboration("campaign"));
  ASSERT_EQ(got.members.size(), 3u);
  EXPECT_EQ(got.members[2].name, "publisher");
  EXPECT_FALSE(got.members[2].can_query);
  EXPECT_TRUE(got.members[2].can_receive);
  EXPECT_EQ(got.members[2].status, MemberStatus::kInvited);

  ExpectError(store_->AddMember("campaign", {.name = "publisher"}, "retailer"),
              absl::StatusCode::kAlreadyExists,
              "member 'publisher' already exists in collaboration 'campaign'");
  ExpectError(store_->AddMember("nowhere", {.name = "publisher"}, "retailer"),
              absl::StatusCode::kNotFound, "collaboration 'nowhere' not found");

  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "member.add");
  EXPECT_EQ(entry.actor, "retailer");
  EXPECT_EQ(entry.collaboration, "campaign");
  EXPECT_EQ(entry.details_json,
            R"({"abilities":["receive"],"member":"publisher","status":"invited"})");
}

TEST_F(StoreTest, SetMemberStatusRoundTripAndErrors) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ++now_;
  ASSERT_OK(store_->SetMemberStatus("campaign", "supplier", MemberStatus::kActive, "supplier"));
  ASSERT_OK_AND_ASSIGN(Collaboration got, store_->GetCollaboration("campaign"));
  EXPECT_EQ(got.members[1].status, MemberStatus::kActive);
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "member.status");
  EXPECT_EQ(entry.actor, "supplier");
  EXPECT_EQ(entry.time, kStart + 1);
  EXPECT_EQ(entry.details_json, R"({"from":"invited","member":"supplier","to":"active"})");

  ExpectError(store_->SetMemberStatus("campaign", "stranger", MemberStatus::kLeft, "retailer"),
              absl::StatusCode::kNotFound,
              "member 'stranger' not found in collaboration 'campaign'");
  ExpectError(store_->SetMemberStatus("nowhere", "supplier", MemberStatus::kLeft, "retailer"),
              absl::StatusCode::kNotFound, "collaboration 'nowhere' not found");
}

// --- Tables and rules -------------------------------------------------------------------------

TEST_F(StoreTest, TableRoundTrip) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  now_ += 10;
  Table table = Retail();
  table.rule_json = R"({ "kind": "list", "join_columns": ["hashed_email"] })";
  ASSERT_OK(store_->AddTable(table, "retailer"));
  ASSERT_OK_AND_ASSIGN(Table got, store_->GetTable("campaign", "retail"));
  EXPECT_EQ(got.collaboration, "campaign");
  EXPECT_EQ(got.name, "retail");
  EXPECT_EQ(got.owner, "retailer");
  EXPECT_EQ(got.source_kind, "files");
  // Stored canonical: keys sorted, no whitespace.
  EXPECT_EQ(got.source_json, R"({"format":"parquet","path":"/data/retail/*.parquet"})");
  ASSERT_EQ(got.source_schema.size(), 4u);
  EXPECT_EQ(got.source_schema[3].name, "spend");
  EXPECT_EQ(got.source_schema[3].type, "DOUBLE");
  EXPECT_THAT(got.allowed_columns, ElementsAre("household_id", "hashed_email", "age_band"));
  EXPECT_EQ(got.rule_json, R"({"join_columns":["hashed_email"],"kind":"list"})");
  EXPECT_EQ(got.created_at, kStart + 10);
  EXPECT_EQ(RawText("SELECT source_schema FROM tables"),
            R"([{"name":"household_id","type":"BIGINT"},{"name":"hashed_email","type":"VARCHAR"},)"
            R"({"name":"age_band","type":"VARCHAR"},{"name":"spend","type":"DOUBLE"}])");

  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "table.add");
  EXPECT_EQ(entry.details_json,
            absl::StrCat(R"({"allowed_columns":["household_id","hashed_email","age_band"],)",
                         R"("owner":"retailer","rule_sha256":")", crypto::Sha256Hex(*got.rule_json),
                         R"(","source_kind":"files","table":"retail"})"));
}

TEST_F(StoreTest, ListTablesOrdersByNameAndTableWithoutRuleHasNone) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Table table = Retail();
  table.name = "zoo";
  table.source_kind = "postgres";
  table.source_json = R"({"table":"zoo"})";
  ASSERT_OK(store_->AddTable(table, "retailer"));
  table.name = "apple";
  table.owner = "supplier";
  ASSERT_OK(store_->AddTable(table, "supplier"));
  ASSERT_OK_AND_ASSIGN(std::vector<Table> tables, store_->ListTables("campaign"));
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "apple");
  EXPECT_EQ(tables[0].owner, "supplier");
  EXPECT_EQ(tables[1].name, "zoo");
  EXPECT_EQ(tables[1].source_kind, "postgres");
  EXPECT_EQ(tables[1].source_json, R"({"table":"zoo"})");
  EXPECT_EQ(tables[1].rule_json, std::nullopt);
  ExpectError(store_->ListTables("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, AddTableErrors) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK(store_->AddTable(Retail(), "retailer"));
  ExpectError(store_->AddTable(Retail(), "retailer"), absl::StatusCode::kAlreadyExists,
              "table 'retail' already exists in collaboration 'campaign'");

  Table table = Retail();
  table.name = "other";
  table.owner = "stranger";
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kNotFound,
              "member 'stranger' not found in collaboration 'campaign'");
  table = Retail();
  table.collaboration = "nowhere";
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
  table = Retail();
  table.allowed_columns.push_back("income");
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
              "allowed column 'income' is not in the schema of table 'retail'");
  table = Retail();
  table.allowed_columns.push_back("AGE_BAND");
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
              "allowed column 'AGE_BAND' is listed twice for table 'retail'");
  table = Retail();
  table.source_schema.push_back({"Spend", "BIGINT"});
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
              "the schema of table 'retail' lists column 'Spend' twice");
  // The connector validates the description's content; the catalog only its form.
  for (const char* kind : {"", "Files", "1files", "files-csv", "files\n"}) {
    table = Retail();
    table.source_kind = kind;
    ExpectError(
        store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
        absl::StrCat("invalid source kind '", absl::CHexEscape(kind), "' for table 'retail'"));
  }
  for (const char* description : {"", "[]", "\"/data\"", "{\"path\":"}) {
    table = Retail();
    table.source_json = description;
    ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
                "the source description of table 'retail' is not a JSON object");
  }
  table = Retail();
  table.name = "with_rule";
  table.rule_json = "[1, 2]";
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
              "the rule for table 'with_rule' is not a JSON object");

  EXPECT_THAT(Actions(), ElementsAre("collaboration.create", "table.add"));
}

TEST_F(StoreTest, GetTableNotFound) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ExpectError(store_->GetTable("campaign", "retail").status(), absl::StatusCode::kNotFound,
              "table 'retail' not found in collaboration 'campaign'");
  ExpectError(store_->GetTable("nowhere", "retail").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, SetRuleReplacesTheRuleAndAuditsBothHashes) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK(store_->AddTable(Retail(), "retailer"));
  const std::string first = R"({"kind":"list","list_columns":["age_band"]})";
  const std::string second = R"({"kind":"custom","any_query":true})";
  ASSERT_OK(store_->SetRule("campaign", "retail", first, "retailer"));
  EXPECT_EQ(LastAudit().details_json, absl::StrCat(R"({"rule_sha256":")", crypto::Sha256Hex(first),
                                                   R"(","table":"retail"})"));

  // Written with spaces and unsorted keys: stored and hashed in canonical form.
  ASSERT_OK(store_->SetRule("campaign", "retail", R"({"kind": "custom", "any_query": true})",
                            "retailer"));
  ASSERT_OK_AND_ASSIGN(Table got, store_->GetTable("campaign", "retail"));
  const std::string canonical_second = R"({"any_query":true,"kind":"custom"})";
  EXPECT_EQ(got.rule_json, canonical_second);
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "rule.set");
  EXPECT_EQ(
      entry.details_json,
      absl::StrCat(R"({"previous_rule_sha256":")", crypto::Sha256Hex(first), R"(","rule_sha256":")",
                   crypto::Sha256Hex(canonical_second), R"(","table":"retail"})"));
}

TEST_F(StoreTest, SetRuleErrors) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK(store_->AddTable(Retail(), "retailer"));
  ExpectError(store_->SetRule("campaign", "retail", "{not json", "retailer"),
              absl::StatusCode::kInvalidArgument,
              "the rule for table 'retail' is not a JSON object");
  ExpectError(store_->SetRule("campaign", "loyalty", "{}", "retailer"), absl::StatusCode::kNotFound,
              "table 'loyalty' not found in collaboration 'campaign'");
  ExpectError(store_->SetRule("nowhere", "retail", "{}", "retailer"), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
  ASSERT_OK_AND_ASSIGN(Table got, store_->GetTable("campaign", "retail"));
  EXPECT_EQ(got.rule_json, std::nullopt);
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create", "table.add"));
}

// --- Queries ----------------------------------------------------------------------------------

TEST_F(StoreTest, QueryRoundTrip) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  now_ += 5;
  QueryRecord query = Query(QueryStatus::kSucceeded);
  query.verdict_json = "";
  query.rendered_sql = "SELECT age_band, count(DISTINCT household_id) FROM retail";
  query.result_path = "/home/results/1.parquet";
  query.row_count = 7;
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(query));
  EXPECT_EQ(id, 1);
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.id, 1);
  EXPECT_EQ(got.collaboration, "campaign");
  EXPECT_EQ(got.runner, "supplier");
  EXPECT_EQ(got.sql, query.sql);
  EXPECT_EQ(got.status, QueryStatus::kSucceeded);
  EXPECT_EQ(got.verdict_json, "");
  EXPECT_EQ(got.rendered_sql, query.rendered_sql);
  EXPECT_THAT(got.receivers, ElementsAre("supplier", "retailer"));
  EXPECT_THAT(got.tables, ElementsAre("retail", "loyalty"));
  EXPECT_EQ(got.result_path, "/home/results/1.parquet");
  EXPECT_EQ(got.row_count, 7);
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.created_at, kStart + 5);

  // The audit entry names the query, never its text, its results, its row count or how it
  // ended: every member reads the log, and those are for the receivers.
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.finished");
  EXPECT_EQ(entry.actor, "supplier");
  EXPECT_EQ(entry.details_json,
            R"({"query_id":1,"receivers":["supplier","retailer"],"tables":["retail","loyalty"]})");
}

// The service records a submission and its verdict in one write transaction.
TEST_F(StoreTest, RecordQueryCanAppendTheSubmissionFirst) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK_AND_ASSIGN(
      int64_t id, store_->RecordQuery(Query(QueryStatus::kRejected), R"({"sql_sha256": "ab"})"));
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].action, "query.submitted");
  EXPECT_EQ(entries[1].actor, "supplier");
  EXPECT_EQ(entries[1].details_json, R"({"sql_sha256":"ab"})");
  EXPECT_EQ(entries[2].action, "query.rejected");
  EXPECT_THAT(entries[2].details_json, ::testing::StartsWith(absl::StrCat(R"({"query_id":)", id)));
  EXPECT_EQ(entries[1].state_sha256, entries[2].state_sha256);
  ExpectError(store_->RecordQuery(Query(QueryStatus::kRejected), "[1]").status(),
              absl::StatusCode::kInvalidArgument,
              "the details of audit action 'query.submitted' are not a JSON object");
  EXPECT_EQ(Actions().size(), 3u);  // nothing written by the refused call
}

TEST_F(StoreTest, RejectedAndFailedQueriesAreRecordedAndListedInOrder) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  QueryRecord rejected = Query(QueryStatus::kRejected);
  rejected.verdict_json = R"({"violations":[{"rule":"aggregation"}]})";
  QueryRecord failed = Query(QueryStatus::kFailed);
  failed.error = "Conversion Error: could not convert string 'secret@example.com' to INT64";
  ASSERT_OK_AND_ASSIGN(int64_t first, store_->RecordQuery(rejected));
  ASSERT_OK_AND_ASSIGN(int64_t second, store_->RecordQuery(failed));
  EXPECT_EQ(second, first + 1);

  ASSERT_OK_AND_ASSIGN(std::vector<QueryRecord> queries, store_->ListQueries("campaign"));
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].status, QueryStatus::kRejected);
  EXPECT_EQ(queries[0].verdict_json, rejected.verdict_json);
  EXPECT_EQ(queries[1].status, QueryStatus::kFailed);
  EXPECT_EQ(queries[1].error, failed.error);

  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> audit, store_->ListAudit("campaign"));
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[1].action, "query.rejected");
  EXPECT_EQ(audit[2].action, "query.finished");
  // No error text (it can quote data), and not even that it failed.
  EXPECT_EQ(audit[2].details_json,
            R"({"query_id":2,"receivers":["supplier","retailer"],"tables":["retail","loyalty"]})");
}

// A query is recorded running before it executes and finished afterwards; the audit log says
// that it started and finished, and nothing of how.
TEST_F(StoreTest, ARunningQueryIsFinishedOnce) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  QueryRecord running = Query(QueryStatus::kRunning);
  running.run_lock = "run-1.lock";
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(running));
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.status, QueryStatus::kRunning);
  EXPECT_EQ(got.run_lock, "run-1.lock");
  EXPECT_EQ(LastAudit().action, "query.started");

  QueryRecord outcome;
  outcome.status = QueryStatus::kFailed;
  outcome.error = "query failed during execution: conversion error";
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, checked.digest));
  EXPECT_FALSE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.status, QueryStatus::kFailed);
  EXPECT_EQ(got.error, outcome.error);
  EXPECT_EQ(got.run_lock, "");
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.finished");
  EXPECT_EQ(entry.actor, "supplier");
  EXPECT_EQ(entry.details_json, R"({"query_id":1})");

  ExpectError(store_->FinishQuery("campaign", id, outcome, checked.digest).status(),
              absl::StatusCode::kFailedPrecondition, "query 1 is failed, not running");
  outcome.status = QueryStatus::kKilled;
  ExpectError(store_->FinishQuery("campaign", id, outcome, checked.digest).status(),
              absl::StatusCode::kInvalidArgument,
              "a query finishes succeeded, failed or cancelled, not killed");
}

TEST_F(StoreTest, RunningQueriesWhoseProcessDiedAreMarkedKilled) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  QueryRecord alive = Query(QueryStatus::kRunning);
  alive.run_lock = "run-alive.lock";
  QueryRecord dead = Query(QueryStatus::kRunning);
  dead.run_lock = "run-dead.lock";
  ASSERT_OK_AND_ASSIGN(int64_t alive_id, store_->RecordQuery(alive));
  ASSERT_OK_AND_ASSIGN(int64_t dead_id, store_->RecordQuery(dead));
  ASSERT_OK(store_->RecordQuery(Query(QueryStatus::kRejected)).status());
  std::vector<std::string> asked;
  auto abandoned = [&](const QueryRecord& query) {
    asked.push_back(query.run_lock);
    return query.run_lock == "run-dead.lock";
  };
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> killed, store_->MarkKilledQueries(abandoned));
  EXPECT_THAT(killed, ElementsAre(dead_id));
  EXPECT_THAT(asked, ElementsAre("run-alive.lock", "run-dead.lock")) << "running queries only";
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", dead_id));
  EXPECT_EQ(got.status, QueryStatus::kKilled);
  ASSERT_OK_AND_ASSIGN(got, store_->GetQuery("campaign", alive_id));
  EXPECT_EQ(got.status, QueryStatus::kRunning);
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.killed");
  EXPECT_EQ(entry.details_json, absl::StrCat(R"({"query_id":)", dead_id, "}"));
  // Marked once.
  asked.clear();
  ASSERT_OK_AND_ASSIGN(killed, store_->MarkKilledQueries(abandoned));
  EXPECT_THAT(killed, ElementsAre());
  EXPECT_THAT(asked, ElementsAre("run-alive.lock"));
}

TEST_F(StoreTest, AFileIsClaimedByTheFirstMemberToRegisterIt) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Table retail = Retail();
  ASSERT_OK(store_->AddTable(retail, "retailer", {{1, 10}, {1, 11}}));
  Table copy = Retail();
  copy.name = "copy";
  copy.owner = "supplier";
  ExpectError(store_->AddTable(copy, "supplier", {{1, 12}, {1, 11}}),
              absl::StatusCode::kPermissionDenied,
              "table 'copy' reads a file another member registered");
  ExpectError(store_->GetTable("campaign", "copy").status(), absl::StatusCode::kNotFound,
              "table 'copy' not found in collaboration 'campaign'");
  // Its own file again, under another name: fine.
  copy.owner = "retailer";
  ASSERT_OK(store_->AddTable(copy, "retailer", {{1, 11}, {1, 12}}));
  ASSERT_OK_AND_ASSIGN(auto claims, store_->ListFileClaims());
  EXPECT_EQ(claims.size(), 3u);
  EXPECT_EQ(claims[(FileIdentity{1, 10})], "retailer");
  EXPECT_EQ(claims[(FileIdentity{1, 12})], "retailer") << "the refused registration claimed none";
}

TEST_F(StoreTest, QueryErrors) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Query(QueryStatus::kRejected)));
  // A query id from another collaboration is not visible here.
  ExpectError(store_->GetQuery("other", id).status(), absl::StatusCode::kNotFound,
              "query 1 not found in collaboration 'other'");
  ExpectError(store_->GetQuery("campaign", 99).status(), absl::StatusCode::kNotFound,
              "query 99 not found in collaboration 'campaign'");
  QueryRecord query = Query(QueryStatus::kRejected);
  query.runner = "stranger";
  ExpectError(store_->RecordQuery(query).status(), absl::StatusCode::kNotFound,
              "member 'stranger' not found in collaboration 'campaign'");
  query.collaboration = "nowhere";
  ExpectError(store_->RecordQuery(query).status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
  ExpectError(store_->ListQueries("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
  ASSERT_OK_AND_ASSIGN(std::vector<QueryRecord> queries, store_->ListQueries("other"));
  EXPECT_THAT(queries, IsEmpty());
}

// --- Audit log --------------------------------------------------------------------------------

TEST_F(StoreTest, AuditEntriesFollowTheDocumentedHashChain) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ++now_;
  ASSERT_OK(store_->AppendAudit("", "operator", "catalog.backup", R"({"b": 2, "a": [1]})"));

  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
  ASSERT_EQ(entries.size(), 2u);
  const AuditEntry& first = entries[0];
  EXPECT_EQ(first.seq, 1);
  EXPECT_EQ(first.time, kStart);
  EXPECT_EQ(first.collaboration, "campaign");
  EXPECT_EQ(first.actor, "retailer");
  EXPECT_EQ(first.action, "collaboration.create");
  const std::string details =
      R"({"creator":"retailer","members":[{"abilities":["query","receive"],"name":"retailer",)"
      R"("status":"active"},{"abilities":["query"],"name":"supplier","status":"invited"}],)"
      R"("query_logging":true})";
  EXPECT_EQ(first.details_json, details);
  // The policy state after the action, as documented in docs/audit.md: the digest of the digests
  // of its parts.
  const std::string settings =
      crypto::Sha256Hex(R"({"creator":"retailer","description":"joint ad campaign",)"
                        R"("name":"campaign","query_logging":true})");
  const std::string retailer = crypto::Sha256Hex(
      R"({"can_query":true,"can_receive":true,"name":"retailer","status":"active"})");
  const std::string supplier = crypto::Sha256Hex(
      R"({"can_query":true,"can_receive":false,"name":"supplier","status":"invited"})");
  const std::string parts =
      absl::StrCat(R"({"collaboration":")", settings, R"(","members":{"retailer":")", retailer,
                   R"(","supplier":")", supplier, R"("},"tables":{},"templates":{}})");
  const std::string state = crypto::Sha256Hex(parts);
  EXPECT_EQ(first.state_sha256, state);
  EXPECT_EQ(RawText("SELECT state_parts FROM audit WHERE collaboration = 'campaign' AND seq = 1"),
            parts);
  EXPECT_EQ(first.prev_hash, kZeroHash);
  EXPECT_EQ(first.hash, crypto::Sha256Hex(kZeroHash + "\n" +
                                          R"({"action":"collaboration.create","actor":"retailer",)"
                                          R"("collaboration":"campaign","details":)" +
                                          details + R"(,"seq":1,"state":")" + state +
                                          R"(","time":1700000000})"));

  // Catalog-wide actions form their own chain, numbered and linked afresh, with no state.
  const AuditEntry& second = entries[1];
  EXPECT_EQ(second.seq, 1);
  EXPECT_EQ(second.collaboration, "");
  EXPECT_EQ(second.details_json, R"({"a":[1],"b":2})");
  EXPECT_EQ(second.state_sha256, "");
  EXPECT_EQ(second.prev_hash, kZeroHash);
  EXPECT_EQ(second.hash,
            crypto::Sha256Hex(kZeroHash + "\n" +
                              R"({"action":"catalog.backup","actor":"operator",)"
                              R"("collaboration":"","details":{"a":[1],"b":2},"seq":1,)"
                              R"("state":"","time":1700000001})"));
  EXPECT_EQ(RawText("SELECT group_concat(collaboration || ' ' || seq || ' ' || hash, ';') FROM "
                    "(SELECT * FROM audit_heads ORDER BY collaboration)"),
            absl::StrCat(" 1 ", second.hash, ";campaign 1 ", first.hash));

  // The next entry of the collaboration chains to its previous entry, not to the catalog-wide one.
  ++now_;
  ASSERT_OK(store_->AddMember("campaign", {.name = "publisher"}, "retailer"));
  AuditEntry third = LastAudit();
  EXPECT_EQ(third.seq, 2);
  EXPECT_EQ(third.prev_hash, first.hash);
}

TEST_F(StoreTest, AppendAuditValidatesItsInput) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ExpectError(store_->AppendAudit("campaign", "retailer", "query.submitted", "[1]"),
              absl::StatusCode::kInvalidArgument,
              "the details of audit action 'query.submitted' are not a JSON object");
  ExpectError(store_->AppendAudit("campaign", "retailer", "Query Submitted", "{}"),
              absl::StatusCode::kInvalidArgument, "invalid audit action 'Query Submitted'");
  ExpectError(store_->AppendAudit("nowhere", "retailer", "query.submitted", "{}"),
              absl::StatusCode::kNotFound, "collaboration 'nowhere' not found");
  ASSERT_OK(store_->AppendAudit("campaign", "supplier", "query.submitted", ""));
  EXPECT_EQ(LastAudit().details_json, "{}");
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create", "query.submitted"));
}

// A submission and its record are one transaction: the "query.submitted" entry comes first, then
// the record's own entry; details that are not a JSON object write nothing.
TEST_F(StoreTest, RecordQueryWritesTheSubmissionInTheSameTransaction) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ExpectError(store_->RecordQuery(Query(QueryStatus::kRejected), "[1]").status(),
              absl::StatusCode::kInvalidArgument,
              "the details of audit action 'query.submitted' are not a JSON object");
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create"));
  ASSERT_OK(store_->RecordQuery(Query(QueryStatus::kRunning), R"({"sql_sha256":"ab"})").status());
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].action, "query.submitted");
  EXPECT_EQ(entries[1].actor, "supplier");
  EXPECT_EQ(entries[1].details_json, R"({"sql_sha256":"ab"})");
  EXPECT_EQ(entries[2].action, "query.started");
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit());
  EXPECT_TRUE(verification.ok) << verification.problem;
}

TEST_F(StoreTest, ListAuditFiltersByCollaboration) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK(store_->AddMember("campaign", {.name = "publisher"}, "retailer"));
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  ASSERT_EQ(entries.size(), 2u);
  // Numbered within the collaboration: nothing shows how busy the other one is.
  EXPECT_EQ(entries[0].seq, 1);
  EXPECT_EQ(entries[1].seq, 2);
  ExpectError(store_->ListAudit("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, EveryMutationWritesItsAuditEntry) {
  BuildHistory();
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create", "member.add", "table.add", "rule.set",
                                     "query.finished"));
}

// A change and its audit entry commit together: when the audit insert fails, the table insert
// that preceded it in the same transaction must be rolled back too.
TEST_F(StoreTest, FailedAddTableLeavesNoTableAndNoAuditEntry) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Tamper(
      "CREATE TRIGGER audit_offline BEFORE INSERT ON audit "
      "BEGIN SELECT RAISE(ABORT, 'audit offline'); END");
  absl::Status status = store_->AddTable(Retail(), "retailer");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("audit offline"));
  ExpectError(store_->GetTable("campaign", "retail").status(), absl::StatusCode::kNotFound,
              "table 'retail' not found in collaboration 'campaign'");
  EXPECT_EQ(RawText("SELECT seq FROM audit_heads WHERE collaboration = 'campaign'"), "1");

  // Likewise for a member.
  EXPECT_EQ(store_->AddMember("campaign", {.name = "publisher"}, "retailer").code(),
            absl::StatusCode::kInternal);
  ASSERT_OK_AND_ASSIGN(Collaboration got, store_->GetCollaboration("campaign"));
  EXPECT_EQ(got.members.size(), 2u);

  Tamper("DROP TRIGGER audit_offline");
  ASSERT_OK(store_->AddTable(Retail(), "retailer"));
  EXPECT_THAT(Actions(), ElementsAre("collaboration.create", "table.add"));
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit());
  EXPECT_TRUE(verification.ok) << verification.problem;
}

TEST_F(StoreTest, VerifyAuditAcceptsAnUntamperedChain) {
  ASSERT_OK_AND_ASSIGN(AuditVerification empty, store_->VerifyAudit());
  EXPECT_TRUE(empty.ok) << empty.problem;
  EXPECT_EQ(empty.entries, 0);

  BuildHistory();
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit());
  EXPECT_TRUE(verification.ok) << verification.problem;
  EXPECT_EQ(verification.entries, 5);
  EXPECT_EQ(verification.problem, "");
  EXPECT_THAT(verification.heads, ElementsAre(Pair("campaign", LastAudit().hash)));

  ASSERT_OK_AND_ASSIGN(AuditVerification campaign, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(campaign.ok) << campaign.problem;
  EXPECT_EQ(campaign.entries, 5);
  EXPECT_THAT(campaign.heads, ElementsAre(Pair("campaign", LastAudit().hash)));
  ExpectError(store_->VerifyAudit("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, VerifyAuditDetectsAnEditedEntry) {
  BuildHistory();
  Tamper(R"(UPDATE audit SET details_json = '{"abilities":["query","receive"],)"
         R"("member":"publisher","status":"active"}' WHERE seq = 2)");
  ExpectTampered("audit entry 2 was edited: its hash does not match its contents", 1);
}

TEST_F(StoreTest, VerifyAuditDetectsAnEditedActorOrTime) {
  BuildHistory();
  Tamper("UPDATE audit SET time = time + 1 WHERE seq = 4");
  ExpectTampered("audit entry 4 was edited: its hash does not match its contents", 3);
}

TEST_F(StoreTest, VerifyAuditDetectsNonCanonicalDetails) {
  BuildHistory();
  Tamper(R"(UPDATE audit SET details_json = '{ "member":"publisher"}' WHERE seq = 2)");
  ExpectTampered("audit entry 2 was edited: its hash does not match its contents", 1);
}

TEST_F(StoreTest, VerifyAuditDetectsAReorderedPair) {
  BuildHistory();
  Tamper(
      "UPDATE audit SET seq = -3 WHERE seq = 3; "
      "UPDATE audit SET seq = 3 WHERE seq = 2; "
      "UPDATE audit SET seq = 2 WHERE seq = -3;");
  ExpectTampered(
      "audit entry 2 does not chain to entry 1: entries were reordered, removed or rewritten", 1);
}

TEST_F(StoreTest, VerifyAuditDetectsADeletedMiddleEntry) {
  BuildHistory();
  Tamper("DELETE FROM audit WHERE seq = 3");
  ExpectTampered("audit entry 3 is missing or out of order", 2);
}

TEST_F(StoreTest, VerifyAuditDetectsADeletedAndRenumberedEntry) {
  BuildHistory();
  Tamper("DELETE FROM audit WHERE seq = 3; UPDATE audit SET seq = seq - 1 WHERE seq > 3;");
  ExpectTampered(
      "audit entry 3 does not chain to entry 2: entries were reordered, removed or rewritten", 2);
}

TEST_F(StoreTest, VerifyAuditDetectsADeletedLastEntry) {
  BuildHistory();
  Tamper("DELETE FROM audit WHERE seq = 5");
  ExpectTampered("the audit entries after entry 4 are missing (the head records entry 5)", 4);
}

TEST_F(StoreTest, VerifyAuditDetectsDeletedLastEntries) {
  BuildHistory();
  Tamper("DELETE FROM audit WHERE seq >= 4");
  ExpectTampered("the audit entries after entry 3 are missing (the head records entry 5)", 3);
}

TEST_F(StoreTest, VerifyAuditDetectsARehashedLastEntry) {
  // An attacker who edits the last entry and recomputes its hash still disagrees with the head.
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
  const AuditEntry& last = entries.back();
  std::string forged_details = R"({"query_id":1,"receivers":[],"row_count":0,"tables":[]})";
  std::string forged_hash = crypto::Sha256Hex(
      last.prev_hash + "\n" + R"({"action":"query.finished","actor":"supplier",)" +
      R"("collaboration":"campaign","details":)" + forged_details + R"(,"seq":5,"state":")" +
      last.state_sha256 + R"(","time":)" + std::to_string(last.time) + "}");
  Tamper(absl::StrCat("UPDATE audit SET details_json = '", forged_details, "', hash = '",
                      forged_hash, "' WHERE seq = 5"));
  ExpectTampered("audit entry 5 was edited: it does not match the audit head", 4);
}

TEST_F(StoreTest, VerifyAuditDetectsEntriesAddedBehindTheHead) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
  // A well-formed entry 6, chained and hashed correctly, but written straight into the file.
  const std::string& state = entries.back().state_sha256;
  std::string forged_hash =
      crypto::Sha256Hex(entries.back().hash + "\n" +
                        R"({"action":"member.add","actor":"retailer","collaboration":"campaign",)" +
                        R"("details":{},"seq":6,"state":")" + state + R"(","time":1})");
  Tamper(absl::StrCat(
      "INSERT INTO audit (collaboration, seq, time, actor, action, details_json, prev_hash, hash, "
      "state_sha256, state_parts) VALUES ('campaign', 6, 1, 'retailer', 'member.add', '{}', '",
      entries.back().hash, "', '", forged_hash, "', '", state, "', '')"));
  ExpectTampered("audit entry 6 was added outside the catalog: the head records entry 5", 5);
}

TEST_F(StoreTest, VerifyAuditDetectsAMissingOrEditedHead) {
  BuildHistory();
  Tamper("UPDATE audit_heads SET hash = '" + kZeroHash + "'");
  ExpectTampered("audit entry 5 was edited: it does not match the audit head", 4);
  Tamper("DELETE FROM audit_heads");
  ExpectTampered("the audit head is missing", 5);
}

// --- One chain per collaboration ------------------------------------------------------------

TEST_F(StoreTest, EachCollaborationVerifiesItsOwnChain) {
  BuildHistory();
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK(store_->AddMember("other", {.name = "publisher"}, "retailer"));
  ASSERT_OK(store_->AddMember("campaign", {.name = "agency"}, "retailer"));
  // Entries of the two rooms interleave in the catalog; each chain links its own.
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> campaign, store_->ListAudit("campaign"));
  ASSERT_EQ(campaign.size(), 6u);
  EXPECT_EQ(campaign[5].seq, 6);
  EXPECT_EQ(campaign[5].prev_hash, campaign[4].hash);

  // Editing the other room's log leaves the campaign verifiable by its members.
  Tamper(
      R"(UPDATE audit SET details_json = '{"member":"agency"}' WHERE collaboration = 'other' AND )"
      "seq = 2");
  ASSERT_OK_AND_ASSIGN(AuditVerification mine, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(mine.ok) << mine.problem;
  EXPECT_EQ(mine.entries, 6);
  EXPECT_THAT(mine.heads, ElementsAre(Pair("campaign", campaign[5].hash)));
  absl::StatusOr<AuditVerification> theirs = store_->VerifyAudit("other");
  ASSERT_OK(theirs.status());
  EXPECT_FALSE(theirs->ok);
  EXPECT_EQ(theirs->problem, "audit entry 2 was edited: its hash does not match its contents");
  // The operator's verification of the whole catalog names the room.
  ASSERT_OK_AND_ASSIGN(AuditVerification all, store_->VerifyAudit());
  EXPECT_FALSE(all.ok);
  EXPECT_EQ(all.problem,
            "collaboration 'other': audit entry 2 was edited: its hash does not match its "
            "contents");
  EXPECT_THAT(all.heads, IsEmpty());
}

// --- The policy state the chain commits to ------------------------------------------------------

// A policy change made with the sqlite3 shell instead of Parley: verification reports it, and
// the store refuses every action in that collaboration (an action would otherwise record the
// edited state as its own and hide the edit), while other collaborations carry on.
struct StateTampering {
  std::string name;
  std::string sql;
  std::string what;  // how verification names the change
  friend void PrintTo(const StateTampering& tampering, std::ostream* os) { *os << tampering.sql; }
};

class StoreStateTamperingTest : public StoreTest,
                                public ::testing::WithParamInterface<StateTampering> {};

TEST_P(StoreStateTamperingTest, IsDetectedAndFreezesTheCollaboration) {
  BuildHistory();
  AnalysisTemplate analysis;
  analysis.id = std::string(64, 'a');
  analysis.collaboration = "campaign";
  analysis.name = "reach";
  analysis.sql = "SELECT 1";
  analysis.parameters_json = "[]";
  ASSERT_OK(store_->CreateTemplate(analysis, "supplier"));
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK_AND_ASSIGN(AuditVerification before, store_->VerifyAudit("campaign"));
  ASSERT_TRUE(before.ok) << before.problem;

  ASSERT_GT(Tamper(GetParam().sql), 0);
  const std::string reported = absl::StrCat(
      "the policy state (members, tables, rules, templates) was changed outside Parley after "
      "audit entry 6: ",
      GetParam().what);
  ExpectTampered(reported, 6);

  const std::string refused = absl::StrCat(
      "collaboration 'campaign' was changed outside Parley (", GetParam().what,
      "): its catalog records no longer match its audit log, so nothing can change or run in it "
      "until the catalog is restored");
  ExpectError(store_->SetRule("campaign", "retail", R"({"kind":"custom"})", "retailer"),
              absl::StatusCode::kFailedPrecondition, refused);
  ExpectError(store_->AddMember("campaign", {.name = "agency"}, "retailer"),
              absl::StatusCode::kFailedPrecondition, refused);
  ExpectError(store_->RecordQuery(Query(QueryStatus::kRejected)).status(),
              absl::StatusCode::kFailedPrecondition, refused);
  ExpectError(store_->AppendAudit("campaign", "supplier", "query.submitted", "{}"),
              absl::StatusCode::kFailedPrecondition, refused);
  // Nothing was appended, so the report is unchanged.
  ExpectTampered(reported, 6);
  ASSERT_OK(store_->AddMember("other", {.name = "agency"}, "retailer"));
  ASSERT_OK_AND_ASSIGN(AuditVerification unaffected, store_->VerifyAudit("other"));
  EXPECT_TRUE(unaffected.ok) << unaffected.problem;
}

INSTANTIATE_TEST_SUITE_P(
    EveryPartOfThePolicy, StoreStateTamperingTest,
    ::testing::Values(
        StateTampering{"Rule",
                       R"(UPDATE tables SET rule_json = '{"kind":"custom"}' WHERE name = 'retail')",
                       "table 'retail' changed"},
        StateTampering{"RuleRemoved", "UPDATE tables SET rule_json = NULL",
                       "table 'retail' changed"},
        StateTampering{"AllowedColumns",
                       R"(UPDATE tables SET allowed_columns = '["household_id","spend"]')",
                       "table 'retail' changed"},
        StateTampering{"PinnedSchema",
                       "UPDATE tables SET source_schema = replace(source_schema, 'DOUBLE', "
                       "'VARCHAR')",
                       "table 'retail' changed"},
        StateTampering{
            "Source",
            R"(UPDATE tables SET source = '{"format":"parquet","path":"/data/s.parquet"}')",
            "table 'retail' changed"},
        StateTampering{"SourceKind", "UPDATE tables SET source_kind = 'postgres'",
                       "table 'retail' changed"},
        StateTampering{"Owner", "UPDATE tables SET owner = 'publisher'", "table 'retail' changed"},
        StateTampering{"TableRemoved", "DELETE FROM tables", "table 'retail' removed"},
        StateTampering{"TableAdded",
                       "INSERT INTO tables (collaboration_id, name, owner, source_kind, source, "
                       "source_schema, allowed_columns, rule_json, created_at) SELECT "
                       "collaboration_id, 'copy', owner, source_kind, source, source_schema, "
                       "allowed_columns, rule_json, created_at FROM tables",
                       "table 'copy' added"},
        StateTampering{"MemberAbility",
                       "UPDATE members SET can_receive = 1 WHERE name = 'supplier' AND "
                       "collaboration_id = (SELECT id FROM collaborations WHERE name = "
                       "'campaign')",
                       "member 'supplier' changed"},
        StateTampering{"MemberStatus",
                       "UPDATE members SET status = 'removed' WHERE name = 'publisher'",
                       "member 'publisher' changed"},
        StateTampering{"MemberAdded",
                       "INSERT INTO members (collaboration_id, name, can_query, can_receive, "
                       "status) SELECT id, 'intruder', 1, 1, 'active' FROM collaborations WHERE "
                       "name = 'campaign'",
                       "member 'intruder' added"},
        StateTampering{"TemplateText", "UPDATE templates SET sql_text = 'SELECT 2'",
                       "template aaaaaaaaaaaa changed"},
        StateTampering{"TemplateAdded",
                       "INSERT INTO templates (collaboration_id, template_id, name, author, "
                       "sql_text, parameters_json, created_at) SELECT collaboration_id, "
                       "'b' || substr(template_id, 2), name, author, sql_text, parameters_json, "
                       "created_at FROM templates",
                       "template baaaaaaaaaaa added"},
        StateTampering{"Several",
                       "UPDATE tables SET rule_json = NULL; DELETE FROM templates; UPDATE members "
                       "SET can_query = 1 WHERE name = 'publisher'",
                       "member 'publisher' changed, table 'retail' changed, template aaaaaaaaaaaa "
                       "removed"},
        StateTampering{"QueryLogging",
                       "UPDATE collaborations SET query_logging = 0 WHERE name = 'campaign'",
                       "the collaboration's settings changed"}),
    [](const ::testing::TestParamInfo<StateTampering>& info) { return info.param.name; });

TEST_F(StoreTest, ARemovedCollaborationCannotBeCreatedAgainOverItsLog) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Tamper("DELETE FROM members; DELETE FROM collaborations;");
  ExpectTampered(
      "the policy state (members, tables, rules, templates) was changed outside Parley after "
      "audit entry 1",
      1);
  EXPECT_EQ(store_->CreateCollaboration(Campaign()).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, ACollaborationInsertedBehindTheLogIsReported) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Tamper(
      "INSERT INTO collaborations (name, description, creator, query_logging, created_at) "
      "VALUES ('forged', '', 'retailer', 0, 1)");
  ASSERT_OK_AND_ASSIGN(AuditVerification forged, store_->VerifyAudit("forged"));
  EXPECT_FALSE(forged.ok);
  EXPECT_EQ(forged.problem,
            "the policy state (members, tables, rules, templates) was changed outside Parley; "
            "the log has no entry for it");
  EXPECT_EQ(store_->AddMember("forged", {.name = "publisher"}, "retailer").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, EveryEntryRecordsThePolicyStateAfterItsAction) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot snapshot, store_->GetPolicySnapshot("campaign"));
  EXPECT_EQ(snapshot.collaboration.name, "campaign");
  ASSERT_EQ(snapshot.tables.size(), 1u);
  EXPECT_EQ(snapshot.tables[0].rule_json, R"({"kind":"list"})");
  EXPECT_EQ(snapshot.digest, PolicyStateDigest(snapshot.collaboration, snapshot.tables, {}));
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  // A query changes no policy; each of the four changes before it does.
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[4].state_sha256, snapshot.digest);
  EXPECT_EQ(entries[3].state_sha256, snapshot.digest);
  std::set<std::string> states;
  for (int i = 0; i < 4; ++i) states.insert(entries[i].state_sha256);
  EXPECT_EQ(states.size(), 4u);
  ExpectError(store_->GetPolicySnapshot("nowhere").status(), absl::StatusCode::kNotFound,
              "collaboration 'nowhere' not found");
}

TEST_F(StoreTest, PolicyStateDigestIgnoresReadingOrder) {
  Collaboration campaign = Campaign();
  Table first = Retail();
  Table second = Retail();
  second.name = "another";
  Collaboration reordered = campaign;
  std::swap(reordered.members[0], reordered.members[1]);
  EXPECT_EQ(PolicyStateDigest(campaign, {first, second}, {}),
            PolicyStateDigest(reordered, {second, first}, {}));
  // Any field of a record counts.
  Table narrower = second;
  narrower.allowed_columns.pop_back();
  EXPECT_NE(PolicyStateDigest(campaign, {first, second}, {}),
            PolicyStateDigest(campaign, {first, narrower}, {}));
  AnalysisTemplate analysis{.id = std::string(64, 'a'), .parameters_json = "[]"};
  AnalysisTemplate renamed = analysis;
  renamed.name = "renamed";
  EXPECT_NE(PolicyStateDigest(campaign, {}, {analysis}),
            PolicyStateDigest(campaign, {}, {renamed}));
}

// --- Delivery: the policy a query was checked against is still the policy -----------------------

TEST_F(StoreTest, FinishQueryKeepsTheResultWhenThePolicyIsUnchanged) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Query(QueryStatus::kRunning)));
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.result_path = "/results/1.json";
  outcome.row_count = 3;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, checked.digest));
  EXPECT_FALSE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(QueryRecord recorded, store_->GetQuery("campaign", id));
  EXPECT_EQ(recorded.status, QueryStatus::kSucceeded);
  EXPECT_EQ(recorded.result_path, "/results/1.json");
  EXPECT_EQ(recorded.row_count, 3);
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.finished");
  EXPECT_EQ(entry.details_json, absl::StrCat(R"({"query_id":)", id, "}"));
  EXPECT_EQ(entry.state_sha256, checked.digest);
}

TEST_F(StoreTest, FinishQueryFailsAQueryWhosePolicyChangedWhileItRan) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Query(QueryStatus::kRunning)));
  // While the query runs, the owner tightens its rule.
  ASSERT_OK(store_->SetRule("campaign", "retail", R"({"kind":"custom"})", "retailer"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot now, store_->GetPolicySnapshot("campaign"));
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.result_path = "/results/1.json";
  outcome.row_count = 3;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, checked.digest));
  EXPECT_TRUE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(QueryRecord recorded, store_->GetQuery("campaign", id));
  EXPECT_EQ(recorded.status, QueryStatus::kFailed);
  EXPECT_EQ(recorded.error, "policy changed during the run");
  EXPECT_EQ(recorded.result_path, "");
  EXPECT_EQ(recorded.row_count, 0);
  EXPECT_EQ(recorded.run_lock, "");
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.finished");
  EXPECT_EQ(entry.details_json, absl::StrCat(R"({"policy_changed":true,"query_id":)", id, "}"));
  EXPECT_EQ(entry.state_sha256, now.digest);
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// The policy read by GetPolicySnapshot and checked by every write is cached between calls; an
// edit from another connection empties the cache (PRAGMA data_version), so the next snapshot
// shows the edited records and their digest, and the next write is refused.
TEST_F(StoreTest, TheCachedPolicyIsReadAgainAfterAnEditFromOutside) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot before, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK(store_->RecordQuery(Query(QueryStatus::kRejected)).status());
  ASSERT_OK_AND_ASSIGN(PolicySnapshot cached, store_->GetPolicySnapshot("campaign"));
  EXPECT_EQ(cached.digest, before.digest);
  EXPECT_EQ(Tamper("UPDATE tables SET allowed_columns = '[]' WHERE name = 'retail'"), 1);
  ASSERT_OK_AND_ASSIGN(PolicySnapshot after, store_->GetPolicySnapshot("campaign"));
  EXPECT_NE(after.digest, before.digest);
  for (const Table& table : after.tables) {
    if (table.name == "retail") EXPECT_THAT(table.allowed_columns, ElementsAre());
  }
  ExpectError(store_->RecordQuery(Query(QueryStatus::kRejected)).status(),
              absl::StatusCode::kFailedPrecondition,
              "collaboration 'campaign' was changed outside Parley (table 'retail' changed): its "
              "catalog records no longer match its audit log, so nothing can change or run in it "
              "until the catalog is restored");
}

// Statements are prepared once per connection and kept (internal::StatementCache); a kept
// statement is reset when its call ends, so it holds no read open: another connection can
// checkpoint the whole log (TRUNCATE waits for every reader) between two calls of the store.
TEST_F(StoreTest, KeptStatementsHoldNoReadOpenBetweenCalls) {
  BuildHistory();
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store_->GetPolicySnapshot("campaign").status());
    QueryRecord running = Query(QueryStatus::kRunning);
    running.run_lock = absl::StrCat("run-", i, ".lock");
    ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(running));
    QueryRecord finished = Query(QueryStatus::kSucceeded);
    ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
    ASSERT_OK(store_->FinishQuery("campaign", id, finished, checked.digest).status());
    ASSERT_OK(store_->ListQueries("campaign").status());
    // busy = 0: no reader of this store's connection held the checkpoint back.
    EXPECT_EQ(RawText("PRAGMA wal_checkpoint(TRUNCATE)"), "0") << i;
  }
  // The same statements, reused, read what the other connection's edit left.
  EXPECT_EQ(Tamper("UPDATE tables SET allowed_columns = '[]' WHERE name = 'retail'"), 1);
  ASSERT_OK_AND_ASSIGN(PolicySnapshot after, store_->GetPolicySnapshot("campaign"));
  for (const Table& table : after.tables) {
    if (table.name == "retail") EXPECT_THAT(table.allowed_columns, ElementsAre());
  }
}

// Queries share the store's cached snapshot instead of copying it: the same object while no
// policy record changes (recording queries changes none), a new one after a change, and the
// one handed out before is left as it was.
TEST_F(StoreTest, TheSharedSnapshotIsOneObjectUntilThePolicyChanges) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const PolicySnapshot> first,
                       store_->SharedPolicySnapshot("campaign"));
  ASSERT_OK(store_->RecordQuery(Query(QueryStatus::kRejected)).status());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const PolicySnapshot> again,
                       store_->SharedPolicySnapshot("campaign"));
  EXPECT_EQ(again.get(), first.get());
  std::string digest = first->digest;
  ASSERT_OK(store_->SetRule("campaign", "retail", R"({"kind": "custom", "any_query": true})",
                            "retailer"));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const PolicySnapshot> changed,
                       store_->SharedPolicySnapshot("campaign"));
  EXPECT_NE(changed.get(), first.get());
  EXPECT_NE(changed->digest, digest);
  EXPECT_EQ(first->digest, digest);
  EXPECT_EQ(changed->digest, store_->GetPolicySnapshot("campaign")->digest);
}

// Reveal's new writers go through the same state check as every other mutation: a catalog
// edited behind Parley's back cannot have a query finished, started or marked killed in it.
TEST_F(StoreTest, QueriesAreNeitherStartedNorFinishedInACollaborationChangedOutsideParley) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  QueryRecord running = Query(QueryStatus::kRunning);
  running.run_lock = "run-dead.lock";
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(running));
  size_t entries = Actions().size();
  Tamper("UPDATE tables SET allowed_columns = '[]' WHERE name = 'retail'");
  const std::string refused =
      "collaboration 'campaign' was changed outside Parley (table 'retail' changed): its catalog "
      "records no longer match its audit log, so nothing can change or run in it until the "
      "catalog is restored";
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  ExpectError(store_->FinishQuery("campaign", id, outcome, checked.digest).status(),
              absl::StatusCode::kFailedPrecondition, refused);
  ExpectError(store_->RecordQuery(Query(QueryStatus::kRunning)).status(),
              absl::StatusCode::kFailedPrecondition, refused);
  // Marking killed skips the collaboration (listings elsewhere keep working) and leaves the
  // query running.
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> killed,
                       store_->MarkKilledQueries([](const QueryRecord&) { return true; }));
  EXPECT_THAT(killed, ElementsAre());
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.status, QueryStatus::kRunning);
  EXPECT_EQ(Actions().size(), entries);
}

// --- Migration 3: from one catalog-wide chain to one chain per collaboration ---------------------

class StoreMigrationTest : public StoreTest {
 protected:
  // Rewrites the catalog as version 2 left it: one chain over every entry (hashes without a
  // state), a single audit_head row, no audit_heads table and no state column. With
  // `query_life_cycle`, as parleys built before the audit chains were merged left it instead:
  // the same audit tables, but the query life cycle (today's version 4) applied as version 3.
  void DowngradeToVersion2(bool query_life_cycle = false) {
    ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
    store_.reset();
    // Version 2's audit table, numbered over the catalog in the order entries were written.
    std::string sql =
        "DROP TABLE audit_heads; "
        "CREATE TABLE audit_v2 (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, collaboration "
        "TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, details_json TEXT NOT NULL, "
        "prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT; "
        "INSERT INTO audit_v2 SELECT id, time, collaboration, actor, action, details_json, '', '' "
        "FROM audit; DROP TABLE audit; ALTER TABLE audit_v2 RENAME TO audit; "
        "CREATE INDEX audit_by_collaboration ON audit (collaboration, seq); "
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "
        "hash TEXT NOT NULL) STRICT;";
    // No organisations or API tokens, as before version 6.
    absl::StrAppend(&sql, "DROP TABLE api_tokens; DROP TABLE organisations; ");
    // Tables with a file kind and a location, as before version 5.
    absl::StrAppend(
        &sql,
        "CREATE TABLE tables_v4 (id INTEGER PRIMARY KEY, collaboration_id INTEGER NOT NULL "
        "REFERENCES collaborations (id), name TEXT NOT NULL, owner TEXT NOT NULL, kind TEXT NOT "
        "NULL CHECK (kind IN ('csv', 'parquet')), location TEXT NOT NULL, source_schema TEXT NOT "
        "NULL, allowed_columns TEXT NOT NULL, rule_json TEXT, created_at INTEGER NOT NULL, UNIQUE "
        "(collaboration_id, name), FOREIGN KEY (collaboration_id, owner) REFERENCES members "
        "(collaboration_id, name)) STRICT; "
        "INSERT INTO tables_v4 SELECT id, collaboration_id, name, owner, json_extract(source, "
        "'$.format'), json_extract(source, '$.path'), source_schema, allowed_columns, rule_json, "
        "created_at FROM tables; DROP TABLE tables; ALTER TABLE tables_v4 RENAME TO tables;");
    // Version 2's queries (three statuses, no run lock) and no file claims, as version 4
    // (query life cycle) left them before it: the upgrade runs both migrations.
    // Nor do version 2's or 3's queries keep small results in the catalog (a later version).
    if (query_life_cycle) {
      absl::StrAppend(&sql,
                      "ALTER TABLE queries DROP COLUMN result_data; "
                      "ALTER TABLE queries DROP COLUMN result_sealed; ");
    }
    if (!query_life_cycle) {
      absl::StrAppend(
          &sql,
          "DROP TABLE file_claims; "
          "CREATE TABLE queries_v2 (id INTEGER PRIMARY KEY AUTOINCREMENT, collaboration_id "
          "INTEGER NOT NULL REFERENCES collaborations (id), runner TEXT NOT NULL, sql_text TEXT "
          "NOT NULL, status TEXT NOT NULL CHECK (status IN ('rejected', 'succeeded', 'failed')), "
          "verdict_json TEXT NOT NULL, rendered_sql TEXT NOT NULL, receivers TEXT NOT NULL, "
          "table_names TEXT NOT NULL, result_path TEXT NOT NULL, row_count INTEGER NOT NULL, "
          "error TEXT NOT NULL, created_at INTEGER NOT NULL, template_id TEXT NOT NULL DEFAULT '', "
          "FOREIGN KEY (collaboration_id, runner) REFERENCES members (collaboration_id, name)) "
          "STRICT; "
          "INSERT INTO queries_v2 SELECT id, collaboration_id, runner, sql_text, status, "
          "verdict_json, rendered_sql, receivers, table_names, result_path, row_count, error, "
          "created_at, template_id FROM queries; DROP TABLE queries; "
          "ALTER TABLE queries_v2 RENAME TO queries; "
          "CREATE INDEX queries_by_collaboration ON queries (collaboration_id, id);");
    }
    std::string prev = kZeroHash;
    int64_t seq = 0;
    for (const AuditEntry& entry : entries) {
      ++seq;
      nlohmann::json document = {{"seq", seq},
                                 {"time", entry.time},
                                 {"collaboration", entry.collaboration},
                                 {"actor", entry.actor},
                                 {"action", entry.action},
                                 {"details", nlohmann::json::parse(entry.details_json)}};
      std::string hash = crypto::Sha256Hex(prev + "\n" + document.dump());
      absl::StrAppend(&sql, "UPDATE audit SET prev_hash = '", prev, "', hash = '", hash,
                      "' WHERE seq = ", seq, ";");
      prev = hash;
    }
    absl::StrAppend(&sql, "INSERT INTO audit_head VALUES (1, ", entries.size(), ", '", prev,
                    "'); PRAGMA user_version = ", query_life_cycle ? 3 : 2, ";");
    legacy_head_ = prev;
    Tamper(sql);
  }
  std::string legacy_head_;
};

TEST_F(StoreMigrationTest, AVersion2CatalogIsRechainedAndKeepsVerifying) {
  BuildHistory();
  Collaboration other = Campaign();
  other.name = "other";
  ++now_;
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK(store_->AppendAudit("", "operator", "catalog.backup", "{}"));
  DowngradeToVersion2();
  ASSERT_EQ(RawText("PRAGMA user_version"), "2");

  now_ = kStart + 100;
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  EXPECT_EQ(RawText("SELECT count(*) FROM sqlite_master WHERE name = 'audit_head'"), "0");
  ASSERT_OK_AND_ASSIGN(AuditVerification all, store_->VerifyAudit());
  EXPECT_TRUE(all.ok) << all.problem;
  EXPECT_EQ(all.entries, 7 + 3);  // the old entries and one "audit.migrated" per chain
  EXPECT_THAT(all.heads, ElementsAre(Pair("", _), Pair("campaign", _), Pair("other", _)));

  // Each chain ends with the migration entry, which commits to the collaboration's state and
  // records what the old chain's verification found.
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> campaign, store_->ListAudit("campaign"));
  ASSERT_EQ(campaign.size(), 6u);
  EXPECT_EQ(campaign[0].prev_hash, kZeroHash);
  EXPECT_EQ(campaign[4].state_sha256, "");
  for (size_t i = 1; i < campaign.size(); ++i) {
    EXPECT_EQ(campaign[i].seq, static_cast<int64_t>(i) + 1);  // renumbered within the chain
    EXPECT_EQ(campaign[i].prev_hash, campaign[i - 1].hash);
  }
  // The catalog-wide order is kept.
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> all_entries, store_->ListAudit(""));
  ASSERT_EQ(all_entries.size(), 10u);
  EXPECT_EQ(all_entries[5].collaboration, "other");
  EXPECT_EQ(all_entries[5].action, "collaboration.create");
  EXPECT_EQ(all_entries[6].collaboration, "");
  const AuditEntry& migrated = campaign[5];
  EXPECT_EQ(migrated.actor, "parley");
  EXPECT_EQ(migrated.action, "audit.migrated");
  EXPECT_EQ(migrated.time, kStart + 100);
  EXPECT_EQ(migrated.details_json,
            absl::StrCat(R"({"legacy_chain":"intact","legacy_entries":7,"legacy_head":")",
                         legacy_head_, R"(","schema_version":3})"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot snapshot, store_->GetPolicySnapshot("campaign"));
  EXPECT_EQ(migrated.state_sha256, snapshot.digest);

  // Version 4 ran too: the old query kept its id and outcome, and a new one starts running,
  // finishes (ids continue) and claims files.
  ASSERT_OK_AND_ASSIGN(QueryRecord old_query, store_->GetQuery("campaign", 1));
  EXPECT_EQ(old_query.status, QueryStatus::kSucceeded);
  EXPECT_EQ(old_query.run_lock, "");
  QueryRecord running = Query(QueryStatus::kRunning);
  running.run_lock = "run-1.lock";
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(running));
  EXPECT_EQ(id, 2);
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, snapshot.digest));
  EXPECT_FALSE(delivery.policy_changed);
  Table loyalty = Retail();
  loyalty.name = "loyalty";
  loyalty.owner = "supplier";
  ASSERT_OK(store_->AddTable(loyalty, "supplier", {{7, 70}}));
  ASSERT_OK_AND_ASSIGN(auto claims, store_->ListFileClaims());
  EXPECT_EQ(claims[(FileIdentity{7, 70})], "supplier");
  ASSERT_OK_AND_ASSIGN(AuditVerification after, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(after.ok) << after.problem;
  EXPECT_EQ(after.entries, 6 + 3);  // query.started, query.finished, table.add

  // From then on the state is enforced.
  Tamper("UPDATE tables SET rule_json = NULL");
  ASSERT_OK_AND_ASSIGN(AuditVerification tampered, store_->VerifyAudit("campaign"));
  EXPECT_FALSE(tampered.ok);
  EXPECT_EQ(tampered.problem,
            absl::StrCat("the policy state (members, tables, rules, templates) was changed "
                         "outside Parley after audit entry ",
                         after.entries, ": table 'retail' changed"));
}

// Before the audit chains and the query life cycle were merged, parleys applied the life cycle
// as version 3. Such a catalog has version 3 without audit_heads: it gets the audit migration,
// not the life cycle a second time.
TEST_F(StoreMigrationTest, AVersion3CatalogWithTheQueryLifeCycleGetsTheAuditChains) {
  BuildHistory();
  QueryRecord running = Query(QueryStatus::kRunning);
  running.run_lock = "run-1.lock";
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(running));
  Table loyalty = Retail();
  loyalty.name = "loyalty";
  loyalty.owner = "supplier";
  ASSERT_OK(store_->AddTable(loyalty, "supplier", {{7, 70}}));
  DowngradeToVersion2(/*query_life_cycle=*/true);
  ASSERT_EQ(RawText("PRAGMA user_version"), "3");

  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  EXPECT_EQ(RawText("SELECT count(*) FROM sqlite_master WHERE name = 'audit_head'"), "0");
  AuditEntry migrated = LastAudit();
  EXPECT_EQ(migrated.action, "audit.migrated");
  EXPECT_THAT(migrated.details_json, HasSubstr(R"("legacy_chain":"intact","legacy_entries":7)"));
  ASSERT_OK_AND_ASSIGN(AuditVerification all, store_->VerifyAudit());
  EXPECT_TRUE(all.ok) << all.problem;
  // The running query and the file claim survived; the query still finishes.
  ASSERT_OK_AND_ASSIGN(auto claims, store_->ListFileClaims());
  EXPECT_EQ(claims[(FileIdentity{7, 70})], "supplier");
  ASSERT_OK_AND_ASSIGN(PolicySnapshot snapshot, store_->GetPolicySnapshot("campaign"));
  QueryRecord outcome;
  outcome.status = QueryStatus::kCancelled;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, snapshot.digest));
  EXPECT_FALSE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.status, QueryStatus::kCancelled);
}

TEST_F(StoreMigrationTest, AnOldChainAlreadyBrokenIsRecordedAsSuchByTheMigration) {
  BuildHistory();
  DowngradeToVersion2();
  // Removed before the upgrade: re-chaining must not launder it.
  Tamper("DELETE FROM audit WHERE seq = 5");
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  AuditEntry migrated = LastAudit();
  EXPECT_EQ(migrated.action, "audit.migrated");
  EXPECT_THAT(migrated.details_json,
              HasSubstr(R"("legacy_chain":"the audit head records entry 5 but the log ends at )"
                        R"(entry 4","legacy_entries":4)"));
}

TEST_F(StoreMigrationTest, AnOldHeadEditedBeforeTheUpgradeIsRecordedAsSuch) {
  BuildHistory();
  DowngradeToVersion2();
  Tamper("UPDATE audit_head SET hash = '" + kZeroHash + "'");
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  AuditEntry migrated = LastAudit();
  EXPECT_EQ(migrated.action, "audit.migrated");
  EXPECT_EQ(
      migrated.details_json,
      absl::StrCat(R"({"legacy_chain":"the audit head does not match the last entry",)",
                   R"("legacy_entries":5,"legacy_head":")", kZeroHash, R"(","schema_version":3})"));
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// --- Migration 5: sources by connector ----------------------------------------------------------

// A catalog that parley wrote at schema version 4 (the last release before sources by connector):
// the demo's collaboration with two Parquet tables and a CSV table, 18 audit entries.
class StoreVersion4Test : public StoreTest {
 protected:
  static constexpr const char* kVersion4Head =
      "99667c0c9f7e2a4e55a87305f65354dcc797ff851dfa0c5350e595b52065ca5c";

  void LoadVersion4Catalog() {
    store_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ifstream file(std::string(PARLEY_SOURCE_DIR_DEFAULT) +
                       "/src/catalog/testdata/catalog_v4_main.sql");
    ASSERT_TRUE(file.good());
    std::stringstream dump;
    dump << file.rdbuf();
    Tamper(dump.str());
    ASSERT_EQ(RawText("PRAGMA user_version"), "4");
  }
};

TEST_F(StoreVersion4Test, ACatalogOfTheLastReleaseIsConvertedAndKeepsVerifying) {
  LoadVersion4Catalog();
  now_ = kStart + 500;
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));

  ASSERT_OK_AND_ASSIGN(Table regions, store_->GetTable("campaign", "regions"));
  EXPECT_EQ(regions.source_kind, "files");
  EXPECT_EQ(regions.source_json,
            R"({"format":"csv","path":"/tmp/v4home/home/demo-data/regions.csv"})");
  ASSERT_OK_AND_ASSIGN(Table retail, store_->GetTable("campaign", "retail"));
  EXPECT_EQ(retail.source_json,
            R"({"format":"parquet","path":"/tmp/v4home/home/demo-data/retail.parquet"})");

  // The chain gains one entry that commits to the state in its new form; the head members noted
  // before the upgrade is still in the chain.
  AuditEntry migrated = LastAudit();
  EXPECT_EQ(migrated.seq, 19);
  EXPECT_EQ(migrated.actor, "parley");
  EXPECT_EQ(migrated.action, "catalog.migrated");
  EXPECT_EQ(migrated.time, kStart + 500);
  EXPECT_EQ(migrated.details_json,
            R"({"change":"table sources stored as a kind of source and its description",)"
            R"("policy_state_before":"intact","schema_version":5})");
  ASSERT_OK_AND_ASSIGN(PolicySnapshot snapshot, store_->GetPolicySnapshot("campaign"));
  EXPECT_EQ(migrated.state_sha256, snapshot.digest);
  ASSERT_OK_AND_ASSIGN(AuditVerification verification,
                       store_->VerifyAudit("campaign", kVersion4Head));
  EXPECT_TRUE(verification.ok) << verification.problem;
  EXPECT_EQ(verification.entries, 19);
  EXPECT_EQ(verification.expected_head_seq, 18);
  EXPECT_EQ(verification.entries_after_expected_head, 1);

  // The collaboration carries on, and the new fields are part of its policy.
  ASSERT_OK(store_->AddMember("campaign", {.name = "agency"}, "retailer"));
  Tamper(R"(UPDATE tables SET source = '{"format":"csv","path":"/tmp/other.csv"}')"
         " WHERE name = 'regions'");
  ASSERT_OK_AND_ASSIGN(verification, store_->VerifyAudit("campaign"));
  EXPECT_FALSE(verification.ok);
  EXPECT_EQ(verification.problem,
            "the policy state (members, tables, rules, templates) was changed outside Parley "
            "after audit entry 20: table 'regions' changed");
}

TEST_F(StoreVersion4Test, ACatalogEditedBeforeTheUpgradeStaysRefusedAfterIt) {
  LoadVersion4Catalog();
  // Pointed at another file behind Parley's back, before the upgrade: the conversion must not
  // launder the edit into the new form.
  Tamper("UPDATE tables SET location = '/tmp/other.csv' WHERE name = 'regions'");
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  AuditEntry migrated = LastAudit();
  EXPECT_EQ(migrated.action, "catalog.migrated");
  EXPECT_THAT(migrated.details_json,
              HasSubstr(R"("policy_state_before":"changed outside Parley")"));
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_FALSE(verification.ok);
  EXPECT_THAT(verification.problem, HasSubstr("table 'regions' changed"));
  absl::Status refused = store_->AddMember("campaign", {.name = "agency"}, "retailer");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("collaboration 'campaign' was changed outside Parley"));
}

// --- Names ------------------------------------------------------------------------------------

TEST(StoreNamesTest, EnumNamesRoundTrip) {
  for (MemberStatus status : {MemberStatus::kInvited, MemberStatus::kActive, MemberStatus::kLeft,
                              MemberStatus::kRemoved}) {
    EXPECT_EQ(ParseMemberStatus(MemberStatusName(status)).value(), status);
  }
  EXPECT_EQ(MemberStatusName(MemberStatus::kRemoved), "removed");
  EXPECT_EQ(QueryStatusName(QueryStatus::kSucceeded), "succeeded");
  EXPECT_EQ(ParseQueryStatus("failed").value(), QueryStatus::kFailed);
  ExpectError(ParseMemberStatus("Active").status(), absl::StatusCode::kInvalidArgument,
              "unknown member status 'Active'");
  ExpectError(ParseQueryStatus("").status(), absl::StatusCode::kInvalidArgument,
              "unknown query status ''");
}

}  // namespace
}  // namespace parley::catalog

namespace parley::catalog {
namespace {

class StorePrivacyBudgetTest : public StoreTest {};

TEST_F(StorePrivacyBudgetTest, QueriesSpendTheMonthsBudgetAndNeverOverspend) {
  Collaboration campaign = Campaign();
  campaign.privacy_budget = PrivacyBudget{3'000'000, 3000, 1'000'000, 2'000'000};
  ASSERT_TRUE(store_->CreateCollaboration(campaign).ok());
  absl::StatusOr<Collaboration> read = store_->GetCollaboration("campaign");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->privacy_budget, campaign.privacy_budget);

  QueryRecord query = Query(QueryStatus::kRunning);
  query.privacy_epsilon = 1'000'000;
  query.privacy_delta = 1000;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->RecordQuery(query).ok()) << i;
  absl::StatusOr<int64_t> fourth = store_->RecordQuery(query);
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(fourth.status().message()),
              testing::HasSubstr("the privacy budget of collaboration 'campaign' for"));
  // Refused before it ran: nothing recorded, nothing spent.
  EXPECT_EQ(store_->ListQueries("campaign")->size(), 3u);
  absl::StatusOr<std::vector<PrivacySpend>> spends = store_->ListPrivacySpends("campaign");
  ASSERT_TRUE(spends.ok());
  ASSERT_EQ(spends->size(), 1u);
  EXPECT_EQ((*spends)[0].epsilon, 3'000'000);
  EXPECT_EQ((*spends)[0].delta, 3000);
  EXPECT_EQ((*spends)[0].queries, 3);
  // A rejected query spends nothing, whatever it asked.
  QueryRecord rejected = Query(QueryStatus::kRejected);
  rejected.privacy_epsilon = 1'000'000;
  EXPECT_TRUE(store_->RecordQuery(rejected).ok());
  EXPECT_EQ((*store_->ListPrivacySpends("campaign"))[0].queries, 3);
}

TEST_F(StorePrivacyBudgetTest, ACollaborationWithoutABudgetCannotSpend) {
  ASSERT_TRUE(store_->CreateCollaboration(Campaign()).ok());
  QueryRecord query = Query(QueryStatus::kRunning);
  query.privacy_epsilon = 1;
  EXPECT_EQ(store_->RecordQuery(query).status().code(), absl::StatusCode::kFailedPrecondition);
  Collaboration bad = Campaign();
  bad.name = "bad";
  bad.privacy_budget = PrivacyBudget{1'000'000, 0, 2'000'000, 2'000'000};
  EXPECT_EQ(store_->CreateCollaboration(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetCollaboration("bad").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace parley::catalog

namespace parley::catalog {
namespace {

// Issue 7: a synchronous run is recorded in one write when it ends — the same three entries a
// run recorded running and then finished has, in the same order, with the policy compared in
// that write.
TEST_F(StoreTest, ARunIsRecordedInOneWriteWithTheEntriesOfTwo) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  QueryRecord run = Query(QueryStatus::kRunning);
  run.run_lock = "run-1.lock#1";
  run.usage = QueryUsage{};
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.row_count = 3;
  outcome.result_path = "/results/r.parquet";
  outcome.usage = QueryUsage{0, {{"retail", 10, 100}}, 7, 3, 12};
  ASSERT_OK_AND_ASSIGN(auto recorded,
                       store_->RecordRun(run, R"({"sql_sha256":"ab"})", outcome, checked.digest));
  EXPECT_EQ(recorded.first, 1);
  EXPECT_FALSE(recorded.second.policy_changed);
  ASSERT_OK_AND_ASSIGN(QueryRecord got, store_->GetQuery("campaign", 1));
  EXPECT_EQ(got.status, QueryStatus::kSucceeded);
  EXPECT_EQ(got.row_count, 3);
  EXPECT_EQ(got.result_path, "/results/r.parquet");
  EXPECT_EQ(got.sql, run.sql);
  EXPECT_EQ(got.run_lock, "run-1.lock#1") << "the token that keeps it from being recorded twice";
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[1].action, "query.submitted");
  EXPECT_EQ(entries[1].details_json, R"({"sql_sha256":"ab"})");
  EXPECT_EQ(entries[2].action, "query.started");
  EXPECT_EQ(entries[2].details_json,
            R"({"query_id":1,"receivers":["supplier","retailer"],"tables":["retail","loyalty"]})");
  EXPECT_EQ(entries[3].action, "query.finished");
  EXPECT_EQ(entries[3].details_json, R"({"query_id":1})");
  ASSERT_OK_AND_ASSIGN(std::vector<UsageRecord> usage, store_->ListUsage("campaign"));
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].bytes_scanned, 100);
  // A recorded run cannot be recorded again as killed from its journal.
  ASSERT_OK(store_->RecordKilledRun(run, "{}"));
  ASSERT_OK_AND_ASSIGN(entries, store_->ListAudit("campaign"));
  EXPECT_EQ(entries.size(), 4u);

  // The policy changed while it ran: recorded failed, nothing released.
  ASSERT_OK(store_->AddTable(Retail(), "retailer"));
  run.run_lock = "run-1.lock#2";
  ASSERT_OK_AND_ASSIGN(recorded, store_->RecordRun(run, "{}", outcome, checked.digest));
  EXPECT_TRUE(recorded.second.policy_changed);
  ASSERT_OK_AND_ASSIGN(got, store_->GetQuery("campaign", recorded.first));
  EXPECT_EQ(got.status, QueryStatus::kFailed);
  EXPECT_EQ(got.error, kPolicyChangedError);
  EXPECT_EQ(got.result_path, "");
  EXPECT_EQ(LastAudit().details_json,
            absl::StrCat(R"({"policy_changed":true,"query_id":)", recorded.first, "}"));

  run.privacy_epsilon = 1;
  ExpectError(store_->RecordRun(run, "{}", outcome, checked.digest).status(),
              absl::StatusCode::kInvalidArgument,
              "a query that spends privacy budget is recorded as running before it runs");
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// A run found in the journal of a dead process is recorded killed once, with the entries of a
// run that was recorded running and then marked killed.
TEST_F(StoreTest, ARunFoundInADeadJournalIsRecordedKilledOnce) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  QueryRecord run = Query(QueryStatus::kRunning);
  run.run_lock = "run-2.lock#5";
  ASSERT_OK(store_->RecordKilledRun(run, R"({"sql_sha256":"cd"})"));
  ASSERT_OK(store_->RecordKilledRun(run, R"({"sql_sha256":"cd"})"));
  ASSERT_OK_AND_ASSIGN(std::vector<QueryRecord> queries, store_->ListQueries("campaign"));
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].status, QueryStatus::kKilled);
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  std::vector<std::string> actions;
  for (const AuditEntry& entry : entries) actions.push_back(entry.action);
  EXPECT_THAT(actions, ElementsAre("collaboration.create", "query.submitted", "query.started",
                                   "query.killed"));
  EXPECT_EQ(entries[3].details_json, R"({"query_id":1})");
}

// What every query reads and rarely changes (webhooks, members' keys, whether a payer has a
// limit) is cached, and read again after a write of this store or of another connection.
TEST_F(StoreTest, TheQueryReadCacheFollowsWritesFromHereAndFromOutside) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  ASSERT_OK_AND_ASSIGN(auto hooks, store_->ListWebhooks("campaign"));
  EXPECT_TRUE(hooks.empty());
  ASSERT_OK_AND_ASSIGN(
      int64_t id,
      store_->AddWebhook({0, "campaign", "supplier", "http://h/1", "s", 0}, "supplier"));
  ASSERT_OK_AND_ASSIGN(hooks, store_->ListWebhooks("campaign"));
  ASSERT_EQ(hooks.size(), 1u);
  std::unique_ptr<Store> other = OpenStore();
  ASSERT_OK(other->RemoveWebhook("campaign", id, "supplier"));
  ASSERT_OK_AND_ASSIGN(hooks, store_->ListWebhooks("campaign"));
  EXPECT_TRUE(hooks.empty()) << "removed by another connection";
  ASSERT_OK(
      store_->AddWebhook({0, "campaign", "supplier", "http://h/2", "s", 0}, "supplier").status());
  ASSERT_OK_AND_ASSIGN(hooks, store_->ListWebhooks("campaign"));
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].url, "http://h/2");

  ASSERT_OK_AND_ASSIGN(auto keys, store_->GetMemberKeys({"supplier"}));
  EXPECT_TRUE(keys.empty());
  std::string key(64, 'a');
  ASSERT_OK(other->SetMemberKey("supplier", key, "supplier"));
  ASSERT_OK_AND_ASSIGN(keys, store_->GetMemberKeys({"supplier"}));
  EXPECT_EQ(keys["supplier"], key);
  std::string newer(64, 'b');
  ASSERT_OK(store_->SetMemberKey("supplier", newer, "supplier"));
  ASSERT_OK_AND_ASSIGN(keys, store_->GetMemberKeys({"supplier", "retailer"}));
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys["supplier"], newer);

  ASSERT_OK_AND_ASSIGN(bool limited, store_->UsageLimited("campaign", "supplier"));
  EXPECT_FALSE(limited);
  UsageLimits limits;
  limits.monthly_bytes = 10;
  ASSERT_OK(store_->SetUsageLimits("campaign", "supplier", limits));
  ASSERT_OK_AND_ASSIGN(limited, store_->UsageLimited("campaign", "supplier"));
  EXPECT_TRUE(limited);
  ASSERT_OK(other->SetUsageLimits("campaign", "supplier", UsageLimits{}));
  ASSERT_OK_AND_ASSIGN(limited, store_->UsageLimited("campaign", "supplier"));
  EXPECT_FALSE(limited);
}

// Bytes no other test writes, so that finding them in the catalog's files means they are there.
std::string DistinctiveBytes(size_t size) {
  std::string bytes;
  for (size_t i = 0; bytes.size() < size; ++i) absl::StrAppend(&bytes, "inline-result-", i, ";");
  bytes.resize(size);
  return bytes;
}

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A small result is kept in the query's record, written by the transaction that ends it: read
// back byte for byte, listed with its size, sealed or not as given; nothing for a file.
TEST_F(StoreTest, AResultKeptInTheCatalogIsWrittenWithTheQuerysEnd) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Query(QueryStatus::kRunning)));
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.inline_result = std::string("PRB1\0\xff bytes", 11);
  outcome.result_sealed = true;
  outcome.row_count = 2;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, checked.digest));
  EXPECT_FALSE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(QueryRecord recorded, store_->GetQuery("campaign", id));
  EXPECT_TRUE(recorded.result_inline);
  EXPECT_TRUE(recorded.HasResult());
  EXPECT_TRUE(recorded.result_sealed);
  EXPECT_EQ(recorded.inline_result_bytes, 11);
  EXPECT_EQ(recorded.inline_result, std::nullopt);  // a read never loads the bytes
  EXPECT_EQ(recorded.result_path, "");
  {
    absl::StatusOr<std::string> got = store_->GetInlineResult("campaign", id);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) EXPECT_EQ(*got, *outcome.inline_result);
  }

  // The one-write path stores them the same way; a file-backed result has none.
  QueryRecord file_outcome = outcome;
  file_outcome.inline_result.reset();
  file_outcome.result_sealed = false;
  file_outcome.result_path = "/results/2.parquet";
  ASSERT_OK_AND_ASSIGN(auto run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", file_outcome,
                                                   checked.digest));
  ASSERT_OK_AND_ASSIGN(recorded, store_->GetQuery("campaign", run.first));
  EXPECT_FALSE(recorded.result_inline);
  EXPECT_FALSE(recorded.result_sealed);
  EXPECT_EQ(recorded.result_path, "/results/2.parquet");
  EXPECT_EQ(store_->GetInlineResult("campaign", run.first).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(
      run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", outcome, checked.digest));
  {
    absl::StatusOr<std::string> got = store_->GetInlineResult("campaign", run.first);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) EXPECT_EQ(*got, *outcome.inline_result);
  }
  // Another collaboration's id does not reach it.
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  EXPECT_EQ(store_->GetInlineResult("other", run.first).status().code(),
            absl::StatusCode::kNotFound);
  // A result is stored when a query ends, not when it is recorded running.
  QueryRecord early = Query(QueryStatus::kRunning);
  early.inline_result = "x";
  EXPECT_EQ(store_->RecordQuery(early).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// A run whose policy moved releases no inline bytes either, on both paths.
TEST_F(StoreTest, APolicyChangeWithholdsAResultKeptInTheCatalog) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Query(QueryStatus::kRunning)));
  ASSERT_OK(store_->SetRule("campaign", "retail", R"({"kind":"custom"})", "retailer"));
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.inline_result = DistinctiveBytes(100);
  outcome.result_sealed = true;
  outcome.row_count = 3;
  ASSERT_OK_AND_ASSIGN(Delivery delivery,
                       store_->FinishQuery("campaign", id, outcome, checked.digest));
  EXPECT_TRUE(delivery.policy_changed);
  ASSERT_OK_AND_ASSIGN(
      auto run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", outcome, checked.digest));
  EXPECT_TRUE(run.second.policy_changed);
  for (int64_t query : {id, run.first}) {
    ASSERT_OK_AND_ASSIGN(QueryRecord recorded, store_->GetQuery("campaign", query));
    EXPECT_EQ(recorded.status, QueryStatus::kFailed);
    EXPECT_FALSE(recorded.HasResult());
    EXPECT_FALSE(recorded.result_sealed);
  }
  EXPECT_EQ(RawText("SELECT count(*) FROM queries WHERE result_data IS NOT NULL"), "0");
}

// Forgetting a result kept in the catalog removes its bytes from the catalog's files — the
// database (zeroed by secure_delete, not left in a free page) and its write-ahead log — not just
// a flag; small (in the row's page) and larger (overflow pages) alike.
TEST_F(StoreTest, ForgettingAResultKeptInTheCatalogRemovesItsBytes) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  std::vector<int64_t> ids;
  for (size_t size : {300, 40000}) {
    QueryRecord outcome;
    outcome.status = QueryStatus::kSucceeded;
    outcome.inline_result = DistinctiveBytes(size);
    outcome.row_count = 1;
    ASSERT_OK_AND_ASSIGN(
        auto run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", outcome, checked.digest));
    ids.push_back(run.first);
  }
  std::string marker = DistinctiveBytes(200);
  EXPECT_NE((FileText(path_) + FileText(path_ + "-wal")).find(marker), std::string::npos);

  for (int64_t id : ids) {
    {
      absl::StatusOr<std::string> got = store_->ForgetResult("campaign", id, "retailer");
      ASSERT_TRUE(got.ok()) << got.status();
      if (got.ok()) EXPECT_EQ(*got, "");
    }
    ASSERT_OK_AND_ASSIGN(QueryRecord forgotten, store_->GetQuery("campaign", id));
    EXPECT_FALSE(forgotten.HasResult());
    EXPECT_EQ(forgotten.status, QueryStatus::kSucceeded);
    EXPECT_EQ(forgotten.row_count, 1);
    EXPECT_EQ(store_->GetInlineResult("campaign", id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->ForgetResult("campaign", id, "retailer").status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ((FileText(path_) + FileText(path_ + "-wal")).find(marker), std::string::npos);
  EXPECT_EQ(LastAudit().action, "result.deleted");
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// A catalog from before results were kept in it gains the columns; its queries keep their
// result files and their scans, and read as before.
TEST_F(StoreTest, ACatalogFromBeforeInlineResultsIsUpgraded) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(PolicySnapshot checked, store_->GetPolicySnapshot("campaign"));
  QueryRecord outcome;
  outcome.status = QueryStatus::kSucceeded;
  outcome.result_path = "/results/1.parquet";
  outcome.row_count = 4;
  outcome.usage = QueryUsage{.scans = {{"loyalty", 7, 700}, {"retail", 40, 4000}}};
  ASSERT_OK_AND_ASSIGN(
      auto run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", outcome, checked.digest));
  outcome.usage.reset();
  store_.reset();
  Tamper(
      absl::StrCat("ALTER TABLE queries DROP COLUMN result_data; ALTER TABLE queries DROP COLUMN "
                   "result_sealed; PRAGMA user_version = ",
                   SchemaVersion() - 1, ";"));
  EXPECT_EQ(RawText("SELECT count(*) FROM pragma_table_info('queries') WHERE name = "
                    "'result_data'"),
            "0");
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  ASSERT_OK_AND_ASSIGN(QueryRecord old, store_->GetQuery("campaign", run.first));
  EXPECT_EQ(old.result_path, "/results/1.parquet");
  EXPECT_FALSE(old.result_inline);
  EXPECT_FALSE(old.result_sealed);
  EXPECT_EQ(old.row_count, 4);
  // Its scans are kept (the table is rebuilt keyed by query and table).
  ASSERT_OK_AND_ASSIGN(std::vector<TableScan> scans, store_->ListQueryScans("campaign", run.first));
  EXPECT_EQ(scans, (std::vector<TableScan>{{"loyalty", 7, 700}, {"retail", 40, 4000}}));
  outcome.result_path.clear();
  outcome.inline_result = "bytes";
  ASSERT_OK_AND_ASSIGN(
      run, store_->RecordRun(Query(QueryStatus::kRunning), "{}", outcome, checked.digest));
  {
    absl::StatusOr<std::string> got = store_->GetInlineResult("campaign", run.first);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) EXPECT_EQ(*got, "bytes");
  }
  ASSERT_OK_AND_ASSIGN(AuditVerification verification, store_->VerifyAudit("campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

}  // namespace
}  // namespace parley::catalog
