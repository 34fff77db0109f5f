// Consent through the real binary in embedded mode (issue 8 §1): `member add` alone commits at
// once; later changes wait for every active member (exit code 5 and "waiting for: ..."); `change
// list|show|approve|deny|cancel`; an invitation's code printed once and redeemed with `parley join`
// by its organisation only; `collaboration set` for the payer, query logging and the privacy
// budget; `--json` answers with the change request.
#include <regex>

#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace parley::cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class CliChangesTest : public CliTest {
 protected:
  Outcome Expect(int exit_code, const std::string& member, const std::vector<std::string>& args) {
    Outcome outcome = As(member, args);
    EXPECT_EQ(outcome.exit_code, exit_code) << outcome;
    return outcome;
  }
};

TEST_F(CliChangesTest, ChangesWaitForEveryActiveMember) {
  Ok("retailer", {"collaboration", "create", "room"});
  // Alone in the room, the creator's own approval is every approval: committed at once.
  EXPECT_EQ(Ok("retailer", {"member", "add", "-c", "room", "supplier", "--abilities", "query"}).out,
            "added member supplier (abilities query) to room\n");
  Outcome pending = Expect(kExitPending, "retailer",
                           {"member", "add", "-c", "room", "agency", "--abilities", "receive"});
  EXPECT_EQ(pending.out, "change request 2 pending, waiting for: supplier\n");
  // Nothing happened yet.
  Outcome outsider = Expect(kExitNotPermitted, "agency", {"table", "list", "-c", "room"});
  EXPECT_EQ(outsider.err, "error: 'agency' is not a member of collaboration 'room'\n");
  Outcome shown = Ok("supplier", {"change", "show", "-c", "room", "2"});
  EXPECT_THAT(shown.out, StartsWith("change request 2: add member agency (abilities receive)\n"
                                    "  status: pending\n  proposed by retailer at "));
  EXPECT_THAT(shown.out, HasSubstr("  approved by: retailer\n  waiting for: supplier\n"));
  Outcome twice = Expect(kExitError, "retailer", {"change", "approve", "-c", "room", "2"});
  EXPECT_EQ(twice.err, "error: member 'retailer' has already voted on change request 2\n");
  EXPECT_EQ(Ok("supplier", {"change", "approve", "-c", "room", "2"}).out,
            "change request 2 committed: add member agency (abilities receive)\n");
  Ok("agency", {"table", "list", "-c", "room"});

  // Revoking an ability: pending (5) until both others approve; the JSON says so too.
  Outcome json =
      Expect(kExitPending, "retailer",
             {"--json", "member", "set", "-c", "room", "supplier", "--abilities", "none"});
  nlohmann::json change = nlohmann::json::parse(json.out)["change"];
  EXPECT_EQ(change["status"], "pending");
  EXPECT_EQ(change["kind"], "abilities");
  EXPECT_EQ(change["waiting_for"], nlohmann::json({"supplier", "agency"}));
  EXPECT_EQ(Expect(kExitPending, "agency", {"change", "approve", "-c", "room", "3"}).out,
            "approved change request 3\nchange request 3 pending, waiting for: supplier\n");
  Ok("supplier", {"change", "approve", "-c", "room", "3"});
  Outcome refused = Expect(kExitNotPermitted, "supplier",
                           {"query", "explain", "-c", "room", "--sql", "SELECT 1"});
  EXPECT_THAT(refused.err, HasSubstr("does not have the 'query' ability"));

  // Denied and cancelled changes never take effect; only the proposer cancels.
  Expect(kExitPending, "agency", {"collaboration", "set", "-c", "room", "--payer", "agency"});
  EXPECT_EQ(Ok("supplier", {"change", "deny", "-c", "room", "4"}).out,
            "change request 4 denied: payer: agency\n");
  Expect(kExitPending, "agency", {"collaboration", "set", "-c", "room", "--query-logging", "on"});
  Outcome not_yours =
      Expect(kExitNotPermitted, "retailer", {"change", "cancel", "-c", "room", "5"});
  EXPECT_EQ(not_yours.err,
            "error: only the proposer of a change request ('agency') can cancel it\n");
  EXPECT_EQ(Ok("agency", {"change", "cancel", "-c", "room", "5"}).out,
            "change request 5 cancelled: query logging: on\n");
  EXPECT_EQ(Ok("agency", {"change", "list", "-c", "room"}).out,
            "1  committed  add member supplier (abilities query)  (proposed by retailer)\n"
            "2  committed  add member agency (abilities receive)  (proposed by retailer)\n"
            "3  committed  abilities of supplier: none  (proposed by retailer)\n"
            "4  denied  payer: agency  (proposed by agency)\n"
            "5  cancelled  query logging: on  (proposed by agency)\n");
  Outcome room = Ok("retailer", {"collaboration", "show", "room"});
  EXPECT_THAT(room.out, HasSubstr("  query logging: off\n"));
  EXPECT_EQ(room.out.find("payer"), std::string::npos) << room.out;
  Outcome usage =
      Expect(kExitUsage, "retailer",
             {"collaboration", "set", "-c", "room", "--payer", "a", "--query-logging", "on"});
  EXPECT_EQ(usage.err,
            "error: say one setting to change: --payer, --query-logging, --dp-epsilon, "
            "--time-limit or --result-retention\n");

  // Every step is in the audit log, which verifies.
  Outcome audit = Ok("agency", {"audit", "list", "-c", "room"});
  for (const char* action : {"change.propose", "change.approve", "change.approved",
                             "member.abilities", "change.commit", "change.deny", "change.cancel"}) {
    EXPECT_THAT(audit.out, HasSubstr(action));
  }
  Ok("agency", {"audit", "verify", "-c", "room"});
}

