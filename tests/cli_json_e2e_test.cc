// `--json` on every command of the real binary: one JSON document on stdout (the API response,
// api/types.h), parsed here with nlohmann and asserted field by field; errors as
// {"error": {"code", "message"}} on stdout with a non-zero exit code. Also what a response must
// never carry: another member's table location, and the server's home directory.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/codec.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::kExitRejected;
using cli_test::kExitUsage;
using cli_test::Outcome;
using cli_test::WriteText;
using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What a remote client does with the output: decode it as the API type, and encode it back to
// the same document (no field the codec does not know, none it would drop).
template <class Response>
void ExpectDecodes(const Json& json) {
  absl::StatusOr<Response> decoded = api::FromJson<Response>(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status() << "\n" << json.dump();
  EXPECT_EQ(api::ToJson(*decoded), json);
}

constexpr char kRetailRule[] = R"({"kind": "aggregation",
  "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
  "join_columns": ["hashed_email"], "dimension_columns": ["region"],
  "output_constraints": [{"column": "household_id", "minimum": 3}]})";
constexpr char kAudienceRule[] = R"({"kind": "custom"})";
constexpr char kAllowed[] =
    "SELECT region, COUNT(DISTINCT household_id) AS households FROM retail GROUP BY region "
    "ORDER BY region";
constexpr char kRejected[] = "SELECT hashed_email FROM retail";

class CliJsonTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::string csv = "household_id,hashed_email,region\n";
    for (int i = 1; i <= 20; ++i) {
      absl::StrAppendFormat(&csv, "%d,e%02d,%s\n", i, i, i % 2 == 0 ? "north" : "south");
    }
    retail_csv_ = (dir_ / "retail.csv").string();
    WriteText(retail_csv_, csv);
    loyalty_csv_ = (dir_ / "loyalty.csv").string();
    WriteText(loyalty_csv_, "hashed_email,tier\ne01,gold\ne02,silver\n");
  }

  // `parley --json ...` as `member`: asserts the exit code and that stdout is exactly one JSON
  // document, and returns it. Every output is kept for the home-directory check.
  Json JsonAs(const std::string& member, std::vector<std::string> arguments, int exit_code = 0) {
    arguments.insert(arguments.begin(), "--json");
    Outcome outcome = member.empty() ? Parley(arguments) : As(member, arguments);
    outputs_.push_back(outcome.out);
    EXPECT_EQ(outcome.exit_code, exit_code) << outcome;
    Json json = Json::parse(outcome.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << "not one JSON document:\n" << outcome.out;
    EXPECT_TRUE(json.is_object()) << outcome.out;
    return json;
  }

  // The retailer's room: retail (aggregation rule) and audience (custom rule, templates only),
  // and the supplier, who queries and receives, with its loyalty table.
  void MakeRoom() {
    // Members join without approvals here (change requests: cli_changes_e2e_test.cc).
    Json created = JsonAs("retailer", {"collaboration", "create", "room", "--query-logging",
                                       "--auto-approve", "add_member"});
    EXPECT_EQ(created["collaboration"]["payer"], "runner");
    EXPECT_EQ(created["collaboration"]["auto_approve"], Json::array({"add_member"}));
    EXPECT_EQ(created["collaboration"]["name"], "room");
    EXPECT_EQ(created["collaboration"]["creator"], "retailer");
    EXPECT_EQ(created["collaboration"]["query_logging"], true);
    EXPECT_EQ(created["collaboration"]["members"],
              Json::parse(R"([{"name":"retailer","abilities":["query","receive"],
                               "status":"active"}])"));
    Json added = JsonAs(
        "retailer", {"member", "add", "-c", "room", "supplier", "--abilities", "query,receive"});
    EXPECT_EQ(added["member"], Json::parse(R"({"name":"supplier",
                                     "abilities":["query","receive"],"status":"active"})"));
    EXPECT_EQ(added["change"]["status"], "committed");
    EXPECT_EQ(added["change"]["kind"], "add_member");
    EXPECT_EQ(added["change"]["auto_approved"], true);
    ExpectDecodes<api::AddMemberResponse>(added);
    Json table =
        JsonAs("retailer", {"table", "add", "-c", "room", "retail", "--source", retail_csv_});
    EXPECT_EQ(table["table"]["location"], retail_csv_) << "the owner sees its table's source";
    EXPECT_EQ(table["table"]["columns"][0], Json::parse(R"({"name":"household_id",
                                                            "type":"BIGINT"})"));
    EXPECT_FALSE(table["table"].contains("rule"));
    // --json before the command asks for JSON output; after `rule set`, --json is the rule.
    Json rule = JsonAs("retailer", {"rule", "set", "-c", "room", "retail", "--json", kRetailRule});
    EXPECT_EQ(rule["table"]["rule"]["kind"], "aggregation") << "a rule is an object, not text";
    EXPECT_EQ(rule["table"]["rule"]["dimension_columns"], Json::array({"region"}));
    JsonAs("retailer", {"table", "add", "-c", "room", "audience", "--source", retail_csv_});
    JsonAs("retailer", {"rule", "set", "-c", "room", "audience", "--json", kAudienceRule});
    JsonAs("supplier", {"table", "add", "-c", "room", "loyalty", "--source", loyalty_csv_});
  }

  std::string retail_csv_;
  std::string loyalty_csv_;
  std::vector<std::string> outputs_;
};

