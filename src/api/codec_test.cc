#include "api/codec.h"

#include <functional>
#include <string>
#include <vector>

#include "api/http_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::api {
namespace {

using Json = nlohmann::json;

// Decodes JSON text as T and encodes it again: the codec of one type, type-erased for the table.
using RoundTrip = std::function<absl::StatusOr<Json>(std::string_view)>;

template <class T>
RoundTrip Through() {
  return [](std::string_view text) -> absl::StatusOr<Json> {
    absl::StatusOr<T> value = Parse<T>(text);
    if (!value.ok()) return value.status();
    return ToJson(*value);
  };
}

struct Malformed {
  std::string json;
  std::string message;  // the exact InvalidArgument message
};

struct RequestCase {
  std::string type;
  RoundTrip round_trip;
  std::string full;  // every field set: must come back unchanged
  std::vector<Malformed> malformed;
};

// Every request type of the API: a complete request, and inputs a client could get wrong.
const std::vector<RequestCase>& RequestCases() {
  static const std::vector<RequestCase> cases = {
      {"CreateCollaborationRequest",
       Through<CreateCollaborationRequest>(),
       R"({"name":"campaign","description":"Q3","creator_abilities":["query"],"query_logging":true,
           "payer":"supplier","auto_approve":["add_member","payer"],
           "encryption":{"allow_cleartext":false,"allow_duplicates":true,
                         "allow_joins_on_columns_with_different_names":true,
                         "preserve_nulls":true}})",
       {{R"({"description":"x"})", "$.name: missing"},
        {R"({"name":7})", "$.name: expected a string, got integer"},
        {R"({"name":"c","creator_abilities":"query"})",
         "$.creator_abilities: expected an array, got string"},
        {R"({"name":"c","creator_abilities":["query",1]})",
         "$.creator_abilities[1]: expected a string, got integer"},
        {R"({"name":"c","query_logging":"yes"})",
         "$.query_logging: expected a boolean, got string"},
        {R"({"name":"c","querylogging":true})", "$.querylogging: unknown field"}}},
      {"ListCollaborationsRequest",
       Through<ListCollaborationsRequest>(),
       "{}",
       {{"[]", "$: expected an object, got array"}, {R"({"x":1})", "$.x: unknown field"}}},
      {"ShowCollaborationRequest",
       Through<ShowCollaborationRequest>(),
       R"({"collaboration":"campaign"})",
       {{"{}", "$.collaboration: missing"},
        {R"({"collaboration":null})", "$.collaboration: expected a string, got null"}}},
      {"AddMemberRequest",
       Through<AddMemberRequest>(),
       R"({"abilities":["query","receive"],"collaboration":"c","member":"supplier"})",
       {{R"({"collaboration":"c","member":"m"})", "$.abilities: missing"},
        {R"({"collaboration":"c","member":"m","abilities":[true]})",
         "$.abilities[0]: expected a string, got boolean"}}},
      {"InviteMemberRequest",
       Through<InviteMemberRequest>(),
       R"({"abilities":["query"],"collaboration":"c","member":"bank","valid_hours":24})",
       {{R"({"collaboration":"c","member":"m","abilities":[],"valid_hours":"24"})",
         "$.valid_hours: expected an integer, got string"}}},
      {"JoinRequest",
       Through<JoinRequest>(),
       R"({"code":"pi_x"})",
       {{"{}", "$.code: missing"}, {R"({"code":"pi_x","member":"m"})", "$.member: unknown field"}}},
      {"ProposeChangeRequest",
       Through<ProposeChangeRequest>(),
       R"({"collaboration":"c","kind":"privacy_budget","privacy_budget":{"epsilon_per_month":"3",
           "delta_per_month":"0","default_epsilon":"1","max_epsilon":"1"}})",
       {{R"({"collaboration":"c"})", "$.kind: missing"},
        {R"({"collaboration":"c","kind":"payer","payer":1})",
         "$.payer: expected a string, got integer"}}},
      {"ListChangesRequest",
       Through<ListChangesRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"ChangeIdRequest",
       Through<ChangeIdRequest>(),
       R"({"collaboration":"c","change_id":3})",
       {{R"({"collaboration":"c","change_id":"3"})",
         "$.change_id: expected an integer, got string"}}},
      {"RemoveMemberRequest",
       Through<RemoveMemberRequest>(),
       R"({"collaboration":"c","member":"supplier"})",
       {{R"({"collaboration":"c"})", "$.member: missing"}}},
      {"LeaveRequest",
       Through<LeaveRequest>(),
       R"({"collaboration":"c"})",
       {{R"({"collaboration":["c"]})", "$.collaboration: expected a string, got array"}}},
      {"AddTableRequest",
       Through<AddTableRequest>(),
       R"({"collaboration":"c","columns":["a","b"],"source":"/data/t.parquet","table":"t"})",
       // "source" is optional since a table may come from another kind of source ("kind" and
       // "description"); a request with neither is refused by the service.
       {{R"({"collaboration":"c","table":"t","kind":5})", "$.kind: expected a string, got integer"},
        {R"({"collaboration":"c","table":"t","kind":"postgres","description":"x"})",
         "$.description: expected an object, got string"},
        {R"({"collaboration":"c","table":"t","source":"s","columns":"a,b"})",
         "$.columns: expected an array, got string"}}},
      {"ListTablesRequest",
       Through<ListTablesRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"ShowTableRequest",
       Through<ShowTableRequest>(),
       R"({"collaboration":"c","table":"t"})",
       {{R"({"collaboration":"c","table":1.5})", "$.table: expected a string, got number"}}},
      {"SetRuleRequest",
       Through<SetRuleRequest>(),
       R"({"collaboration":"c","rule":{"kind":"list","list_columns":["a"]},"table":"t"})",
       {{R"({"collaboration":"c","table":"t","rule":"{\"kind\":\"list\"}"})",
         "$.rule: expected an object, got string"},
        {R"({"collaboration":"c","table":"t"})", "$.rule: missing"}}},
      {"ExplainRequest",
       Through<ExplainRequest>(),
       R"({"collaboration":"c","receivers":["a","b"],"sql":"SELECT 1"})",
       {{R"({"collaboration":"c"})", "$.sql: missing"},
        {R"({"collaboration":"c","sql":"SELECT 1","receivers":["a",2]})",
         "$.receivers[1]: expected a string, got integer"}}},
      {"RunQueryRequest",
       Through<RunQueryRequest>(),
       R"({"collaboration":"c","receivers":["a"],"sql":"SELECT 1"})",
       {{R"({"collaboration":"c","sql":"SELECT 1","receiver":"a"})", "$.receiver: unknown field"}}},
      {"GetResultRequest",
       Through<GetResultRequest>(),
       R"({"collaboration":"c","query_id":42})",
       {{R"({"collaboration":"c","query_id":"42"})", "$.query_id: expected an integer, got string"},
        {R"({"collaboration":"c","query_id":4.5})", "$.query_id: expected an integer, got number"},
        {R"({"collaboration":"c","query_id":18446744073709551615})",
         "$.query_id: integer out of range"}}},
      {"ListQueriesRequest",
       Through<ListQueriesRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"QueryLogRequest",
       Through<QueryLogRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"CreateTemplateRequest",
       Through<CreateTemplateRequest>(),
       R"({"collaboration":"c","name":"n","parameters":["min:integer=4"],"sql":"SELECT :min"})",
       {{R"({"collaboration":"c","name":"n"})", "$.sql: missing"},
        {R"({"collaboration":"c","name":"n","sql":"s","parameters":[{"name":"min"}]})",
         "$.parameters[0]: expected a string, got object"}}},
      {"ShowTemplateRequest",
       Through<ShowTemplateRequest>(),
       R"({"collaboration":"c","template_id":"ab12"})",
       {{R"({"collaboration":"c"})", "$.template_id: missing"}}},
      {"ListTemplatesRequest",
       Through<ListTemplatesRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"TemplateApprovalRequest",
       Through<TemplateApprovalRequest>(),
       R"({"collaboration":"c","table":"t","template_id":"ab12"})",
       {{R"({"collaboration":"c","template_id":"ab12"})", "$.table: missing"}}},
      {"RunTemplateRequest",
       Through<RunTemplateRequest>(),
       R"({"collaboration":"c","parameters":{"min":"4","region":"north"},"receivers":["a"],"template_id":"ab12"})",
       {{R"({"collaboration":"c","template_id":"t","parameters":{"min":4}})",
         "$.parameters.min: expected a string, got integer"},
        {R"({"collaboration":"c","template_id":"t","parameters":["min=4"]})",
         "$.parameters: expected an object, got array"}}},
      {"PolicyRequest",
       Through<PolicyRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"ListAuditRequest",
       Through<ListAuditRequest>(),
       R"({"collaboration":"c"})",
       {{"{}", "$.collaboration: missing"}}},
      {"VerifyAuditRequest",
       Through<VerifyAuditRequest>(),
       R"({"collaboration":"c","expected_head":"00ff"})",
       {{R"({"expected_head":7})", "$.expected_head: expected a string, got integer"}}},
  };
  return cases;
}

