#include "catalog/store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_testing.h"
#include "crypto/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

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
    table.kind = SourceKind::kParquet;
    table.location = "/data/retail/*.parquet";
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
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(code, SQLITE_OK) << message;
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

  void ExpectTampered(const std::string& problem, int64_t entries) {
    absl::StatusOr<AuditVerification> verification = store_->VerifyAudit();
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
  EXPECT_EQ(RawText("SELECT seq || ' ' || hash FROM audit_head"), "0 " + kZeroHash);
}

TEST_F(StoreTest, ReopenKeepsRecordsAndDoesNotRerunMigrations) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  store_.reset();
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  ASSERT_OK_AND_ASSIGN(Collaboration collaboration, store_->GetCollaboration("campaign"));
  EXPECT_EQ(collaboration.description, "joint ad campaign");
  EXPECT_EQ(RawText("PRAGMA user_version"), std::to_string(SchemaVersion()));
  EXPECT_EQ(RawText("SELECT count(*) FROM audit_head"), "1");
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
  EXPECT_EQ(got.kind, SourceKind::kParquet);
  EXPECT_EQ(got.location, "/data/retail/*.parquet");
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
                         R"("kind":"parquet","owner":"retailer","rule_sha256":")",
                         crypto::Sha256Hex(*got.rule_json), R"(","table":"retail"})"));
}

TEST_F(StoreTest, ListTablesOrdersByNameAndTableWithoutRuleHasNone) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Table table = Retail();
  table.name = "zoo";
  table.kind = SourceKind::kCsv;
  ASSERT_OK(store_->AddTable(table, "retailer"));
  table.name = "apple";
  table.owner = "supplier";
  ASSERT_OK(store_->AddTable(table, "supplier"));
  ASSERT_OK_AND_ASSIGN(std::vector<Table> tables, store_->ListTables("campaign"));
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "apple");
  EXPECT_EQ(tables[0].owner, "supplier");
  EXPECT_EQ(tables[1].name, "zoo");
  EXPECT_EQ(tables[1].kind, SourceKind::kCsv);
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
  table = Retail();
  table.location = "";
  ExpectError(store_->AddTable(table, "retailer"), absl::StatusCode::kInvalidArgument,
              "table 'retail' has no location");
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
  ASSERT_OK(store_->FinishQuery("campaign", id, outcome));
  ASSERT_OK_AND_ASSIGN(got, store_->GetQuery("campaign", id));
  EXPECT_EQ(got.status, QueryStatus::kFailed);
  EXPECT_EQ(got.error, outcome.error);
  EXPECT_EQ(got.run_lock, "");
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.action, "query.finished");
  EXPECT_EQ(entry.actor, "supplier");
  EXPECT_EQ(entry.details_json, R"({"query_id":1})");

  ExpectError(store_->FinishQuery("campaign", id, outcome), absl::StatusCode::kFailedPrecondition,
              "query 1 is failed, not running");
  outcome.status = QueryStatus::kKilled;
  ExpectError(store_->FinishQuery("campaign", id, outcome), absl::StatusCode::kInvalidArgument,
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
  EXPECT_EQ(first.prev_hash, kZeroHash);
  EXPECT_EQ(first.hash, crypto::Sha256Hex(kZeroHash + "\n" +
                                          R"({"action":"collaboration.create","actor":"retailer",)"
                                          R"("collaboration":"campaign","details":)" +
                                          details + R"(,"seq":1,"time":1700000000})"));

  const AuditEntry& second = entries[1];
  EXPECT_EQ(second.seq, 2);
  EXPECT_EQ(second.collaboration, "");
  EXPECT_EQ(second.details_json, R"({"a":[1],"b":2})");
  EXPECT_EQ(second.prev_hash, first.hash);
  EXPECT_EQ(second.hash,
            crypto::Sha256Hex(first.hash + "\n" +
                              R"({"action":"catalog.backup","actor":"operator",)"
                              R"("collaboration":"","details":{"a":[1],"b":2},"seq":2,)"
                              R"("time":1700000001})"));
  EXPECT_EQ(RawText("SELECT seq || ' ' || hash FROM audit_head"), "2 " + second.hash);
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

TEST_F(StoreTest, ListAuditFiltersByCollaboration) {
  ASSERT_OK(store_->CreateCollaboration(Campaign()));
  Collaboration other = Campaign();
  other.name = "other";
  ASSERT_OK(store_->CreateCollaboration(other));
  ASSERT_OK(store_->AddMember("campaign", {.name = "publisher"}, "retailer"));
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit("campaign"));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].seq, 1);
  EXPECT_EQ(entries[1].seq, 3);
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
  EXPECT_EQ(RawText("SELECT seq FROM audit_head"), "1");

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
  ExpectTampered("the last audit entry is missing (head records entry 5)", 4);
}