TEST_F(CliJsonTest, CollaborationsMembersAndTables) {
  MakeRoom();
  Json list = JsonAs("supplier", {"collaboration", "list"});
  ASSERT_EQ(list["collaborations"].size(), 1u);
  EXPECT_EQ(list["collaborations"][0]["members"].size(), 2u);
  ExpectDecodes<api::ListCollaborationsResponse>(list);
  Json show = JsonAs("supplier", {"collaboration", "show", "room"});
  ExpectDecodes<api::ShowCollaborationResponse>(show);
  EXPECT_EQ(show["collaboration"]["members"][1]["name"], "supplier");

  // Another member's table: metadata and rule, and no location at all (not even null).
  Json retail = JsonAs("supplier", {"table", "show", "-c", "room", "retail"});
  EXPECT_EQ(retail["table"]["owner"], "retailer");
  EXPECT_EQ(retail["table"]["kind"], "csv");
  EXPECT_FALSE(retail["table"].contains("location")) << retail.dump();
  ExpectDecodes<api::ShowTableResponse>(retail);
  EXPECT_EQ(retail["table"]["rule"]["output_constraints"][0]["minimum"], 3);
  Json tables = JsonAs("supplier", {"table", "list", "-c", "room"});
  ASSERT_EQ(tables["tables"].size(), 3u);
  ExpectDecodes<api::ListTablesResponse>(tables);
  for (const Json& table : tables["tables"]) {
    SCOPED_TRACE(table.dump());
    if (table["owner"] == "supplier") {
      EXPECT_EQ(table["location"], loyalty_csv_);
    } else {
      EXPECT_FALSE(table.contains("location"));
    }
  }

  Json removed =
      JsonAs("retailer", {"member", "add", "-c", "room", "agency", "--abilities", "none"});
  EXPECT_EQ(removed["member"]["abilities"], Json::array());
  EXPECT_EQ(JsonAs("retailer", {"member", "remove", "-c", "room", "agency"}),
            Json::parse(R"({"collaboration":"room","member":"agency"})"));
  EXPECT_EQ(JsonAs("supplier", {"member", "leave", "-c", "room"}),
            Json::parse(R"({"collaboration":"room","member":"supplier"})"));
}