TEST_F(CliChangesTest, AnInvitationCodeIsShownOnceAndRedeemedByItsOrganisation) {
  Ok("retailer",
     {"collaboration", "create", "room", "--auto-approve", "privacy_budget", "--dp-epsilon", "3"});
  Outcome invited = Ok(
      "retailer", {"member", "invite", "-c", "room", "supplier", "--abilities", "query,receive"});
  std::smatch code;
  ASSERT_TRUE(std::regex_search(invited.out, code, std::regex("pi_[0-9a-f]{16}_[0-9a-f]{64}")))
      << invited.out;
  EXPECT_THAT(invited.out, StartsWith("invited supplier to room (abilities query, receive); the "
                                      "code, shown once, valid until "));
  EXPECT_THAT(invited.out, HasSubstr("supplier joins with: parley join CODE\n"));
  // The catalog keeps no code.
  std::string catalog = ReadText(dir_ / "home" / "catalog.db");
  EXPECT_EQ(catalog.find(code.str().substr(20)), std::string::npos);
  // Another organisation cannot use it, and does not use it up.
  Outcome wrong = Expect(kExitError, "agency", {"join", code.str()});
  EXPECT_EQ(wrong.err, "error: no such invitation (the code is not valid)\n");
  Outcome joined = Ok("supplier", {"join", code.str()});
  EXPECT_EQ(joined.out, "supplier joined room (abilities query, receive)\n");
  Outcome again = Expect(kExitError, "supplier", {"join", code.str()});
  EXPECT_EQ(again.err, "error: this invitation has already been used\n");
  EXPECT_THAT(Ok("supplier", {"collaboration", "show", "room"}).out,
              HasSubstr("    supplier  abilities: query,receive  status: active\n"));

  // The privacy budget was declared auto-approved at creation: it changes at once.
  EXPECT_EQ(Ok("supplier", {"collaboration", "set", "-c", "room", "--dp-epsilon", "5"}).out,
            "change request 2 committed: privacy budget: epsilon 5, delta 0.00001 per month; per "
            "query 1 by default, at most 1\n");
  EXPECT_THAT(Ok("retailer", {"budget", "-c", "room"}).out,
              HasSubstr("privacy budget of room: epsilon 5 and delta 0.00001 per month"));
  EXPECT_THAT(Ok("retailer", {"collaboration", "show", "room"}).out,
              HasSubstr("  auto-approved changes: privacy_budget\n"));
}

}  // namespace
}  // namespace parley::cli_test