TEST(RequestCodecTest, EveryRequestRoundTripsUnchanged) {
  for (const RequestCase& c : RequestCases()) {
    SCOPED_TRACE(c.type);
    absl::StatusOr<Json> back = c.round_trip(c.full);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, Json::parse(c.full));
  }
}

TEST(RequestCodecTest, MalformedRequestsNameTheJsonPath) {
  for (const RequestCase& c : RequestCases()) {
    for (const Malformed& m : c.malformed) {
      SCOPED_TRACE(c.type + " " + m.json);
      absl::StatusOr<Json> back = c.round_trip(m.json);
      ASSERT_FALSE(back.ok());
      EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(back.status().message(), m.message);
    }
  }
}

TEST(RequestCodecTest, TextThatIsNotJsonIsAnErrorNotAnException) {
  for (const RequestCase& c : RequestCases()) {
    SCOPED_TRACE(c.type);
    for (const char* text : {"", "{", "{\"collaboration\": }", "nul", "\xff"}) {
      absl::StatusOr<Json> back = c.round_trip(text);
      ASSERT_FALSE(back.ok());
      EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(back.status().message()),
                  ::testing::StartsWith("$: not valid JSON (at byte "));
    }
    for (const char* text : {"null", "3", "\"x\"", "[{}]"}) {
      absl::StatusOr<Json> back = c.round_trip(text);
      ASSERT_FALSE(back.ok());
      EXPECT_THAT(std::string(back.status().message()),
                  ::testing::StartsWith("$: expected an object, got "));
    }
  }
}