TEST_F(CliJsonTest, QueriesResultsAndLogs) {
  MakeRoom();
  Json explained = JsonAs("supplier", {"query", "explain", "-c", "room", "--sql", kAllowed});
  EXPECT_EQ(explained["explanation"]["allowed"], true);
  ExpectDecodes<api::ExplainResponse>(explained);
  EXPECT_EQ(explained["explanation"]["rule_kind"], "aggregation");
  EXPECT_THAT(explained["explanation"]["engine_sql"].get<std::string>(), HasSubstr("HAVING"));
  EXPECT_EQ(explained["explanation"]["thresholds"],
            Json::parse(R"([{"table":"retail","column":"household_id","minimum":3}])"));

  Json rejected =
      JsonAs("supplier", {"query", "explain", "-c", "room", "--sql", kRejected}, kExitRejected);
  EXPECT_EQ(rejected["explanation"]["allowed"], false);
  EXPECT_FALSE(rejected["explanation"].contains("engine_sql"));
  ASSERT_FALSE(rejected["explanation"]["violations"].empty());
  EXPECT_EQ(rejected["explanation"]["violations"][0]["table"], "retail");

  Json run = JsonAs("supplier", {"query", "run", "-c", "room", "--sql", kAllowed});
  EXPECT_EQ(run["receivers"], Json::array({"supplier"}));
  ExpectDecodes<api::RunQueryResponse>(run);
  EXPECT_EQ(run["row_count"], 2);
  EXPECT_TRUE(run["run_micros"].is_number_integer());
  EXPECT_EQ(run["result"]["columns"], Json::parse(R"([{"name":"region","type":"VARCHAR"},
                            {"name":"households","type":"BIGINT"}])"));
  EXPECT_EQ(run["result"]["rows"], Json::parse(R"([["north","10"],["south","10"]])"));
  int64_t id = run["query_id"].get<int64_t>();

  Json rejected_run =
      JsonAs("supplier", {"query", "run", "-c", "room", "--sql", kRejected}, kExitRejected);
  EXPECT_EQ(rejected_run["explanation"]["allowed"], false);
  EXPECT_FALSE(rejected_run.contains("result"));

  Json result = JsonAs("supplier", {"query", "result", "-c", "room", std::to_string(id)});
  EXPECT_EQ(result["query_id"], id);
  ExpectDecodes<api::GetResultResponse>(result);
  EXPECT_EQ(result["result"]["rows"], run["result"]["rows"]);

  // The retailer does not receive: a run it sends is "accepted" with no count, time or rows.
  Json blind = JsonAs("retailer",
                      {"query", "run", "-c", "room", "--sql", kAllowed, "--receiver", "supplier"});
  EXPECT_FALSE(blind.contains("row_count"));
  EXPECT_FALSE(blind.contains("run_micros"));
  EXPECT_FALSE(blind.contains("result"));

  Json list = JsonAs("supplier", {"query", "list", "-c", "room"});
  ASSERT_GE(list["queries"].size(), 2u);
  EXPECT_EQ(list["queries"][0]["status"], "succeeded");
  EXPECT_EQ(list["queries"][0]["row_count"], 2);
  ExpectDecodes<api::ListQueriesResponse>(list);
  Json log = JsonAs("retailer", {"query", "log", "-c", "room"});
  ExpectDecodes<api::QueryLogResponse>(log);
  bool saw_rejection = false;
  for (const Json& query : log["queries"]) {
    SCOPED_TRACE(query.dump());
    EXPECT_FALSE(query.contains("row_count")) << "the owner is not a receiver";
    if (query["status"] == "rejected") {
      saw_rejection = true;
      EXPECT_TRUE(query["violations"][0]["message"].is_string());
    }
  }
  EXPECT_TRUE(saw_rejection);
}

TEST_F(CliJsonTest, TemplatesPolicyAndAudit) {
  MakeRoom();
  Json created = JsonAs("supplier", {"template", "create", "-c", "room", "by_region", "--param",
                                     "min:integer=1", "--sql",
                                     "SELECT region, COUNT(*) AS n FROM audience WHERE "
                                     "household_id >= :min GROUP BY region ORDER BY region"});
  ExpectDecodes<api::CreateTemplateResponse>(created);
  const Json& t = created["template"];
  EXPECT_EQ(t["id"].get<std::string>().size(), 64u);
  EXPECT_EQ(t["parameters"], Json::parse(R"([{"name":"min","type":"integer","default":"1"}])"));
  EXPECT_EQ(t["tables"], Json::parse(R"([{"table":"audience","owner":"retailer",
                                          "approved":false}])"));
  EXPECT_EQ(t["runnable"], false);
  std::string id = t["id"];

  Json approved =
      JsonAs("retailer", {"template", "approve", "-c", "room", id, "--table", "audience"});
  EXPECT_EQ(approved["template"]["runnable"], true);
  Json shown = JsonAs("supplier", {"template", "show", "-c", "room", id.substr(0, 12)});
  EXPECT_EQ(shown["template"]["id"], id);
  Json listed = JsonAs("supplier", {"template", "list", "-c", "room"});
  EXPECT_EQ(listed["templates"].size(), 1u);
  ExpectDecodes<api::ListTemplatesResponse>(listed);
  Json ran = JsonAs("supplier", {"template", "run", "-c", "room", id, "--param", "min=11"});
  EXPECT_EQ(ran["result"]["rows"], Json::parse(R"([["north","5"],["south","5"]])"));

  Json policy = JsonAs("supplier", {"policy", "-c", "room"});
  EXPECT_EQ(policy["member"], "supplier");
  ExpectDecodes<api::PolicyResponse>(policy);
  EXPECT_EQ(policy["abilities"], Json::array({"query", "receive"}));
  EXPECT_EQ(policy["runnable_templates"][0]["id"], id);
  for (const Json& table : policy["tables"]) {
    if (table["table"] == "retail") EXPECT_EQ(table["rule"]["kind"], "aggregation");
    if (table["table"] == "loyalty") EXPECT_FALSE(table.contains("rule"));
  }

  Json revoked =
      JsonAs("retailer", {"template", "revoke", "-c", "room", id, "--table", "audience"});
  EXPECT_EQ(revoked["template"]["runnable"], false);

  Json audit = JsonAs("supplier", {"audit", "list", "-c", "room"});
  EXPECT_EQ(audit["collaboration"], "room");
  ExpectDecodes<api::ListAuditResponse>(audit);
  EXPECT_EQ(audit["entries"][0]["action"], "collaboration.create");
  EXPECT_EQ(audit["entries"][0]["seq"], 1);
  for (const Json& entry : audit["entries"]) {
    EXPECT_TRUE(entry["details"].is_object()) << "details are structured, not text";
  }
  Json verified = JsonAs("supplier", {"audit", "verify", "-c", "room"});
  EXPECT_EQ(verified["ok"], true);
  EXPECT_EQ(verified["entries"], audit["entries"].size());
  std::string head = verified["heads"]["room"];
  EXPECT_EQ(head, audit["entries"].back()["hash"]);
  Json expected = JsonAs("supplier", {"audit", "verify", "-c", "room", "--expect-head", head});
  EXPECT_EQ(expected["entries_after_expected_head"], 0);
  ExpectDecodes<api::VerifyAuditResponse>(expected);
  Json operator_view = JsonAs("", {"audit", "verify"});
  EXPECT_EQ(operator_view["ok"], true);
  EXPECT_TRUE(operator_view["heads"].contains("room"));
}