TEST_F(StoreTest, VerifyAuditDetectsDeletedLastEntries) {
  BuildHistory();
  Tamper("DELETE FROM audit WHERE seq >= 4");
  ExpectTampered("the last 2 audit entries are missing (head records entry 5)", 3);
}

TEST_F(StoreTest, VerifyAuditDetectsARehashedLastEntry) {
  // An attacker who edits the last entry and recomputes its hash still disagrees with the head.
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
  const AuditEntry& last = entries.back();
  std::string forged_details = R"({"query_id":1,"receivers":[],"row_count":0,"tables":[]})";
  std::string forged_hash = crypto::Sha256Hex(
      last.prev_hash + "\n" + R"({"action":"query.finished","actor":"supplier",)" +
      R"("collaboration":"campaign","details":)" + forged_details + R"(,"seq":5,"time":)" +
      std::to_string(last.time) + "}");
  Tamper(absl::StrCat("UPDATE audit SET details_json = '", forged_details, "', hash = '",
                      forged_hash, "' WHERE seq = 5"));
  ExpectTampered("audit entry 5 was edited: it does not match the audit head", 4);
}

TEST_F(StoreTest, VerifyAuditDetectsEntriesAddedBehindTheHead) {
  BuildHistory();
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> entries, store_->ListAudit(""));
  // A well-formed entry 6, chained and hashed correctly, but written straight into the file.
  std::string forged_hash =
      crypto::Sha256Hex(entries.back().hash + "\n" +
                        R"({"action":"member.add","actor":"retailer","collaboration":"campaign",)" +
                        R"("details":{},"seq":6,"time":1})");
  Tamper(absl::StrCat("INSERT INTO audit VALUES (6, 1, 'campaign', 'retailer', 'member.add', ",
                      "'{}', '", entries.back().hash, "', '", forged_hash, "')"));
  ExpectTampered("audit entry 6 was added outside the catalog: the head records entry 5", 5);
}

TEST_F(StoreTest, VerifyAuditDetectsAMissingOrEditedHead) {
  BuildHistory();
  Tamper("UPDATE audit_head SET hash = '" + kZeroHash + "'");
  ExpectTampered("audit entry 5 was edited: it does not match the audit head", 4);
  Tamper("DELETE FROM audit_head");
  ExpectTampered("the audit head is missing", 0);
}

// --- Names ------------------------------------------------------------------------------------

TEST(StoreNamesTest, EnumNamesRoundTrip) {
  for (MemberStatus status : {MemberStatus::kInvited, MemberStatus::kActive, MemberStatus::kLeft,
                              MemberStatus::kRemoved}) {
    EXPECT_EQ(ParseMemberStatus(MemberStatusName(status)).value(), status);
  }
  EXPECT_EQ(MemberStatusName(MemberStatus::kRemoved), "removed");
  EXPECT_EQ(SourceKindName(SourceKind::kCsv), "csv");
  EXPECT_EQ(ParseSourceKind("parquet").value(), SourceKind::kParquet);
  EXPECT_EQ(QueryStatusName(QueryStatus::kSucceeded), "succeeded");
  EXPECT_EQ(ParseQueryStatus("failed").value(), QueryStatus::kFailed);
  ExpectError(ParseMemberStatus("Active").status(), absl::StatusCode::kInvalidArgument,
              "unknown member status 'Active'");
  ExpectError(ParseSourceKind("json").status(), absl::StatusCode::kInvalidArgument,
              "unknown source kind 'json'");
  ExpectError(ParseQueryStatus("").status(), absl::StatusCode::kInvalidArgument,
              "unknown query status ''");
}

}  // namespace
}  // namespace parley::catalog