TEST(RequestCodecTest, OptionalFieldsTakeTheirDefaults) {
  absl::StatusOr<CreateCollaborationRequest> create =
      Parse<CreateCollaborationRequest>(R"({"name":"campaign"})");
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_EQ(create->description, "");
  EXPECT_EQ(create->creator_abilities, (std::vector<std::string>{"query", "receive"}));
  EXPECT_FALSE(create->query_logging);

  absl::StatusOr<VerifyAuditRequest> verify =
      Parse<VerifyAuditRequest>(R"({"collaboration":null})");
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_FALSE(verify->collaboration.has_value());
  EXPECT_FALSE(verify->expected_head.has_value());
}

TEST(ResponseCodecTest, AbsentOptionalFieldsAreOmittedAndNullCellsAreNull) {
  Table table{"retail", "retailer", "parquet", std::nullopt, {{"region", "VARCHAR"}}, std::nullopt};
  EXPECT_EQ(ToJson(table), Json::parse(R"({"name":"retail","owner":"retailer","kind":"parquet",
                            "columns":[{"name":"region","type":"VARCHAR"}]})"));

  RunResponse run;
  run.query_id = 7;
  run.explanation.allowed = true;
  run.explanation.engine_sql = "SELECT 1";
  run.receivers = {"supplier"};
  run.row_count = 2;
  run.run_micros = 10;
  run.result = Result{{{"n", "BIGINT"}}, {{"1"}, {std::nullopt}}};
  Json json = ToJson(run);
  EXPECT_EQ(json["result"]["rows"], Json::parse(R"([["1"],[null]])"));
  absl::StatusOr<RunResponse> back = FromJson<RunResponse>(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), json);
  EXPECT_EQ(back->result->rows[1][0], std::nullopt);
}