TEST_F(CliJsonTest, ErrorsAreJsonObjectsOnStdout) {
  MakeRoom();
  Outcome missing = As("supplier", {"--json", "table", "show", "-c", "room", "nope"});
  EXPECT_EQ(missing.exit_code, kExitError);
  EXPECT_EQ(missing.err, "");
  Json error = Json::parse(missing.out);
  EXPECT_EQ(error["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(api::StatusFromErrorJson(error).code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("'nope'"));

  Outcome denied =
      As("supplier", {"--json", "member", "add", "-c", "room", "x", "--abilities", "none"});
  EXPECT_EQ(denied.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(Json::parse(denied.out)["error"]["code"], "PERMISSION_DENIED");

  Outcome usage = As("supplier", {"--json", "query", "run", "-c", "room"});
  EXPECT_EQ(usage.exit_code, kExitUsage);
  EXPECT_EQ(Json::parse(usage.out), Json::parse(R"({"error":{"code":"INVALID_ARGUMENT",
                                     "message":"give the query with --sql or --file"}})"));

  Outcome unparsed = Parley({"--json", "query", "run", "--no-such-flag"});
  EXPECT_EQ(unparsed.exit_code, kExitUsage);
  EXPECT_EQ(Json::parse(unparsed.out)["error"]["code"], "INVALID_ARGUMENT");

  // The API's messages name no CLI command; the terminal adds its hint.
  Outcome cannot_receive =
      As("retailer", {"member", "add", "-c", "room", "analyst", "--abilities", "query"});
  ASSERT_EQ(cannot_receive.exit_code, 0) << cannot_receive;
  Outcome plain = As("analyst", {"query", "run", "-c", "room", "--sql", kAllowed});
  EXPECT_EQ(plain.err,
            "error: member 'analyst' cannot receive results; name a receiver with the 'receive' "
            "ability (--receiver)\n");
  Outcome json = As("analyst", {"--json", "query", "run", "-c", "room", "--sql", kAllowed});
  EXPECT_EQ(Json::parse(json.out)["error"]["message"],
            "member 'analyst' cannot receive results; name a receiver with the 'receive' "
            "ability");
}

// Every response of a full session, and no path of the home in any of them.
TEST_F(CliJsonTest, NoResponseContainsTheHomeDirectory) {
  MakeRoom();
  JsonAs("supplier", {"query", "run", "-c", "room", "--sql", kAllowed});
  JsonAs("supplier", {"query", "result", "-c", "room", "1"});
  JsonAs("supplier", {"query", "list", "-c", "room"});
  JsonAs("retailer", {"query", "log", "-c", "room"});
  JsonAs("supplier", {"table", "list", "-c", "room"});
  JsonAs("retailer", {"table", "list", "-c", "room"});
  JsonAs("supplier", {"policy", "-c", "room"});
  JsonAs("supplier", {"audit", "list", "-c", "room"});
  JsonAs("supplier", {"audit", "verify", "-c", "room"});
  JsonAs("supplier", {"query", "result", "-c", "room", "99"}, kExitError);
  ASSERT_GT(outputs_.size(), 15u);
  for (const std::string& out : outputs_) {
    EXPECT_THAT(out, ::testing::Not(HasSubstr(home_))) << out;
  }
}

}  // namespace
}  // namespace parley