TEST(ResponseCodecTest, ResponsesRoundTrip) {
  Template t{"ab",
             "n",
             "alice",
             "SELECT :x",
             {{"x", "integer", "4"}, {"y", "text", std::nullopt}},
             5,
             {{"t", "bob", true}},
             false,
             true};
  PolicyResponse policy{
      "c",          "alice",
      {"query"},    {{"t", "bob", {{"a", "BIGINT"}}, Json::parse(R"({"kind":"list"})")}},
      {"ABS"},      {"="},
      {},           {"t"},
      {{"ab", "n"}}};
  ListAuditResponse audit{
      "c", {{1, 2, "alice", "member.add", Json::parse(R"({"member":"bob"})"), "00", "11", "22"}}};
  VerifyAuditResponse verify{true, std::nullopt, 3, {{"c", "ff"}}, 2, 1};
  Json json = ToJson(TemplateResponse{t});
  EXPECT_EQ(json["template"]["parameters"][0]["default"], "4");
  EXPECT_FALSE(json["template"]["parameters"][1].contains("default"));
  EXPECT_EQ(ToJson(*FromJson<TemplateResponse>(json)), json);
  EXPECT_EQ(ToJson(*FromJson<PolicyResponse>(ToJson(policy))), ToJson(policy));
  EXPECT_EQ(ToJson(*FromJson<ListAuditResponse>(ToJson(audit))), ToJson(audit));
  EXPECT_EQ(ToJson(*FromJson<VerifyAuditResponse>(ToJson(verify))), ToJson(verify));
}

TEST(ResponseCodecTest, InvalidUtf8IsReplacedWhenDumped) {
  EXPECT_EQ(Dump(ToJson(Error{"INTERNAL", "bad \xff byte"})),
            "{\"code\":\"INTERNAL\",\"message\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(ErrorCodecTest, StatusRoundTripsThroughTheErrorObject) {
  absl::Status status = absl::NotFoundError("no table 't' in collaboration 'c'");
  Json json = ErrorJson(status);
  EXPECT_EQ(json, Json::parse(R"({"error":{"code":"NOT_FOUND",
                                  "message":"no table 't' in collaboration 'c'"}})"));
  EXPECT_EQ(StatusFromErrorJson(json), status);
  EXPECT_EQ(StatusFromErrorJson(Json::parse(R"({"error":{"code":"NEW_CODE","message":"m"}})")),
            absl::UnknownError("m"));
  EXPECT_EQ(StatusFromErrorJson(Json::parse(R"({"error":{"code":"NOT_FOUND"}})")),
            absl::InvalidArgumentError("$.error.message: missing"));
}

// The one status -> HTTP table: every code once, with google.rpc.Code's HTTP mapping.
TEST(HttpStatusTest, EveryCodeMapsOnce) {
  const std::vector<std::pair<absl::StatusCode, int>> expected = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
  };
  for (const auto& [code, http] : expected) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    EXPECT_EQ(HttpStatus(code), http);
    EXPECT_EQ(StatusCodeName(code), absl::StatusCodeToString(code));
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(code)), code);
  }
  std::set<absl::StatusCode> codes;
  for (const StatusMapping& mapping : kStatusMappings) codes.insert(mapping.code);
  EXPECT_EQ(codes.size(), expected.size());
  EXPECT_EQ(HttpStatus(static_cast<absl::StatusCode>(99)), 500);
  EXPECT_EQ(StatusCodeFromName("not_found"), absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace parley::api
